//! Validated values: parse once at the edge, then trust the type.

use std::fmt;

/// A value that failed validation, naming the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Invalid {
        Invalid {
            field,
            message: message.into(),
        }
    }
}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Characters that change how text is shown without being seen: bidirectional overrides,
/// embeddings and isolates (which can make a name read backwards), zero-width spaces and
/// joiners used on their own, the byte-order mark and other invisible format characters. Names
/// with them can impersonate others or hide text.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200B}'
        | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}')
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Zero-width (non-)joiners shape the letters around them in some scripts (Persian, Indic,
/// emoji sequences); alone, at an edge or beside a space they only hide something.
fn joiner_misplaced(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let visible = |n: Option<&char>| n.is_some_and(|c| !c.is_whitespace() && !is_joiner(*c));
    chars.iter().enumerate().any(|(i, c)| {
        is_joiner(*c) && !(i > 0 && visible(chars.get(i - 1)) && visible(chars.get(i + 1)))
    })
}

fn invisible(field: &'static str) -> Invalid {
    Invalid::new(
        field,
        "must not contain invisible formatting characters (direction overrides, zero-width characters)",
    )
}

/// Refuses a name a person could not read as it is stored: invisible formatting characters
/// (see [`is_invisible_format`]) and joiners that join nothing.
pub fn check_visible_text(field: &'static str, text: &str) -> Result<(), Invalid> {
    if text.chars().any(is_invisible_format) || joiner_misplaced(text) {
        return Err(invisible(field));
    }
    Ok(())
}

/// An email address, trimmed and lower-cased: the sign-in identity of a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
string_value!(Email);

impl Email {
    /// Longest address accepted, in characters as sent.
    pub const MAX_CHARS: usize = 254;

    pub fn parse(field: &'static str, raw: &str) -> Result<Email, Invalid> {
        let invalid = || Invalid::new(field, "must be an email address such as ada@example.org");
        if raw.chars().count() > Email::MAX_CHARS {
            return Err(invalid());
        }
        let email = raw.trim().to_lowercase();
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c) || is_joiner(c))
        {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || domain.starts_with('.')
        {
            return Err(invalid());
        }
        Ok(Email(email))
    }
}

/// A human-facing name (organization, site, workgroup, person, token): at most 100 characters
/// as sent, not blank, no control characters once surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);
string_value!(Name);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, raw: &str) -> Result<Name, Invalid> {
        // Counted as sent, so that the limit is the one a client can check (`maxLength`).
        if raw.chars().count() > Name::MAX_CHARS {
            return Err(Invalid::new(
                field,
                format!("must be at most {} characters", Name::MAX_CHARS),
            ));
        }
        let name = raw.trim();
        if name.is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new(field, "must not contain control characters"));
        }
        check_visible_text(field, name)?;
        Ok(Name(name.to_string()))
    }
}

/// Longest free text (a description) accepted, in characters as sent.
pub const DESCRIPTION_MAX_CHARS: usize = 2000;

/// Free text such as a description: at most 2,000 characters as sent; stored trimmed.
pub fn parse_description(field: &'static str, raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Invalid::new(
            field,
            format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    let text = raw.trim();
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(Invalid::new(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    // Free text may join letters freely; only what hides text is refused.
    if text.chars().any(is_invisible_format) {
        return Err(invisible(field));
    }
    Ok(text.to_string())
}

/// A new password as chosen by a person. Never printed: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(field: &'static str, raw: &str) -> Result<Password, Invalid> {
        if raw.chars().count() < Password::MIN_CHARS {
            return Err(Invalid::new(
                field,
                format!("must be at least {} characters", Password::MIN_CHARS),
            ));
        }
        if raw.len() > Password::MAX_BYTES {
            return Err(Invalid::new(
                field,
                format!("must be at most {} bytes", Password::MAX_BYTES),
            ));
        }
        Ok(Password(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/Berlin` or `UTC` (checked for shape, not against a
/// database of zones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);
string_value!(TimeZoneName);

impl TimeZoneName {
    pub fn parse(field: &'static str, raw: &str) -> Result<TimeZoneName, Invalid> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            && raw.starts_with(|c: char| c.is_ascii_uppercase());
        if ok {
            Ok(TimeZoneName(raw.to_string()))
        } else {
            Err(Invalid::new(
                field,
                "must be an IANA time zone name such as Europe/Berlin or UTC",
            ))
        }
    }
}

/// An ISO 4217 currency code such as `EUR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(String);
string_value!(CurrencyCode);

impl CurrencyCode {
    pub fn parse(field: &'static str, raw: &str) -> Result<CurrencyCode, Invalid> {
        if raw.len() == 3 && raw.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(CurrencyCode(raw.to_string()))
        } else {
            Err(Invalid::new(
                field,
                "must be a three-letter ISO 4217 code such as EUR",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.ORG ")
                .unwrap()
                .as_str(),
            "ada@example.org"
        );
        for bad in ["", "ada", "@x", "a@", "a b@c", "a@@b", "a@.b"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_passwords() {
        assert_eq!(Name::parse("name", "  Lab  ").unwrap().as_str(), "Lab");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(101)).is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
        // Direction overrides, zero-width spaces and stray joiners are refused; joiners that
        // shape letters (Persian, emoji sequences) are not.
        for bad in [
            "admin\u{202E}nimda",
            "Ad\u{200B}a",
            "\u{2066}Ada",
            "Ada\u{FEFF}",
            "\u{200D}Ada",
            "Ada \u{200C} B",
            "A\u{E0041}da",
        ] {
            let refused = Name::parse("name", bad).unwrap_err();
            assert!(refused.message.contains("invisible"), "{bad:?}");
        }
        assert!(Name::parse("name", "می\u{200C}خواهم").is_ok());
        assert!(Name::parse("name", "👩\u{200D}🔬 Lab").is_ok());
        assert!(Email::parse("email", "a\u{200B}da@example.org").is_err());
        assert!(parse_description("d", "two\nlines\tok").is_ok());
        assert!(parse_description("d", "bell\u{7}").is_err());
        assert!(Password::parse("password", "short").is_err());
        assert!(
            format!(
                "{:?}",
                Password::parse("password", "long enough secret").unwrap()
            )
            .contains("redacted")
        );
    }

    #[test]
    fn zones_and_currencies() {
        assert!(TimeZoneName::parse("tz", "Europe/Berlin").is_ok());
        assert!(TimeZoneName::parse("tz", "UTC").is_ok());
        assert!(TimeZoneName::parse("tz", "../etc").is_err());
        assert!(CurrencyCode::parse("c", "EUR").is_ok());
        assert!(CurrencyCode::parse("c", "eur").is_err());
    }
}
