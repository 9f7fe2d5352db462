//! Upgrades: a database filled as an older release left it, then opened by this one. Each test
//! runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use authz::{Permission, PermissionSet, presets::MANAGE_FLEET};
use domain::{MemberId, OrgId};
use sqlx::Row;
use store::{Backend, Store, StoreOptions};
use testkit::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_printers_manage_is_split_into_the_fleet_permissions() {
    printers_manage_is_split_into_the_fleet_permissions(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_printers_manage_is_split_into_the_fleet_permissions() {
    printers_manage_is_split_into_the_fleet_permissions(Backend::Postgres).await;
}

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
