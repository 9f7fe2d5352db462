//! One type per kind of ID, so a site ID can never be passed where a member ID is expected.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} must be a positive integer, got {value:?}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! id_type {
    ($($name:ident => $label:literal),* $(,)?) => {$(
        #[doc = concat!("The ID of a ", $label, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub const LABEL: &'static str = $label;
            pub fn get(self) -> i64 { self.0 }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IdVisitor::<$name>::new($label))
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                match s.parse::<i64>() {
                    Ok(n) if n > 0 && !s.starts_with('+') => Ok($name(n)),
                    _ => Err(InvalidId { kind: concat!($label, " id"), value: s.chars().take(40).collect() }),
                }
            }
        }
    )*};
}

/// Accepts a positive integer, as a JSON number or as text (path and query parameters).
struct IdVisitor<T> {
    label: &'static str,
    marker: std::marker::PhantomData<T>,
}

impl<T> IdVisitor<T> {
    fn new(label: &'static str) -> Self {
        IdVisitor {
            label,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T: FromStr<Err = InvalidId>> serde::de::Visitor<'_> for IdVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a positive integer {} id", self.label)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(InvalidId {
            kind: self.label,
            value: v.to_string(),
        }))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

id_type! {
    OrgId => "organization",
    SiteId => "site",
    UserId => "user",
    MemberId => "member",
    RankId => "rank",
    WorkgroupId => "workgroup",
    InvitationId => "invitation",
    SessionId => "session",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_positive_integers() {
        assert_eq!("42".parse::<OrgId>(), Ok(OrgId(42)));
        assert_eq!(serde_json::from_str::<SiteId>("7").unwrap(), SiteId(7));
        assert_eq!(serde_json::from_str::<SiteId>("\"7\"").unwrap(), SiteId(7));
        let err = serde_json::from_str::<SiteId>("-7")
            .unwrap_err()
            .to_string();
        assert!(err.contains("site id must be a positive integer"), "{err}");
        assert!(serde_json::from_str::<SiteId>("true").is_err());
        for bad in ["0", "-1", "+3", "abc", "", "1.5", "99999999999999999999"] {
            let err = bad.parse::<OrgId>().unwrap_err();
            assert_eq!(err.kind, "organization id");
        }
    }
}
