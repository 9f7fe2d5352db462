//! Upgrades: a database filled as an older release left it, then opened by this one. Each test
//! runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use authz::{Permission, PermissionSet, presets::MANAGE_FLEET};
use domain::{MemberId, OrgId, PrintId, PrinterId, RankId, UserId, WorkgroupId};
use sqlx::Row;
use store::{Backend, Store, StoreOptions};
use testkit::TestDatabase;

testkit::on_both_backends!(
    printers_manage_is_split_into_the_fleet_permissions,
    flags_keep_their_values_as_booleans,
);

/// Runs `sql` with its binds and returns the `id` it returns.
async fn insert(store: &Store, sql: &'static str, binds: &[i64], texts: &[&str]) -> i64 {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    for t in texts {
        query = query.bind(t.to_string());
    }
    query
        .fetch_one(store.pool())
        .await
        .expect(sql)
        .try_get::<i64, _>("id")
        .unwrap()
}

fn set(keys: &[&str]) -> PermissionSet {
    PermissionSet::from_keys(keys.iter().copied()).unwrap()
}

fn fleet_and(others: &[&str]) -> PermissionSet {
    let mut permissions = set(others);
    for p in MANAGE_FLEET {
        permissions.insert(*p);
    }
    permissions
}

/// Release 0002 had one `printers.manage`; 0003 split it into nine permissions. Whoever held it
/// (in a rank, as a rank's tri-state, in an API token's subset, as a member override, allowed
/// or denied) holds all nine after the upgrade, and nothing else changes.
async fn printers_manage_is_split_into_the_fleet_permissions(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let old = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    old.migrate_through(2).await.unwrap();
    let user = insert(
        &old,
        "INSERT INTO users (email, name, password_hash, created_at, password_changed_at) \
         VALUES ($1, $2, 'x', 0, 0) RETURNING id",
        &[],
        &["tech@lab.test", "Tech"],
    )
    .await;
    let org = insert(
        &old,
        "INSERT INTO organizations (name, time_zone, currency, created_at) \
         VALUES ('Lab', 'UTC', 'EUR', 0) RETURNING id",
        &[],
        &[],
    )
    .await;
    let rank = |position: i64, name: &'static str, permissions: &'static str, tri: &'static str| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO ranks (org_id, position, name, description, permissions, tri_state) \
                 VALUES ($1, $2, $3, '', $4, $5) RETURNING id",
                &[org, position],
                &[name, permissions, tri],
            )
            .await
        }
    };
    let technician = rank(
        1,
        "Technician",
        "printers.view printers.manage sites.view",
        "printers.manage",
    )
    .await;
    // The key last, first, alone: the replacement must not depend on where it stands.
    rank(2, "Lead", "printers.manage printers.view", "").await;
    rank(3, "Solo", "printers.manage", "printers.view").await;
    rank(4, "Member", "printers.view", "").await;
    let member = insert(
        &old,
        "INSERT INTO memberships (org_id, user_id, rank_id, created_at) \
         VALUES ($1, $2, $3, 0) RETURNING id",
        &[org, user, technician],
        &[],
    )
    .await;
    for (name, permissions) in [
        ("subset", Some("sites.view printers.manage")),
        ("everything", None),
    ] {
        sqlx::query(
            "INSERT INTO api_tokens (member_id, name, token_hash, permissions, created_at) \
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(member)
        .bind(name)
        .bind(format!("hash-{name}"))
        .bind(permissions)
        .execute(old.pool())
        .await
        .unwrap();
    }
    for (permission, allow) in [("printers.manage", 0_i64), ("sites.view", 1)] {
        sqlx::query(
            "INSERT INTO member_overrides (member_id, permission, allow) VALUES ($1, $2, $3)",
        )
        .bind(member)
        .bind(permission)
        .bind(allow)
        .execute(old.pool())
        .await
        .unwrap();
    }
    old.close().await;

    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let mut conn = store.read().await.unwrap();
    let ranks = store::list_ranks(&mut conn, OrgId(org)).await.unwrap();
    let by_name = |name: &str| ranks.iter().find(|r| r.name == name).unwrap().clone();
    let technician = by_name("Technician");
    assert_eq!(
        technician.permissions,
        fleet_and(&["printers.view", "sites.view"])
    );
    assert_eq!(technician.tri_state, fleet_and(&[]));
    assert_eq!(by_name("Lead").permissions, fleet_and(&["printers.view"]));
    assert_eq!(by_name("Solo").permissions, fleet_and(&[]));
    assert_eq!(by_name("Solo").tri_state, set(&["printers.view"]));
    assert_eq!(by_name("Member").permissions, set(&["printers.view"]));

    let tokens = sqlx::query("SELECT name, permissions FROM api_tokens ORDER BY name")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let token = |i: usize| -> Option<BTreeSet<String>> {
        let text: Option<String> = tokens[i].try_get("permissions").unwrap();
        text.map(|t| t.split_whitespace().map(str::to_owned).collect())
    };
    assert_eq!(
        token(0),
        None,
        "a token with all of its owner's rights keeps them"
    );
    let want: BTreeSet<String> = fleet_and(&["sites.view"])
        .keys()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(token(1), Some(want));

    let (allowed, denied) = store::member_overrides(&mut conn, MemberId(member))
        .await
        .unwrap();
    assert_eq!(allowed, set(&["sites.view"]));
    assert_eq!(denied, fleet_and(&[]));
    let stale = sqlx::query(
        "SELECT COUNT(*) AS n FROM member_overrides WHERE permission = 'printers.manage'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
    .try_get::<i64, _>("n")
    .unwrap();
    assert_eq!(stale, 0);
    assert!(!allowed.contains(Permission::PrintersView));
    drop(conn);
    store.close().await;
    db.drop_database().await;
}

/// Release 0004 stored flags as 0/1 integers on both backends; 0005 makes them booleans on
/// PostgreSQL (SQLite keeps integers). Every stored flag keeps its value, and the columns'
/// defaults keep theirs.
async fn flags_keep_their_values_as_booleans(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let old = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    old.migrate_through(4).await.unwrap();
    let user = |email: &'static str, must_change: i64| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO users (email, name, password_hash, must_change_password, created_at, \
                 password_changed_at) VALUES ($2, $2, 'x', $1, 0, 0) RETURNING id",
                &[must_change],
                &[email],
            )
            .await
        }
    };
    let (ada, bob, cy) = (
        user("ada@lab.test", 1).await,
        user("bob@lab.test", 0).await,
        user("cy@lab.test", 0).await,
    );
    let org = insert(
        &old,
        "INSERT INTO organizations (name, time_zone, currency, created_at) \
         VALUES ('Lab', 'UTC', 'EUR', 0) RETURNING id",
        &[],
        &[],
    )
    .await;
    let rank = |position: i64, is_owner: i64, name: &'static str| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO ranks (org_id, position, is_owner, name, description, permissions) \
                 VALUES ($1, $2, $3, $4, '', '') RETURNING id",
                &[org, position, is_owner],
                &[name],
            )
            .await
        }
    };
    let (owner_rank, member_rank) = (rank(1, 1, "Owner").await, rank(2, 0, "Member").await);
    let member = |user: i64, rank: i64, active: i64| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO memberships (org_id, user_id, rank_id, active, created_at) \
                 VALUES ($1, $2, $3, $4, 0) RETURNING id",
                &[org, user, rank, active],
                &[],
            )
            .await
        }
    };
    let (owner, gone) = (
        member(ada, owner_rank, 1).await,
        member(bob, member_rank, 0).await,
    );
    let workgroup = insert(
        &old,
        "INSERT INTO workgroups (org_id, name, description, created_at) \
         VALUES ($1, 'Class', '', 0) RETURNING id",
        &[org],
        &[],
    )
    .await;
    for (member, moderates) in [(owner, 1_i64), (gone, 0)] {
        sqlx::query(
            "INSERT INTO workgroup_members (workgroup_id, member_id, is_moderator, added_at) \
             VALUES ($1, $2, $3, 0)",
        )
        .bind(workgroup)
        .bind(member)
        .bind(moderates)
        .execute(old.pool())
        .await
        .unwrap();
    }
    for (permission, allow) in [("sites.view", 1_i64), ("printers.view", 0)] {
        sqlx::query(
            "INSERT INTO member_overrides (member_id, permission, allow) VALUES ($1, $2, $3)",
        )
        .bind(gone)
        .bind(permission)
        .bind(allow)
        .execute(old.pool())
        .await
        .unwrap();
    }
    let site = insert(
        &old,
        "INSERT INTO sites (org_id, name, description, created_at) \
         VALUES ($1, 'North', '', 0) RETURNING id",
        &[org],
        &[],
    )
    .await;
    let printer = |maintenance: i64, bed_clear_pending: i64, name: &'static str| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO printers (org_id, site_id, maintenance, bed_clear_pending, name, \
                 created_at) VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
                &[org, site, maintenance, bed_clear_pending],
                &[name],
            )
            .await
        }
    };
    let (serviced, waiting) = (printer(1, 0, "P1").await, printer(0, 1, "P2").await);
    let print = |managed: i64| {
        let old = old.clone();
        async move {
            insert(
                &old,
                "INSERT INTO prints (org_id, printer_id, managed, file_name, state, started_at) \
                 VALUES ($1, $2, $3, $4, 'completed', 0) RETURNING id",
                &[org, serviced, managed],
                &["cube.gcode"],
            )
            .await
        }
    };
    let (managed, unmanaged) = (print(1).await, print(0).await);
    old.close().await;

    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let org = OrgId(org);
    let mut conn = store.read().await.unwrap();
    let must_change =
        |user: Option<store::UserCredentials>| user.unwrap().user.must_change_password;
    assert!(must_change(
        store::get_user(&mut conn, UserId(ada)).await.unwrap()
    ));
    assert!(!must_change(
        store::get_user(&mut conn, UserId(bob)).await.unwrap()
    ));
    let ranks = store::list_ranks(&mut conn, org).await.unwrap();
    assert_eq!(
        ranks.iter().map(|r| r.is_owner).collect::<Vec<_>>(),
        [true, false]
    );
    let active = |m: Option<domain::Member>| m.unwrap().active;
    assert!(active(
        store::get_member(&mut conn, org, MemberId(owner))
            .await
            .unwrap()
    ));
    assert!(!active(
        store::get_member(&mut conn, org, MemberId(gone))
            .await
            .unwrap()
    ));
    assert_eq!(store::count_active_owners(&mut conn, org).await.unwrap(), 1);
    let workgroup = WorkgroupId(workgroup);
    assert_eq!(
        store::workgroup_role(&mut conn, workgroup, MemberId(owner))
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        store::workgroup_role(&mut conn, workgroup, MemberId(gone))
            .await
            .unwrap(),
        Some(false)
    );
    let (allowed, denied) = store::member_overrides(&mut conn, MemberId(gone))
        .await
        .unwrap();
    assert_eq!(allowed, set(&["sites.view"]));
    assert_eq!(denied, set(&["printers.view"]));
    let holds = |p: Option<domain::Printer>| {
        let p = p.unwrap();
        (p.maintenance, p.bed_clear_pending)
    };
    assert_eq!(
        holds(
            store::get_printer(&mut conn, org, PrinterId(serviced))
                .await
                .unwrap()
        ),
        (true, false)
    );
    assert_eq!(
        holds(
            store::get_printer(&mut conn, org, PrinterId(waiting))
                .await
                .unwrap()
        ),
        (false, true)
    );
    let is_managed = |p: Option<domain::Print>| p.unwrap().managed;
    assert!(is_managed(
        store::get_print(&mut conn, org, PrintId(managed))
            .await
            .unwrap()
    ));
    assert!(!is_managed(
        store::get_print(&mut conn, org, PrintId(unmanaged))
            .await
            .unwrap()
    ));
    drop(conn);

    // The defaults kept their meaning: a membership is active, a rank is not the owner's, a
    // user need not change their password, a printer holds nothing.
    let newcomer = insert(
        &store,
        "INSERT INTO memberships (org_id, user_id, rank_id, created_at) \
         VALUES ($1, $2, $3, 0) RETURNING id",
        &[org.get(), cy, member_rank],
        &[],
    )
    .await;
    let fresh_rank = insert(
        &store,
        "INSERT INTO ranks (org_id, position, name, description, permissions) \
         VALUES ($1, 3, 'Guest', '', '') RETURNING id",
        &[org.get()],
        &[],
    )
    .await;
    let fresh_printer = insert(
        &store,
        "INSERT INTO printers (org_id, site_id, name, created_at) VALUES ($1, $2, 'P3', 0) \
         RETURNING id",
        &[org.get(), site],
        &[],
    )
    .await;
    let mut conn = store.read().await.unwrap();
    assert!(active(
        store::get_member(&mut conn, org, MemberId(newcomer))
            .await
            .unwrap()
    ));
    assert!(
        !store::get_rank(&mut conn, org, RankId(fresh_rank))
            .await
            .unwrap()
            .unwrap()
            .is_owner
    );
    assert!(!must_change(
        store::get_user(&mut conn, UserId(cy)).await.unwrap()
    ));
    assert_eq!(
        holds(
            store::get_printer(&mut conn, org, PrinterId(fresh_printer))
                .await
                .unwrap()
        ),
        (false, false)
    );
    drop(conn);
    store.close().await;
    db.drop_database().await;
}
