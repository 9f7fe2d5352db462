//! The server's console: what an administrator of the whole server does with the `farmhand`
//! command (create an organization, reset a password) and the demo. Nobody in an organization
//! acts here; the events are attributed to the console.

use authz::Preset;
use domain::audit::Chain;
use domain::{Email, Name, Organization, UserId};
use serde_json::json;

use crate::App;
use crate::access::preset_positions;
use crate::actor::{console_event, with_change};
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::identity::one_time_password;
use crate::people::org_summary;
use crate::unit_of_work::Found;

/// What `create_org` made: the owner's one-time password when a new account was created.
#[derive(Debug)]
pub struct CreatedOrg {
    pub org: Organization,
    pub owner: UserId,
    pub one_time_password: Option<String>,
}

fn owner_rank_name(preset: Preset) -> &'static str {
    preset
        .ranks()
        .iter()
        .find(|r| r.is_owner)
        .map_or("owner", |r| r.name)
}

/// The console's use cases.
#[derive(Clone, Copy)]
pub struct Console<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn console(&self) -> Console<'_> {
        Console { app: self }
    }
}

impl Console<'_> {
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
        let existing = {
            let mut conn = self.app.store().read().await?;
            store::find_user_by_email(&mut conn, email.as_str()).await?
        };
        let (password, hash) = match existing {
            Some(_) => (None, None),
            None => {
                let password = one_time_password();
                let hash = self.app.hasher().hash(&password).await?;
                (Some(password), Some(hash))
            }
        };

        let mut uow = self.app.begin_unattributed().await?;
        let now = uow.now();
        let org_id = store::insert_org(uow.conn(), name.as_str(), "UTC", "EUR", now).await?;
        let positions = preset_positions(preset)?;
        let ranks = store::insert_preset_ranks(uow.conn(), org_id, preset, &positions, now).await?;
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
                store::insert_user(uow.conn(), email.as_str(), &display, hash, true, now)
                    .await
                    .map_err(on_conflict(
                        ErrorCode::UserExists,
                        "a user with this email was created meanwhile",
                    ))?
            }
            (None, None) => {
                return Err(AppError::Internal(
                    "no password hash for a new owner".into(),
                ));
            }
        };
        let member = store::insert_member(uow.conn(), org_id, user, owner_rank, None, now).await?;
        let org = store::get_org(uow.conn(), org_id)
            .await
            .found("organization")?;
        let chain = Chain::Org(org_id);
        let event = console_event(
            chain,
            now,
            "organization.create",
            "organization",
            org_id.to_string(),
        );
        uow.audit_event(with_change(event, None, Some(org_summary(&org))));
        let event = console_event(chain, now, "member.add", "member", member.to_string());
        let after = json!({ "email": email.as_str(), "rank": owner_rank_name(preset) });
        uow.audit_event(with_change(event, None, Some(after)));
        uow.commit().await?;
        Ok(CreatedOrg {
            org,
            owner: user,
            one_time_password: password,
        })
    }

    /// Sets a new one-time password for a user and signs them out everywhere. Console only.
    pub async fn reset_password(&self, email: &str) -> AppResult<String> {
        let email = Email::parse("email", email)?;
        let account = {
            let mut conn = self.app.store().read().await?;
            store::find_user_by_email(&mut conn, email.as_str())
                .await
                .found("user")?
        };
        let password = one_time_password();
        let hash = self.app.hasher().hash(&password).await?;
        let mut uow = self.app.begin_unattributed().await?;
        let (user, now) = (account.user.id, uow.now());
        store::set_password(uow.conn(), user, &hash, true, now).await?;
        let revoked = store::revoke_user_sessions(uow.conn(), user, None, now).await?;
        let event = console_event(
            Chain::Instance,
            now,
            "auth.password_reset",
            "user",
            user.to_string(),
        );
        let after = json!({ "sessions_revoked": revoked });
        uow.audit_event(with_change(event, None, Some(after)));
        uow.commit().await?;
        Ok(password)
    }
}
