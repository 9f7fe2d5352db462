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
