//! The file library's use cases on both databases: uploads that are analysed and stored once,
//! refusals that leave nothing behind, the G-code upload restriction, and who sees and changes
//! what in personal spaces and projects.

use app::{
    AppError, CreateProject, CreateWorkgroup, FileDestination, FileListQuery, FoundKind, NewRank,
    OrgActor, RequestMeta, SetWorkgroupMember, ShareProject, UpdateOrg, UploadFile,
};
use authz::Permission;
use bytes::Bytes;
use domain::{LibraryFile, ProjectId, ShareLevel, ShareSubject};
use futures::TryStreamExt;
use testkit::Backend;

use super::common::{Lab, Person};

const CUBE: &[u8] = include_bytes!("../../fixtures/demo/calibration_cube.gcode");
const CONE: &[u8] = include_bytes!("../../fixtures/demo/tiny_cone.gcode");

type Chunk = Result<Bytes, std::io::Error>;

fn body(bytes: &'static [u8]) -> impl futures::Stream<Item = Chunk> + Send {
    // In several chunks, as a network delivers it.
    futures::stream::iter(bytes.chunks(4096).map(|c| Ok(Bytes::from_static(c))))
}

fn named(name: &str) -> UploadFile {
    UploadFile {
        name: name.into(),
        ..UploadFile::default()
    }
}

async fn upload(lab: &Lab, who: &Person, name: &str, bytes: &'static [u8]) -> LibraryFile {
    let actor = lab.actor(who).await;
    lab.app
        .files()
        .upload(&actor, named(name), body(bytes))
        .await
        .unwrap()
}

async fn create_project(lab: &Lab, who: &Person, name: &str) -> ProjectId {
    let actor = lab.actor(who).await;
    let input = CreateProject { name: name.into() };
    lab.app
        .files()
        .create_project(&actor, input)
        .await
        .unwrap()
        .id
}

async fn share(lab: &Lab, who: &Person, project: ProjectId, with: ShareSubject, level: ShareLevel) {
    let (member_id, workgroup_id) = match with {
        ShareSubject::Member(m) => (Some(m), None),
        ShareSubject::Workgroup(w) => (None, Some(w)),
    };
    let actor = lab.actor(who).await;
    let input = ShareProject {
        member_id,
        workgroup_id,
        level,
    };
    lab.app
        .files()
        .share_project(&actor, project, input)
        .await
        .unwrap();
}

async fn listed(lab: &Lab, who: &Person) -> Vec<String> {
    let actor = lab.actor(who).await;
    let page = lab
        .app
        .files()
        .list(&actor, FileListQuery::default())
        .await
        .unwrap();
    page.files.into_iter().map(|f| f.name).collect()
}

fn staging_is_empty(lab: &Lab) -> bool {
    std::fs::read_dir(lab.staging_dir())
        .map(|entries| entries.count() == 0)
        .unwrap_or(true)
}

testkit::on_both_backends!(
    an_upload_is_analysed_and_its_content_stored_once,
    what_is_not_gcode_is_refused_naming_it_and_leaves_nothing,
    a_broken_upload_leaves_no_blob_and_no_row,
    the_gcode_restriction_needs_its_own_permission_and_refuses_members_without_upload_gcode,
    members_see_their_own_files_and_projects_shared_with_them,
    nothing_crosses_organizations,
    deleting_the_last_file_of_a_content_removes_its_blob,
);

async fn an_upload_is_analysed_and_its_content_stored_once(backend: Backend) {
    let lab = Lab::open(backend).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let file = upload(&lab, &member, "cube.gcode", CUBE).await;
    assert_eq!(file.size, CUBE.len() as u64);
    assert_eq!(file.sha256.as_str().len(), 64);
    assert_eq!(file.owner_member_id, member.member);
    assert_eq!(
        file.project_id, None,
        "a member's uploads land in their personal space"
    );
    let analysis = file.analysis.as_ref().expect("analysed at upload");
    assert!(analysis.estimated_time_s > 0.0);
    assert!(analysis.filament_weight_g > 0.0);
    assert_eq!(analysis.layers, 40);
    assert_eq!(analysis.metadata.filament_type, vec!["PLA".to_string()]);
    let bounds = analysis.bounds.expect("it extrudes");
    assert!(
        (bounds.max[0] - bounds.min[0] - 20.0).abs() < 0.01,
        "{bounds:?}"
    );
    assert_eq!(analysis.thumbnails.len(), 1);
    assert_eq!(
        (
            analysis.thumbnails[0].width,
            analysis.thumbnails[0].format.as_str()
        ),
        (32, "png")
    );

    let actor = lab.actor(&member).await;
    let files = lab.app.files();
    let thumbnail = files.thumbnail(&actor, file.id, 0).await.unwrap();
    assert_eq!(thumbnail.content_type, "image/png");
    assert!(thumbnail.data.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(matches!(
        files.thumbnail(&actor, file.id, 1).await,
        Err(AppError::NotFound { .. })
    ));
    let content = files.content(&actor, file.id).await.unwrap();
    let chunks: Vec<Bytes> = content.stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), CUBE);

    // The same content again: another file, one stored copy.
    let again = upload(&lab, &member, "cube again.gcode", CUBE).await;
    assert_ne!(again.id, file.id);
    assert_eq!(again.sha256, file.sha256);
    let mut conn = lab.app.store().read().await.unwrap();
    let rows = sqlx::query("SELECT COUNT(*) AS n FROM blobs")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&rows, "n"), 1);
    assert!(staging_is_empty(&lab));
    assert_eq!(
        lab.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "file.upload")
            .count(),
        2
    );
}

