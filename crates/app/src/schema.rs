//! Small builders for the OpenAPI schemas the derive cannot write: those with conditions
//! between fields, and arrays or strings whose every item is checked.

use utoipa::ToSchema;
use utoipa::openapi::schema::{
    ArrayBuilder, ArrayItems, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

pub(crate) type Schemas = Vec<(String, RefOr<Schema>)>;

/// A reference to `T`'s component schema.
pub(crate) fn reference<T: ToSchema>() -> RefOr<Schema> {
    Ref::from_schema_name(T::name()).into()
}

/// Registers `T`'s component schema (and those it refers to), for a hand-written schema that
/// refers to it.
pub(crate) fn register<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// `schema` or `null`.
pub(crate) fn nullable(schema: RefOr<Schema>) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A string; lengths in characters.
pub(crate) fn string(
    min: Option<usize>,
    max: Option<usize>,
    pattern: Option<&str>,
) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(min)
        .max_length(max)
        .pattern(pattern)
}

/// A number within `min..=max`.
pub(crate) fn number(min: f64, max: f64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(min))
        .maximum(Some(max))
}

/// `[string, null]`.
pub(crate) fn string_or_null() -> SchemaType {
    SchemaType::Array(vec![Type::String, Type::Null])
}

/// An array of `items`, `min..=max` long.
pub(crate) fn array(
    items: impl Into<ArrayItems>,
    min: Option<usize>,
    max: Option<usize>,
) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(items)
        .min_items(min)
        .max_items(max)
}

/// Strings on every edge the patterns draw, for tests that hold a documented pattern against
/// the check it describes.
#[cfg(test)]
pub(crate) fn edge_strings() -> Vec<String> {
    const EDGES: &[char] = &[
        'a', '0', ' ', '\t', '\n', '\u{0}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2000}', '\u{3000}',
        '\u{feff}', 'é', '😀', '.', '/', '\\', ':', 'h', 't', 'p', 's',
    ];
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..3 {
        last = last
            .iter()
            .flat_map(|s| EDGES.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    for prefix in [
        "http://", "https://", " http://", "http:/", "ftp://", "HTTP://",
    ] {
        for rest in ["", "a", "a b", "a\u{1}", "x.y:80/p?q", " ", "\t"] {
            all.push(format!("{prefix}{rest}"));
        }
    }
    for n in [
        39, 40, 41, 199, 200, 201, 1999, 2000, 2001, 4095, 4096, 4097,
    ] {
        all.push("a".repeat(n));
        all.push(format!(" {}", "a".repeat(n)));
        all.push(format!("http://{}", "a".repeat(n.saturating_sub(7))));
    }
    all
}

/// Whether `text` fits a documented string: its pattern and character-count bounds.
#[cfg(test)]
pub(crate) fn fits(text: &str, pattern: &str, max_chars: usize) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text) && text.chars().count() <= max_chars
}
