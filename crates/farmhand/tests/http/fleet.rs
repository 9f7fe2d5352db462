use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Client, TestServer};

crate::on_both_backends!(
    printer_models_carry_what_the_estimator_and_costs_need,
    printer_credentials_are_encrypted_and_never_returned,
    the_demo_has_simulated_printers_of_two_models_on_two_sites,
    each_fleet_action_has_its_own_permission,
    the_printer_list_is_filtered_and_paged,
    motion_limits_must_be_finite_and_in_range,
    simulation_settings_must_be_ones_the_simulator_can_run,
    only_who_may_edit_a_printer_or_its_settings_sees_its_connection,
);

async fn printer_models_carry_what_the_estimator_and_costs_need(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let models = format!("/api/v1/orgs/{org}/printer-models");
    let (status, model) = owner
        .post(
            &models,
            json!({
                "name": "Voron 2.4",
                "description": "CoreXY, enclosed",
                "build_volume_mm": [350, 350, 340],
                "nozzle_diameter_mm": 0.6,
                "materials": ["ABS", "ASA"],
                "motion": { "firmware": "klipper", "klipper": { "max_accel": 7000 } },
                "hourly_rate_minor": 180
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(model["build_volume_mm"], json!([350.0, 350.0, 340.0]));
    assert_eq!(model["materials"], json!(["ABS", "ASA"]));
    assert_eq!(model["motion"]["klipper"]["max_accel"], 7000);
    assert_eq!(model["hourly_rate_minor"], 180);
    // The motion limits are checked against the estimator's profile.
    let profile = app::motion_profile(model["motion"].as_object().unwrap()).unwrap();
    assert_eq!(profile.firmware, gcode::Firmware::Klipper);
    assert_eq!(profile.klipper.max_accel, 7000.0);
    assert_eq!(
        profile.klipper.square_corner_velocity, 5.0,
        "others keep their defaults"
    );

    for (body, field) in [
        (
            json!({ "name": "A", "motion": { "max_acel": 1 } }),
            "motion",
        ),
        (
            json!({ "name": "B", "motion": { "klipper": { "max_accel": "fast" } } }),
            "motion",
        ),
        (
            json!({ "name": "C", "build_volume_mm": [-1, 10, 10] }),
            "build_volume_mm",
        ),
        (
            json!({ "name": "D", "nozzle_diameter_mm": 0 }),
            "nozzle_diameter_mm",
        ),
        (
            json!({ "name": "E", "hourly_rate_minor": -5 }),
            "hourly_rate_minor",
        ),
        (json!({ "name": "F", "materials": [""] }), "materials"),
    ] {
        let (status, error) = owner.post(&models, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let (_, list) = owner.get(&models).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing half-written: {list}"
    );
}

/// An organization with its owner signed in and one site, "Hall": (org, owner, site).
async fn farm_with_hall(server: &TestServer) -> (i64, Client, serde_json::Value) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (status, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Hall" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    (org, owner, site)
}

async fn printer_credentials_are_encrypted_and_never_returned(server: &TestServer) {
    let (org, owner, site) = farm_with_hall(server).await;
    let printers = format!("/api/v1/orgs/{org}/printers");
    let key = "F00DCAFE0123456789ABCDEF";
    let (status, printer) = owner
        .post(
            &printers,
            json!({
                "name": "Prusa 1",
                "site_id": site["id"],
                "driver": "octoprint",
                "url": "http://10.1.2.3:5000",
                "credential": key
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    assert_eq!(printer["connection"]["driver"], "octoprint");
    assert_eq!(printer["connection"]["has_credential"], true);
    assert_eq!(printer["state"], "offline");
    let id = printer["id"].as_i64().unwrap();

    // Not in any answer, not in the audit log, not in the database in the clear.
    let (_, one) = owner.get(&format!("{printers}/{id}")).await;
    let (_, all) = owner.get(&printers).await;
    let (_, audit) = owner.get(&format!("/api/v1/orgs/{org}/audit-events")).await;
    for body in [&one, &all, &audit] {
        assert!(!body.to_string().contains(key), "{body}");
    }
    assert!(
        audit.to_string().contains("\"credential\":\"stored\""),
        "{audit}"
    );
    let (stored,): (String,) = sqlx::query_as("SELECT credential FROM printers WHERE id = $1")
        .bind(id)
        .fetch_one(server.app().store().pool())
        .await
        .unwrap();
    assert!(
        stored.starts_with("xc1:") && !stored.contains(key),
        "{stored}"
    );
    assert_eq!(
        server
            .app()
            .vault()
            .open(domain::OrgId(org), &stored)
            .unwrap(),
        key
    );
    let key_file = server.data_dir.path().join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the server's user reads the key");
    }

    // Leaving the credential out keeps it; null removes it.
    let update = |credential: Option<serde_json::Value>| {
        let mut body = json!({
            "name": "Prusa 1",
            "site_id": site["id"],
            "driver": "octoprint",
            "url": "http://10.1.2.3:5000"
        });
        if let Some(c) = credential {
            body["credential"] = c;
        }
        body
    };
    let (status, kept) = owner.put(&format!("{printers}/{id}"), update(None)).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["connection"]["has_credential"], true);
    let (_, removed) = owner
        .put(
            &format!("{printers}/{id}"),
            update(Some(serde_json::Value::Null)),
        )
        .await;
    assert_eq!(removed["connection"]["has_credential"], false);

    // Bad connection settings are refused with the field named, and nothing is written.
    for (body, field) in [
        (
            json!({ "name": "X", "site_id": site["id"], "driver": "moonraker" }),
            "url",
        ),
        (
            json!({ "name": "X", "site_id": site["id"], "driver": "octoprint", "url": "10.0.0.1" }),
            "url",
        ),
        (
            json!({ "name": "X", "site_id": site["id"], "url": "http://x" }),
            "url",
        ),
        (
            json!({ "name": "X", "site_id": site["id"], "credential": "k" }),
            "credential",
        ),
        (
            json!({ "name": "X", "site_id": site["id"], "driver": "moonraker", "url": "http://h:7125", "credential": " " }),
            "credential",
        ),
    ] {
        let (status, error) = owner.post(&printers, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let (status, error) = owner
        .post(
            &printers,
            json!({ "name": "X", "site_id": site["id"], "driver": "telnet" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, all) = owner.get(&printers).await;
    assert_eq!(all["printers"].as_array().unwrap().len(), 1);
}

async fn the_demo_has_simulated_printers_of_two_models_on_two_sites(server: &TestServer) {
    let demo = server.app().console().ensure_demo().await.unwrap();
    let owner = server.client();
    owner
        .sign_in(&app::demo::demo_email("Owner"), app::demo::DEMO_PASSWORD)
        .await;
    let org = demo.org.get();
    let (_, printers) = owner.get(&format!("/api/v1/orgs/{org}/printers")).await;
    let printers = printers["printers"].as_array().unwrap();
    assert_eq!(printers.len(), 5, "{printers:?}");
    assert!(
        printers
            .iter()
            .all(|p| p["connection"]["driver"] == "simulated"
                && p["connection"]["settings"]["speed"] == 60.0)
    );
    let distinct = |field: &str| {
        let mut values: Vec<String> = printers.iter().map(|p| p[field].to_string()).collect();
        values.sort();
        values.dedup();
        values.len()
    };
    assert_eq!(distinct("site_id"), 2);
    assert_eq!(distinct("model_id"), 2);
    let (_, models) = owner
        .get(&format!("/api/v1/orgs/{org}/printer-models"))
        .await;
    let klipper = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["motion"]["firmware"] == "klipper")
        .expect("a Klipper model");
    assert!(app::motion_profile(klipper["motion"].as_object().unwrap()).is_ok());
    // Created once: a second call adds nothing.
    let again = server.app().console().ensure_demo().await.unwrap();
    assert!(!again.created);
    let (_, printers) = owner.get(&format!("/api/v1/orgs/{org}/printers")).await;
    assert_eq!(printers["printers"].as_array().unwrap().len(), 5);
}

async fn each_fleet_action_has_its_own_permission(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Hall" }),
        )
        .await;
    let (_, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "P1", "site_id": site["id"], "settings": { "speed": 1.0 } }),
        )
        .await;
    let printer_url = format!("/api/v1/orgs/{org}/printers/{}", printer["id"]);
    let (_, model) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-models"),
            json!({ "name": "MK4" }),
        )
        .await;
    let (_, group) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-groups"),
            json!({ "name": "Front row" }),
        )
        .await;

    // The owner edits models and groups.
    let (status, edited) = owner
        .put(
            &format!("/api/v1/orgs/{org}/printer-models/{}", model["id"]),
            json!({ "name": "MK4S", "build_volume_mm": [250, 210, 220], "hourly_rate_minor": 90 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["name"], "MK4S");
    assert_eq!(edited["hourly_rate_minor"], 90);
    let (status, edited) = owner
        .put(
            &format!("/api/v1/orgs/{org}/printer-groups/{}", group["id"]),
            json!({ "name": "Back row", "description": "by the window" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["description"], "by the window");

    // A technician who may edit printers (with manage access) but not change their settings.
    let rank = server.rank_id(&owner, org, "Operator").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{rank}"),
            json!({ "permissions": ["printers.view", "printers.edit"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (technician, technician_id) = server
        .member(&owner, org, "Operator", "tech@farm.test")
        .await;
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-access"),
            json!({ "subject": { "kind": "member", "id": technician_id }, "target": { "kind": "all_printers" }, "level": "manage" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let body = |name: &str, speed: f64| json!({ "name": name, "site_id": site["id"], "settings": { "speed": speed } });
    let (status, renamed) = technician.put(&printer_url, body("P1 renamed", 1.0)).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (status, error) = technician.put(&printer_url, body("P1 renamed", 60.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["permission"], "printers.settings");
    for (method, path, permission) in [
        ("DELETE", printer_url.clone(), "printers.remove"),
        (
            "POST",
            format!("/api/v1/orgs/{org}/printer-models"),
            "printer_models.add",
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/printer-models/{}", model["id"]),
            "printer_models.edit",
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/printer-models/{}", model["id"]),
            "printer_models.remove",
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/printer-groups"),
            "printer_groups.add",
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/printer-groups/{}", group["id"]),
            "printer_groups.edit",
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/printer-groups/{}", group["id"]),
            "printer_groups.remove",
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/printers"),
            "printers.add",
        ),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (status, error) = technician
            .request(
                method.clone(),
                &path,
                Some(json!({ "name": "X", "site_id": site["id"] })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
        assert_eq!(error["error"]["permission"], permission, "{method} {path}");
    }
}

/// Every page of `path` (which has a query string) with `limit`: the names on each page.
async fn pages(client: &crate::common::Client, path: &str, limit: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = client.get(&format!("{path}&limit={limit}{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let names = page["printers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        assert!(names.len() <= limit as usize, "{page}");
        pages.push(names);
        match page["next_cursor"].as_i64() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return pages,
        }
        assert!(pages.len() < 20, "the pages never end: {pages:?}");
    }
}

async fn the_printer_list_is_filtered_and_paged(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let site = |name: &'static str| {
        let owner = owner.clone();
        async move {
            let (_, site) = owner
                .post(
                    &format!("/api/v1/orgs/{org}/sites"),
                    json!({ "name": name }),
                )
                .await;
            site["id"].as_i64().unwrap()
        }
    };
    let (north, south) = (site("North").await, site("South").await);
    let (_, group) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-groups"),
            json!({ "name": "Teaching" }),
        )
        .await;
    let printers = format!("/api/v1/orgs/{org}/printers");
    for (name, site, groups) in [
        ("Prusa 1", north, json!([group["id"]])),
        ("Prusa 2", north, json!([])),
        ("Prusa 3", north, json!([group["id"]])),
        ("Voron 100%", south, json!([])),
        ("Prusa 4", north, json!([])),
        ("Bambu_X", south, json!([])),
        ("Prusa 5", north, json!([group["id"]])),
    ] {
        let (status, body) = owner
            .post(
                &printers,
                json!({ "name": name, "site_id": site, "group_ids": groups, "settings": { "speed": 1.0 } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let all = [
        "Prusa 1",
        "Prusa 2",
        "Prusa 3",
        "Voron 100%",
        "Prusa 4",
        "Bambu_X",
        "Prusa 5",
    ];

    // Pages of three walk the whole list once, in creation (ID) order.
    let walked = pages(&owner, &format!("{printers}?"), 3).await;
    assert_eq!(
        walked.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    assert_eq!(walked.concat(), all);
    // The default page holds them all, with nothing after it.
    let (_, page) = owner.get(&printers).await;
    assert_eq!(page["printers"].as_array().unwrap().len(), 7);
    assert!(page["next_cursor"].is_null(), "{page}");

    let names = |query: String| {
        let owner = owner.clone();
        let printers = printers.clone();
        async move {
            pages(&owner, &format!("{printers}?{query}"), 100)
                .await
                .concat()
        }
    };
    assert_eq!(
        names(format!("site_id={south}")).await,
        ["Voron 100%", "Bambu_X"]
    );
    assert_eq!(
        names(format!("group_id={}", group["id"])).await,
        ["Prusa 1", "Prusa 3", "Prusa 5"]
    );
    assert_eq!(names("q=pRuSa".into()).await.len(), 5, "any case");
    // `%` and `_` are plain characters in a search, not wildcards.
    assert_eq!(names("q=100%25".into()).await, ["Voron 100%"]);
    assert_eq!(names("q=_".into()).await, ["Bambu_X"]);
    assert_eq!(
        names("q=%20%20".into()).await,
        all,
        "a blank search is no search"
    );
    assert_eq!(names(format!("site_id={north}&q=5")).await, ["Prusa 5"]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        (&*format!("q={}", "x".repeat(201)), "q"),
    ] {
        let (status, error) = owner.get(&format!("{printers}?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
    }
    for query in ["cursor=first", "colour=red"] {
        let (status, error) = owner.get(&format!("{printers}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        assert_eq!(error["error"]["code"], "invalid_query", "{query}: {error}");
    }

    // A member whose rank only reaches the teaching group gets full pages of what they can
    // see, however many hidden printers lie between.
    let member_rank = server.rank_id(&owner, org, "Member").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}"),
            json!({ "scope": { "groups": [group["id"]] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (student, _) = server
        .member(&owner, org, "Member", "student@farm.test")
        .await;
    assert_eq!(
        pages(&student, &format!("{printers}?"), 2).await,
        [vec!["Prusa 1", "Prusa 3"], vec!["Prusa 5"]]
    );
    assert!(
        pages(&student, &format!("{printers}?site_id={south}"), 2)
            .await
            .concat()
            .is_empty()
    );
}

/// Every motion limit of a model is a finite number in a sensible range — above zero where the
/// planner divides by it — or the model is refused naming the field, on create and on update.
/// (A zero acceleration once made a 16 KB file "take" twelve days.)
async fn motion_limits_must_be_finite_and_in_range(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let models = format!("/api/v1/orgs/{org}/printer-models");
    for (motion, named) in [
        (json!({ "print_acceleration": 0 }), "print_acceleration"),
        (
            json!({ "travel_acceleration": -1500 }),
            "travel_acceleration",
        ),
        (
            json!({ "retract_acceleration": 1e12 }),
            "retract_acceleration",
        ),
        (
            json!({ "max_acceleration": [1000, 1000, -200, 5000] }),
            "max_acceleration[Z]",
        ),
        (
            json!({ "max_feedrate": [0, 200, 12, 120] }),
            "max_feedrate[X]",
        ),
        (json!({ "max_jerk": [8, 8, 0.4, -4.5] }), "max_jerk[E]"),
        (json!({ "junction_deviation": 0 }), "junction_deviation"),
        (json!({ "default_feedrate": 0 }), "default_feedrate"),
        (json!({ "hotend_heating_rate": 0 }), "hotend_heating_rate"),
        (json!({ "lookahead": 1_000_000_000u64 }), "lookahead"),
        (json!({ "max_line_length": 0 }), "max_line_length"),
        (
            json!({ "firmware": "klipper", "klipper": { "max_accel": 0 } }),
            "klipper.max_accel",
        ),
        (
            json!({ "klipper": { "max_velocity": -300 } }),
            "klipper.max_velocity",
        ),
        (
            json!({ "klipper": { "minimum_cruise_ratio": 1.5 } }),
            "klipper.minimum_cruise_ratio",
        ),
        (
            json!({ "klipper": { "square_corner_velocity": -5 } }),
            "klipper.square_corner_velocity",
        ),
        (
            json!({ "klipper": { "max_z_accel": 0 } }),
            "klipper.max_z_accel",
        ),
    ] {
        let body = json!({ "name": "Bad", "motion": motion });
        let (status, error) = owner.post(&models, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], "motion", "{body}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{named} must be a")),
            "{body}: {message}"
        );
    }
    let (_, list) = owner.get(&models).await;
    assert_eq!(list, json!([]), "nothing stored");

    // Zero where the firmware allows it, and an update is checked like a create.
    let sane = json!({ "name": "Sane", "motion": {
        "max_jerk": [0, 0, 0, 0],
        "firmware": "klipper",
        "klipper": { "square_corner_velocity": 0, "minimum_cruise_ratio": 0 }
    } });
    let (status, model) = owner.post(&models, sane).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let (status, error) = owner
        .put(
            &format!("{models}/{}", model["id"]),
            json!({ "name": "Sane", "motion": { "print_acceleration": -1 } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "motion", "{error}");
    let (_, list) = owner.get(&models).await;
    assert_eq!(list[0]["motion"], model["motion"], "unchanged: {list}");
}

/// A simulated printer's speed and heat-up are checked where its settings are: a speed of 0
/// (or negative, or absurd) was once stored and left the printer unreachable for good.
async fn simulation_settings_must_be_ones_the_simulator_can_run(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Hall" }),
        )
        .await;
    let printers = format!("/api/v1/orgs/{org}/printers");
    let body = |settings: serde_json::Value| json!({ "name": "Sim", "site_id": site["id"], "settings": settings });
    for (settings, field, says) in [
        (
            json!({ "speed": 0 }),
            "settings.speed",
            "above 0 and at most 10000",
        ),
        (json!({ "speed": -60 }), "settings.speed", "above 0"),
        (json!({ "speed": 1e12 }), "settings.speed", "at most 10000"),
        (
            json!({ "heat_up_s": -1 }),
            "settings.heat_up_s",
            "from 0 to 3600",
        ),
        (
            json!({ "heat_up_s": 1e12 }),
            "settings.heat_up_s",
            "from 0 to 3600",
        ),
        (json!({ "speed": "fast" }), "settings", "invalid type"),
        (json!({ "sped": 60 }), "settings", "unknown field"),
    ] {
        let (status, error) = owner.post(&printers, body(settings.clone())).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{settings}: {error}"
        );
        assert_eq!(error["error"]["field"], field, "{settings}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{settings}: {message}");
    }
    let (_, all) = owner.get(&printers).await;
    assert_eq!(all["printers"], json!([]), "nothing stored");

    // The bounds themselves are fine, and an update is checked like a create.
    let (status, printer) = owner
        .post(&printers, body(json!({ "speed": 10000, "heat_up_s": 0 })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let one = format!("{printers}/{}", printer["id"]);
    let (status, error) = owner.put(&one, body(json!({ "speed": 0 }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "settings.speed");
    let (_, stored) = owner.get(&one).await;
    assert_eq!(stored["connection"]["settings"]["speed"], 10000, "{stored}");
    server
        .wait_for(&owner, &one, "idle: the simulator still runs", |live| {
            live["state"] == "idle"
        })
        .await;
}

/// A printer's connection (driver, address, settings) is for members who may edit the printer
/// or change its settings on it; everyone else who sees the printer gets no `connection`.
async fn only_who_may_edit_a_printer_or_its_settings_sees_its_connection(server: &TestServer) {
    let (org, owner, site) = farm_with_hall(server).await;
    let printers = format!("/api/v1/orgs/{org}/printers");
    let (status, printer) = owner
        .post(
            &printers,
            json!({
                "name": "Prusa 1",
                "site_id": site["id"],
                "driver": "octoprint",
                "url": "http://10.1.2.3:5000",
                "credential": "F00DCAFE0123456789ABCDEF"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let printer_url = format!("{printers}/{}", printer["id"]);

    // An operator (print access) allowed to change printer settings, but not to edit printers.
    let operator_rank = server.rank(&owner, org, "Operator").await;
    let mut permissions = operator_rank["permissions"].as_array().unwrap().clone();
    permissions.push(json!("printers.settings"));
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{}", operator_rank["id"]),
            json!({ "permissions": permissions }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut readers = Vec::new();
    for (rank, email, sees) in [
        ("Admin", "admin@farm.test", true),
        ("Operator", "operator@farm.test", true),
        // Manage access, but neither printers.edit nor printers.settings.
        ("Manager", "manager@farm.test", false),
        ("Member", "member@farm.test", false),
        ("Viewer", "viewer@farm.test", false),
    ] {
        let (client, _) = server.member(&owner, org, rank, email).await;
        readers.push((rank, client, sees));
    }
    for (rank, client, sees) in &readers {
        let (status, one) = client.get(&printer_url).await;
        assert_eq!(status, StatusCode::OK, "{rank}: {one}");
        let (status, page) = client.get(&printers).await;
        assert_eq!(status, StatusCode::OK, "{rank}: {page}");
        let listed = &page["printers"][0];
        assert_eq!(listed["id"], printer["id"], "{rank}: {page}");
        for body in [&one, listed] {
            assert_eq!(body.get("connection").is_some(), *sees, "{rank}: {body}");
            if *sees {
                assert_eq!(body["connection"]["driver"], "octoprint", "{rank}: {body}");
            } else {
                let text = body.to_string();
                assert!(
                    !text.contains("10.1.2.3") && !text.contains("octoprint"),
                    "{rank}: {body}"
                );
            }
        }
    }
}