async fn what_is_not_gcode_is_refused_naming_it_and_leaves_nothing(backend: Backend) {
    let lab = Lab::open(backend).await;
    let cases: [(&'static [u8], FoundKind); 3] = [
        (b"", FoundKind::Empty),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            FoundKind::Png,
        ),
        (
            &[0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0x01],
            FoundKind::Binary,
        ),
    ];
    let actor = lab.actor(&lab.owner).await;
    for (bytes, expected) in cases {
        let refused = lab
            .app
            .files()
            .upload(&actor, named("part.gcode"), body(bytes))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AppError::UnsupportedFile(found) if found == expected),
            "{expected:?}: {refused:?}"
        );
        assert_eq!(refused.code().as_str(), "unsupported_file_type");
        assert!(refused.to_string().contains("not G-code"), "{refused}");
    }
    // Models are taken, but only whole ones: these are refused saying what is wrong.
    let broken_models: [(&'static [u8], &str); 3] = [
        (
            b"solid part\n facet normal 0 0 1\n  outer loop\n",
            "ends inside a facet",
        ),
        (
            b"PK\x03\x04\x14\x00\x00\x003D/3dmodel.model",
            "not a ZIP archive",
        ),
        (b"v 0 0 0\nv 1 0 0\n", "no facets"),
    ];
    for (bytes, why) in broken_models {
        let refused = lab
            .app
            .files()
            .upload(&actor, named("part.gcode"), body(bytes))
            .await
            .unwrap_err();
        assert_eq!(refused.code().as_str(), "invalid_model", "{refused}");
        assert!(refused.to_string().contains(why), "{why}: {refused}");
    }
    assert!(listed(&lab, &lab.owner).await.is_empty());
    assert!(staging_is_empty(&lab));
    assert!(
        !lab.audit_actions()
            .await
            .contains(&"file.upload".to_string())
    );
}

async fn a_broken_upload_leaves_no_blob_and_no_row(backend: Backend) {
    let lab = Lab::open(backend).await;
    let actor = lab.actor(&lab.owner).await;
    let first: Chunk = Ok(Bytes::from_static(&CUBE[..8192]));
    let broken: Chunk = Err(std::io::Error::other("connection reset"));
    let refused = lab
        .app
        .files()
        .upload(
            &actor,
            named("cube.gcode"),
            futures::stream::iter([first, broken]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AppError::UnreadableBody(_)),
        "{refused:?}"
    );
    assert!(listed(&lab, &lab.owner).await.is_empty());
    assert!(staging_is_empty(&lab));
    let mut conn = lab.app.store().read().await.unwrap();
    let rows = sqlx::query("SELECT COUNT(*) AS n FROM blobs")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&rows, "n"), 0);
}

