//! The OpenAPI schemas of the validated values: each says in JSON Schema exactly what its parser
//! accepts, so a client (or a fuzzer) can tell a valid request from an invalid one without
//! asking. The patterns are ECMA-262 regular expressions as JSON Schema wants them, written
//! with `\uXXXX` escapes only, which Python's and Rust's regex engines read the same way; the
//! tests below check each against its parser.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::values::{CurrencyCode, DESCRIPTION_MAX_CHARS, Email, Name, Password, TimeZoneName};

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

/// A string schema; `min`/`max` in characters.
pub fn text(
    description: &str,
    min: Option<usize>,
    max: Option<usize>,
    pattern: Option<&str>,
) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(min)
        .max_length(max)
        .pattern(pattern)
        .into()
}

macro_rules! value_schema {
    ($type:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema)
            }
        }
        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

value_schema!(
    Name,
    "Name",
    text(
        "A name: at most 100 characters, not blank, no control characters once surrounding \
         whitespace is trimmed (it is stored trimmed), and nothing invisible: no direction \
         overrides or zero-width spaces, and a zero-width joiner only between two visible \
         characters.",
        Some(1),
        Some(Name::MAX_CHARS),
        Some(NAME_PATTERN),
    )
);

value_schema!(
    Email,
    "Email",
    text(
        "An email address `local@domain`: at most 254 characters; once surrounding whitespace \
         is trimmed, no whitespace, control or invisible formatting characters, exactly one \
         `@`, and a domain that does not start with a dot. Stored trimmed and lower-cased.",
        Some(3),
        Some(Email::MAX_CHARS),
        Some(EMAIL_PATTERN),
    )
);

value_schema!(
    Password,
    "Password",
    text(
        "A new password: at least 10 characters and at most 1024 bytes in UTF-8 (1024 \
         characters of ASCII).",
        Some(Password::MIN_CHARS),
        Some(Password::MAX_BYTES),
        None,
    )
);

value_schema!(
    TimeZoneName,
    "TimeZoneName",
    text(
        "An IANA time zone name such as `Europe/Berlin` or `UTC` (its shape is checked, not \
         that the zone exists).",
        Some(1),
        Some(64),
        Some(TIME_ZONE_PATTERN),
    )
);

value_schema!(
    CurrencyCode,
    "CurrencyCode",
    text(
        "An ISO 4217 currency code such as `EUR`.",
        Some(3),
        Some(3),
        Some(CURRENCY_PATTERN),
    )
);

/// The schema of free text read with [`crate::parse_description`] (descriptions).
#[derive(Debug)]
pub struct DescriptionText;

value_schema!(
    DescriptionText,
    "DescriptionText",
    text(
        "Free text: at most 2000 characters; once trimmed, no control characters but tabs and \
         line breaks, and no invisible formatting characters (direction overrides, zero-width \
         spaces); stored trimmed.",
        None,
        Some(DESCRIPTION_MAX_CHARS),
        Some(DESCRIPTION_PATTERN),
    )
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_description;

    /// Characters on every edge the patterns draw: ASCII, controls that are whitespace and
    /// controls that are not, Unicode whitespace, a byte-order mark (not whitespace for Rust,
    /// whitespace for ECMA's `\s`, which the patterns therefore avoid), letters that grow when
    /// lower-cased, and the characters some rules single out.
    const EDGES: &[char] = &[
        'a',
        'Z',
        '0',
        ' ',
        '\t',
        '\n',
        '\r',
        '\u{0}',
        '\u{1f}',
        '\u{7f}',
        '\u{85}',
        '\u{9f}',
        '\u{a0}',
        '\u{1680}',
        '\u{2000}',
        '\u{200a}',
        '\u{200b}',
        '\u{2028}',
        '\u{3000}',
        '\u{feff}',
        'İ',
        'é',
        '😀',
        '@',
        '.',
        '/',
        '\\',
        '-',
        '_',
        '+',
        '\u{202e}',
        '\u{200c}',
        '\u{200d}',
        '\u{ad}',
        '\u{e0041}',
    ];

    fn strings() -> impl Iterator<Item = String> {
        // Every string of up to three edge characters, and some longer ones around a limit.
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|s| EDGES.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for n in [99, 100, 101, 253, 254, 255, 1999, 2000, 2001] {
            all.push("a".repeat(n));
            all.push(format!(" {}", "a".repeat(n)));
            all.push(format!("{}@b", "a".repeat(n)));
        }
        all.into_iter()
    }

    fn agrees(schema: &Schema, parses: impl Fn(&str) -> bool) {
        let Schema::Object(object) = schema else {
            panic!("a string schema")
        };
        let pattern = object
            .pattern
            .as_deref()
            .map(|p| regex::Regex::new(p).expect("the pattern compiles"));
        for s in strings() {
            let length = s.chars().count();
            let valid = object.min_length.is_none_or(|min| length >= min)
                && object.max_length.is_none_or(|max| length <= max)
                && pattern.as_ref().is_none_or(|p| p.is_match(&s));
            assert_eq!(
                valid,
                parses(&s),
                "{s:?} ({})",
                object.pattern.as_deref().unwrap_or("")
            );
        }
    }

    fn schema_of<T: PartialSchema>() -> Schema {
        match T::schema() {
            RefOr::T(schema) => schema,
            RefOr::Ref(_) => panic!("inline"),
        }
    }

    #[test]
    fn names_are_documented_as_parsed() {
        agrees(&schema_of::<Name>(), |s| Name::parse("f", s).is_ok());
    }

    #[test]
    fn emails_are_documented_as_parsed() {
        agrees(&schema_of::<Email>(), |s| Email::parse("f", s).is_ok());
    }

    #[test]
    fn zones_currencies_and_descriptions_are_documented_as_parsed() {
        agrees(&schema_of::<TimeZoneName>(), |s| {
            TimeZoneName::parse("f", s).is_ok()
        });
        agrees(&schema_of::<CurrencyCode>(), |s| {
            CurrencyCode::parse("f", s).is_ok()
        });
        agrees(&schema_of::<DescriptionText>(), |s| {
            parse_description("f", s).is_ok()
        });
    }

    #[test]
    fn passwords_are_documented_as_parsed() {
        // The samples are ASCII or shorter than the minimum; for longer non-ASCII text the byte
        // limit is in the description, as JSON Schema counts characters.
        agrees(&schema_of::<Password>(), |s| {
            Password::parse("f", s).is_ok()
        });
    }
}
