//! The store contract: every test runs against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use authz::{PermissionSet, Preset};
use domain::audit::{ActorKind, Chain, ChainBreak, NewAuditEvent};
use domain::{OrgId, Timestamp};
use std::time::Duration;

use store::{AuditFilter, Backend, RightsLock, Store, StoreError, StoreOptions, WriteTx};
use testkit::TestDatabase;

testkit::on_both_backends!(
    with = run;
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
    flags_round_trip_as_booleans,
    rights_changes_wait_for_data_changes_under_way,
    claims_take_disjoint_rows,
    notifications_arrive_on_commit_only,
    notification_channels_and_payloads_are_checked,
    running_balances_always_equal_the_ledger_sums,
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
            job: None,
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

async fn flags_round_trip_as_booleans(store: Store, backend: Backend) {
    use domain::{DriverKind, PrintState};
    let (org, owner) = org_with_owner(&store, "Flags").await;
    let mut tx = store.write().await.unwrap();
    let user = store::insert_user(&mut tx, "new@x.test", "New", "h", true, T0)
        .await
        .unwrap();
    let rank = store::find_rank_by_name(&mut tx, org, "Member")
        .await
        .unwrap()
        .unwrap();
    let member = store::insert_member(&mut tx, org, user, rank.id, None, T0)
        .await
        .unwrap();
    let group = store::insert_workgroup(&mut tx, org, "Class", "", T0)
        .await
        .unwrap();
    store::upsert_workgroup_member(&mut tx, group, owner, true, T0)
        .await
        .unwrap();
    store::upsert_workgroup_member(&mut tx, group, member, false, T0)
        .await
        .unwrap();
    store::set_override(&mut tx, member, authz::Permission::SitesView, Some(true))
        .await
        .unwrap();
    store::set_override(
        &mut tx,
        member,
        authz::Permission::PrintersView,
        Some(false),
    )
    .await
    .unwrap();
    let site = store::insert_site(&mut tx, org, "Lab", "", None, T0)
        .await
        .unwrap();
    let settings = serde_json::json!({});
    let printer = store::insert_printer(
        &mut tx,
        org,
        &store::NewPrinter {
            name: "P1",
            site,
            model: None,
            groups: &[],
            driver: DriverKind::Simulated,
            url: "",
            settings: &settings,
        },
        T0,
    )
    .await
    .unwrap();
    store::set_printer_holds(&mut tx, org, printer, true, false)
        .await
        .unwrap();
    let print = store::insert_print(
        &mut tx,
        org,
        &store::NewPrint {
            printer,
            file_name: "at-the-printer.gcode",
            file_sha256: "",
            file_size: 0,
            estimated_s: 0.0,
            started_by: None,
            managed: false,
            state: PrintState::Printing,
            started_at: T0,
            job: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    let stored = store::get_user(&mut conn, user).await.unwrap().unwrap();
    assert!(stored.user.must_change_password);
    let ranks = store::list_ranks(&mut conn, org).await.unwrap();
    assert_eq!(
        ranks.iter().filter(|r| r.is_owner).count(),
        1,
        "only the Owner rank"
    );
    assert!(
        store::get_member(&mut conn, org, member)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert_eq!(
        store::workgroup_role(&mut conn, group, owner)
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        store::workgroup_role(&mut conn, group, member)
            .await
            .unwrap(),
        Some(false)
    );
    assert_eq!(
        store::moderated_workgroups(&mut conn, owner).await.unwrap(),
        [group]
    );
    assert!(
        store::moderated_workgroups(&mut conn, member)
            .await
            .unwrap()
            .is_empty()
    );
    let (allowed, denied) = store::member_overrides(&mut conn, member).await.unwrap();
    assert!(allowed.contains(authz::Permission::SitesView));
    assert!(denied.contains(authz::Permission::PrintersView));
    let p = store::get_printer(&mut conn, org, printer)
        .await
        .unwrap()
        .unwrap();
    assert!(p.maintenance && !p.bed_clear_pending && !p.connection.has_credential);
    assert!(
        !store::get_print(&mut conn, org, print)
            .await
            .unwrap()
            .unwrap()
            .managed
    );
    assert_eq!(store::count_active_owners(&mut conn, org).await.unwrap(), 1);
    assert_eq!(
        store::members_holding(&mut conn, org, PermissionSet::all())
            .await
            .unwrap(),
        ["Owner"]
    );
    drop(conn);
    let mut tx = store.write().await.unwrap();
    store::set_member_active(&mut tx, org, member, false, T0)
        .await
        .unwrap();
    store::set_printer_holds(&mut tx, org, printer, false, true)
        .await
        .unwrap();
    store::set_password(&mut tx, user, "h2", false, T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    assert!(
        !store::get_member(&mut conn, org, member)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let p = store::get_printer(&mut conn, org, printer)
        .await
        .unwrap()
        .unwrap();
    assert!(!p.maintenance && p.bed_clear_pending);
    assert!(
        !store::get_user(&mut conn, user)
            .await
            .unwrap()
            .unwrap()
            .user
            .must_change_password
    );
    if backend == Backend::Postgres {
        let not_boolean: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name IN ('must_change_password', \
             'is_owner', 'active', 'is_moderator', 'allow', 'maintenance', 'bed_clear_pending', \
             'managed') AND data_type <> 'boolean'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(not_boolean.is_empty(), "{not_boolean:?}");
    }
}

/// How long a task must stay blocked to count as waiting. Only a probe: the assertions that
/// matter come after the blocker lets go.
const STILL_BLOCKED: Duration = Duration::from_millis(300);
/// Generous: how long a task that should finish may take on a loaded machine.
const FINISHES: Duration = Duration::from_secs(20);

async fn rights_changes_wait_for_data_changes_under_way(store: Store, backend: Backend) {
    let (org, _) = org_with_owner(&store, "Lab").await;
    let before = store::authz_version(&mut store.read().await.unwrap(), org)
        .await
        .unwrap()
        .unwrap();
    let mut data = store.write().await.unwrap();
    assert_eq!(
        store::lock_rights(&mut data, org, RightsLock::Use)
            .await
            .unwrap(),
        Some(before)
    );
    assert_eq!(
        store::lock_rights(&mut data, OrgId(999_999), RightsLock::Use)
            .await
            .unwrap(),
        None
    );
    if backend == Backend::Postgres {
        // Data changes run side by side (on SQLite there is one writer at a time anyway).
        let mut other = store.write().await.unwrap();
        let shared = tokio::time::timeout(
            FINISHES,
            store::lock_rights(&mut other, org, RightsLock::Use),
        )
        .await
        .expect("a second data change waited for the first");
        assert_eq!(shared.unwrap(), Some(before));
        other.commit().await.unwrap();
    }

    let mut rights_change = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.write().await.unwrap();
            let seen = store::lock_rights(&mut tx, org, RightsLock::Change)
                .await
                .unwrap()
                .unwrap();
            store::bump_authz_version(&mut tx, org).await.unwrap();
            tx.commit().await.unwrap();
            seen
        }
    });
    assert!(
        tokio::time::timeout(STILL_BLOCKED, &mut rights_change)
            .await
            .is_err(),
        "a rights change committed while a data change relied on the rights"
    );
    assert_eq!(
        store::authz_version(&mut data, org).await.unwrap(),
        Some(before)
    );
    data.commit().await.unwrap();
    let seen = tokio::time::timeout(FINISHES, rights_change)
        .await
        .expect("the rights change never went ahead")
        .unwrap();
    assert_eq!(seen, before);
    assert_eq!(
        store::authz_version(&mut store.read().await.unwrap(), org)
            .await
            .unwrap(),
        Some(before + 1)
    );
}

/// Claims up to three unclaimed rows of the test's table for `who`.
async fn claim(tx: &mut WriteTx, who: &str) -> Vec<i64> {
    let sql = tx.claiming("SELECT id FROM claim_demo WHERE claimed_by IS NULL ORDER BY id LIMIT 3");
    let ids: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut **tx)
        .await
        .unwrap();
    let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
    for id in &ids {
        sqlx::query("UPDATE claim_demo SET claimed_by = $1 WHERE id = $2")
            .bind(who.to_string())
            .bind(*id)
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    ids
}

async fn claims_take_disjoint_rows(store: Store, backend: Backend) {
    sqlx::query("CREATE TABLE claim_demo (id BIGINT PRIMARY KEY, claimed_by TEXT)")
        .execute(store.pool())
        .await
        .unwrap();
    for id in 1..=10_i64 {
        sqlx::query("INSERT INTO claim_demo (id) VALUES ($1)")
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let mut first = store.write().await.unwrap();
    assert_eq!(claim(&mut first, "first").await, [1, 2, 3]);
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.write().await.unwrap();
            let ids = claim(&mut tx, "second").await;
            tx.commit().await.unwrap();
            ids
        }
    });
    let second = if backend == Backend::Postgres {
        // The rows the first claimer holds are skipped, not waited for: the second claimer is
        // done while the first is still open.
        let ids = tokio::time::timeout(FINISHES, second)
            .await
            .expect("the second claimer waited for the first")
            .unwrap();
        first.commit().await.unwrap();
        ids
    } else {
        // One writer at a time: the second claimer starts once the first has committed.
        first.commit().await.unwrap();
        second.await.unwrap()
    };
    assert_eq!(second, [4, 5, 6]);
    let rows: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, claimed_by FROM claim_demo ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let owners: Vec<Option<&str>> = rows.iter().map(|(_, who)| who.as_deref()).collect();
    assert_eq!(
        owners,
        [
            Some("first"),
            Some("first"),
            Some("first"),
            Some("second"),
            Some("second"),
            Some("second"),
            None,
            None,
            None,
            None
        ]
    );
}

async fn next(subscription: &mut store::Subscription) -> (String, String) {
    let n = tokio::time::timeout(FINISHES, subscription.recv())
        .await
        .expect("no notification arrived")
        .expect("no notification was missed");
    (n.channel, n.payload)
}

fn pair(channel: &str, payload: &str) -> (String, String) {
    (channel.to_string(), payload.to_string())
}

async fn notifications_arrive_on_commit_only(store: Store, _: Backend) {
    let mut jobs = store.listen(&["jobs", "printers"]).await.unwrap();
    let mut tx = store.write().await.unwrap();
    Store::notify(&mut tx, "jobs", "rolled back").await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.write().await.unwrap();
    Store::notify(&mut tx, "jobs", "dropped").await.unwrap();
    drop(tx);

    let mut tx = store.write().await.unwrap();
    Store::notify(&mut tx, "elsewhere", "not listened to")
        .await
        .unwrap();
    Store::notify(&mut tx, "jobs", "1").await.unwrap();
    Store::notify(&mut tx, "printers", "2").await.unwrap();
    Store::notify(&mut tx, "jobs", "1").await.unwrap();
    // Not delivered before the commit.
    assert!(
        tokio::time::timeout(STILL_BLOCKED, jobs.recv())
            .await
            .is_err()
    );
    tx.commit().await.unwrap();
    // Only what committed, in the order sent, a repeated notification once.
    assert_eq!(next(&mut jobs).await, pair("jobs", "1"));
    assert_eq!(next(&mut jobs).await, pair("printers", "2"));

    // A second listener, and the stream form.
    let mut printers = store.listen(&["printers"]).await.unwrap().into_stream();
    let mut tx = store.write().await.unwrap();
    Store::notify(&mut tx, "jobs", "3").await.unwrap();
    Store::notify(&mut tx, "printers", "4").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next(&mut jobs).await, pair("jobs", "3"));
    assert_eq!(next(&mut jobs).await, pair("printers", "4"));
    use futures::StreamExt;
    let n = tokio::time::timeout(FINISHES, printers.next())
        .await
        .expect("no notification arrived")
        .unwrap()
        .unwrap();
    assert_eq!((n.channel, n.payload), pair("printers", "4"));
}

