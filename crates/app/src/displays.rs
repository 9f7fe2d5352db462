//! Wall displays: a lab's screen shows every printer of one site, live, opened with a link
//! that needs no account. Those who manage sites (`sites.manage`) make a link for a site (its
//! secret shown once, only its hash stored), list and revoke them; every change is audited.
//! Whoever holds a live link sees that site's printers and nothing else; a revoked link is
//! refused at once.

use authz::Permission;
use domain::{DisplayLinkId, Name, OrgId, Printer, PrinterId, SiteId};
use serde_json::json;

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::files::Thumbnail;
use crate::identity::{hash_secret, new_secret};
use crate::supervision::LiveStatus;
use crate::unit_of_work::{Audit, Changes, Found};

pub use store::DisplayLink;

/// How stale a link's "last used" may get: a screen open all day writes it once a minute, not
/// on every look.
const TOUCH_EVERY_SECS: i64 = 60;

/// A new link and its secret, shown only this once.
#[derive(Debug)]
pub struct CreatedDisplayLink {
    pub link: DisplayLink,
    pub secret: String,
}

/// A printer as the wall display shows it.
#[derive(Debug, Clone)]
pub struct DisplayPrinter {
    pub printer: Printer,
    pub live: Option<LiveStatus>,
}

fn summary(link: &DisplayLink) -> serde_json::Value {
    json!({ "name": link.name, "site_id": link.site_id, "site": link.site_name })
}

impl App {
    /// A display link for one of the organization's sites (`sites.manage`).
    pub async fn create_display_link(
        &self,
        actor: &OrgActor,
        site: SiteId,
        name: &str,
    ) -> AppResult<CreatedDisplayLink> {
        actor.require(Permission::SitesManage)?;
        let name = Name::parse("name", name)?;
        let secret = new_secret();
        let mut uow = self.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SitesManage)?;
        store::get_site(uow.conn(), actor.org(), site)
            .await
            .found("site")?;
        let new = store::NewDisplayLink {
            org: actor.org(),
            site,
            name: name.as_str(),
            token_hash: &hash_secret(&secret),
            created_by: actor.member_id(),
        };
        let now = uow.now();
        let id = store::insert_display_link(uow.conn(), &new, now).await?;
        let link = store::get_display_link(uow.conn(), actor.org(), id)
            .await
            .found("display link")?;
        uow.audit(Audit::of("display_link.create", "display_link", id).after(summary(&link)));
        uow.commit().await?;
        Ok(CreatedDisplayLink { link, secret })
    }

    /// The organization's display links, newest first, revoked ones included (`sites.manage`).
    pub async fn display_links(&self, actor: &OrgActor) -> AppResult<Vec<DisplayLink>> {
        actor.require(Permission::SitesManage)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_display_links(&mut conn, actor.org()).await?)
    }

    /// Revokes a display link (`sites.manage`): screens showing it stop at once.
    pub async fn revoke_display_link(
        &self,
        actor: &OrgActor,
        id: DisplayLinkId,
    ) -> AppResult<DisplayLink> {
        let mut uow = self.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SitesManage)?;
        let link = store::get_display_link(uow.conn(), actor.org(), id)
            .await
            .found("display link")?;
        let now = uow.now();
        if !store::revoke_display_link(uow.conn(), actor.org(), id, now).await? {
            return Err(AppError::conflict(
                ErrorCode::AlreadyRevoked,
                "this display link is already revoked",
            ));
        }
        let revoked = store::get_display_link(uow.conn(), actor.org(), id)
            .await
            .found("display link")?;
        uow.audit(Audit::of("display_link.revoke", "display_link", id).before(summary(&link)));
        uow.commit().await?;
        Ok(revoked)
    }

    /// The live display link a secret opens; `None` for an unknown or revoked one. Opening it
    /// notes when it was last used (bookkeeping, not audited, as for API tokens).
    pub async fn display_link_for(&self, secret: &str) -> AppResult<Option<DisplayLink>> {
        let mut conn = self.store().read().await?;
        let found = store::find_display_link(&mut conn, &hash_secret(secret)).await?;
        drop(conn);
        let Some(mut link) = found else {
            return Ok(None);
        };
        let now = self.now();
        if link
            .last_used_at
            .is_none_or(|at| at.seconds_until(now) >= TOUCH_EVERY_SECS)
        {
            let mut uow = self.begin_unattributed().await?;
            store::touch_display_link(uow.conn(), link.id, now).await?;
            uow.commit().await?;
            link.last_used_at = Some(now);
        }
        Ok(Some(link))
    }

    /// The printers of the link's site, in name order, with their live states: nothing of
    /// any other site.
    pub async fn display_printers(&self, link: &DisplayLink) -> AppResult<Vec<DisplayPrinter>> {
        let mut conn = self.store().read().await?;
        let mut printers: Vec<Printer> = store::list_printers(&mut conn, link.org_id)
            .await?
            .into_iter()
            .filter(|p| p.site_id == link.site_id)
            .collect();
        drop(conn);
        printers.sort_by_key(|p| p.name.to_lowercase());
        Ok(printers
            .into_iter()
            .map(|printer| DisplayPrinter {
                live: self.supervisors().status(printer.id),
                printer,
            })
            .collect())
    }

    /// The picture of what a printer of `org` is printing now, when its file has one a
    /// browser can show. Whoever asks has been checked to see the printer.
    pub async fn printing_thumbnail(
        &self,
        org: OrgId,
        printer: PrinterId,
    ) -> AppResult<Option<Thumbnail>> {
        let print = self
            .supervisors()
            .status(printer)
            .and_then(|status| status.job)
            .and_then(|job| job.print_id);
        let Some(print) = print else {
            return Ok(None);
        };
        let mut conn = self.store().read().await?;
        let image = store::print_thumbnail(&mut conn, org, print.get()).await?;
        Ok(image.map(|image| Thumbnail {
            content_type: if image.format == "png" {
                "image/png"
            } else {
                "image/jpeg"
            },
            data: image.data,
        }))
    }
}
