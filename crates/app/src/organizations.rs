//! Organizations, their sites and ranks, and the console's administrative commands.

use authz::{Permission, Preset};
use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::schema::DescriptionText;
use domain::{
    CurrencyCode, Email, Name, Organization, Rank, Site, SiteId, TimeZoneName, Timestamp, UserId,
    parse_description,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::App;
use crate::actor::{OrgActor, RequestMeta, with_change};
use crate::error::{AppError, AppResult, on_conflict};
use crate::ranks::preset_positions;
use crate::secrets::one_time_password;

/// What `create_org` made: the owner's one-time password when a new account was created.
#[derive(Debug)]
pub struct CreatedOrg {
    pub org: Organization,
    pub owner: UserId,
    pub one_time_password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    #[schema(value_type = Option<CurrencyCode>)]
    pub currency: Option<String>,
    /// Who may confirm a clear build plate: `print_access` or `any_access`.
    pub bed_clear_access: Option<authz::BedClearAccess>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
    /// The site's own time zone if it differs from the organization's.
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
    /// `null` clears the site's own time zone.
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<Option<String>>,
}

pub(crate) fn console_event(
    chain: Chain,
    now: Timestamp,
    action: &str,
    target_type: &str,
    target_id: String,
) -> NewAuditEvent {
    let meta = RequestMeta::console();
    NewAuditEvent {
        chain,
        occurred_at: now,
        actor_kind: ActorKind::System,
        actor_user_id: None,
        actor_token_id: None,
        actor_label: "console".into(),
        action: action.into(),
        target_type: target_type.into(),
        target_id: Some(target_id),
        before: None,
        after: None,
        client_ip: meta.client_ip,
        user_agent: meta.user_agent,
        request_id: meta.request_id,
    }
}

fn org_summary(org: &Organization) -> serde_json::Value {
    json!({
        "name": org.name,
        "time_zone": org.time_zone,
        "currency": org.currency,
        "bed_clear_access": org.bed_clear_access.key(),
    })
}

fn site_summary(site: &Site) -> serde_json::Value {
    json!({ "name": site.name, "description": site.description, "time_zone": site.time_zone })
}

fn owner_rank_name(preset: Preset) -> &'static str {
    preset
        .ranks()
        .iter()
        .find(|r| r.is_owner)
        .map_or("owner", |r| r.name)
}

impl App {
    /// Creates an organization with a preset's ranks and makes `owner_email` its owner,
    /// creating the account with a one-time password if it does not exist. Console only.
    pub async fn create_org(
        &self,
        name: &str,
        owner_email: &str,
        owner_name: Option<&str>,
        preset: Preset,
    ) -> AppResult<CreatedOrg> {
        if !preset.has_owner() {
            return Err(AppError::Invalid(domain::Invalid::new(
                "preset",
                format!(
                    "{} has no owner rank; import it into an existing organization instead",
                    preset.title()
                ),
            )));
        }
        let name = Name::parse("name", name)?;
        let email = Email::parse("owner_email", owner_email)?;
        let now = self.now();
        let existing = {
            let mut conn = self.store().read().await?;
            store::find_user_by_email(&mut conn, email.as_str()).await?
        };
        let (password, hash) = match existing {
            Some(_) => (None, None),
            None => {
                let password = one_time_password();
                let hash = self.hasher().hash(&password).await?;
                (Some(password), Some(hash))
            }
        };

        let mut tx = self.store().write().await?;
        let org_id = store::insert_org(&mut tx, name.as_str(), "UTC", "EUR", now).await?;
        let ranks =
            store::insert_preset_ranks(&mut tx, org_id, preset, &preset_positions(preset)?, now)
                .await?;
        let owner_rank = ranks
            .iter()
            .find(|(rank, _)| rank.is_owner)
            .map(|(_, id)| *id)
            .ok_or_else(|| AppError::Internal("the default ranks have no owner rank".into()))?;
        let user = match (&existing, &hash) {
            (Some(account), _) => account.user.id,
            (None, Some(hash)) => {
                let display = owner_name
                    .map(|n| Name::parse("owner_name", n))
                    .transpose()?;
                let display = display.map_or_else(|| email.as_str().to_string(), Name::into_string);
                store::insert_user(&mut tx, email.as_str(), &display, hash, true, now)
                    .await
                    .map_err(on_conflict(
                        "user_exists",
                        "a user with this email was created meanwhile",
                    ))?
            }
            (None, None) => {
                return Err(AppError::Internal(
                    "no password hash for a new owner".into(),
                ));
            }
        };
        let member = store::insert_member(&mut tx, org_id, user, owner_rank, None, now).await?;
        let org = store::get_org(&mut tx, org_id)
            .await?
            .ok_or(AppError::not_found("organization"))?;
        let chain = Chain::Org(org_id);
        let event = console_event(
            chain,
            now,
            "organization.create",
            "organization",
            org_id.to_string(),
        );
        store::append_audit(&mut tx, with_change(event, None, Some(org_summary(&org)))).await?;
        let event = console_event(chain, now, "member.add", "member", member.to_string());
        let after = json!({ "email": email.as_str(), "rank": owner_rank_name(preset) });
        store::append_audit(&mut tx, with_change(event, None, Some(after))).await?;
        tx.commit().await?;
        Ok(CreatedOrg {
            org,
            owner: user,
            one_time_password: password,
        })
    }

