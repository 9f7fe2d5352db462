//! Use cases driven directly, on both databases, with typed fixtures: what the HTTP tests
//! cannot stage deterministically (a request authorized before a change of rights that commits
//! first) and what a unit of work promises (all or nothing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use app::{
    AcceptInvitation, App, AppError, CreateInvitation, Credential, ErrorCode, OrgActor,
    PasswordHasher, Principal, PrinterInput, RankChange, RequestMeta, Settings, SignIn,
    UpdateMember, Vault,
};
use authz::Permission;
use domain::{DriverKind, ManualClock, MemberId, OrgId, RankId, SiteId, Timestamp};
use store::{Store, StoreOptions};
use testkit::{Backend, TestDatabase};

const PASSWORD: &str = "correct horse battery";

/// Someone in the organization: their membership and how they are signed in.
#[derive(Clone)]
struct Person {
    member: MemberId,
    principal: Principal,
}

/// An organization with its owner, on a fresh database.
struct Lab {
    app: App,
    org: OrgId,
    owner: Person,
    _db: TestDatabase,
    _staging: tempfile::TempDir,
}

impl Lab {
    async fn open(backend: Backend) -> Lab {
        let db = TestDatabase::new(backend).await;
        let store = Store::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let staging = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").unwrap(),
        ));
        let settings = Settings {
            staging_dir: staging.path().to_path_buf(),
            ..Settings::default()
        };
        let hasher = PasswordHasher::fast_for_tests().unwrap();
        let hash = hasher.hash(PASSWORD).await.unwrap();
        {
            let mut tx = store.write().await.unwrap();
            let now = Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").unwrap();
            store::insert_user(&mut tx, "owner@lab.test", "Owner", &hash, false, now)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let app = App::new(
            store,
            clock,
            hasher,
            settings,
            Vault::new(&Vault::generate_key()),
        );
        let created = app
            .console()
            .create_org("Lab", "owner@lab.test", None, authz::Preset::Farmhand)
            .await
            .unwrap();
        let principal = sign_in(&app, "owner@lab.test").await;
        let org = created.org.id;
        let owner_actor = app
            .org_actor(principal.clone(), org, RequestMeta::default())
            .await
            .unwrap();
        let owner = Person {
            member: owner_actor.member_id(),
            principal,
        };
        Lab {
            app,
            org,
            owner,
            _db: db,
            _staging: staging,
        }
    }

    /// The person as authorized now, as a request would resolve them.
    async fn actor(&self, who: &Person) -> OrgActor {
        self.app
            .org_actor(who.principal.clone(), self.org, RequestMeta::default())
            .await
            .unwrap()
    }

    async fn rank(&self, name: &str) -> RankId {
        let owner = self.actor(&self.owner).await;
        let ranks = self.app.access().list_ranks(&owner).await.unwrap();
        ranks.iter().find(|r| r.name == name).unwrap().id
    }

    /// Someone new joins with `rank`, invited by `inviter`.
    async fn join(&self, inviter: &Person, rank: &str, email: &str) -> Person {
        let invitation = CreateInvitation {
            email: email.into(),
            rank_id: self.rank(rank).await,
            site_id: None,
            expires_in_hours: None,
        };
        let inviter = self.actor(inviter).await;
        let people = self.app.people();
        let created = people
            .create_invitation(&inviter, invitation)
            .await
            .unwrap();
        let account = AcceptInvitation {
            name: Some(email.into()),
            password: Some(PASSWORD.into()),
        };
        let meta = RequestMeta::default();
        let (member, signed_in) = people
            .accept_invitation(&created.token, None, account, &meta)
            .await
            .unwrap();
        let signed_in = signed_in.unwrap();
        Person {
            member: member.id,
            principal: Principal {
                user: signed_in.user,
                credential: Credential::Session(signed_in.session_id),
            },
        }
    }

    async fn set_rank(&self, who: &Person, rank: &str) {
        let owner = self.actor(&self.owner).await;
        let change = UpdateMember {
            rank_id: Some(self.rank(rank).await),
            site_id: None,
        };
        self.app
            .people()
            .update_member(&owner, who.member, change)
            .await
            .unwrap();
    }

    async fn audit_actions(&self) -> Vec<String> {
        let owner = self.actor(&self.owner).await;
        let page = self
            .app
            .audit_log()
            .list_audit(&owner, &app::AuditQuery::default())
            .await
            .unwrap();
        page.events.into_iter().map(|e| e.action).collect()
    }
}

async fn sign_in(app: &App, email: &str) -> Principal {
    let input = SignIn {
        email: email.into(),
        password: PASSWORD.into(),
    };
    let signed_in = app
        .identity()
        .sign_in(input, &RequestMeta::default())
        .await
        .unwrap();
    Principal {
        user: signed_in.user,
        credential: Credential::Session(signed_in.session_id),
    }
}

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