async fn the_gcode_restriction_needs_its_own_permission_and_refuses_members_without_upload_gcode(
    backend: Backend,
) {
    let lab = Lab::open(backend).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let settings_admin = lab.join(&lab.owner, "Member", "settings@lab.test").await;
    // A rank that manages the organization's settings but not this one.
    let owner = lab.actor(&lab.owner).await;
    let rank = NewRank {
        name: "Settings admin".into(),
        description: None,
        position: None,
        permissions: Some(vec![
            "organization.view".into(),
            "organization.manage".into(),
        ]),
        tri_state: None,
        scope: None,
        out_of_scope: None,
        member_scope: None,
    };
    lab.app.access().create_rank(&owner, rank).await.unwrap();
    lab.set_rank(&settings_admin, "Settings admin").await;
    let restrict = || UpdateOrg {
        gcode_upload_restricted: Some(true),
        ..UpdateOrg::default()
    };
    let refused = lab
        .app
        .people()
        .update_org(&lab.actor(&settings_admin).await, restrict())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::PermissionDenied { permission, .. } if *permission == Permission::FilesRestrictGcodeUpload),
        "{refused:?}"
    );
    let org = lab
        .app
        .people()
        .update_org(&lab.actor(&lab.owner).await, restrict())
        .await
        .unwrap();
    assert!(org.gcode_upload_restricted);
    let actions = lab.audit_actions().await;
    assert_eq!(
        actions.first().map(String::as_str),
        Some("organization.update")
    );

    let refused = lab
        .app
        .files()
        .upload(&lab.actor(&member).await, named("cube.gcode"), body(CUBE))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::PermissionDenied { permission, .. } if *permission == Permission::FilesUploadGcode),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("files.upload_gcode"),
        "{refused}"
    );
    // Those holding it (the owner holds everything) still upload.
    upload(&lab, &lab.owner, "cube.gcode", CUBE).await;
}

