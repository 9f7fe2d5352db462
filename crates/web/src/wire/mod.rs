//! The API's wire types: what requests carry and what responses show, apart from the domain
//! and the app's use cases, so that changing a domain struct cannot change the public API
//! without someone writing it here (the committed `openapi.json` snapshot shows every change
//! in review).
//!
//! One module per area of the API, each self-contained:
//! - request bodies and query strings derive `Deserialize` (with `deny_unknown_fields`) and
//!   `ToSchema`/`IntoParams`, and convert into the app's input types with `From`;
//! - response bodies derive `Serialize` and `ToSchema` and are built from domain and app
//!   values with `From`, field by field: the domain or app struct is destructured without
//!   `..`, so a field added to it does not compile until someone decides here whether the API
//!   shows it;
//! - IDs, timestamps and enums the API shows have their own wire types here (`ids`, and an
//!   enum per area with `From`), so `domain`, `app` and `authz` need no OpenAPI derives.
//!
//! A new area (files, jobs, …) adds a module like `fleet` and its handlers take and return
//! only these types. Keep doc comments as they are: they are the published descriptions, and
//! the committed `openapi.json` test shows any change to them.

pub mod access;
pub mod audit;
pub mod billing;
pub mod control;
pub mod displays;
pub mod files;
pub mod fleet;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod people;
pub mod quotas;
pub(crate) mod schema;
pub mod slicing;
pub mod values;

/// Tells "given as null" (`Some(None)`) from "left out" (`None`, with `#[serde(default)]`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Converts each item of a list (IDs, nested responses).
pub(crate) fn each<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}
