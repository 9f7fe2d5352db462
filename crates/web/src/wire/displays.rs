//! Wall display links: a link shows one site's printers live on a screen, to whoever holds it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{DisplayLinkId, SiteId, Timestamp};
use super::values::Name;

/// A display link's record. Its secret is shown once, when it is made.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayLink {
    pub id: DisplayLinkId,
    /// The screen's name.
    pub name: String,
    pub site_id: SiteId,
    pub site_name: String,
    pub created_at: Timestamp,
    /// When a screen last opened it (to the minute); absent: never.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; absent while it works.
    pub revoked_at: Option<Timestamp>,
}

impl From<app::DisplayLink> for DisplayLink {
    fn from(link: app::DisplayLink) -> DisplayLink {
        let app::DisplayLink {
            id,
            org_id: _,
            site_id,
            site_name,
            name,
            created_by: _,
            created_at,
            revoked_at,
            last_used_at,
        } = link;
        DisplayLink {
            id: id.into(),
            name,
            site_id: site_id.into(),
            site_name,
            created_at: created_at.into(),
            last_used_at: last_used_at.map(Into::into),
            revoked_at: revoked_at.map(Into::into),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDisplayLink {
    /// The site whose printers the screen shows.
    pub site_id: SiteId,
    /// The screen's name, e.g. "Lab entrance screen".
    #[schema(value_type = Name)]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDisplayLink {
    pub link: DisplayLink,
    /// The secret, shown only this once.
    pub secret: String,
    /// Where a screen opens it, on this server: `/display/{secret}`.
    pub path: String,
}

impl From<app::CreatedDisplayLink> for CreatedDisplayLink {
    fn from(created: app::CreatedDisplayLink) -> CreatedDisplayLink {
        let app::CreatedDisplayLink { link, secret } = created;
        CreatedDisplayLink {
            link: link.into(),
            path: format!("/display/{secret}"),
            secret,
        }
    }
}
