//! OpenAPI schemas of the keys the API takes as text: permission and preset keys.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::{Permission, Preset};

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
            .enum_values(Some(Permission::ALL.iter().map(|p| p.key())))
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
            .enum_values(Some(Preset::ALL.iter().map(|p| p.key())))
            .into()
    }
}

impl ToSchema for PresetKey {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PresetKey")
    }
}
