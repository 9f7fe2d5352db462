//! The store contract: every test runs against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use authz::{PermissionSet, Preset};
use domain::audit::{ActorKind, Chain, ChainBreak, NewAuditEvent};
use domain::{OrgId, Timestamp};
use store::{AuditFilter, Backend, Store, StoreError, StoreOptions};
use testkit::TestDatabase;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::run(store::Backend::Sqlite, super::$name).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::run(store::Backend::Postgres, super::$name).await } )*
        }
    };
}

on_both_backends!(
    migrations_create_an_empty_schema,
    unique_violations_are_conflicts,
    members_ranks_and_sites_round_trip,
    audit_chain_appends_and_verifies,
    audit_tampering_is_detected,
    audit_rows_cannot_be_updated_or_deleted,
    concurrent_appends_never_fork_the_chain,
    bulk_appends_continue_the_chain,
    audit_listing_filters_and_pages,
    invitations_accept_once,
    tokens_and_sessions_respect_expiry_and_revocation,
    printer_fleet_round_trips,
);

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Store, Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::new(backend).await;
    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .expect("open store");
    test(store.clone(), backend).await;
    store.close().await;
    // Opening again re-runs the migrator on a migrated database: nothing to do, no error.
    Store::open(&db.url, &StoreOptions::default())
        .await
        .expect("reopen store")
        .close()
        .await;
    db.drop_database().await;
}

const T0: Timestamp = Timestamp::from_micros(1_790_000_000_000_000);

async fn org_with_owner(store: &Store, name: &str) -> (OrgId, domain::MemberId) {
    let mut tx = store.write().await.unwrap();
    let org = store::insert_org(&mut tx, name, "UTC", "EUR", T0)
        .await
        .unwrap();
    let positions = authz::Seniority::positions_after(0, Preset::Farmhand.ranks().len()).unwrap();
    let ranks = store::insert_preset_ranks(&mut tx, org, Preset::Farmhand, &positions, T0)
        .await
        .unwrap();
    assert!(ranks[0].0.is_owner);
    let email = format!("owner@{}.test", name.to_lowercase().replace(' ', "-"));
    let user = store::insert_user(&mut tx, &email, "Owner", "hash", false, T0)
        .await
        .unwrap();
    let member = store::insert_member(&mut tx, org, user, ranks[0].1, None, T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (org, member)
}

fn event(chain: Chain, action: &str, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        chain,
        occurred_at: T0.plus_seconds(n),
        actor_kind: ActorKind::User,
        actor_user_id: Some(domain::UserId(1 + n % 3)),
        actor_token_id: None,
        actor_label: "ada@example.org".into(),
        action: action.into(),
        target_type: "site".into(),
        target_id: Some(n.to_string()),
        before: None,
        after: Some(serde_json::json!({ "n": n })),
        client_ip: Some("127.0.0.1".into()),
        user_agent: Some("test".into()),
        request_id: None,
    }
}

