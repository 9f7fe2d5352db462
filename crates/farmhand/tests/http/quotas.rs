//! Quotas and balances over HTTP: allowances at three levels, refusals that explain
//! themselves, usage, quota requests, holds released on cancellation, the dispatcher's
//! re-check, and limits that hold under 200 concurrent submissions.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, TestServer};

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");

crate::on_both_backends!(
    concurrent_submissions_never_pass_a_print_quota,
    concurrent_submissions_never_spend_more_than_the_balance,
    refusals_explain_themselves_and_requests_raise_the_allowance,
    holds_are_released_and_costs_itemized,
    a_lowered_quota_keeps_a_queued_job_waiting,
    a_printed_job_is_charged_and_counts_what_it_printed,
    a_failed_print_is_charged_in_full_under_the_full_policy,
    a_failed_print_is_charged_by_its_progress_under_the_progress_policy,
    a_failed_print_costs_nothing_under_the_nothing_policy,
    a_failed_print_pays_the_whole_flat_fee_under_the_progress_policy,
    a_printer_models_hourly_rate_prices_machine_time,
    a_revived_job_keeps_what_it_printed_and_holds_anew,
    a_quota_lowered_while_submissions_are_in_flight_is_never_overrun,
    usage_reports_group_and_export_as_csv,
    an_edit_for_more_copies_is_checked_and_held_anew,
    an_organization_may_hold_at_approval,
);

/// An organization in Amsterdam with a printer (in maintenance: jobs stay queued), a member
/// and the member's uploaded cube.
struct Farm {
    org: i64,
    owner: Client,
    member: Client,
    member_id: i64,
    model: i64,
    file: i64,
}

