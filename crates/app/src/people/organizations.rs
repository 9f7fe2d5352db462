//! The organization's settings and its sites.

use authz::Permission;
use domain::{
    CurrencyCode, JobTarget, MAX_STAFFED_GRACE_MINUTES, Name, Organization, Site, SiteId,
    StaffedHours, StaffedPeriod, TimeZoneName, parse_description,
};
use serde_json::json;

use super::People;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::unit_of_work::{Audit, Changes, Found};

#[derive(Debug, Default)]
pub struct UpdateOrg {
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: Option<String>,
    /// Who may confirm a clear build plate: `print_access` or `any_access`.
    pub bed_clear_access: Option<authz::BedClearAccess>,
    /// Disable G-code upload for members without `files.upload_gcode` (3DPrinterOS). Changing
    /// it needs `files.restrict_gcode_upload`.
    pub gcode_upload_restricted: Option<bool>,
    /// Fair share between members in the dispatcher's order.
    pub fair_share: Option<bool>,
    /// How far back fair share looks: 1 to 90 days.
    pub fair_share_window_days: Option<i32>,
}

#[derive(Debug)]
pub struct CreateSite {
    pub name: String,
    pub description: String,
    /// The site's own time zone if it differs from the organization's.
    pub time_zone: Option<String>,
    /// When someone is there to clear plates; empty: always.
    pub staffed_hours: Vec<StaffedPeriod>,
    /// How long after a staffed period a job may still end, in minutes.
    pub staffed_grace_minutes: u32,
}

#[derive(Debug)]
pub struct UpdateSite {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `null` clears the site's own time zone.
    pub time_zone: Option<Option<String>>,
    pub staffed_hours: Option<Vec<StaffedPeriod>>,
    pub staffed_grace_minutes: Option<u32>,
}

pub(crate) fn org_summary(org: &Organization) -> serde_json::Value {
    json!({
        "name": org.name,
        "time_zone": org.time_zone,
        "currency": org.currency,
        "bed_clear_access": org.bed_clear_access.key(),
        "gcode_upload_restricted": org.gcode_upload_restricted,
        "fair_share": org.fair_share,
        "fair_share_window_days": org.fair_share_window_days,
    })
}

fn site_summary(site: &Site) -> serde_json::Value {
    json!({
        "name": site.name,
        "description": site.description,
        "time_zone": site.time_zone,
        "staffed_hours": site.staffed_hours,
        "staffed_grace_minutes": site.staffed_grace_minutes,
    })
}

fn staffed_grace(minutes: u32) -> AppResult<u32> {
    if minutes > MAX_STAFFED_GRACE_MINUTES {
        return Err(domain::Invalid::new(
            "staffed_grace_minutes",
            format!("must be 0 to {MAX_STAFFED_GRACE_MINUTES} minutes"),
        )
        .into());
    }
    Ok(minutes)
}

