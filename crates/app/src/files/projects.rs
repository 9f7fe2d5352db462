//! Library projects: named folders of files with an owner, shared with members or workgroups
//! at view or edit. Their owners (and members with `files.manage.all`) rename, share and
//! delete them; members they are shared with at edit put files in and take them out.

use authz::Permission;
use domain::{Name, Project, ProjectId, ShareLevel, ShareSubject};
use serde_json::json;

use super::{Files, Viewer, reachable_project};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

#[derive(Debug)]
pub struct CreateProject {
    pub name: String,
}

#[derive(Debug)]
pub struct RenameProject {
    pub name: String,
}

/// Share a project with a member or a workgroup (exactly one of them), replacing any share
/// they had.
#[derive(Debug)]
pub struct ShareProject {
    pub member_id: Option<domain::MemberId>,
    pub workgroup_id: Option<domain::WorkgroupId>,
    pub level: ShareLevel,
}

fn project_summary(project: &Project) -> serde_json::Value {
    json!({ "name": project.name, "owner_member_id": project.owner_member_id })
}

fn name_taken(name: &str) -> impl FnOnce(store::StoreError) -> AppError {
    on_conflict(
        ErrorCode::NameTaken,
        format!("the owner already has a project named {name:?}"),
    )
}

impl ShareProject {
    fn subject(&self) -> AppResult<ShareSubject> {
        match (self.member_id, self.workgroup_id) {
            (Some(member), None) => Ok(ShareSubject::Member(member)),
            (None, Some(group)) => Ok(ShareSubject::Workgroup(group)),
            _ => Err(AppError::Invalid(domain::Invalid::new(
                "member_id",
                "give exactly one of member_id and workgroup_id",
            ))),
        }
    }
}

impl Files<'_> {
    pub async fn list_projects(&self, actor: &OrgActor) -> AppResult<Vec<Project>> {
        actor.require(Permission::FilesView)?;
        let mut conn = self.app.store().read().await?;
        let viewer = Viewer::of(&mut conn, actor).await?;
        Ok(store::list_projects(&mut conn, actor.org(), viewer.visibility()).await?)
    }

    pub async fn get_project(&self, actor: &OrgActor, id: ProjectId) -> AppResult<Project> {
        actor.require(Permission::FilesView)?;
        let mut conn = self.app.store().read().await?;
        let viewer = Viewer::of(&mut conn, actor).await?;
        Ok(reachable_project(&mut conn, &viewer, actor.org(), id)
            .await?
            .0)
    }

    /// Creates a project owned by the actor.
    pub async fn create_project(
        &self,
        actor: &OrgActor,
        input: CreateProject,
    ) -> AppResult<Project> {
        let name = Name::parse("name", &input.name)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::ProjectsCreate)?;
        let now = uow.now();
        let id = store::insert_project(
            uow.conn(),
            actor.org(),
            name.as_str(),
            actor.member_id(),
            now,
        )
        .await
        .map_err(name_taken(name.as_str()))?;
        let project = store::get_project(uow.conn(), actor.org(), id)
            .await
            .found("project")?;
        uow.audit(Audit::of("project.create", "project", id).after(project_summary(&project)));
        uow.commit().await?;
        Ok(project)
    }

    pub async fn rename_project(
        &self,
        actor: &OrgActor,
        id: ProjectId,
        input: RenameProject,
    ) -> AppResult<Project> {
        let name = Name::parse("name", &input.name)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let before = self.owned_project(&mut uow, id).await?;
        store::rename_project(uow.conn(), actor.org(), id, name.as_str())
            .await
            .map_err(name_taken(name.as_str()))?;
        let project = store::get_project(uow.conn(), actor.org(), id)
            .await
            .found("project")?;
        uow.audit(
            Audit::of("project.rename", "project", id)
                .before(project_summary(&before))
                .after(project_summary(&project)),
        );
        uow.commit().await?;
        Ok(project)
    }

    /// Deletes an empty project (its shares go with it).
    pub async fn delete_project(&self, actor: &OrgActor, id: ProjectId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let project = self.owned_project(&mut uow, id).await?;
        if project.file_count > 0 {
            return Err(AppError::conflict(
                ErrorCode::ProjectNotEmpty,
                format!(
                    "the project {:?} still holds {} file(s); move or delete them first",
                    project.name, project.file_count
                ),
            ));
        }
        store::delete_project(uow.conn(), actor.org(), id).await?;
        uow.audit(Audit::of("project.delete", "project", id).before(project_summary(&project)));
        uow.commit().await
    }

    /// Shares the project with a member or workgroup of the organization at view or edit.
    pub async fn share_project(
        &self,
        actor: &OrgActor,
        id: ProjectId,
        input: ShareProject,
    ) -> AppResult<Project> {
        let subject = input.subject()?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let project = self.owned_project(&mut uow, id).await?;
        let org = actor.org();
        match subject {
            ShareSubject::Member(member) => {
                store::get_member(uow.conn(), org, member)
                    .await
                    .found("member")?;
                if member == project.owner_member_id {
                    return Err(AppError::Invalid(domain::Invalid::new(
                        "member_id",
                        "is the project's owner, who always edits it",
                    )));
                }
            }
            ShareSubject::Workgroup(group) => {
                store::get_workgroup(uow.conn(), org, group)
                    .await
                    .found("workgroup")?;
            }
        }
        store::set_project_share(uow.conn(), id, subject, input.level).await?;
        let after = store::get_project(uow.conn(), org, id)
            .await
            .found("project")?;
        uow.audit(
            Audit::of("project.share", "project", id)
                .before(json!({ "shares": project.shares }))
                .after(json!({ "shares": after.shares })),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// Stops sharing the project with a member or workgroup.
    pub async fn unshare_project(
        &self,
        actor: &OrgActor,
        id: ProjectId,
        subject: ShareSubject,
    ) -> AppResult<Project> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let project = self.owned_project(&mut uow, id).await?;
        if !store::remove_project_share(uow.conn(), id, subject).await? {
            return Err(AppError::not_found("share"));
        }
        let after = store::get_project(uow.conn(), actor.org(), id)
            .await
            .found("project")?;
        uow.audit(
            Audit::of("project.unshare", "project", id)
                .before(json!({ "shares": project.shares }))
                .after(json!({ "shares": after.shares })),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// Loads a project the actor owns or manages (with `files.manage.all`) inside the unit of
    /// work; one they cannot see is "not found", one they only use is refused naming
    /// `files.manage.all`.
    async fn owned_project(
        &self,
        uow: &mut UnitOfWork<OrgActor>,
        id: ProjectId,
    ) -> AppResult<Project> {
        let actor = uow.actor().clone();
        actor.require(Permission::FilesView)?;
        let viewer = Viewer::of(uow.conn(), &actor).await?;
        let (project, _) = reachable_project(uow.conn(), &viewer, actor.org(), id).await?;
        if project.owner_member_id != actor.member_id() {
            actor.require(Permission::FilesManageAll)?;
        }
        Ok(project)
    }
}