impl Farm {
    async fn open(server: &TestServer) -> Farm {
        let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
        let (status, body) = owner
            .patch(
                &format!("/api/v1/orgs/{org}"),
                json!({ "time_zone": "Europe/Amsterdam" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let model = server
            .workshop_in_maintenance(
                &owner,
                org,
                json!({ "name": "Mini", "build_volume_mm": [180, 180, 180],
                        "nozzle_diameter_mm": 0.4 }),
                "Mini 1",
            )
            .await;
        let (member, member_id) = server
            .member(&owner, org, "Member", "member@lab.test")
            .await;
        let response = member
            .raw_post(
                &format!("/api/v1/orgs/{org}/files?name=cube.gcode"),
                CUBE.to_vec(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let file: Value = response.json().await.unwrap();
        Farm {
            org,
            owner,
            member,
            member_id,
            model,
            file: file["id"].as_i64().unwrap(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}/{rest}", self.org)
    }

    fn job(&self) -> Value {
        json!({ "file_id": self.file, "target": { "model_id": self.model } })
    }

    async fn set_org_quotas(&self, allowances: Value) {
        let (status, body) = self.owner.put(&self.path("quotas"), allowances).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Submits `n` jobs at once; returns the statuses and bodies.
    async fn submit_concurrently(&self, n: usize) -> Vec<(StatusCode, Value)> {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let client = self.member.clone();
            let (path, body) = (self.path("jobs"), self.job());
            tasks.push(tokio::spawn(async move { client.post(&path, body).await }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    async fn balance(&self) -> Value {
        let (status, balance) = self
            .member
            .get(&self.path(&format!("members/{}/balance", self.member_id)))
            .await;
        assert_eq!(status, StatusCode::OK, "{balance}");
        balance
    }

    /// Every entry of the member's ledger, following the cursor.
    async fn ledger(&self) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<i64> = None;
        loop {
            let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
            let (status, page) = self
                .member
                .get(&self.path(&format!("members/{}/ledger?limit=3{query}", self.member_id)))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            entries.extend(page["entries"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_i64() {
                Some(next) => cursor = Some(next),
                None => return entries,
            }
        }
    }
}

fn count(results: &[(StatusCode, Value)], status: StatusCode, code: Option<&str>) -> usize {
    results
        .iter()
        .filter(|(s, body)| *s == status && code.is_none_or(|c| body["error"]["code"] == c))
        .count()
}

async fn concurrent_submissions_never_pass_a_print_quota(server: &TestServer) {
    let farm = Farm::open(server).await;
    farm.set_org_quotas(json!([{ "kind": "prints", "period": "month", "limit": 10 }]))
        .await;
    let results = farm.submit_concurrently(200).await;
    let accepted = count(&results, StatusCode::CREATED, None);
    let refused = count(
        &results,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("quota_exceeded"),
    );
    let others: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED && *s != StatusCode::UNPROCESSABLE_ENTITY)
        .collect();
    assert_eq!((accepted, refused), (10, 190), "{others:?}");
    let (_, usage) = farm
        .member
        .get(&farm.path(&format!("members/{}/usage", farm.member_id)))
        .await;
    assert_eq!(usage["allowances"][0]["used"], 10.0, "{usage}");
    assert_eq!(usage["allowances"][0]["source"], "organization");
}

async fn concurrent_submissions_never_spend_more_than_the_balance(server: &TestServer) {
    let farm = Farm::open(server).await;
    // A flat 1.00 per job: 7.00 covers seven.
    let (status, body) = farm
        .owner
        .put(
            &farm.path("prices"),
            json!([{ "per_gram_minor": 0, "per_hour_minor": 0, "flat_fee_minor": 100 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, entry) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 700, "reason": "semester credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    assert_eq!(entry["kind"], "top_up");

    let results = farm.submit_concurrently(200).await;
    let accepted = count(&results, StatusCode::CREATED, None);
    let refused = count(
        &results,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("insufficient_balance"),
    );
    assert_eq!((accepted, refused), (7, 193));
    let refusal = results
        .iter()
        .find(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY)
        .unwrap();
    let message = refusal.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Your balance is 7.00 EUR with 7.00 EUR held")
            && message.contains("estimate is 1.00 EUR"),
        "{message}"
    );

    let balance = farm.balance().await;
    assert_eq!(
        balance,
        json!({ "balance_minor": 700, "held_minor": 700, "available_minor": 0, "currency": "EUR" })
    );
    let entries = farm.ledger().await;
    let holds = entries.iter().filter(|e| e["kind"] == "hold").count();
    assert_eq!(holds, 7);
    let sum: i64 = entries
        .iter()
        .map(|e| e["amount_minor"].as_i64().unwrap())
        .sum();
    let held: i64 = entries
        .iter()
        .map(|e| e["hold_minor"].as_i64().unwrap())
        .sum();
    assert_eq!((sum, held), (700, 700));
    assert_eq!(entries.len(), 8, "newest first, every page: {entries:?}");
}

async fn refusals_explain_themselves_and_requests_raise_the_allowance(server: &TestServer) {
    let farm = Farm::open(server).await;
    farm.set_org_quotas(json!([
        { "kind": "printing_hours", "period": "week", "limit": 0 },
        { "kind": "max_active_jobs", "limit": 3 },
    ]))
    .await;
    let (status, refused) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "quota_exceeded");
    let message = refused["error"]["message"].as_str().unwrap();
    // The test clock stands at Sunday 22 November 2026, 10:00 in Amsterdam.
    assert!(
        message.starts_with("You have used 0 min of your 0 min this week; this job needs ")
            && message
                .ends_with("the week resets on Monday 23 November at 00:00 (Europe/Amsterdam)"),
        "{message}"
    );

    // Bad lists are refused whole, with the field.
    for bad in [
        json!([{ "kind": "prints", "limit": 3 }]),
        json!([{ "kind": "max_active_jobs", "period": "day", "limit": 3 }]),
        json!([{ "kind": "prints", "period": "day", "limit": -1 }]),
        json!([{ "kind": "prints", "period": 999, "limit": 1 }]),
        json!([{ "kind": "prints", "period": "day", "limit": 1 },
               { "kind": "prints", "period": "day", "limit": 2 }]),
    ] {
        let (status, body) = farm.owner.put(&farm.path("quotas"), bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{bad}: {body}");
    }
    // Members do not set their own allowances, nor see everyone's.
    let (status, _) = farm
        .member
        .put(
            &farm.path(&format!("members/{}/quotas", farm.member_id)),
            json!([]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = farm.member.get(&farm.path("quotas")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The member asks for 5 hours a week; the owner grants 2.
    let (status, request) = farm
        .member
        .post(
            &farm.path("quota-requests"),
            json!({ "kind": "printing_hours", "period": "week", "limit": 5,
                    "reason": "thesis prototypes" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["state"], "pending");
    let id = request["id"].as_i64().unwrap();
    let (status, body) = farm
        .owner
        .post(
            &farm.path(&format!("quota-requests/{id}/approve")),
            json!({ "limit": 6 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, approved) = farm
        .owner
        .post(
            &farm.path(&format!("quota-requests/{id}/approve")),
            json!({ "limit": 2, "reason": "two for now" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["granted_limit"], 2);
    let (status, again) = farm
        .owner
        .post(
            &farm.path(&format!("quota-requests/{id}/decline")),
            json!({ "reason": "changed my mind" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["error"]["code"], "already_decided");
    let (_, seen) = farm
        .member
        .get(&farm.path(&format!("quota-requests/{id}")))
        .await;
    assert_eq!(seen["answer"], "two for now");

    let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let (_, usage) = farm
        .member
        .get(&farm.path(&format!("members/{}/usage", farm.member_id)))
        .await;
    let lines = usage["allowances"].as_array().unwrap();
    let hours = lines
        .iter()
        .find(|l| l["kind"] == "printing_hours")
        .unwrap();
    assert_eq!(hours["source"], "member");
    assert_eq!(hours["limit"], 2);
    assert!(hours["used"].as_f64().unwrap() > 0.0, "{usage}");
    assert_eq!(
        hours["resets_at"], "2026-11-22T23:00:00Z",
        "Monday 00:00 in Amsterdam"
    );
    let active = lines
        .iter()
        .find(|l| l["kind"] == "max_active_jobs")
        .unwrap();
    assert_eq!(
        (active["used"].as_f64(), active["limit"].as_i64()),
        (Some(1.0), Some(3))
    );

    // Every change is audited with before and after.
    let (_, audit) = farm
        .owner
        .get(&farm.path("audit-events?action=quota.set"))
        .await;
    let events = audit["events"].as_array().unwrap();
    assert!(events.len() >= 2, "{audit}");
    assert!(
        events
            .iter()
            .all(|e| e.get("before").is_some() && e.get("after").is_some())
    );
}

async fn holds_are_released_and_costs_itemized(server: &TestServer) {
    let farm = Farm::open(server).await;
    let (status, body) = farm
        .owner
        .put(
            &farm.path("prices"),
            json!([{ "printer_model_id": farm.model, "per_gram_minor": 2,
                     "per_hour_minor": 120, "flat_fee_minor": 50 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 5000, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let estimate = &job["cost_estimate"];
    let lines = estimate["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{estimate}");
    let sum: i64 = lines
        .iter()
        .map(|l| l["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(estimate["total_minor"].as_i64().unwrap(), sum);
    assert_eq!(lines[2]["amount_minor"], 50);
    assert!(job["cost_final"].is_null());
    let held = farm.balance().await["held_minor"].as_i64().unwrap();
    assert_eq!(held, sum);

    let (status, cancelled) = farm
        .member
        .post_empty(&farm.path(&format!("jobs/{}/cancel", job["id"])))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["cost_final"]["total_minor"], 0);
    let balance = farm.balance().await;
    assert_eq!(
        (
            balance["balance_minor"].as_i64(),
            balance["held_minor"].as_i64()
        ),
        (Some(5000), Some(0))
    );
    let kinds: Vec<Value> = farm
        .ledger()
        .await
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("release"), json!("hold"), json!("top_up")]
    );

    // Only what was charged can be refunded; adjustments go either way, never by zero.
    let (status, body) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/refunds", farm.member_id)),
            json!({ "job_id": job["id"], "amount_minor": 1, "reason": "goodwill" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for (amount, expected) in [
        (0, StatusCode::UNPROCESSABLE_ENTITY),
        (-700, StatusCode::CREATED),
    ] {
        let (status, body) = farm
            .owner
            .post(
                &farm.path(&format!("members/{}/balance/adjustments", farm.member_id)),
                json!({ "amount_minor": amount, "reason": "correction" }),
            )
            .await;
        assert_eq!(status, expected, "{body}");
    }
    assert_eq!(farm.balance().await["balance_minor"], 4300);
    // A member cannot top themselves up.
    let (status, _) = farm
        .member
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 100, "reason": "free money" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_lowered_quota_keeps_a_queued_job_waiting(server: &TestServer) {
    let farm = Farm::open(server).await;
    farm.set_org_quotas(json!([{ "kind": "prints", "period": "day", "limit": 5 }]))
        .await;
    let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    farm.set_org_quotas(json!([{ "kind": "prints", "period": "day", "limit": 0 }]))
        .await;
    let (status, why) = farm
        .member
        .get(&farm.path(&format!("jobs/{}/why-not-printing", job["id"])))
        .await;
    assert_eq!(status, StatusCode::OK, "{why}");
    let reasons = why["candidates"][0]["reasons"].as_array().unwrap();
    let quota = reasons
        .iter()
        .find(|r| r["code"] == "quota_exhausted")
        .unwrap_or_else(|| panic!("{why}"));
    assert!(
        quota["message"]
            .as_str()
            .unwrap()
            .contains("of your 0 prints today"),
        "{quota}"
    );
}

/// A short print: about four seconds on the simulator at 60 times life.
fn small_gcode() -> String {
    let mut text = String::from("; quota test part\nG21\nG90\nM83\nG1 Z0.2 F600\n");
    for i in 0..300 {
        let y = 10 + i % 2 * 40;
        text.push_str(&format!("G1 X{} Y{y} E1.5 F3000\n", 10 + i));
    }
    text
}

async fn a_printed_job_is_charged_and_counts_what_it_printed(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let path = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let (_, site) = owner.post(&path("sites"), json!({ "name": "Lab" })).await;
    let (status, printer) = owner
        .post(
            &path("printers"),
            json!({ "name": "Sim", "site_id": site["id"], "settings": { "speed": 60.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let printer = printer["id"].as_i64().unwrap();
    let (member, member_id) = server
        .member(&owner, org, "Member", "member@farm.test")
        .await;
    let response = member
        .raw_post(&path("files?name=part.gcode"), small_gcode().into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    let (status, body) = owner
        .put(
            &path("prices"),
            json!([{ "per_gram_minor": 10, "per_hour_minor": 600, "flat_fee_minor": 25 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = owner
        .put(
            &path("quotas"),
            json!([{ "kind": "prints", "period": "week", "limit": 5 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = owner
        .post(
            &path(&format!("members/{member_id}/balance/top-ups")),
            json!({ "amount_minor": 10_000, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, job) = member
        .post(
            &path("jobs"),
            json!({ "file_id": file["id"], "target": { "printer_id": printer } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let estimate = job["cost_estimate"]["total_minor"].as_i64().unwrap();
    assert!(estimate >= 25, "{job}");
    let id = job["id"].as_i64().unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let _ = server
            .app()
            .observe_printer_now(domain::PrinterId(printer))
            .await;
        server.app().dispatch_once().await.unwrap();
        let (_, seen) = owner.get(&path(&format!("jobs/{id}"))).await;
        if seen["state"] == "completed" {
            break seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never completed: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let charged = done["cost_final"]["total_minor"].as_i64().unwrap();
    assert!(charged >= 25, "{done}");
    let (_, balance) = member
        .get(&path(&format!("members/{member_id}/balance")))
        .await;
    assert_eq!(balance["held_minor"], 0, "{balance}");
    assert_eq!(balance["balance_minor"].as_i64().unwrap(), 10_000 - charged);
    let (_, ledger) = member
        .get(&path(&format!("members/{member_id}/ledger")))
        .await;
    let kinds: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["release", "charge", "hold", "top_up"], "{ledger}");
    let charge = &ledger["entries"][1];
    assert_eq!(charge["job_id"], id);
    assert!(charge["actor_member_id"].is_null(), "{charge}");
    let (_, usage) = member
        .get(&path(&format!("members/{member_id}/usage")))
        .await;
    assert_eq!(usage["allowances"][0]["used"], 1.0, "{usage}");
}

/// What became of a print failed mid-way under a failed-print policy.
struct FailedPrint {
    /// The job as submitted, then once failed.
    submitted: Value,
    failed: Value,
    /// The member's ledger (newest first) and balance afterwards.
    ledger: Vec<Value>,
    balance: Value,
    /// One copy's estimated printing time as Farmhand rounds it (whole seconds, up), the
    /// seconds Farmhand's clock ran while it printed, and one copy's material.
    estimated_s: i64,
    printed_s: i64,
    weight_g: f64,
    /// The organization, its owner, and the member whose job it was.
    org: i64,
    owner: Client,
    member: Client,
    member_id: i64,
}

const FAILED_PRINT_CREDIT: i64 = 100_000;

/// A member's job on a simulated printer (at life speed: it cannot end by itself during the
/// test) fails with an injected printer error after Farmhand's clock ran 40 % of its estimated
/// printing time, with the organization's failed-print policy set to `policy`. Prices: 1.00
/// per gram and 360.00 per hour (0.10 a second), no flat fee, so every part of the cost scales
/// with what printed.
async fn fail_a_print_under(server: &TestServer, policy: &str) -> FailedPrint {
    let prices = json!([{ "per_gram_minor": 100, "per_hour_minor": 36_000, "flat_fee_minor": 0 }]);
    fail_a_print_priced(server, policy, prices, None).await
}

/// [`fail_a_print_under`] with other prices, and the printer of a model with an hourly rate
/// (`model_rate`, minor units an hour) when one is given.
async fn fail_a_print_priced(
    server: &TestServer,
    policy: &str,
    prices: Value,
    model_rate: Option<i64>,
) -> FailedPrint {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let path = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let (_, site) = owner.post(&path("sites"), json!({ "name": "Lab" })).await;
    let model = match model_rate {
        Some(rate) => {
            let (status, model) = owner
                .post(
                    &path("printer-models"),
                    json!({ "name": "Rated", "hourly_rate_minor": rate }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{model}");
            model["id"].clone()
        }
        None => Value::Null,
    };
    let (status, printer) = owner
        .post(
            &path("printers"),
            json!({ "name": "Sim", "site_id": site["id"], "model_id": model,
                    "settings": { "speed": 1.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let printer = printer["id"].as_i64().unwrap();
    let (member, member_id) = server
        .member(&owner, org, "Member", "member@farm.test")
        .await;
    let response = member
        .raw_post(&path("files?name=part.gcode"), small_gcode().into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    let (status, body) = owner.put(&path("prices"), prices).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, settings) = owner
        .patch(
            &path("settings/billing"),
            json!({ "failed_print_charge": policy }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["failed_print_charge"], policy);
    let (status, _) = owner
        .post(
            &path(&format!("members/{member_id}/balance/top-ups")),
            json!({ "amount_minor": FAILED_PRINT_CREDIT, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, submitted) = member
        .post(
            &path("jobs"),
            json!({ "file_id": file["id"], "target": { "printer_id": printer } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{submitted}");
    let id = submitted["id"].as_i64().unwrap();
    let (status, file) = member.get(&path(&format!("files/{}", file["id"]))).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let estimated_s = file["analysis"]["estimated_time_s"]
        .as_f64()
        .unwrap()
        .ceil() as i64;
    let weight_g = file["analysis"]["filament_weight_g"].as_f64().unwrap();
    assert!(estimated_s > 100 && weight_g > 0.5, "{file}");

    let wait_for = |state: &'static str| {
        let (owner, job) = (owner.clone(), path(&format!("jobs/{id}")));
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let _ = server
                    .app()
                    .observe_printer_now(domain::PrinterId(printer))
                    .await;
                server.app().dispatch_once().await.unwrap();
                let (_, seen) = owner.get(&job).await;
                if seen["state"] == state {
                    return seen;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never {state}: {seen}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for("printing").await;
    // Farmhand's clock is the test's: 40 % of the estimated time passes, then the printer
    // reports an error.
    let printed_s = estimated_s * 2 / 5;
    server.clock.advance_seconds(printed_s);
    let (status, body) = owner
        .post(
            &path(&format!("printers/{printer}/simulation/faults")),
            json!({ "fault": "fail", "message": "nozzle clog" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let failed = wait_for("failed").await;
    let (_, prints) = owner
        .get(&path(&format!("printers/{printer}/prints")))
        .await;
    assert_eq!(prints[0]["state"], "failed", "{prints}");

    let (status, balance) = member
        .get(&path(&format!("members/{member_id}/balance")))
        .await;
    assert_eq!(status, StatusCode::OK, "{balance}");
    let (status, ledger) = member
        .get(&path(&format!("members/{member_id}/ledger")))
        .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    let ledger = ledger["entries"].as_array().unwrap().clone();
    let sum: i64 = ledger
        .iter()
        .map(|e| e["amount_minor"].as_i64().unwrap())
        .sum();
    let held: i64 = ledger
        .iter()
        .map(|e| e["hold_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(
        (
            balance["balance_minor"].as_i64(),
            balance["held_minor"].as_i64()
        ),
        (Some(sum), Some(held)),
        "the ledger sums to the balance: {ledger:?}"
    );
    assert_eq!(held, 0, "the hold is released: {ledger:?}");
    FailedPrint {
        submitted,
        failed,
        ledger,
        balance,
        estimated_s,
        printed_s,
        weight_g,
        org,
        owner,
        member,
        member_id,
    }
}

impl FailedPrint {
    /// The ledger's kinds, newest first.
    fn kinds(&self) -> Vec<&str> {
        self.ledger
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect()
    }

    /// The charge posted for the job (there is one: `kinds` says so first).
    fn charged(&self) -> i64 {
        let charge = self
            .ledger
            .iter()
            .find(|e| e["kind"] == "charge")
            .unwrap_or_else(|| panic!("no charge: {:?}", self.ledger));
        assert_eq!(charge["job_id"], self.failed["id"], "{charge}");
        -charge["amount_minor"].as_i64().unwrap()
    }

    fn final_total(&self) -> i64 {
        self.failed["cost_final"]["total_minor"]
            .as_i64()
            .unwrap_or_else(|| panic!("no final cost: {}", self.failed))
    }

    fn final_line(&self, label: &str) -> &Value {
        self.failed["cost_final"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["label"].as_str().unwrap().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line: {}", self.failed))
    }
}

async fn a_failed_print_is_charged_in_full_under_the_full_policy(server: &TestServer) {
    let run = fail_a_print_under(server, "full").await;
    assert_eq!(run.kinds(), ["release", "charge", "hold", "top_up"]);
    let estimate = run.submitted["cost_estimate"]["total_minor"]
        .as_i64()
        .unwrap();
    // Well above what 40 % of the print would cost: the policy decides.
    assert!(estimate > 1000, "{}", run.submitted);
    assert_eq!(run.charged(), estimate);
    assert_eq!(run.final_total(), estimate);
    assert_eq!(run.failed["cost_final"], run.submitted["cost_estimate"]);
    assert_eq!(
        run.balance["balance_minor"].as_i64(),
        Some(FAILED_PRINT_CREDIT - estimate)
    );
}

async fn a_failed_print_is_charged_by_its_progress_under_the_progress_policy(server: &TestServer) {
    let run = fail_a_print_under(server, "progress").await;
    assert_eq!(run.kinds(), ["release", "charge", "hold", "top_up"]);
    // Progress is the time printed over the time estimated, exactly 40 % on Farmhand's
    // clock: the material of 0.4 copies (rounded up to the gram) at 1.00 a gram, and the
    // 40 % of the time at 0.10 a second.
    let progress = run.printed_s as f64 / run.estimated_s as f64;
    let grams = (run.weight_g * progress).ceil() as i64;
    let machine = (run.printed_s * 36_000 + 3599) / 3600;
    assert_eq!(run.final_line("Material")["amount_minor"], grams * 100);
    assert_eq!(run.final_line("Machine time")["amount_minor"], machine);
    let expected = grams * 100 + machine;
    assert_eq!(run.final_total(), expected, "{}", run.failed);
    assert_eq!(run.charged(), expected);
    let estimate = run.submitted["cost_estimate"]["total_minor"]
        .as_i64()
        .unwrap();
    assert!(
        expected * 2 < estimate,
        "40 % of the print costs well under the whole: {expected} of {estimate}"
    );
    assert_eq!(
        run.balance["balance_minor"].as_i64(),
        Some(FAILED_PRINT_CREDIT - expected)
    );
}

async fn a_failed_print_costs_nothing_under_the_nothing_policy(server: &TestServer) {
    let run = fail_a_print_under(server, "nothing").await;
    assert_eq!(run.kinds(), ["release", "hold", "top_up"], "no charge");
    assert_eq!(run.final_total(), 0);
    let hold = &run.ledger[1];
    assert_eq!(
        run.ledger[0]["hold_minor"].as_i64(),
        hold["hold_minor"].as_i64().map(|h| -h),
        "the release gives back the whole hold"
    );
    assert_eq!(run.ledger[0]["job_id"], run.failed["id"]);
    assert_eq!(
        run.balance,
        json!({ "balance_minor": FAILED_PRINT_CREDIT, "held_minor": 0,
                "available_minor": FAILED_PRINT_CREDIT, "currency": "EUR" })
    );
}

/// Under the `progress` policy a failed print's material and machine time are charged by how
/// far it got, and its flat fee whole: the fee is per job, for a job that started (the printer
/// was prepared and taken), not per share of the print (docs/quotas-and-money.md).
async fn a_failed_print_pays_the_whole_flat_fee_under_the_progress_policy(server: &TestServer) {
    let prices =
        json!([{ "per_gram_minor": 100, "per_hour_minor": 36_000, "flat_fee_minor": 500 }]);
    let run = fail_a_print_priced(server, "progress", prices, None).await;
    assert_eq!(run.kinds(), ["release", "charge", "hold", "top_up"]);
    let progress = run.printed_s as f64 / run.estimated_s as f64;
    let grams = (run.weight_g * progress).ceil() as i64;
    let machine = (run.printed_s * 36_000 + 3599) / 3600;
    assert_eq!(run.final_line("Material")["amount_minor"], grams * 100);
    assert_eq!(run.final_line("Machine time")["amount_minor"], machine);
    let fee = run.final_line("Flat fee");
    assert_eq!(
        (fee["quantity"].as_f64(), fee["amount_minor"].as_i64()),
        (Some(1.0), Some(500)),
        "{}",
        run.failed
    );
    assert_eq!(run.final_total(), grams * 100 + machine + 500);
    assert_eq!(run.charged(), grams * 100 + machine + 500);
}

/// A printer model's hourly rate prices machine time when the price that applies sets none: in
/// the estimate from the file's estimated time, in the final cost from the time it printed.
async fn a_printer_models_hourly_rate_prices_machine_time(server: &TestServer) {
    // 360.00 an hour on the model (0.10 a second); the price charges material only.
    let prices = json!([{ "per_gram_minor": 100, "per_hour_minor": 0, "flat_fee_minor": 0 }]);
    let run = fail_a_print_priced(server, "progress", prices, Some(36_000)).await;
    let line = |cost: &Value| {
        cost["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["label"] == "Machine time, hours")
            .cloned()
            .unwrap_or_else(|| panic!("no machine time line: {cost}"))
    };
    let estimated = line(&run.submitted["cost_estimate"]);
    assert_eq!(estimated["unit_price_minor"], 36_000);
    assert_eq!(
        estimated["amount_minor"].as_i64(),
        Some((run.estimated_s * 36_000 + 3599) / 3600),
        "{estimated}"
    );
    let charged = line(&run.failed["cost_final"]);
    assert_eq!(charged["unit_price_minor"], 36_000);
    assert_eq!(
        charged["amount_minor"].as_i64(),
        Some((run.printed_s * 36_000 + 3599) / 3600),
        "{charged}"
    );
    let grams = (run.weight_g * run.printed_s as f64 / run.estimated_s as f64).ceil() as i64;
    assert_eq!(
        run.final_total(),
        grams * 100 + (run.printed_s * 36_000 + 3599) / 3600
    );
}

/// A job revived after it printed keeps what it printed counted (in its period, with its
/// charge) and holds anew for its next print: the allowance counts both, the balance holds the
/// new estimate beside the earlier charge, and the job prints all its copies again.
async fn a_revived_job_keeps_what_it_printed_and_holds_anew(server: &TestServer) {
    let prices = json!([{ "per_gram_minor": 100, "per_hour_minor": 36_000, "flat_fee_minor": 0 }]);
    let run = fail_a_print_priced(server, "full", prices, None).await;
    let (org, owner, member, member_id) = (run.org, &run.owner, &run.member, run.member_id);
    let id = run.failed["id"].as_i64().unwrap();
    let path = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let (status, body) = owner
        .put(
            &path("quotas"),
            json!([{ "kind": "prints", "period": "week", "limit": 2 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let used = |usage: &Value| usage["allowances"][0]["used"].clone();
    let (_, usage) = owner
        .get(&path(&format!("members/{member_id}/usage")))
        .await;
    assert_eq!(used(&usage), 1.0, "the failed print counts: {usage}");
    let charged = run.charged();

    let (status, revived) = member
        .post(&path(&format!("jobs/{id}/revive")), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{revived}");
    assert_eq!(revived["state"], "queued");
    assert_eq!(revived["copies_done"], 0, "it prints its copies anew");
    assert!(revived["cost_final"].is_null(), "{revived}");
    let estimate = revived["cost_estimate"]["total_minor"].as_i64().unwrap();
    assert_eq!(
        estimate,
        run.submitted["cost_estimate"]["total_minor"]
            .as_i64()
            .unwrap()
    );
    let (_, usage) = owner
        .get(&path(&format!("members/{member_id}/usage")))
        .await;
    assert_eq!(
        used(&usage),
        2.0,
        "what printed stays counted beside the new hold: {usage}"
    );
    let (_, balance) = owner
        .get(&path(&format!("members/{member_id}/balance")))
        .await;
    assert_eq!(
        balance,
        json!({ "balance_minor": FAILED_PRINT_CREDIT - charged, "held_minor": estimate,
                "available_minor": FAILED_PRINT_CREDIT - charged - estimate,
                "currency": "EUR" }),
        "the earlier charge stays, the new estimate is held"
    );
    // Both runs count against the allowance: a third print does not fit.
    let (status, body) = member
        .post(
            &path("jobs"),
            json!({ "file_id": run.submitted["file_id"],
                    "target": { "printer_id": run.failed["printer_id"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");

    // Cancelled before it printed again: its new hold is released, the earlier run still
    // counts and stays charged.
    let (status, cancelled) = member
        .post(&path(&format!("jobs/{id}/cancel")), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (_, usage) = owner
        .get(&path(&format!("members/{member_id}/usage")))
        .await;
    assert_eq!(used(&usage), 1.0, "{usage}");
    let (_, balance) = owner
        .get(&path(&format!("members/{member_id}/balance")))
        .await;
    assert_eq!(balance["balance_minor"], FAILED_PRINT_CREDIT - charged);
    assert_eq!(balance["held_minor"], 0);
}

/// The audit sequence numbers of every event with `action`, through all pages.
async fn audit_seqs(farm: &Farm, action: &str) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = farm
            .owner
            .get(&farm.path(&format!("audit-events?action={action}&limit=500{cursor}")))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for event in page["events"].as_array().unwrap() {
            seqs.push(event["seq"].as_i64().unwrap());
        }
        match page["next_cursor"].as_i64() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return seqs,
        }
    }
}

async fn a_quota_lowered_while_submissions_are_in_flight_is_never_overrun(server: &TestServer) {
    let farm = Farm::open(server).await;
    farm.set_org_quotas(json!([{ "kind": "prints", "period": "month", "limit": 150 }]))
        .await;
    let owner = farm.owner.clone();
    let quotas = farm.path("quotas");
    let lowering = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        owner
            .put(
                &quotas,
                json!([{ "kind": "prints", "period": "month", "limit": 20 }]),
            )
            .await
    });
    let results = farm.submit_concurrently(150).await;
    let (status, body) = lowering.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let accepted = count(&results, StatusCode::CREATED, None);
    let refused = count(
        &results,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("quota_exceeded"),
    );
    assert_eq!(accepted + refused, 150);
    // The audit chain orders commits: every job accepted after the lowering fits the new limit
    // beside those accepted before it.
    let lowered = *audit_seqs(&farm, "quota.set").await.iter().max().unwrap();
    let submitted = audit_seqs(&farm, "job.submit").await;
    let before = submitted.iter().filter(|s| **s < lowered).count();
    let after = submitted.len() - before;
    assert_eq!(submitted.len(), accepted);
    assert!(
        after == 0 || before + after <= 20,
        "{before} accepted before the lowering, {after} after it"
    );
}

async fn usage_reports_group_and_export_as_csv(server: &TestServer) {
    let farm = Farm::open(server).await;
    let (status, body) = farm
        .owner
        .put(
            &farm.path("prices"),
            json!([{ "per_gram_minor": 0, "per_hour_minor": 0, "flat_fee_minor": 100 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 1000, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..3 {
        let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
    }
    let (status, report) = farm
        .owner
        .get(&farm.path("reports/usage?group_by=member&period=day"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    let row = &rows[0];
    assert_eq!(row["id"], farm.member_id);
    assert_eq!(
        (row["jobs"].as_i64(), row["prints"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(row["cost_minor"], 300);
    // The day of 22 November in Amsterdam begins at 23:00 UTC the day before.
    assert_eq!(row["period_start"], "2026-11-21T23:00:00Z");
    assert_eq!(report["currency"], "EUR");

    let (_, by_model) = farm
        .owner
        .get(&farm.path("reports/usage?group_by=printer_model"))
        .await;
    assert_eq!(
        by_model["rows"][0]["id"],
        Value::Null,
        "not printed yet: {by_model}"
    );

    let response = farm
        .owner
        .raw_get(&farm.path("reports/usage.csv?group_by=member"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("group,id,name,period_start,jobs,prints,printing_hours,material_grams,cost_minor")
    );
    let line = lines.next().unwrap();
    assert!(
        line.starts_with(&format!("member,{},member@lab.test,,3,3,", farm.member_id))
            && line.ends_with(",300"),
        "{line}"
    );

    let (status, _) = farm
        .member
        .get(&farm.path("reports/usage?group_by=member"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = farm
        .owner
        .get(&farm.path(
            "reports/usage?group_by=member&from=2026-11-22T00:00:00Z&to=2026-11-01T00:00:00Z",
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

async fn an_edit_for_more_copies_is_checked_and_held_anew(server: &TestServer) {
    let farm = Farm::open(server).await;
    farm.set_org_quotas(json!([{ "kind": "prints", "period": "week", "limit": 3 }]))
        .await;
    let (status, body) = farm
        .owner
        .put(
            &farm.path("prices"),
            json!([{ "per_gram_minor": 0, "per_hour_minor": 0, "flat_fee_minor": 100 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 100, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job = format!("jobs/{}", job["id"]);
    // Four copies would pass the allowance of three: refused, nothing changed.
    let (status, refused) = farm
        .member
        .patch(&farm.path(&job), json!({ "copies": 4 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "quota_exceeded");
    let (_, unchanged) = farm.member.get(&farm.path(&job)).await;
    assert_eq!(unchanged["copies"], 1);
    // Three fit; the flat fee is per job, so the hold stays what the balance covers.
    let (status, edited) = farm
        .member
        .patch(&farm.path(&job), json!({ "copies": 3 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (_, usage) = farm
        .member
        .get(&farm.path(&format!("members/{}/usage", farm.member_id)))
        .await;
    assert_eq!(usage["allowances"][0]["used"], 3.0, "{usage}");
    let balance = farm.balance().await;
    assert_eq!(
        (
            balance["held_minor"].as_i64(),
            balance["available_minor"].as_i64()
        ),
        (Some(100), Some(0))
    );
    let kinds: Vec<Value> = farm
        .ledger()
        .await
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            json!("hold"),
            json!("release"),
            json!("hold"),
            json!("top_up")
        ]
    );
}

async fn an_organization_may_hold_at_approval(server: &TestServer) {
    let farm = Farm::open(server).await;
    for (path, body) in [
        ("settings/approval", json!({ "approval_required": true })),
        (
            "prices",
            json!([{ "per_gram_minor": 0, "per_hour_minor": 0, "flat_fee_minor": 100 }]),
        ),
    ] {
        let (status, answer) = farm.owner.put(&farm.path(path), body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, settings) = farm
        .owner
        .patch(
            &farm.path("settings/billing"),
            json!({ "hold_at": "approval" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["hold_at"], "approval");
    // Nothing in the balance: the submission waits for approval without a hold…
    let (status, job) = farm.member.post(&farm.path("jobs"), farm.job()).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["state"], "pending_approval");
    assert_eq!(farm.balance().await["held_minor"], 0);
    // …and its approval is refused until the balance covers it.
    let approve = farm.path(&format!("jobs/{}/approve", job["id"]));
    let (status, refused) = farm.owner.post_empty(&approve).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_balance");
    let (status, _) = farm
        .owner
        .post(
            &farm.path(&format!("members/{}/balance/top-ups", farm.member_id)),
            json!({ "amount_minor": 100, "reason": "credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, approved) = farm.owner.post_empty(&approve).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "queued");
    let balance = farm.balance().await;
    assert_eq!(
        (
            balance["held_minor"].as_i64(),
            balance["available_minor"].as_i64()
        ),
        (Some(100), Some(0))
    );
}
