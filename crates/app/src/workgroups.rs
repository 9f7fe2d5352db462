//! Workgroups: sets of members with moderators. Managers shape them; a workgroup's moderators
//! may add and remove its ordinary members. Either way a membership change follows the rules of
//! every change to a member: seniority and member scope (`authz::Policy`).

use authz::Permission;
use domain::schema::DescriptionText;
use domain::{MemberId, Name, Workgroup, WorkgroupId, WorkgroupMember, parse_description};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::App;
use crate::actor::{OrgActor, with_change};
use crate::error::{AppError, AppResult, on_conflict};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkgroup {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkgroup {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWorkgroupMember {
    /// Whether the member moderates the workgroup. Only workgroup managers may set it.
    #[serde(default)]
    pub moderator: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkgroupDetail {
    #[serde(flatten)]
    pub workgroup: Workgroup,
    pub members: Vec<WorkgroupMember>,
}

fn summary(group: &Workgroup) -> serde_json::Value {
    json!({ "name": group.name, "description": group.description })
}

impl App {
    pub async fn list_workgroups(&self, actor: &OrgActor) -> AppResult<Vec<Workgroup>> {
        actor.require(Permission::WorkgroupsView)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_workgroups(&mut conn, actor.org()).await?)
    }

    pub async fn get_workgroup(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
    ) -> AppResult<WorkgroupDetail> {
        actor.require(Permission::WorkgroupsView)?;
        let mut conn = self.store().read().await?;
        let workgroup = store::get_workgroup(&mut conn, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        let members = store::workgroup_members(&mut conn, id).await?;
        Ok(WorkgroupDetail { workgroup, members })
    }

    pub async fn create_workgroup(
        &self,
        actor: &OrgActor,
        input: CreateWorkgroup,
    ) -> AppResult<Workgroup> {
        actor.require(Permission::WorkgroupsManage)?;
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let id = store::insert_workgroup(&mut tx, actor.org(), name.as_str(), &description, now)
            .await
            .map_err(on_conflict(
                "name_taken",
                format!("a workgroup named {:?} already exists", name.as_str()),
            ))?;
        let group = store::get_workgroup(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        let event = actor.event(now, "workgroup.create", "workgroup", id);
        store::append_audit(&mut tx, with_change(event, None, Some(summary(&group)))).await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn update_workgroup(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        input: UpdateWorkgroup,
    ) -> AppResult<Workgroup> {
        actor.require(Permission::WorkgroupsManage)?;
        let mut tx = self.store().write().await?;
        let before = store::get_workgroup(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        let mut group = before.clone();
        if let Some(name) = input.name {
            group.name = Name::parse("name", &name)?.into_string();
        }
        if let Some(description) = input.description {
            group.description = parse_description("description", &description)?;
        }
        store::update_workgroup(&mut tx, actor.org(), &group)
            .await
            .map_err(on_conflict(
                "name_taken",
                format!("a workgroup named {:?} already exists", group.name),
            ))?;
        let event = actor.event(self.now(), "workgroup.update", "workgroup", id);
        store::append_audit(
            &mut tx,
            with_change(event, Some(summary(&before)), Some(summary(&group))),
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn delete_workgroup(&self, actor: &OrgActor, id: WorkgroupId) -> AppResult<()> {
        actor.require(Permission::WorkgroupsManage)?;
        let mut tx = self.store().write().await?;
        let before = store::get_workgroup(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        store::delete_workgroup(&mut tx, actor.org(), id).await?;
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(self.now(), "workgroup.delete", "workgroup", id);
        store::append_audit(&mut tx, with_change(event, Some(summary(&before)), None)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_workgroup_member(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        member: MemberId,
        input: SetWorkgroupMember,
    ) -> AppResult<WorkgroupDetail> {
        actor.require(Permission::WorkgroupsView)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        store::get_workgroup(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        let target = store::get_member(&mut tx, actor.org(), member)
            .await?
            .ok_or(AppError::not_found("member"))?;
        let current = store::workgroup_role(&mut tx, id, member).await?;
        actor
            .policy
            .may_change_workgroup_member(
                actor.acting(),
                id,
                member,
                current.is_none(),
                input.moderator || current == Some(true),
            )
            .map_err(|r| actor.refused(r))?;
        store::upsert_workgroup_member(&mut tx, id, member, input.moderator, now).await?;
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(now, "workgroup.member_set", "workgroup", id);
        let before = current.map(|m| json!({ "member_id": member, "moderator": m }));
        let after =
            json!({ "member_id": member, "email": target.email, "moderator": input.moderator });
        store::append_audit(&mut tx, with_change(event, before, Some(after))).await?;
        tx.commit().await?;
        self.get_workgroup(actor, id).await
    }

    pub async fn remove_workgroup_member(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        member: MemberId,
    ) -> AppResult<()> {
        actor.require(Permission::WorkgroupsView)?;
        let mut tx = self.store().write().await?;
        store::get_workgroup(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("workgroup"))?;
        let current = store::workgroup_role(&mut tx, id, member)
            .await?
            .ok_or(AppError::not_found("workgroup member"))?;
        actor
            .policy
            .may_change_workgroup_member(actor.acting(), id, member, false, current)
            .map_err(|r| actor.refused(r))?;
        store::remove_workgroup_member(&mut tx, id, member).await?;
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(self.now(), "workgroup.member_remove", "workgroup", id);
        store::append_audit(
            &mut tx,
            with_change(
                event,
                Some(json!({ "member_id": member, "moderator": current })),
                None,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
