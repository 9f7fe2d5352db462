//! Workgroups: sets of members with moderators. Managers shape them; a workgroup's moderators
//! may add and remove its ordinary members. Either way a membership change follows the rules of
//! every change to a member: seniority and member scope (`authz::Policy`).

use authz::Permission;
use domain::{MemberId, Name, Workgroup, WorkgroupId, WorkgroupMember, parse_description};
use serde_json::json;

use super::People;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::unit_of_work::{Audit, Changes, Found};

#[derive(Debug)]
pub struct CreateWorkgroup {
    pub name: String,
    pub description: String,
}

#[derive(Debug)]
pub struct UpdateWorkgroup {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Default)]
pub struct SetWorkgroupMember {
    /// Whether the member moderates the workgroup. Only workgroup managers may set it.
    pub moderator: bool,
}

#[derive(Debug)]
pub struct WorkgroupDetail {
    pub workgroup: Workgroup,
    pub members: Vec<WorkgroupMember>,
}

fn summary(group: &Workgroup) -> serde_json::Value {
    json!({ "name": group.name, "description": group.description })
}

impl People<'_> {
    pub async fn list_workgroups(&self, actor: &OrgActor) -> AppResult<Vec<Workgroup>> {
        actor.require(Permission::WorkgroupsView)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_workgroups(&mut conn, actor.org()).await?)
    }

    pub async fn get_workgroup(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
    ) -> AppResult<WorkgroupDetail> {
        actor.require(Permission::WorkgroupsView)?;
        let mut conn = self.app.store().read().await?;
        workgroup_detail(&mut conn, actor, id).await
    }

    pub async fn create_workgroup(
        &self,
        actor: &OrgActor,
        input: CreateWorkgroup,
    ) -> AppResult<Workgroup> {
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::WorkgroupsManage)?;
        let (org, now) = (actor.org(), uow.now());
        let id = store::insert_workgroup(uow.conn(), org, name.as_str(), &description, now)
            .await
            .map_err(name_taken(name.as_str()))?;
        let group = store::get_workgroup(uow.conn(), org, id)
            .await
            .found("workgroup")?;
        uow.audit(Audit::of("workgroup.create", "workgroup", id).after(summary(&group)));
        uow.commit().await?;
        Ok(group)
    }

    pub async fn update_workgroup(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        input: UpdateWorkgroup,
    ) -> AppResult<Workgroup> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::WorkgroupsManage)?;
        let before = store::get_workgroup(uow.conn(), actor.org(), id)
            .await
            .found("workgroup")?;
        let mut group = before.clone();
        if let Some(name) = input.name {
            group.name = Name::parse("name", &name)?.into_string();
        }
        if let Some(description) = input.description {
            group.description = parse_description("description", &description)?;
        }
        store::update_workgroup(uow.conn(), actor.org(), &group)
            .await
            .map_err(name_taken(&group.name))?;
        uow.audit(
            Audit::of("workgroup.update", "workgroup", id)
                .before(summary(&before))
                .after(summary(&group)),
        );
        uow.commit().await?;
        Ok(group)
    }

    pub async fn delete_workgroup(&self, actor: &OrgActor, id: WorkgroupId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::WorkgroupsManage)?;
        let before = store::get_workgroup(uow.conn(), actor.org(), id)
            .await
            .found("workgroup")?;
        store::delete_workgroup(uow.conn(), actor.org(), id).await?;
        uow.rights_changed();
        uow.audit(Audit::of("workgroup.delete", "workgroup", id).before(summary(&before)));
        uow.commit().await
    }

    /// Puts `member` in the workgroup or changes whether they moderate it (see
    /// `authz::Policy::may_change_workgroup_member` for who may).
    pub async fn set_workgroup_member(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        member: MemberId,
        input: SetWorkgroupMember,
    ) -> AppResult<WorkgroupDetail> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::WorkgroupsView)?;
        store::get_workgroup(uow.conn(), actor.org(), id)
            .await
            .found("workgroup")?;
        let target = store::get_member(uow.conn(), actor.org(), member)
            .await
            .found("member")?;
        let current = store::workgroup_role(uow.conn(), id, member).await?;
        let (joining, touches_moderator) =
            (current.is_none(), input.moderator || current == Some(true));
        uow.authorize(|a| {
            a.policy
                .may_change_workgroup_member(a.acting(), id, member, joining, touches_moderator)
        })?;
        let now = uow.now();
        store::upsert_workgroup_member(uow.conn(), id, member, input.moderator, now).await?;
        uow.rights_changed();
        let before = current.map(|m| json!({ "member_id": member, "moderator": m }));
        let after =
            json!({ "member_id": member, "email": target.email, "moderator": input.moderator });
        uow.audit(
            Audit::of("workgroup.member_set", "workgroup", id)
                .before(before)
                .after(after),
        );
        let detail = workgroup_detail(uow.conn(), actor, id).await?;
        uow.commit().await?;
        Ok(detail)
    }

    pub async fn remove_workgroup_member(
        &self,
        actor: &OrgActor,
        id: WorkgroupId,
        member: MemberId,
    ) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::WorkgroupsView)?;
        store::get_workgroup(uow.conn(), actor.org(), id)
            .await
            .found("workgroup")?;
        let moderator = store::workgroup_role(uow.conn(), id, member)
            .await
            .found("workgroup member")?;
        uow.authorize(|a| {
            a.policy
                .may_change_workgroup_member(a.acting(), id, member, false, moderator)
        })?;
        store::remove_workgroup_member(uow.conn(), id, member).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("workgroup.member_remove", "workgroup", id)
                .before(json!({ "member_id": member, "moderator": moderator })),
        );
        uow.commit().await
    }
}

async fn workgroup_detail(
    conn: &mut store::Conn,
    actor: &OrgActor,
    id: WorkgroupId,
) -> AppResult<WorkgroupDetail> {
    let workgroup = store::get_workgroup(conn, actor.org(), id)
        .await
        .found("workgroup")?;
    let members = store::workgroup_members(conn, id).await?;
    Ok(WorkgroupDetail { workgroup, members })
}

/// A unique-name conflict as the client should hear it.
fn name_taken(name: &str) -> impl FnOnce(store::StoreError) -> AppError {
    on_conflict(
        ErrorCode::NameTaken,
        format!("a workgroup named {name:?} already exists"),
    )
}