async fn append(store: &Store, chain: Chain, action: &str, n: i64) {
    let mut tx = store.write().await.unwrap();
    store::append_audit(&mut tx, event(chain, action, n))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn migrations_create_an_empty_schema(store: Store, backend: Backend) {
    assert_eq!(store.backend(), backend);
    let mut conn = store.read().await.unwrap();
    assert!(store::list_orgs(&mut conn).await.unwrap().is_empty());
    store.ping().await.unwrap();
}

async fn unique_violations_are_conflicts(store: Store, _: Backend) {
    let mut tx = store.write().await.unwrap();
    store::insert_user(&mut tx, "a@x.test", "A", "h", false, T0)
        .await
        .unwrap();
    let err = store::insert_user(&mut tx, "a@x.test", "A2", "h", false, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn members_ranks_and_sites_round_trip(store: Store, _: Backend) {
    let (org, owner) = org_with_owner(&store, "Lab").await;
    let (other_org, _) = org_with_owner(&store, "Other").await;
    let mut tx = store.write().await.unwrap();
    let site = store::insert_site(&mut tx, org, "North", "", Some("Europe/Berlin"), T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    let ranks = store::list_ranks(&mut conn, org).await.unwrap();
    assert_eq!(
        ranks.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        [
            "Owner", "Admin", "Manager", "Operator", "Member", "Guest", "Viewer"
        ]
    );
    assert_eq!(
        ranks[2].permissions,
        Preset::Farmhand.ranks()[2].permissions
    );
    assert!(ranks[0].is_owner && !ranks[1].is_owner);

    let auth = store::member_auth(&mut conn, org, owner)
        .await
        .unwrap()
        .unwrap();
    assert!(auth.active && auth.rank.is_owner);
    assert_eq!(auth.rank.effective_permissions(), PermissionSet::all());
    // Another organization's member and site are not found through this organization.
    assert!(
        store::member_auth(&mut conn, other_org, owner)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store::get_site(&mut conn, other_org, site)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store::get_site(&mut conn, org, site)
            .await
            .unwrap()
            .unwrap()
            .time_zone
            .as_deref(),
        Some("Europe/Berlin")
    );
    assert_eq!(store::count_active_owners(&mut conn, org).await.unwrap(), 1);
    drop(conn);

    let mut tx = store.write().await.unwrap();
    store::set_member_active(&mut tx, org, owner, false, T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let member = store::get_member(&mut conn, org, owner)
        .await
        .unwrap()
        .unwrap();
    assert!(!member.active);
    assert_eq!(member.deactivated_at, Some(T0));
    assert_eq!(store::count_active_owners(&mut conn, org).await.unwrap(), 0);
}

async fn audit_chain_appends_and_verifies(store: Store, _: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    for n in 0..25 {
        append(&store, Chain::Org(org), "site.create", n).await;
    }
    append(&store, Chain::Instance, "auth.sign_in", 0).await;
    let reports = store::verify_audit(&store, None).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].chain, Chain::Instance);
    assert_eq!(reports[0].result, Ok(1));
    assert_eq!(reports[1].result, Ok(25));
}

async fn tamper(store: &Store, backend: Backend, sql: &str) {
    // An attacker with database access first removes the append-only guard.
    let guard_off = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    };
    sqlx::query(guard_off).execute(store.pool()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .unwrap();
}

async fn audit_tampering_is_detected(store: Store, backend: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    for n in 0..10 {
        append(&store, Chain::Org(org), "site.create", n).await;
    }
    let chain = Chain::Org(org);
    assert_eq!(
        store::verify_audit(&store, Some(chain)).await.unwrap()[0].result,
        Ok(10)
    );
    let sql = format!(
        "UPDATE audit_events SET action = 'site.delete' WHERE chain_key = {} AND seq = 4",
        org.get()
    );
    tamper(&store, backend, &sql).await;
    let result = store::verify_audit(&store, Some(chain))
        .await
        .unwrap()
        .remove(0)
        .result;
    assert!(
        matches!(result, Err(ChainBreak::ContentMismatch { seq: 4, .. })),
        "{result:?}"
    );
}

async fn audit_rows_cannot_be_updated_or_deleted(store: Store, _: Backend) {
    append(&store, Chain::Instance, "auth.sign_in", 1).await;
    let update = sqlx::query("UPDATE audit_events SET action = 'x'")
        .execute(store.pool())
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_events")
        .execute(store.pool())
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

async fn concurrent_appends_never_fork_the_chain(store: Store, _: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    let tasks: Vec<_> = (0..8)
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..10 {
                    append(&store, Chain::Org(org), "site.create", worker * 100 + n).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        store::verify_audit(&store, Some(Chain::Org(org)))
            .await
            .unwrap()[0]
            .result,
        Ok(80)
    );
}

async fn audit_listing_filters_and_pages(store: Store, _: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    let (other, _) = org_with_owner(&store, "Other").await;
    for n in 0..30 {
        let action = if n % 2 == 0 {
            "site.create"
        } else {
            "site.update"
        };
        append(&store, Chain::Org(org), action, n).await;
    }
    append(&store, Chain::Org(other), "site.create", 0).await;
    let chain = Chain::Org(org);
    let mut conn = store.read().await.unwrap();

    // Pages of 7, newest first, covering everything exactly once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store::list_audit(&mut conn, chain, &AuditFilter::default(), cursor, 7)
            .await
            .unwrap();
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (1..=30).rev().collect::<Vec<_>>());

    let filter = AuditFilter {
        action: Some("site.update".into()),
        ..Default::default()
    };
    let page = store::list_audit(&mut conn, chain, &filter, None, 100)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 15);
    assert!(page.events.iter().all(|e| e.action == "site.update"));

    let filter = AuditFilter {
        from: Some(T0.plus_seconds(10)),
        to: Some(T0.plus_seconds(20)),
        ..Default::default()
    };
    let page = store::list_audit(&mut conn, chain, &filter, None, 100)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 10);

    let filter = AuditFilter {
        actor_user_id: Some(domain::UserId(2)),
        target_type: Some("site".into()),
        ..Default::default()
    };
    let page = store::list_audit(&mut conn, chain, &filter, None, 100)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 10);

    let batch = store::audit_batch_ascending(&mut conn, chain, &AuditFilter::default(), None, 1000)
        .await
        .unwrap();
    assert_eq!(
        batch.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    assert_eq!(batch[0].after.as_ref().map(|v| v.get()), Some(r#"{"n":0}"#));
}

async fn invitations_accept_once(store: Store, _: Backend) {
    let (org, owner) = org_with_owner(&store, "Lab").await;
    let mut tx = store.write().await.unwrap();
    let rank = store::find_rank_by_name(&mut tx, org, "Member")
        .await
        .unwrap()
        .unwrap();
    let id = store::insert_invitation(
        &mut tx,
        &store::NewInvitation {
            org,
            email: "new@x.test",
            rank: rank.id,
            site: None,
            token_hash: "h1",
            invited_by: owner,
            expires_at: T0.plus_seconds(60),
        },
        T0,
    )
    .await
    .unwrap();
    let user = store::insert_user(&mut tx, "new@x.test", "New", "h", false, T0)
        .await
        .unwrap();
    assert!(
        store::accept_invitation(&mut tx, id, user, T0.plus_seconds(1))
            .await
            .unwrap()
    );
    assert!(
        !store::accept_invitation(&mut tx, id, user, T0.plus_seconds(2))
            .await
            .unwrap()
    );
    let found = store::find_invitation_by_token(&mut tx, "h1", T0.plus_seconds(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.invitation.status, domain::InvitationStatus::Accepted);
    let id2 = store::insert_invitation(
        &mut tx,
        &store::NewInvitation {
            org,
            email: "late@x.test",
            rank: rank.id,
            site: None,
            token_hash: "h2",
            invited_by: owner,
            expires_at: T0.plus_seconds(60),
        },
        T0,
    )
    .await
    .unwrap();
    // Expired invitations cannot be accepted.
    assert!(
        !store::accept_invitation(&mut tx, id2, user, T0.plus_seconds(61))
            .await
            .unwrap()
    );
    // The invited person finds their pending invitations by email and may decline them; the
    // sender's pending invitations can be revoked together.
    let site = store::insert_site(&mut tx, org, "Annex", "", None, T0)
        .await
        .unwrap();
    let mut pending = Vec::new();
    for hash in ["h3", "h4"] {
        pending.push(
            store::insert_invitation(
                &mut tx,
                &store::NewInvitation {
                    org,
                    email: "ada@x.test",
                    rank: rank.id,
                    site: Some(site),
                    token_hash: hash,
                    invited_by: owner,
                    expires_at: T0.plus_seconds(60),
                },
                T0,
            )
            .await
            .unwrap(),
        );
    }
    let mine = store::pending_invitations_for_email(&mut tx, "ada@x.test", T0)
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].invitation.site_id, Some(site));
    assert_eq!(mine[0].org_name, "Lab");
    assert!(
        store::decline_invitation(&mut tx, pending[0], T0)
            .await
            .unwrap()
    );
    assert!(
        !store::decline_invitation(&mut tx, pending[0], T0)
            .await
            .unwrap()
    );
    let declined = store::find_invitation(&mut tx, pending[0], T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        declined.invitation.status,
        domain::InvitationStatus::Declined
    );
    assert!(
        !store::accept_invitation(&mut tx, pending[0], user, T0)
            .await
            .unwrap(),
        "a declined invitation cannot be accepted"
    );
    assert_eq!(
        store::revoke_invitations_sent_by(&mut tx, owner, T0)
            .await
            .unwrap(),
        2,
        "only those still pending: late@ and the one not declined"
    );
    assert!(
        store::pending_invitations_for_email(&mut tx, "ada@x.test", T0)
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}

async fn tokens_and_sessions_respect_expiry_and_revocation(store: Store, _: Backend) {
    let (org, owner) = org_with_owner(&store, "Lab").await;
    let mut tx = store.write().await.unwrap();
    let scope: PermissionSet = [authz::Permission::SitesView].into_iter().collect();
    let token = store::insert_token(
        &mut tx,
        &store::NewToken {
            member: owner,
            name: "ci",
            token_hash: "t1",
            permissions: Some(scope),
            expires_at: Some(T0.plus_seconds(60)),
        },
        T0,
    )
    .await
    .unwrap();
    let found = store::find_token(&mut tx, "t1", T0).await.unwrap().unwrap();
    assert_eq!(
        (found.token_id, found.org_id, found.permissions),
        (token, org, Some(scope))
    );
    assert!(
        store::find_token(&mut tx, "t1", T0.plus_seconds(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store::revoke_token(&mut tx, token, T0).await.unwrap());
    assert!(
        store::find_token(&mut tx, "t1", T0)
            .await
            .unwrap()
            .is_none()
    );

    let auth = store::member_auth(&mut tx, org, owner)
        .await
        .unwrap()
        .unwrap();
    let session = store::insert_session(
        &mut tx,
        &store::NewSession {
            user: auth.user_id,
            token_hash: "s1",
            expires_at: T0.plus_seconds(60),
            client_ip: None,
            user_agent: None,
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        store::find_session(&mut tx, "s1", T0)
            .await
            .unwrap()
            .unwrap()
            .session_id,
        session
    );
    assert!(
        store::find_session(&mut tx, "s1", T0.plus_seconds(61))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store::revoke_user_sessions(&mut tx, auth.user_id, None, T0)
            .await
            .unwrap(),
        1
    );
    assert!(
        store::find_session(&mut tx, "s1", T0)
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
}

async fn bulk_appends_continue_the_chain(store: Store, _: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    let chain = Chain::Org(org);
    append(&store, chain, "site.create", 0).await;
    let mut tx = store.write().await.unwrap();
    store::append_audit_many(
        &mut tx,
        chain,
        (1..=1234).map(|n| event(chain, "site.update", n)).collect(),
    )
    .await
    .unwrap();
    let err = store::append_audit_many(&mut tx, chain, vec![event(Chain::Instance, "x", 0)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)));
    tx.commit().await.unwrap();
    append(&store, chain, "site.delete", 1235).await;
    assert_eq!(
        store::verify_audit(&store, Some(chain)).await.unwrap()[0].result,
        Ok(1236)
    );
}

async fn printer_fleet_round_trips(store: Store, _: Backend) {
    use domain::{DriverKind, PrintState, PrinterState};
    let (org, member) = org_with_owner(&store, "Fleet").await;
    let mut tx = store.write().await.unwrap();
    let site = store::insert_site(&mut tx, org, "Lab", "", None, T0)
        .await
        .unwrap();
    let materials = vec!["PLA".to_string(), "PETG".to_string()];
    let motion = serde_json::json!({ "firmware": "klipper", "klipper": { "max_accel": 5000.0 } });
    let model = store::insert_printer_model(
        &mut tx,
        org,
        &store::NewPrinterModel {
            name: "Voron 2.4",
            description: "CoreXY",
            build_volume_mm: [350.0, 350.0, 340.5],
            nozzle_diameter_mm: 0.4,
            materials: &materials,
            motion: &motion,
            hourly_rate_minor: 250,
        },
        T0,
    )
    .await
    .unwrap();
    let settings = serde_json::json!({ "speed": 60.0 });
    let printer = store::insert_printer(
        &mut tx,
        org,
        &store::NewPrinter {
            name: "V1",
            site,
            model: Some(model),
            groups: &[],
            driver: DriverKind::Moonraker,
            url: "http://10.0.0.5:7125",
            settings: &settings,
        },
        T0,
    )
    .await
    .unwrap();
    store::set_printer_credential(&mut tx, org, printer, Some("xc1:opaque"))
        .await
        .unwrap();
    let print = store::insert_print(
        &mut tx,
        org,
        &store::NewPrint {
            printer,
            file_name: "cube.gcode",
            file_sha256: "ab",
            file_size: 1234,
            estimated_s: 754.5,
            started_by: Some(member),
            managed: true,
            state: PrintState::Printing,
            started_at: T0,
        },
    )
    .await
    .unwrap();
    store::record_printer_state(
        &mut tx,
        org,
        &store::StateChange {
            printer,
            from: PrinterState::Idle,
            to: PrinterState::Printing,
            detail: "",
            print: Some(print),
            at: T0.plus_seconds(1),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    let m = store::get_printer_model(&mut conn, org, model)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.build_volume_mm, [350.0, 350.0, 340.5]);
    assert_eq!(m.materials, materials);
    assert_eq!(m.motion, motion);
    assert_eq!(m.hourly_rate_minor, 250);
    let p = store::get_printer(&mut conn, org, printer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.connection.driver, DriverKind::Moonraker);
    assert_eq!(p.connection.url, "http://10.0.0.5:7125");
    assert!(p.connection.has_credential);
    assert_eq!(p.connection.settings, settings);
    assert_eq!(p.state, PrinterState::Printing);
    assert_eq!(p.state_since, T0.plus_seconds(1));
    assert_eq!(
        store::printer_credential(&mut conn, org, printer)
            .await
            .unwrap()
            .as_deref(),
        Some("xc1:opaque")
    );
    let active = store::active_print(&mut conn, org, printer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.id, active.estimated_s, active.managed),
        (print, 754.5, true)
    );
    let events = store::list_printer_state_events(&mut conn, org, printer, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].from, events[0].to, events[0].print_id),
        (PrinterState::Idle, PrinterState::Printing, Some(print))
    );
    drop(conn);

    let mut tx = store.write().await.unwrap();
    store::update_print_state(
        &mut tx,
        org,
        print,
        PrintState::Completed,
        "",
        Some(T0.plus_seconds(700)),
    )
    .await
    .unwrap();
    store::set_printer_credential(&mut tx, org, printer, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    assert!(
        store::active_print(&mut conn, org, printer)
            .await
            .unwrap()
            .is_none()
    );
    let prints = store::list_prints(&mut conn, org, printer, 10)
        .await
        .unwrap();
    assert_eq!(prints[0].state, PrintState::Completed);
    assert_eq!(prints[0].ended_at, Some(T0.plus_seconds(700)));
    let p = store::get_printer(&mut conn, org, printer)
        .await
        .unwrap()
        .unwrap();
    assert!(!p.connection.has_credential);
}