async fn notification_channels_and_payloads_are_checked(store: Store, _: Backend) {
    for channel in ["", "Jobs", "a-b", "job queue", &"x".repeat(64)] {
        assert!(
            matches!(
                store.listen(&[channel]).await,
                Err(StoreError::Unsupported(_))
            ),
            "{channel:?}"
        );
        let mut tx = store.write().await.unwrap();
        assert!(matches!(
            Store::notify(&mut tx, channel, "").await,
            Err(StoreError::Unsupported(_))
        ));
    }
    let mut tx = store.write().await.unwrap();
    let longest = "p".repeat(store::MAX_NOTIFICATION_PAYLOAD);
    let mut sub = store.listen(&["x_1"]).await.unwrap();
    Store::notify(&mut tx, "x_1", &longest).await.unwrap();
    assert!(matches!(
        Store::notify(&mut tx, "x_1", &format!("{longest}p")).await,
        Err(StoreError::Unsupported(_))
    ));
    tx.commit().await.unwrap();
    assert_eq!(next(&mut sub).await, pair("x_1", &longest));
}

/// The balance and held amount kept on each member's account row are the sums of their ledger
/// after every entry of any kind (top-ups, holds, charges, releases, refunds, adjustments, for
/// two members of two organizations interleaved), after a transaction that rolled back, and
/// across a checked hold that is refused (nothing posted, nothing moved).
async fn running_balances_always_equal_the_ledger_sums(store: Store, _: Backend) {
    use domain::money::LedgerKind;
    let (org_a, a) = org_with_owner(&store, "Ledger A").await;
    let (org_b, b) = org_with_owner(&store, "Ledger B").await;
    let members = [(org_a, a), (org_b, b)];
    let check = |what: String| {
        let store = store.clone();
        async move {
            let mut conn = store.read().await.unwrap();
            for (org, member) in members {
                let kept = store::member_balance(&mut conn, org, member).await.unwrap();
                let summed = store::ledger_sums(&mut conn, org, member).await.unwrap();
                assert_eq!(kept, summed, "member {member} after {what}");
            }
        }
    };
    let entry = |member, kind, amount_minor, hold_minor| store::NewLedgerEntry {
        member,
        kind,
        amount_minor,
        hold_minor,
        job: None,
        actor: None,
        reason: "contract",
    };
    check("nothing".into()).await;
    // A small linear congruential sequence: every kind, either member, varied amounts.
    let mut seed: i64 = 12_345;
    for step in 0..60 {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        let (org, member) = members[(seed % 2) as usize];
        let amount = 1 + seed % 5_000;
        let kind = LedgerKind::ALL[(seed / 7 % 6) as usize];
        let (moves, holds) = match kind {
            LedgerKind::TopUp | LedgerKind::Refund => (amount, 0),
            LedgerKind::Hold => (0, amount),
            LedgerKind::Release => (0, -amount),
            LedgerKind::Charge => (-amount, 0),
            LedgerKind::Adjustment => (amount - 2_500, 0),
        };
        let mut tx = store.write().await.unwrap();
        if kind == LedgerKind::Hold {
            // A checked hold: posted only if the available balance stays at or above zero.
            let (balance, held) = store::member_balance(&mut tx, org, member).await.unwrap();
            let posted =
                store::append_hold(&mut tx, org, &entry(member, kind, 0, holds), Some(0), T0)
                    .await
                    .unwrap();
            assert_eq!(
                posted.is_some(),
                balance - held - holds >= 0,
                "step {step}: {balance} - {held} - {holds}"
            );
            if let Some(posted) = posted {
                assert_eq!((posted.kind, posted.hold_minor), (kind, holds));
            }
        } else {
            store::append_ledger(&mut tx, org, &entry(member, kind, moves, holds), T0)
                .await
                .unwrap();
        }
        if step % 10 == 9 {
            // Rolled back: neither the entry nor its move happened.
            drop(tx);
        } else {
            tx.commit().await.unwrap();
        }
        check(format!("step {step} ({kind:?} {moves} {holds})")).await;
    }
    // An unchecked hold goes below zero; a floor stops one that would pass it.
    let mut tx = store.write().await.unwrap();
    let (balance, held) = store::member_balance(&mut tx, org_a, a).await.unwrap();
    let available = balance - held;
    let too_much = entry(a, LedgerKind::Hold, 0, available + 1_000);
    assert!(
        store::append_hold(&mut tx, org_a, &too_much, Some(-999), T0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store::append_hold(&mut tx, org_a, &too_much, Some(-1_000), T0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::append_hold(&mut tx, org_a, &too_much, None, T0)
            .await
            .unwrap()
            .is_some()
    );
    // Another organization's member: no account row there, nothing posted.
    assert!(
        store::append_hold(&mut tx, org_b, &entry(a, LedgerKind::Hold, 0, 1), None, T0)
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
    check("holds past zero".into()).await;
    let mut conn = store.read().await.unwrap();
    let (_, held_after) = store::member_balance(&mut conn, org_a, a).await.unwrap();
    assert_eq!(held_after, held + 2 * (available + 1_000));
}
