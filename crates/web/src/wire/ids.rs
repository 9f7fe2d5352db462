//! The IDs and timestamps as the API reads and writes them. Each wraps the domain's type (which
//! does the parsing: a positive integer, as a JSON number or as text in a path or query) and
//! documents what it accepts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! wire_id {
    ($($name:ident => $label:literal),* $(,)?) => {$(
        #[doc = concat!("The ID of a ", $label, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub domain::$name);

        /// Documented as what it accepts: a positive 64-bit integer (as text in a path or query).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .maximum(Some(i64::MAX))
                    .description(Some(concat!("The ID of a ", $label, ": a positive integer.")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl From<domain::$name> for $name {
            fn from(id: domain::$name) -> $name {
                $name(id)
            }
        }

        impl From<$name> for domain::$name {
            fn from(id: $name) -> domain::$name {
                id.0
            }
        }
    )*};
}

wire_id! {
    OrgId => "organization",
    SiteId => "site",
    UserId => "user",
    MemberId => "member",
    RankId => "rank",
    WorkgroupId => "workgroup",
    InvitationId => "invitation",
    TokenId => "API token",
    AuditEventId => "audit event",
    PrinterId => "printer",
    PrinterGroupId => "printer group",
    PrinterModelId => "printer model",
    GrantId => "printer access grant",
    PrintId => "print",
    FileId => "file",
    ProjectId => "project",
    JobId => "job",
    QuestionId => "submission question",
    ReservationId => "printer reservation",
    QuotaPeriodId => "quota period",
    QuotaRequestId => "quota request",
    LedgerEntryId => "ledger entry",
    SliceId => "slice",
    SlicerProfileId => "slicing profile",
    DisplayLinkId => "display link",
}

/// A point in time with microsecond precision, stored as microseconds since the Unix epoch so
/// that both databases sort and compare it as a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(pub domain::Timestamp);

impl From<domain::Timestamp> for Timestamp {
    fn from(at: domain::Timestamp) -> Timestamp {
        Timestamp(at)
    }
}

impl From<Timestamp> for domain::Timestamp {
    fn from(at: Timestamp) -> domain::Timestamp {
        at.0
    }
}
