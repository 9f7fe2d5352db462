//! Use cases driven directly, on both databases, with typed fixtures: what the HTTP tests
//! cannot stage deterministically (a request authorized before a change of rights that commits
//! first) and what a unit of work promises (all or nothing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use app::{AppError, ErrorCode, PrinterInput, RankChange};
use authz::Permission;
use common::Lab;
use domain::{DriverKind, SiteId};
use testkit::Backend;

/// The file library's use cases.
#[path = "use_cases/files.rs"]
mod files;

testkit::on_both_backends!(
    a_demotion_that_commits_first_refuses_the_demoted_actors_rank_edit,
    a_promotion_that_commits_first_lets_the_request_through,
    a_refused_use_case_leaves_nothing_behind,
);

/// The admin's request is authorized (its actor resolved, as the HTTP layer does) before the
/// owner's demotion commits; the edit then runs. Its unit of work re-reads the organization's
/// authorization version inside the write transaction, sees it moved, authorizes the admin
/// again from the facts as they are now, and refuses: nothing is written.
async fn a_demotion_that_commits_first_refuses_the_demoted_actors_rank_edit(backend: Backend) {
    let lab = Lab::open(backend).await;
    let admin = lab.join(&lab.owner, "Admin", "admin@lab.test").await;
    let guest_rank = lab.rank("Guest").await;
    let edit = RankChange {
        description: Some("edited by the admin".into()),
        ..RankChange::default()
    };
    let ranks = lab.app.access();

    // In flight: authorized as an Admin.
    let in_flight = lab.actor(&admin).await;
    assert!(in_flight.holds(Permission::RanksManage));
    // Meanwhile the owner demotes the admin, and that commits first.
    lab.set_rank(&admin, "Viewer").await;
    // The admin's edit now runs with the actor it was authorized with.
    let refused = ranks
        .update_rank(&in_flight, guest_rank, edit.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::PermissionDenied { permission, .. } if *permission == Permission::RanksManage),
        "{refused:?}"
    );
    let owner = lab.actor(&lab.owner).await;
    let guest = ranks.get_rank(&owner, guest_rank).await.unwrap();
    assert_ne!(guest.description, "edited by the admin");
    assert!(
        !lab.audit_actions()
            .await
            .contains(&"rank.update".to_string())
    );

    // The same edit by an admin whose rights did not move goes through (the refusal above is
    // the demotion's doing, not the edit's).
    let other = lab.join(&lab.owner, "Admin", "admin2@lab.test").await;
    let authorized = lab.actor(&other).await;
    let edited = ranks
        .update_rank(&authorized, guest_rank, edit)
        .await
        .unwrap();
    assert_eq!(edited.description, "edited by the admin");
}

/// Re-authorizing is not only refusing: rights gained meanwhile count too.
async fn a_promotion_that_commits_first_lets_the_request_through(backend: Backend) {
    let lab = Lab::open(backend).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let in_flight = lab.actor(&member).await;
    assert!(!in_flight.holds(Permission::SitesManage));
    lab.set_rank(&member, "Admin").await;
    let site = lab
        .app
        .people()
        .create_site(
            &in_flight,
            app::CreateSite {
                name: "Annex".into(),
                description: String::new(),
                time_zone: None,
                staffed_hours: Vec::new(),
                staffed_grace_minutes: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(site.name, "Annex");
}

/// A use case refused after it wrote (a printer placed where its creator, an admin whose rank
/// covers one site, would not manage it)
/// leaves no row and no audit event: the unit of work commits all or nothing.
async fn a_refused_use_case_leaves_nothing_behind(backend: Backend) {
    let lab = Lab::open(backend).await;
    let owner = lab.actor(&lab.owner).await;
    let people = lab.app.people();
    let mut sites = Vec::new();
    for name in ["North", "South"] {
        let input = app::CreateSite {
            name: name.into(),
            description: String::new(),
            time_zone: None,
            staffed_hours: Vec::new(),
            staffed_grace_minutes: 0,
        };
        sites.push(people.create_site(&owner, input).await.unwrap().id);
    }
    let admin_rank = lab.rank("Admin").await;
    let scope = RankChange {
        scope: Some(authz::PrinterScope {
            sites: vec![sites[0]],
            ..authz::PrinterScope::default()
        }),
        ..RankChange::default()
    };
    lab.app
        .access()
        .update_rank(&owner, admin_rank, scope)
        .await
        .unwrap();
    let admin = lab.join(&lab.owner, "Admin", "admin@lab.test").await;
    let admin = lab.actor(&admin).await;
    let printer = |site: SiteId| PrinterInput {
        name: "P1".into(),
        site_id: site,
        model_id: None,
        group_ids: Vec::new(),
        driver: DriverKind::Simulated,
        url: String::new(),
        settings: serde_json::Map::new(),
        credential: None,
    };
    let fleet = lab.app.fleet();
    let refused = fleet
        .create_printer(&admin, printer(sites[1]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::CannotGrant, "{refused:?}");
    let printers = fleet.all_visible_printers(&owner).await.unwrap();
    assert!(printers.is_empty(), "no printer row was left behind");
    assert!(
        !lab.audit_actions()
            .await
            .contains(&"printer.create".to_string())
    );
    // Placed where the admin manages printers, the same printer is created.
    let created = fleet
        .create_printer(&admin, printer(sites[0]))
        .await
        .unwrap();
    assert_eq!(created.name, "P1");
    lab.app.supervisors().stop_all();
}
