//! What the parsers of the validated values accept, as patterns: ECMA-262 regular expressions
//! as JSON Schema wants them, written with `\uXXXX` escapes only, which Python's and Rust's
//! regex engines read the same way. The API documents its fields with them (the `web` crate's
//! wire types), and its tests check each against its parser.

/// Rust's `char::is_control`: the Unicode control characters (Cc), as the body of a character
/// class.
#[macro_export]
macro_rules! control_class {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` removes, as the body
/// of a character class.
#[macro_export]
macro_rules! whitespace_class {
    () => {
        r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Control characters and whitespace together, as the body of a character class.
#[macro_export]
macro_rules! control_or_whitespace_class {
    () => {
        r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// The invisible formatting characters `values::is_invisible_format` refuses, as the body of a
/// character class (the last two ranges beyond the Basic Multilingual Plane, as `\U` escapes,
/// which Python's and Rust's regex engines read alike).
#[macro_export]
macro_rules! invisible_class {
    () => {
        r"\u00ad\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    };
}

/// Zero-width joiner and non-joiner.
macro_rules! joiner_class {
    () => {
        r"\u200c\u200d"
    };
}

/// Whitespace that is not a control character (what a name may hold between words).
macro_rules! inner_space_class {
    () => {
        r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// A visible character: not a control, whitespace, invisible formatting or joiner.
macro_rules! visible_class {
    () => {
        concat!(
            "[^",
            control_or_whitespace_class!(),
            invisible_class!(),
            joiner_class!(),
            "]"
        )
    };
}

/// What [`Name::parse`] checks besides the length: once surrounding whitespace is trimmed, not
/// blank, visible characters separated by nothing, by spaces, or by one joiner between two
/// visible characters.
pub const NAME_PATTERN: &str = concat!(
    "^[",
    whitespace_class!(),
    "]*",
    visible_class!(),
    "(?:(?:[",
    inner_space_class!(),
    "]+|[",
    joiner_class!(),
    "])?",
    visible_class!(),
    ")*[",
    whitespace_class!(),
    "]*$"
);

/// What [`crate::parse_description`] checks besides the length: once trimmed, no control
/// characters but tabs and line breaks, and no invisible formatting.
pub const DESCRIPTION_PATTERN: &str = concat!(
    "^[",
    whitespace_class!(),
    "]*(?:[^",
    control_or_whitespace_class!(),
    invisible_class!(),
    "](?:[^",
    r"\u0000-\u0008\u000b-\u001f\u007f-\u009f",
    invisible_class!(),
    "]*[^",
    control_or_whitespace_class!(),
    invisible_class!(),
    "])?)?[",
    whitespace_class!(),
    "]*$"
);

/// What [`Email::parse`] checks besides the length: once trimmed, `local@domain` with no
/// whitespace or control characters, one `@`, and a domain not starting with a dot.
pub const EMAIL_PATTERN: &str = concat!(
    "^[",
    whitespace_class!(),
    "]*[^@",
    control_or_whitespace_class!(),
    invisible_class!(),
    joiner_class!(),
    "]+@[^@.",
    control_or_whitespace_class!(),
    invisible_class!(),
    joiner_class!(),
    "][^@",
    control_or_whitespace_class!(),
    invisible_class!(),
    joiner_class!(),
    "]*[",
    whitespace_class!(),
    "]*$"
);

/// [`TimeZoneName::parse`]: the shape of an IANA zone name.
pub const TIME_ZONE_PATTERN: &str = "^[A-Z][A-Za-z0-9/_+-]{0,63}$";

/// [`CurrencyCode::parse`]: three capital letters.
pub const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";

/// Text without control characters (G-code lines).
pub const NO_CONTROL_PATTERN: &str = concat!("^[^", control_class!(), "]*$");

/// Text with at least one character that is not whitespace (a search, not anchored).
pub const NOT_BLANK_PATTERN: &str = concat!("[^", whitespace_class!(), "]");