impl People<'_> {
    pub async fn get_org(&self, actor: &OrgActor) -> AppResult<Organization> {
        let mut conn = self.app.store().read().await?;
        store::get_org(&mut conn, actor.org())
            .await
            .found("organization")
    }

    /// Changes the organization's settings. Who may confirm a clear plate is a fact
    /// authorization decides with, so this changes rights.
    pub async fn update_org(&self, actor: &OrgActor, input: UpdateOrg) -> AppResult<Organization> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::OrganizationManage)?;
        let before = store::get_org(uow.conn(), actor.org())
            .await
            .found("organization")?;
        let mut org = before.clone();
        if let Some(name) = input.name {
            org.name = Name::parse("name", &name)?.into_string();
        }
        if let Some(zone) = input.time_zone {
            org.time_zone = TimeZoneName::parse("time_zone", &zone)?.into_string();
        }
        if let Some(currency) = input.currency {
            org.currency = CurrencyCode::parse("currency", &currency)?.into_string();
        }
        if let Some(bed_clear) = input.bed_clear_access {
            org.bed_clear_access = bed_clear;
        }
        if let Some(restricted) = input.gcode_upload_restricted
            && restricted != org.gcode_upload_restricted
        {
            uow.actor().require(Permission::FilesRestrictGcodeUpload)?;
            org.gcode_upload_restricted = restricted;
        }
        if let Some(fair_share) = input.fair_share {
            org.fair_share = fair_share;
        }
        if let Some(days) = input.fair_share_window_days {
            if !domain::FAIR_SHARE_WINDOW_DAYS.contains(&days) {
                let (low, high) = (
                    domain::FAIR_SHARE_WINDOW_DAYS.start(),
                    domain::FAIR_SHARE_WINDOW_DAYS.end(),
                );
                return Err(domain::Invalid::new(
                    "fair_share_window_days",
                    format!("must be {low} to {high} days"),
                )
                .into());
            }
            org.fair_share_window_days = days;
        }
        store::update_org(uow.conn(), &org).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("organization.update", "organization", org.id)
                .before(org_summary(&before))
                .after(org_summary(&org)),
        );
        uow.commit().await?;
        Ok(org)
    }

    pub async fn list_sites(&self, actor: &OrgActor) -> AppResult<Vec<Site>> {
        actor.require(Permission::SitesView)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_sites(&mut conn, actor.org()).await?)
    }

    pub async fn get_site(&self, actor: &OrgActor, site: SiteId) -> AppResult<Site> {
        actor.require(Permission::SitesView)?;
        let mut conn = self.app.store().read().await?;
        store::get_site(&mut conn, actor.org(), site)
            .await
            .found("site")
    }

    pub async fn create_site(&self, actor: &OrgActor, input: CreateSite) -> AppResult<Site> {
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let zone = input
            .time_zone
            .map(|z| TimeZoneName::parse("time_zone", &z))
            .transpose()?;
        let staffed_hours = StaffedHours::new("staffed_hours", input.staffed_hours)?;
        let staffed_grace_minutes = staffed_grace(input.staffed_grace_minutes)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SitesManage)?;
        let now = uow.now();
        let id = store::insert_site(
            uow.conn(),
            actor.org(),
            name.as_str(),
            &description,
            zone.as_ref().map(|z| z.as_str()),
            now,
        )
        .await
        .map_err(name_taken(name.as_str()))?;
        let mut site = store::get_site(uow.conn(), actor.org(), id)
            .await
            .found("site")?;
        if !staffed_hours.always() || staffed_grace_minutes > 0 {
            site.staffed_hours = staffed_hours;
            site.staffed_grace_minutes = staffed_grace_minutes;
            store::update_site(uow.conn(), actor.org(), &site).await?;
        }
        uow.audit(Audit::of("site.create", "site", id).after(site_summary(&site)));
        uow.commit().await?;
        Ok(site)
    }

    pub async fn update_site(
        &self,
        actor: &OrgActor,
        site: SiteId,
        input: UpdateSite,
    ) -> AppResult<Site> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SitesManage)?;
        let before = store::get_site(uow.conn(), actor.org(), site)
            .await
            .found("site")?;
        let mut updated = before.clone();
        if let Some(name) = input.name {
            updated.name = Name::parse("name", &name)?.into_string();
        }
        if let Some(description) = input.description {
            updated.description = parse_description("description", &description)?;
        }
        if let Some(zone) = input.time_zone {
            updated.time_zone = zone
                .map(|z| TimeZoneName::parse("time_zone", &z))
                .transpose()?
                .map(TimeZoneName::into_string);
        }
        if let Some(periods) = input.staffed_hours {
            updated.staffed_hours = StaffedHours::new("staffed_hours", periods)?;
        }
        if let Some(minutes) = input.staffed_grace_minutes {
            updated.staffed_grace_minutes = staffed_grace(minutes)?;
        }
        store::update_site(uow.conn(), actor.org(), &updated)
            .await
            .map_err(name_taken(&updated.name))?;
        uow.audit(
            Audit::of("site.update", "site", site)
                .before(site_summary(&before))
                .after(site_summary(&updated)),
        );
        uow.commit().await?;
        Ok(updated)
    }

    pub async fn delete_site(&self, actor: &OrgActor, site: SiteId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SitesManage)?;
        let before = store::get_site(uow.conn(), actor.org(), site)
            .await
            .found("site")?;
        let printers = store::count_site_printers(uow.conn(), actor.org(), site).await?;
        if printers > 0 {
            return Err(AppError::conflict(
                ErrorCode::SiteInUse,
                format!("the site still has {printers} printer(s); move or remove them first"),
            ));
        }
        crate::jobs::refuse_if_jobs_aim_at(uow.conn(), actor.org(), JobTarget::Site(site)).await?;
        store::delete_site(uow.conn(), actor.org(), site).await?;
        uow.audit(Audit::of("site.delete", "site", site).before(site_summary(&before)));
        uow.commit().await
    }
}

fn name_taken(name: &str) -> impl FnOnce(store::StoreError) -> AppError {
    on_conflict(
        ErrorCode::NameTaken,
        format!("a site named {name:?} already exists"),
    )
}