    /// Sets a new one-time password for a user and signs them out everywhere. Console only.
    pub async fn reset_password(&self, email: &str) -> AppResult<String> {
        let email = Email::parse("email", email)?;
        let now = self.now();
        let account = {
            let mut conn = self.store().read().await?;
            store::find_user_by_email(&mut conn, email.as_str())
                .await?
                .ok_or(AppError::not_found("user"))?
        };
        let password = one_time_password();
        let hash = self.hasher().hash(&password).await?;
        let mut tx = self.store().write().await?;
        store::set_password(&mut tx, account.user.id, &hash, true, now).await?;
        let revoked = store::revoke_user_sessions(&mut tx, account.user.id, None, now).await?;
        let event = console_event(
            Chain::Instance,
            now,
            "auth.password_reset",
            "user",
            account.user.id.to_string(),
        );
        store::append_audit(
            &mut tx,
            with_change(event, None, Some(json!({ "sessions_revoked": revoked }))),
        )
        .await?;
        tx.commit().await?;
        Ok(password)
    }

    pub async fn get_org(&self, actor: &OrgActor) -> AppResult<Organization> {
        let mut conn = self.store().read().await?;
        store::get_org(&mut conn, actor.org())
            .await?
            .ok_or(AppError::not_found("organization"))
    }

    pub async fn update_org(&self, actor: &OrgActor, input: UpdateOrg) -> AppResult<Organization> {
        actor.require(Permission::OrganizationManage)?;
        let mut tx = self.store().write().await?;
        let before = store::get_org(&mut tx, actor.org())
            .await?
            .ok_or(AppError::not_found("organization"))?;
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
        store::update_org(&mut tx, &org).await?;
        store::bump_authz_version(&mut tx, org.id).await?;
        let event = actor.event(self.now(), "organization.update", "organization", org.id);
        store::append_audit(
            &mut tx,
            with_change(event, Some(org_summary(&before)), Some(org_summary(&org))),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn list_ranks(&self, actor: &OrgActor) -> AppResult<Vec<Rank>> {
        actor.require(Permission::RanksView)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_ranks(&mut conn, actor.org()).await?)
    }

    pub async fn list_sites(&self, actor: &OrgActor) -> AppResult<Vec<Site>> {
        actor.require(Permission::SitesView)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_sites(&mut conn, actor.org()).await?)
    }

    pub async fn get_site(&self, actor: &OrgActor, site: SiteId) -> AppResult<Site> {
        actor.require(Permission::SitesView)?;
        let mut conn = self.store().read().await?;
        store::get_site(&mut conn, actor.org(), site)
            .await?
            .ok_or(AppError::not_found("site"))
    }

    pub async fn create_site(&self, actor: &OrgActor, input: CreateSite) -> AppResult<Site> {
        actor.require(Permission::SitesManage)?;
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let zone = input
            .time_zone
            .map(|z| TimeZoneName::parse("time_zone", &z))
            .transpose()?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let id = store::insert_site(
            &mut tx,
            actor.org(),
            name.as_str(),
            &description,
            zone.as_ref().map(|z| z.as_str()),
            now,
        )
        .await
        .map_err(on_conflict(
            "name_taken",
            format!("a site named {:?} already exists", name.as_str()),
        ))?;
        let site = store::get_site(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("site"))?;
        let event = actor.event(now, "site.create", "site", id);
        store::append_audit(&mut tx, with_change(event, None, Some(site_summary(&site)))).await?;
        tx.commit().await?;
        Ok(site)
    }

    pub async fn update_site(
        &self,
        actor: &OrgActor,
        site: SiteId,
        input: UpdateSite,
    ) -> AppResult<Site> {
        actor.require(Permission::SitesManage)?;
        let mut tx = self.store().write().await?;
        let before = store::get_site(&mut tx, actor.org(), site)
            .await?
            .ok_or(AppError::not_found("site"))?;
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
        store::update_site(&mut tx, actor.org(), &updated)
            .await
            .map_err(on_conflict(
                "name_taken",
                format!("a site named {:?} already exists", updated.name),
            ))?;
        let event = actor.event(self.now(), "site.update", "site", site);
        store::append_audit(
            &mut tx,
            with_change(
                event,
                Some(site_summary(&before)),
                Some(site_summary(&updated)),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    pub async fn delete_site(&self, actor: &OrgActor, site: SiteId) -> AppResult<()> {
        actor.require(Permission::SitesManage)?;
        let mut tx = self.store().write().await?;
        let before = store::get_site(&mut tx, actor.org(), site)
            .await?
            .ok_or(AppError::not_found("site"))?;
        let printers = store::count_site_printers(&mut tx, actor.org(), site).await?;
        if printers > 0 {
            return Err(AppError::conflict(
                "site_in_use",
                format!("the site still has {printers} printer(s); move or remove them first"),
            ));
        }
        store::delete_site(&mut tx, actor.org(), site).await?;
        let event = actor.event(self.now(), "site.delete", "site", site);
        store::append_audit(
            &mut tx,
            with_change(event, Some(site_summary(&before)), None),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
