//! The schemas of the validated values and keys the API takes as text: each says in JSON
//! Schema exactly what its parser accepts, so a client (or a fuzzer) can tell a valid request
//! from an invalid one without asking. They are schemas only (fields keep their own types and
//! name these with `#[schema(value_type = …)]`); the tests below check each against its parser.

use std::borrow::Cow;

use domain::DESCRIPTION_MAX_CHARS;
use domain::schema::{
    CURRENCY_PATTERN, DESCRIPTION_PATTERN, EMAIL_PATTERN, NAME_PATTERN, TIME_ZONE_PATTERN,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A string schema; `min`/`max` in characters.
pub(crate) fn text(
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

/// Declares a schema-only type named like the value it documents.
macro_rules! value_schema {
    ($(#[$doc:meta])* $type:ident, $name:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $type;

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
    /// The schema of a [`domain::Name`].
    Name,
    "Name",
    text(
        "A name: at most 100 characters, not blank, no control characters once surrounding \
         whitespace is trimmed (it is stored trimmed), and nothing invisible: no direction \
         overrides or zero-width spaces, and a zero-width joiner only between two visible \
         characters.",
        Some(1),
        Some(domain::Name::MAX_CHARS),
        Some(NAME_PATTERN),
    )
);

value_schema!(
    /// The schema of a [`domain::Email`].
    Email,
    "Email",
    text(
        "An email address `local@domain`: at most 254 characters; once surrounding whitespace \
         is trimmed, no whitespace, control or invisible formatting characters, exactly one \
         `@`, and a domain that does not start with a dot. Stored trimmed and lower-cased.",
        Some(3),
        Some(domain::Email::MAX_CHARS),
        Some(EMAIL_PATTERN),
    )
);

value_schema!(
    /// The schema of a [`domain::Password`].
    Password,
    "Password",
    text(
        "A new password: at least 10 characters and at most 1024 bytes in UTF-8 (1024 \
         characters of ASCII).",
        Some(domain::Password::MIN_CHARS),
        Some(domain::Password::MAX_BYTES),
        None,
    )
);

value_schema!(
    /// The schema of a [`domain::TimeZoneName`].
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
    /// The schema of a [`domain::CurrencyCode`].
    CurrencyCode,
    "CurrencyCode",
    text(
        "An ISO 4217 currency code such as `EUR`.",
        Some(3),
        Some(3),
        Some(CURRENCY_PATTERN),
    )
);

value_schema!(
    /// The schema of free text read with [`domain::parse_description`] (descriptions).
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
    use domain::parse_description;

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
        agrees(&schema_of::<Name>(), |s| {
            domain::Name::parse("f", s).is_ok()
        });
    }

    #[test]
    fn emails_are_documented_as_parsed() {
        agrees(&schema_of::<Email>(), |s| {
            domain::Email::parse("f", s).is_ok()
        });
    }

    #[test]
    fn zones_currencies_and_descriptions_are_documented_as_parsed() {
        agrees(&schema_of::<TimeZoneName>(), |s| {
            domain::TimeZoneName::parse("f", s).is_ok()
        });
        agrees(&schema_of::<CurrencyCode>(), |s| {
            domain::CurrencyCode::parse("f", s).is_ok()
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
            domain::Password::parse("f", s).is_ok()
        });
    }
}

/// A permission key of the catalog, e.g. `printer_control.start`.
#[derive(Debug)]
pub struct PermissionKey;

impl PartialSchema for PermissionKey {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A permission key of the catalog (`GET /api/v1/orgs/{org_id}/permissions`).",
            ))
            .enum_values(Some(authz::Permission::ALL.iter().map(|p| p.key())))
            .into()
    }
}

impl ToSchema for PermissionKey {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PermissionKey")
    }
}

/// A rank preset's key, e.g. `3dprinteros`.
#[derive(Debug)]
pub struct PresetKey;

impl PartialSchema for PresetKey {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A preset of ranks."))
            .enum_values(Some(authz::Preset::ALL.iter().map(|p| p.key())))
            .into()
    }
}

impl ToSchema for PresetKey {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PresetKey")
    }
}

/// The schema of a print's file name, as the app's `check_file_name` reads it.
#[derive(Debug)]
pub struct PrintFileName;

impl PartialSchema for PrintFileName {
    fn schema() -> RefOr<Schema> {
        crate::wire::schema::string(
            Some(1),
            Some(app::MAX_FILE_NAME_CHARS),
            Some(app::FILE_NAME_PATTERN),
        )
        .description(Some(
            "A file name: at most 200 characters; once surrounding whitespace is trimmed, \
             not blank, no slashes or control characters, not starting with a dot.",
        ))
        .into()
    }
}

impl ToSchema for PrintFileName {}