async fn members_see_their_own_files_and_projects_shared_with_them(backend: Backend) {
    let lab = Lab::open(backend).await;
    let alice = lab.join(&lab.owner, "Member", "alice@lab.test").await;
    let bob = lab.join(&lab.owner, "Member", "bob@lab.test").await;
    let carol = lab.join(&lab.owner, "Member", "carol@lab.test").await;
    let manager = lab.join(&lab.owner, "Manager", "manager@lab.test").await;
    let cube = upload(&lab, &alice, "cube.gcode", CUBE).await;
    upload(&lab, &bob, "cone.gcode", CONE).await;
    assert_eq!(listed(&lab, &alice).await, vec!["cube.gcode"]);
    assert_eq!(listed(&lab, &bob).await, vec!["cone.gcode"]);
    let files = lab.app.files();
    let bob_actor = lab.actor(&bob).await;
    assert!(matches!(
        files.get(&bob_actor, cube.id).await,
        Err(AppError::NotFound { what: "file" })
    ));
    // A manager (files.view.all, files.manage.all) sees everything.
    assert_eq!(listed(&lab, &manager).await.len(), 2);

    // Into a project shared with Bob to view: he sees it and its file, changes nothing.
    let project = create_project(&lab, &alice, "Brackets").await;
    let alice_actor = lab.actor(&alice).await;
    let into = FileDestination {
        project_id: Some(project),
    };
    files
        .move_file(&alice_actor, cube.id, into.clone())
        .await
        .unwrap();
    assert!(matches!(
        files.get_project(&bob_actor, project).await,
        Err(AppError::NotFound { what: "project" })
    ));
    share(
        &lab,
        &alice,
        project,
        ShareSubject::Member(bob.member),
        ShareLevel::View,
    )
    .await;
    assert_eq!(
        files.get(&bob_actor, cube.id).await.unwrap().name,
        "cube.gcode"
    );
    assert_eq!(files.list_projects(&bob_actor).await.unwrap().len(), 1);
    let refused = files.delete(&bob_actor, cube.id).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "project_read_only");
    let refused = files
        .upload(
            &bob_actor,
            UploadFile {
                project_id: Some(project),
                ..named("x.gcode")
            },
            body(CONE),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code().as_str(), "project_read_only");
    let refused = files
        .rename_project(
            &bob_actor,
            project,
            app::RenameProject {
                name: "Mine".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::PermissionDenied { permission, .. } if *permission == Permission::FilesManageAll),
        "{refused:?}"
    );
    // Bob copies it into his own space: his file, the same content.
    let copy = files
        .copy_file(&bob_actor, cube.id, FileDestination { project_id: None })
        .await
        .unwrap();
    assert_eq!(
        (copy.owner_member_id, copy.sha256.clone()),
        (bob.member, cube.sha256.clone())
    );

    // Shared with a workgroup at edit: Carol, in it, moves the file out of it.
    let owner = lab.actor(&lab.owner).await;
    let group = lab
        .app
        .people()
        .create_workgroup(
            &owner,
            CreateWorkgroup {
                name: "Studio".into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let carol_actor = lab.actor(&carol).await;
    assert!(matches!(
        files.get(&carol_actor, cube.id).await,
        Err(AppError::NotFound { .. })
    ));
    lab.app
        .people()
        .set_workgroup_member(
            &owner,
            group.id,
            carol.member,
            SetWorkgroupMember::default(),
        )
        .await
        .unwrap();
    share(
        &lab,
        &alice,
        project,
        ShareSubject::Workgroup(group.id),
        ShareLevel::Edit,
    )
    .await;
    let carol_actor = lab.actor(&carol).await;
    let other = create_project(&lab, &carol, "Carol's").await;
    let moved = files
        .move_file(
            &carol_actor,
            cube.id,
            FileDestination {
                project_id: Some(other),
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.project_id, Some(other));
    // Out of the shared project, Bob no longer sees it.
    assert!(matches!(
        files.get(&bob_actor, cube.id).await,
        Err(AppError::NotFound { .. })
    ));
    // Alice still does: it is hers.
    assert_eq!(
        files.get(&alice_actor, cube.id).await.unwrap().project_id,
        Some(other)
    );

    // Unsharing ends the reach; an empty project can be deleted, a full one cannot.
    let project_detail = files
        .unshare_project(&alice_actor, project, ShareSubject::Member(bob.member))
        .await
        .unwrap();
    assert_eq!(project_detail.shares.len(), 1);
    assert!(matches!(
        files.get_project(&bob_actor, project).await,
        Err(AppError::NotFound { .. })
    ));
    let refused = files
        .delete_project(&lab.actor(&carol).await, other)
        .await
        .unwrap_err();
    assert_eq!(refused.code().as_str(), "project_not_empty");
    files.delete_project(&alice_actor, project).await.unwrap();
    let actions = lab.audit_actions().await;
    for action in [
        "project.create",
        "project.share",
        "project.unshare",
        "project.delete",
        "file.move",
        "file.copy",
    ] {
        assert!(
            actions.contains(&action.to_string()),
            "{action}: {actions:?}"
        );
    }
}

async fn nothing_crosses_organizations(backend: Backend) {
    let lab = Lab::open(backend).await;
    let file = upload(&lab, &lab.owner, "cube.gcode", CUBE).await;
    let project = create_project(&lab, &lab.owner, "Shared").await;
    // The owner also owns another organization: everything is per organization.
    let other = lab
        .app
        .console()
        .create_org("Other lab", "owner@lab.test", None, authz::Preset::Farmhand)
        .await
        .unwrap();
    let elsewhere: OrgActor = lab
        .app
        .org_actor(
            lab.owner.principal.clone(),
            other.org.id,
            RequestMeta::default(),
        )
        .await
        .unwrap();
    let files = lab.app.files();
    assert!(matches!(
        files.get(&elsewhere, file.id).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(
        files.thumbnail(&elsewhere, file.id, 0).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(
        files.content(&elsewhere, file.id).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(
        files.delete(&elsewhere, file.id).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(
        files.get_project(&elsewhere, project).await,
        Err(AppError::NotFound { .. })
    ));
    let page = files
        .list(&elsewhere, FileListQuery::default())
        .await
        .unwrap();
    assert!(page.files.is_empty());
    assert!(files.list_projects(&elsewhere).await.unwrap().is_empty());
    // Uploading there into this organization's project finds no such project.
    let refused = files
        .upload(
            &elsewhere,
            UploadFile {
                project_id: Some(project),
                ..named("x.gcode")
            },
            body(CUBE),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AppError::NotFound { what: "project" }),
        "{refused:?}"
    );
}

async fn deleting_the_last_file_of_a_content_removes_its_blob(backend: Backend) {
    let lab = Lab::open(backend).await;
    let first = upload(&lab, &lab.owner, "a.gcode", CUBE).await;
    let second = upload(&lab, &lab.owner, "b.gcode", CUBE).await;
    let org = lab.org;
    let blobs = &lab.app.settings().blobs;
    let actor = lab.actor(&lab.owner).await;
    lab.app.files().delete(&actor, first.id).await.unwrap();
    assert!(
        blobs.contains(org, &second.sha256).await.unwrap(),
        "still named by b.gcode"
    );
    lab.app.files().delete(&actor, second.id).await.unwrap();
    assert!(!blobs.contains(org, &second.sha256).await.unwrap());
    assert!(matches!(
        lab.app.files().get(&actor, second.id).await,
        Err(AppError::NotFound { .. })
    ));
    // Uploaded again, it is stored again.
    let third = upload(&lab, &lab.owner, "c.gcode", CUBE).await;
    assert!(blobs.contains(org, &third.sha256).await.unwrap());
    let actions = lab.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "file.delete").count(), 2);
}
