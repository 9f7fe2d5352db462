//! What the use-case tests share: an organization with its owner on a fresh database, and
//! people who join it.
// Each test crate uses part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use app::{
    AcceptInvitation, App, CreateInvitation, Credential, OrgActor, PasswordHasher, Principal,
    RequestMeta, Settings, SignIn, UpdateMember, Vault,
};
use domain::{ManualClock, MemberId, OrgId, RankId, Timestamp};
use store::{Store, StoreOptions};
use testkit::{Backend, TestDatabase};

pub const PASSWORD: &str = "correct horse battery";

/// Someone in the organization: their membership and how they are signed in.
#[derive(Clone)]
pub struct Person {
    pub member: MemberId,
    pub principal: Principal,
}

/// An organization with its owner, on a fresh database.
pub struct Lab {
    pub app: App,
    pub org: OrgId,
    pub owner: Person,
    /// The clock the app runs on, to move time in tests.
    pub clock: Arc<ManualClock>,
    db: TestDatabase,
    vault_key: [u8; 32],
    staging: tempfile::TempDir,
    /// Changes to the default settings, applied at every (re)start.
    configure: fn(&mut Settings),
}

impl Lab {
    pub async fn open(backend: Backend) -> Lab {
        Lab::open_with(backend, |_| {}).await
    }

    /// Opens with `configure` applied to the test settings (supervision's polling, …).
    pub async fn open_with(backend: Backend, configure: fn(&mut Settings)) -> Lab {
        let db = TestDatabase::new(backend).await;
        let store = Store::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let staging = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").unwrap(),
        ));
        let mut settings = Settings {
            staging_dir: staging.path().to_path_buf(),
            ..Settings::default()
        };
        configure(&mut settings);
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
        let vault_key = Vault::generate_key();
        let app = App::new(
            store,
            clock.clone(),
            hasher,
            settings,
            Vault::new(&vault_key),
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
            clock,
            db,
            vault_key,
            staging,
            configure,
        }
    }

    /// Farmhand stops (its supervisors with it) and starts again on the same database, as after
    /// a restart of the server: every printer is supervised anew from what is stored.
    pub async fn restart(&mut self) {
        self.app.stop_fleet().await.unwrap();
        let store = Store::open(&self.db.url, &StoreOptions::default())
            .await
            .unwrap();
        let mut settings = Settings {
            staging_dir: self.staging.path().to_path_buf(),
            ..Settings::default()
        };
        (self.configure)(&mut settings);
        self.app = App::new(
            store,
            self.clock.clone(),
            PasswordHasher::fast_for_tests().unwrap(),
            settings,
            Vault::new(&self.vault_key),
        );
        self.app.start_fleet().await.unwrap();
    }

    /// Where uploads are staged while they arrive.
    pub fn staging_dir(&self) -> &std::path::Path {
        self.staging.path()
    }

    /// The person as authorized now, as a request would resolve them.
    pub async fn actor(&self, who: &Person) -> OrgActor {
        self.app
            .org_actor(who.principal.clone(), self.org, RequestMeta::default())
            .await
            .unwrap()
    }

    pub async fn rank(&self, name: &str) -> RankId {
        let owner = self.actor(&self.owner).await;
        let ranks = self.app.access().list_ranks(&owner).await.unwrap();
        ranks.iter().find(|r| r.name == name).unwrap().id
    }

    /// Someone new joins with `rank`, invited by `inviter`.
    pub async fn join(&self, inviter: &Person, rank: &str, email: &str) -> Person {
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

    pub async fn set_rank(&self, who: &Person, rank: &str) {
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

    pub async fn audit_actions(&self) -> Vec<String> {
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

pub async fn sign_in(app: &App, email: &str) -> Principal {
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
