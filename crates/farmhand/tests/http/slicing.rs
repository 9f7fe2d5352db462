//! Slicing over HTTP with the real PrusaSlicer (Debian's `prusa-slicer`; these tests fail,
//! never skip, without it): models uploaded into the library and refused when broken or too
//! large, slices queued in the pool and followed to their G-code, settings tiers and locks
//! enforced on the server, cancel, a model that hangs or fails the slicer ending only its own
//! slice, and 20 slices at once queuing in a pool of 2.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, TestServer};

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/models/calibration_cube.stl");
const PYRAMID: &[u8] = include_bytes!("../../../app/fixtures/models/pyramid.stl");
const HEX: &[u8] = include_bytes!("../../../app/fixtures/models/hex_prism.obj");
const TWO_PARTS: &[u8] = include_bytes!("../../../app/fixtures/models/two_parts.3mf");
const BIG_CUBE: &[u8] = include_bytes!("../../../app/fixtures/models/big_cube_300mm.stl");
const SPHERE: &[u8] = include_bytes!("../../../app/fixtures/models/sphere.stl");
const DEGENERATE: &[u8] = include_bytes!("../../../app/fixtures/models/degenerate.stl");
const ONE_TRIANGLE: &[u8] = include_bytes!("../../../app/fixtures/models/single_triangle.stl");
const PLATE_ON_EDGE: &[u8] = include_bytes!("../../../app/fixtures/models/plate_on_edge.stl");

/// A pool of 2, a short time limit (so that the slow slice is stopped quickly) and a 2 GiB
/// memory limit.
fn pool_of_two(config: &mut farmhand::Config) {
    config.slicer.workers = 2;
    config.slicer.time_limit_secs = 3;
    config.slicer.memory_limit_mb = 2048;
}

/// Settings that make the sphere slice for longer than the tests' time limit (several seconds
/// of CPU on this machine): hair-thin layers, solid infill, many perimeters.
fn slow(model: i64) -> Value {
    json!({ "printer_model_id": model, "settings": {
        "layer_height": 0.05, "first_layer_height": 0.1, "fill_density": 100,
        "fill_pattern": "rectilinear", "perimeters": 20 } })
}

crate::on_both_backends!(
    configure = super::pool_of_two;
    a_member_uploads_models_and_slices_one_with_basic_settings,
    broken_and_oversized_models_are_refused_saying_why,
    settings_beyond_the_members_tiers_are_403_naming_setting_and_permission,
    setting_locks_bind_the_ranks_below_theirs,
    auto_rotate_lays_a_model_on_its_largest_face,
    a_slice_is_cancelled_and_cannot_be_cancelled_twice,
    a_model_that_hangs_or_fails_the_slicer_ends_only_its_own_slice,
    twenty_slices_at_once_queue_in_the_pool,
    a_slice_its_server_abandoned_is_failed_saying_so,
);

mod restart {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_slice_under_way_goes_back_to_the_queue_when_the_server_stops(
            store::Backend::Sqlite,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_slice_under_way_goes_back_to_the_queue_when_the_server_stops(
            store::Backend::Postgres,
        )
        .await;
    }
}

/// An organization with a 200 mm printer model and a printer of it (in maintenance), a
/// Member (basic settings only) and the owner (every permission).
struct Lab {
    org: i64,
    owner: Client,
    member: Client,
    model: i64,
}

impl Lab {
    async fn open(server: &TestServer) -> Lab {
        let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
        let model = server
            .workshop_in_maintenance(
                &owner,
                org,
                json!({ "name": "Cube 200", "build_volume_mm": [200, 200, 200],
                        "nozzle_diameter_mm": 0.4, "materials": ["PLA"] }),
                "Cube 1",
            )
            .await;
        let (member, _) = server
            .member(&owner, org, "Member", "member@lab.test")
            .await;
        Lab {
            org,
            owner,
            member,
            model,
        }
    }

    async fn upload(&self, client: &Client, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let response = client
            .raw_post(
                &format!("/api/v1/orgs/{}/files?name={name}", self.org),
                bytes.to_vec(),
            )
            .await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn model_file(&self, client: &Client, name: &str, bytes: &[u8]) -> i64 {
        let (status, file) = self.upload(client, name, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{file}");
        file["id"].as_i64().unwrap()
    }

    async fn slice(&self, client: &Client, file: i64, body: Value) -> (StatusCode, Value) {
        client
            .post(
                &format!("/api/v1/orgs/{}/files/{file}/slices", self.org),
                body,
            )
            .await
    }

    /// Starts a slice that must be accepted; its ID.
    async fn start(&self, client: &Client, file: i64, body: Value) -> i64 {
        let (status, accepted) = self.slice(client, file, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        accepted["id"].as_i64().unwrap()
    }

    fn slice_url(&self, file: i64, slice: i64) -> String {
        format!("/api/v1/orgs/{}/files/{file}/slices/{slice}", self.org)
    }

    /// Follows a slice until it is done, failed or cancelled.
    async fn finished(&self, client: &Client, file: i64, slice: i64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) = client.get(&self.slice_url(file, slice)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if ["done", "failed", "cancelled"].contains(&body["state"].as_str().unwrap()) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "slice {slice} never finished: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn a_member_uploads_models_and_slices_one_with_basic_settings(server: &TestServer) {
    let lab = Lab::open(server).await;
    let org = lab.org;
    // Every format is taken, with what the model checks found.
    for (name, bytes, kind, format, facets, size) in [
        (
            "cube.stl",
            CUBE,
            "stl",
            "stl_binary",
            12,
            [20.0, 20.0, 20.0],
        ),
        (
            "pyramid.stl",
            PYRAMID,
            "stl",
            "stl_ascii",
            6,
            [30.0, 30.0, 20.0],
        ),
        ("hex.obj", HEX, "obj", "obj", 20, [24.0, 20.78461, 10.0]),
        ("parts.3mf", TWO_PARTS, "3mf", "3mf", 20, [15.0, 15.0, 15.0]),
    ] {
        let (status, file) = lab.upload(&lab.member, name, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {file}");
        assert_eq!(file["kind"], kind, "{file}");
        assert_eq!(file["analysis"], Value::Null);
        let model = &file["model"];
        assert_eq!(model["format"], format, "{file}");
        assert_eq!(model["facets"], facets, "{file}");
        for (axis, expected) in size.iter().enumerate() {
            let got = model["size_mm"][axis].as_f64().unwrap();
            assert!((got - expected).abs() < 0.01, "{name} axis {axis}: {model}");
        }
    }
    let (_, page) = lab.member.get(&format!("/api/v1/orgs/{org}/files")).await;
    let cube = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "cube.stl")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // A model is not printed as it is.
    let (status, refused) = lab
        .member
        .post(
            &format!("/api/v1/orgs/{org}/jobs"),
            json!({ "file_id": cube, "target": { "model_id": lab.model } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "not_sliced");

    // The member sees the basic settings only, with their bounds and values.
    let (status, settings) = lab
        .member
        .get(&format!(
            "/api/v1/orgs/{org}/slicer/settings?printer_model_id={}",
            lab.model
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    let listed = settings["settings"].as_array().unwrap();
    assert!(listed.iter().all(|s| s["tier"] == "basic"), "{settings}");
    let layer = listed.iter().find(|s| s["key"] == "layer_height").unwrap();
    assert_eq!(layer["type"], "float");
    assert_eq!(layer["default"], "0.3");
    assert!(layer["min"].as_f64().unwrap() > 0.0 && layer["max"].as_f64().unwrap() < 1.0);
    let (_, everything) = lab
        .owner
        .get(&format!(
            "/api/v1/orgs/{org}/slicer/settings?printer_model_id={}",
            lab.model
        ))
        .await;
    for tier in ["basic", "advanced", "expert"] {
        assert!(
            everything["settings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["tier"] == tier),
            "{tier}: {everything}"
        );
    }

    let (status, accepted) = lab
        .slice(
            &lab.member,
            cube,
            json!({ "printer_model_id": lab.model,
                    "settings": { "layer_height": 0.3, "fill_density": 10, "skirts": 0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(
        accepted.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "state"]
    );
    assert!(
        ["queued", "slicing"].contains(&accepted["state"].as_str().unwrap()),
        "{accepted}"
    );
    let id = accepted["id"].as_i64().unwrap();
    // Its progress as server-sent events: the stream ends with the event saying `done`.
    let events = tokio::time::timeout(
        Duration::from_secs(90),
        lab.member
            .http
            .get(format!(
                "{}{}/events",
                lab.member.base,
                lab.slice_url(cube, id)
            ))
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let text = tokio::time::timeout(Duration::from_secs(90), events.text())
        .await
        .unwrap()
        .unwrap();
    let slices: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert!(text.contains("event: slice"), "{text}");
    let last = slices.last().unwrap();
    assert_eq!(last["state"], "done", "{text}");
    let progress: Vec<i64> = slices
        .iter()
        .map(|s| s["progress"].as_i64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    let slice = lab.finished(&lab.member, cube, id).await;
    assert_eq!(slice["state"], "done", "{slice}");
    assert_eq!(slice["progress"], 100);
    assert_eq!(slice["settings"]["fill_density"], "10%");
    let gcode = slice["gcode_file_id"].as_i64().unwrap();
    let (status, file) = lab
        .member
        .get(&format!("/api/v1/orgs/{org}/files/{gcode}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["kind"], "gcode");
    assert_eq!(file["name"], "cube.gcode");
    assert!(
        file["analysis"]["estimated_time_s"].as_f64().unwrap() > 0.0,
        "{file}"
    );
    assert!(file["analysis"]["filament_weight_g"].as_f64().unwrap() > 0.0);
    assert_eq!(file["analysis"]["printer_model_id"], lab.model);
    let bounds = &file["analysis"]["bounds"];
    let top = bounds["max"][2].as_f64().unwrap();
    assert!((top - 20.0).abs() < 0.5, "{bounds}");
    let origin = &file["sliced_from"];
    assert_eq!(origin["slice_id"], id);
    assert_eq!(origin["model_file_id"], cube);
    assert_eq!(origin["printer_model_id"], lab.model);
    assert_eq!(origin["settings"]["layer_height"], "0.3");
    assert_eq!(origin["settings"]["bed_shape"], "0x0,200x0,200x200,0x200");
    // The G-code is ready to submit.
    let (status, job) = lab
        .member
        .post(
            &format!("/api/v1/orgs/{org}/jobs"),
            json!({ "file_id": gcode, "target": { "model_id": lab.model } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    // Each change is in the audit log.
    let (_, audit) = lab
        .owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=200"))
        .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["slice.start", "slice.slicing", "slice.done"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

async fn broken_and_oversized_models_are_refused_saying_why(server: &TestServer) {
    let lab = Lab::open(server).await;
    let empty_stl = {
        let mut stl = vec![0u8; 80];
        stl.extend_from_slice(&0u32.to_le_bytes());
        stl
    };
    for (name, bytes, code, says) in [
        (
            "part.3mf",
            b"solid not a zip\n".to_vec(),
            "invalid_model",
            "not a ZIP archive",
        ),
        ("part.stl", empty_stl, "invalid_model", "no facets"),
        (
            "part.obj",
            b"v 0 0 0\nv 1 0 0\nf 1 2 7\n".to_vec(),
            "invalid_model",
            "vertex 7",
        ),
        (
            "big.stl",
            BIG_CUBE.to_vec(),
            "does_not_fit",
            "200 × 200 × 200 mm (Cube 200)",
        ),
    ] {
        let (status, body) = lab.upload(&lab.member, name, &bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
    }
    let (_, page) = lab
        .member
        .get(&format!("/api/v1/orgs/{}/files", lab.org))
        .await;
    assert_eq!(page["files"], json!([]));
    assert!(server.staged_files().is_empty());
    // Scaled past the build volume, a model that fits is refused with both sizes.
    let pyramid = lab.model_file(&lab.owner, "pyramid.stl", PYRAMID).await;
    let (status, body) = lab
        .slice(
            &lab.owner,
            pyramid,
            json!({ "printer_model_id": lab.model, "scale_percent": 1001 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field", "{body}");
    let (status, body) = lab
        .slice(
            &lab.owner,
            pyramid,
            json!({ "printer_model_id": lab.model, "scale_percent": 700 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "does_not_fit", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("210.0 × 210.0 × 140.0 mm")
            && message.contains("200 × 200 × 200 mm build volume of Cube 200"),
        "{message}"
    );
    // G-code is not sliced.
    let gcode = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");
    let gcode_file = lab.model_file(&lab.owner, "cube.gcode", gcode).await;
    let (status, body) = lab
        .slice(
            &lab.owner,
            gcode_file,
            json!({ "printer_model_id": lab.model }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "file_id");
}

async fn settings_beyond_the_members_tiers_are_403_naming_setting_and_permission(
    server: &TestServer,
) {
    let lab = Lab::open(server).await;
    let org = lab.org;
    let cube = lab.model_file(&lab.member, "cube.stl", CUBE).await;
    let model = lab.model;
    for (settings, setting, permission) in [
        (
            json!({ "fill_pattern": "gyroid" }),
            "fill_pattern",
            "slicer.advanced_tab",
        ),
        (
            json!({ "retract_length": 1 }),
            "retract_length",
            "slicer.expert_tab",
        ),
    ] {
        let (status, body) = lab
            .slice(
                &lab.member,
                cube,
                json!({ "printer_model_id": model, "settings": settings }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "permission_denied");
        assert_eq!(body["error"]["setting"], setting, "{body}");
        assert_eq!(body["error"]["permission"], permission, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(setting) && message.contains(permission),
            "{message}"
        );
    }
    // Sending a setting's value as it is anyway changes nothing: no permission needed.
    let same = lab
        .start(
            &lab.member,
            cube,
            json!({ "printer_model_id": model, "settings": { "fill_pattern": "stars" } }),
        )
        .await;
    // Unknown settings and values out of bounds are 422, whoever asks.
    for (settings, says) in [
        (
            json!({ "post_process": "/bin/sh -c 'curl evil'" }),
            "post_process",
        ),
        (json!({ "layer_height": 5 }), "layer_height"),
        (json!({ "fill_density": "lots" }), "fill_density"),
    ] {
        let (status, body) = lab
            .slice(
                &lab.owner,
                cube,
                json!({ "printer_model_id": model, "settings": settings }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_field");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    // Placement beyond basic slicing needs its permission: a Guest has none of them, a
    // Member may not arrange copies.
    let (guest, _) = server
        .member(&lab.owner, org, "Guest", "guest@lab.test")
        .await;
    let guest_cube = lab.model_file(&guest, "cube.stl", CUBE).await;
    for (placement, permission, who, file) in [
        (json!({ "copies": 2 }), "slicer.arrange", &lab.member, cube),
        (json!({ "copies": 2 }), "slicer.arrange", &guest, guest_cube),
        (
            json!({ "scale_percent": 50 }),
            "slicer.scale",
            &guest,
            guest_cube,
        ),
        (
            json!({ "rotate_z_deg": 45 }),
            "slicer.rotate",
            &guest,
            guest_cube,
        ),
        (
            json!({ "auto_rotate": true }),
            "slicer.auto_rotate",
            &guest,
            guest_cube,
        ),
    ] {
        let mut body = json!({ "printer_model_id": model });
        body.as_object_mut()
            .unwrap()
            .extend(placement.as_object().unwrap().clone());
        let (status, refused) = lab.slice(who, file, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(refused["error"]["permission"], permission, "{refused}");
    }
    // A profile: the first of a printer model is its default; another needs
    // slicer.change_profile; a locked setting needs slicer.override_locks.
    let (status, default) = lab
        .owner
        .post(
            &format!("/api/v1/orgs/{org}/slicer/profiles"),
            json!({ "name": "Cube 200 PLA draft", "printer_model_id": model, "material": "PLA",
                    "settings": { "layer_height": 0.3, "fill_density": 15, "temperature": 210 },
                    "locked": ["temperature"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{default}");
    assert_eq!(default["settings"]["fill_density"], "15%");
    let (status, other) = lab
        .owner
        .post(
            &format!("/api/v1/orgs/{org}/slicer/profiles"),
            json!({ "name": "Cube 200 PLA fine", "printer_model_id": model,
                    "settings": { "layer_height": 0.15 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, refused) = lab
        .member
        .post(
            &format!("/api/v1/orgs/{org}/slicer/profiles"),
            json!({ "name": "Mine", "printer_model_id": model }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["permission"], "slicer.manage_profiles");
    let (status, refused) = lab
        .slice(
            &lab.member,
            cube,
            json!({ "printer_model_id": model, "profile_id": other["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["permission"], "slicer.change_profile");
    let (status, refused) = lab
        .slice(
            &lab.member,
            cube,
            json!({ "printer_model_id": model, "settings": { "temperature": 230 } }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["setting"], "temperature");
    assert_eq!(refused["error"]["permission"], "slicer.override_locks");
    let (_, settings) = lab
        .member
        .get(&format!(
            "/api/v1/orgs/{org}/slicer/settings?printer_model_id={model}"
        ))
        .await;
    assert_eq!(settings["profile_id"], default["id"]);
    let temperature = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "temperature")
        .unwrap();
    assert_eq!(temperature["locked"], true);
    assert_eq!(temperature["value"], "210");
    // With the default profile, the member's basic change is taken; the profile's values and
    // material are in the G-code's record.
    let id = lab
        .start(
            &lab.member,
            cube,
            json!({ "printer_model_id": model, "settings": { "skirts": 0 } }),
        )
        .await;
    let slice = lab.finished(&lab.member, cube, id).await;
    assert_eq!(slice["state"], "done", "{slice}");
    assert_eq!(slice["profile_id"], default["id"]);
    let (_, file) = lab
        .member
        .get(&format!(
            "/api/v1/orgs/{org}/files/{}",
            slice["gcode_file_id"]
        ))
        .await;
    let origin = &file["sliced_from"]["settings"];
    assert_eq!(origin["fill_density"], "15%", "{file}");
    assert_eq!(origin["temperature"], "210");
    assert_eq!(origin["skirts"], "0");
    assert_eq!(
        file["analysis"]["metadata"]["filament_type"],
        json!(["PLA"])
    );
    let same = lab.finished(&lab.member, cube, same).await;
    assert_eq!(same["state"], "done", "{same}");
    assert_eq!(same["settings"], json!({}));
    // Another member does not see the slice.
    let (other_member, _) = server
        .member(&lab.owner, org, "Member", "other@lab.test")
        .await;
    let (status, _) = other_member.get(&lab.slice_url(cube, id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn setting_locks_bind_the_ranks_below_theirs(server: &TestServer) {
    let lab = Lab::open(server).await;
    let (org, model) = (lab.org, lab.model);
    let cube = lab.model_file(&lab.member, "cube.stl", CUBE).await;
    let (operator, _) = server
        .member(&lab.owner, org, "Operator", "operator@lab.test")
        .await;
    let (admin, _) = server
        .member(&lab.owner, org, "Admin", "admin@lab.test")
        .await;
    let rank = |name: &'static str| server.rank_id(&lab.owner, org, name);
    let (owner_rank, operator_rank, viewer_rank) = (
        rank("Owner").await,
        rank("Operator").await,
        rank("Viewer").await,
    );
    let locks = format!("/api/v1/orgs/{org}/slicer/locks");
    let settings_url = format!("/api/v1/orgs/{org}/slicer/settings?printer_model_id={model}");

    // Keeping locks needs its permission.
    let (status, refused) = lab.member.get(&locks).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["permission"], "slicer.lock_settings");
    let (status, refused) = lab
        .member
        .put(
            &format!("{locks}/layer_height"),
            json!({ "value": 0.1, "below_rank_id": viewer_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // Unknown settings and values out of bounds are 422.
    for (setting, value, says) in [
        ("post_process", json!("/bin/sh"), "post_process"),
        ("layer_height", json!(5), "layer_height"),
        ("support_material", json!("yes"), "true or false"),
    ] {
        let (status, body) = lab
            .owner
            .put(
                &format!("{locks}/{setting}"),
                json!({ "value": value, "below_rank_id": operator_rank }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    // The owner locks the layer height at 0.2 mm below Operator: Members and Guests are bound.
    let (status, lock) = lab
        .owner
        .put(
            &format!("{locks}/layer_height"),
            json!({ "value": 0.2, "below_rank_id": operator_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lock}");
    assert_eq!(lock["setting"], "layer_height");
    assert_eq!(lock["value"], "0.2");
    assert_eq!(lock["below_rank"], "Operator");
    assert_eq!(lock["tier"], "basic");
    // An expert setting too: locks bind whatever the member's tiers.
    let (status, _) = lab
        .owner
        .put(
            &format!("{locks}/retract_length"),
            json!({ "value": 1.5, "below_rank_id": operator_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = lab.owner.get(&locks).await;
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["setting"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["layer_height", "retract_length"], "{listed}");

    // The member sees the locks with their values; the operator is not bound.
    let (status, settings) = lab.member.get(&settings_url).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    let layer = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "layer_height")
        .unwrap();
    assert_eq!(layer["value"], "0.2", "{settings}");
    assert_eq!(layer["locked"], true);
    let bound: Vec<(&str, &str, &str)> = settings["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["setting"].as_str().unwrap(),
                l["value"].as_str().unwrap(),
                l["below_rank"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bound,
        [
            ("layer_height", "0.2", "Operator"),
            ("retract_length", "1.5", "Operator")
        ],
        "{settings}"
    );
    let (_, unbound) = operator.get(&settings_url).await;
    assert_eq!(unbound["locks"], json!([]), "{unbound}");
    let layer = unbound["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "layer_height")
        .unwrap();
    assert_eq!(layer["locked"], false);
    assert_eq!(layer["value"], "0.3");

    // A member's change is 403 naming the setting, the permission and the lock.
    let (status, refused) = lab
        .slice(
            &lab.member,
            cube,
            json!({ "printer_model_id": model, "settings": { "layer_height": 0.3 } }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "permission_denied");
    assert_eq!(refused["error"]["setting"], "layer_height");
    assert_eq!(refused["error"]["permission"], "slicer.override_locks");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("layer_height")
            && message.contains("slicer.override_locks")
            && message.contains("below Operator"),
        "{message}"
    );
    // The operator changes it freely; the member's slice uses the locked values.
    let operator_cube = lab.model_file(&operator, "cube.stl", CUBE).await;
    let free = lab
        .start(
            &operator,
            operator_cube,
            json!({ "printer_model_id": model, "settings": { "layer_height": 0.25 } }),
        )
        .await;
    let bound_slice = lab
        .start(&lab.member, cube, json!({ "printer_model_id": model }))
        .await;
    for (client, file, id, layer, retract) in [
        (&operator, operator_cube, free, "0.25", "2"),
        (&lab.member, cube, bound_slice, "0.2", "1.5"),
    ] {
        let slice = lab.finished(client, file, id).await;
        assert_eq!(slice["state"], "done", "{slice}");
        let (_, file) = client
            .get(&format!(
                "/api/v1/orgs/{org}/files/{}",
                slice["gcode_file_id"]
            ))
            .await;
        let made_with = &file["sliced_from"]["settings"];
        assert_eq!(made_with["layer_height"], layer, "{file}");
        assert_eq!(made_with["retract_length"], retract, "{file}");
    }

    // Nobody locks settings for their seniors, nor removes such a lock.
    let (status, refused) = admin
        .put(
            &format!("{locks}/skirts"),
            json!({ "value": 0, "below_rank_id": owner_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(
        refused["error"]["code"], "insufficient_seniority",
        "{refused}"
    );
    let (status, _) = lab
        .owner
        .put(
            &format!("{locks}/skirts"),
            json!({ "value": 0, "below_rank_id": owner_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = admin.delete(&format!("{locks}/skirts")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_seniority");
    // A rank a lock names is not deleted from under it.
    let (status, _) = lab
        .owner
        .put(
            &format!("{locks}/skirts"),
            json!({ "value": 0, "below_rank_id": viewer_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = lab
        .owner
        .delete(&format!("/api/v1/orgs/{org}/ranks/{viewer_rank}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "rank_in_use");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lock"),
        "{refused}"
    );
    // The admin removes a lock below a junior rank; a lock that is not there is 404.
    let (status, _) = admin.delete(&format!("{locks}/skirts")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = admin.delete(&format!("{locks}/skirts")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = admin.delete(&format!("{locks}/no_such_setting")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = lab
        .owner
        .delete(&format!("/api/v1/orgs/{org}/ranks/{viewer_rank}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Every change is audited with its before and after.
    let (_, audit) = lab
        .owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=200"))
        .await;
    let events = audit["events"].as_array().unwrap();
    let of = |action: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect::<Vec<Value>>()
    };
    assert_eq!(of("slicer_lock.set").len(), 4, "{audit}");
    let removed = of("slicer_lock.remove");
    assert_eq!(removed.len(), 1, "{audit}");
    assert_eq!(removed[0]["target_id"], "skirts", "{audit}");
    let replaced = of("slicer_lock.set")
        .into_iter()
        .find(|e| e["before"]["below_rank_id"] == owner_rank)
        .expect("the replaced lock's event has its before");
    assert_eq!(replaced["after"]["below_rank_id"], viewer_rank);
}

async fn auto_rotate_lays_a_model_on_its_largest_face(server: &TestServer) {
    let lab = Lab::open(server).await;
    let (org, model) = (lab.org, lab.model);
    // A 40 × 4 × 30 mm plate standing on its 40 × 4 mm edge. Guests may not auto-rotate.
    let (guest, _) = server
        .member(&lab.owner, org, "Guest", "guest@lab.test")
        .await;
    let plate = lab.model_file(&guest, "plate.stl", PLATE_ON_EDGE).await;
    let (status, refused) = lab
        .slice(
            &guest,
            plate,
            json!({ "printer_model_id": model, "auto_rotate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["permission"], "slicer.auto_rotate");
    // A 3MF places its objects itself.
    let parts = lab.model_file(&lab.owner, "parts.3mf", TWO_PARTS).await;
    let (status, refused) = lab
        .slice(
            &lab.owner,
            parts,
            json!({ "printer_model_id": model, "auto_rotate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_field");
    let plate = lab.model_file(&lab.owner, "plate.stl", PLATE_ON_EDGE).await;
    // As it is, 30 mm high; laid down, 4 mm; laid down, at half size and twice, 2 mm.
    for (placement, height, copies) in [
        (json!({}), 30.0, 1),
        (json!({ "auto_rotate": true }), 4.0, 1),
        (
            json!({ "auto_rotate": true, "scale_percent": 50, "copies": 2 }),
            2.0,
            2,
        ),
    ] {
        let mut body = json!({ "printer_model_id": model, "settings": { "skirts": 0 } });
        body.as_object_mut()
            .unwrap()
            .extend(placement.as_object().unwrap().clone());
        let id = lab.start(&lab.owner, plate, body).await;
        let slice = lab.finished(&lab.owner, plate, id).await;
        assert_eq!(slice["state"], "done", "{placement}: {slice}");
        assert_eq!(
            slice["auto_rotate"],
            placement["auto_rotate"].as_bool().unwrap_or(false)
        );
        let (_, file) = lab
            .owner
            .get(&format!(
                "/api/v1/orgs/{org}/files/{}",
                slice["gcode_file_id"]
            ))
            .await;
        let bounds = &file["analysis"]["bounds"];
        let top = bounds["max"][2].as_f64().unwrap();
        assert!((top - height).abs() < 0.5, "{placement}: {bounds}");
        // Laid down, the plate covers 40 × 30 mm of the bed (each copy).
        let width = bounds["max"][0].as_f64().unwrap() - bounds["min"][0].as_f64().unwrap();
        let depth = bounds["max"][1].as_f64().unwrap() - bounds["min"][1].as_f64().unwrap();
        if height < 30.0 {
            let scale = if copies == 2 { 0.5 } else { 1.0 };
            assert!(
                width.max(depth) >= 40.0 * scale - 1.0 && width.min(depth) >= 30.0 * scale - 1.0,
                "{placement}: {bounds}"
            );
        }
    }
}

async fn a_slice_is_cancelled_and_cannot_be_cancelled_twice(server: &TestServer) {
    let lab = Lab::open(server).await;
    // Two slow slices keep the pool's two workers busy, so the third waits, queued, and is
    // cancelled there; the first is cancelled mid-slice.
    let sphere = lab.model_file(&lab.owner, "sphere.stl", SPHERE).await;
    let first = lab.start(&lab.owner, sphere, slow(lab.model)).await;
    let second = lab.start(&lab.owner, sphere, slow(lab.model)).await;
    let third = lab.start(&lab.owner, sphere, slow(lab.model)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, slice) = lab.owner.get(&lab.slice_url(sphere, first)).await;
        if slice["state"] == "slicing" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{slice}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, queued) = lab.owner.get(&lab.slice_url(sphere, third)).await;
    assert_eq!(queued["state"], "queued", "{queued}");
    for id in [third, first] {
        let (status, cancelled) = lab
            .owner
            .post_empty(&format!("{}/cancel", lab.slice_url(sphere, id)))
            .await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        assert_eq!(cancelled["state"], "cancelled");
        let (status, again) = lab
            .owner
            .post_empty(&format!("{}/cancel", lab.slice_url(sphere, id)))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        assert_eq!(again["error"]["code"], "slice_finished");
    }
    // The cancelled PrusaSlicer is stopped at once: only the second runs, until its limit.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while server.app().slices_running() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cancelled slicer still runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = lab.finished(&lab.owner, sphere, second).await;
    assert_eq!(second["state"], "failed", "{second}");
    for id in [first, third] {
        let (_, slice) = lab.owner.get(&lab.slice_url(sphere, id)).await;
        assert_eq!(slice["state"], "cancelled", "{slice}");
        assert_eq!(slice["gcode_file_id"], Value::Null);
    }
    // A member cannot cancel another's slice they cannot see.
    let cube = lab.model_file(&lab.owner, "cube.stl", CUBE).await;
    let owners = lab
        .start(&lab.owner, cube, json!({ "printer_model_id": lab.model }))
        .await;
    let (status, _) = lab
        .member
        .post_empty(&format!("{}/cancel", lab.slice_url(cube, owners)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let done = lab.finished(&lab.owner, cube, owners).await;
    assert_eq!(done["state"], "done", "{done}");
}

async fn a_model_that_hangs_or_fails_the_slicer_ends_only_its_own_slice(server: &TestServer) {
    let lab = Lab::open(server).await;
    let body = json!({ "printer_model_id": lab.model });
    // PrusaSlicer 2.5 allocates without end on all-degenerate facets: the memory limit ends
    // it. It refuses a lone flat triangle. The sphere at slow settings runs past the time
    // limit and is killed. The cube among them is sliced as if nothing happened.
    let explodes = lab
        .model_file(&lab.owner, "degenerate.stl", DEGENERATE)
        .await;
    let refused = lab
        .model_file(&lab.owner, "triangle.stl", ONE_TRIANGLE)
        .await;
    let sphere = lab.model_file(&lab.owner, "sphere.stl", SPHERE).await;
    let cube = lab.model_file(&lab.owner, "cube.stl", CUBE).await;
    let exploded = lab.start(&lab.owner, explodes, body.clone()).await;
    let failed = lab.start(&lab.owner, refused, body.clone()).await;
    let hung = lab.start(&lab.owner, sphere, slow(lab.model)).await;
    let fine = lab.start(&lab.owner, cube, body.clone()).await;

    let slice = lab.finished(&lab.owner, explodes, exploded).await;
    assert_eq!(slice["state"], "failed", "{slice}");
    let message = slice["message"].as_str().unwrap();
    assert!(
        message.starts_with("the slicer ran out of its 2048 MiB memory limit"),
        "{message}"
    );

    let slice = lab.finished(&lab.owner, refused, failed).await;
    assert_eq!(slice["state"], "failed", "{slice}");
    let message = slice["message"].as_str().unwrap();
    assert!(
        message.starts_with("the slicer failed (exit status"),
        "{message}"
    );
    assert!(
        message.contains("Loading of a model file failed"),
        "{message}"
    );
    assert_eq!(slice["gcode_file_id"], Value::Null);

    let slice = lab.finished(&lab.owner, sphere, hung).await;
    assert_eq!(slice["state"], "failed", "{slice}");
    assert_eq!(
        slice["message"],
        "the slicer took longer than its limit of 3 s and was stopped"
    );

    let slice = lab.finished(&lab.owner, cube, fine).await;
    assert_eq!(slice["state"], "done", "{slice}");
    assert_eq!(server.app().slices_running(), 0);
    // The pool goes on: the member's slice after them is done.
    let mine = lab.model_file(&lab.member, "cube.stl", CUBE).await;
    let after = lab.start(&lab.member, mine, body).await;
    let slice = lab.finished(&lab.member, mine, after).await;
    assert_eq!(slice["state"], "done", "{slice}");
}

async fn twenty_slices_at_once_queue_in_the_pool(server: &TestServer) {
    let lab = Lab::open(server).await;
    let cube = lab.model_file(&lab.member, "cube.stl", CUBE).await;
    let starts = (0..20).map(|_| {
        lab.slice(
            &lab.member,
            cube,
            json!({ "printer_model_id": lab.model, "settings": { "skirts": 0 } }),
        )
    });
    let ids: Vec<i64> = futures::future::join_all(starts)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            body["id"].as_i64().unwrap()
        })
        .collect();
    let mut most_running = 0;
    let mut queued_while_running = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        most_running = most_running.max(server.app().slices_running());
        let mut states = Vec::new();
        for id in &ids {
            let (_, slice) = lab.member.get(&lab.slice_url(cube, *id)).await;
            states.push(slice["state"].as_str().unwrap().to_string());
        }
        // (The states are read one after the other, not at one instant: the pool's own count
        // of PrusaSlicer processes is the measure of how many run at once.)
        queued_while_running |= states.iter().any(|s| s == "queued")
            && states.iter().any(|s| s == "slicing" || s == "done");
        if states.iter().all(|s| s == "done") {
            break;
        }
        assert!(
            !states.iter().any(|s| s == "failed" || s == "cancelled"),
            "{states:?}"
        );
        assert!(tokio::time::Instant::now() < deadline, "{states:?}");
    }
    assert!(most_running <= 2, "{most_running} slicers at once");
    assert!(queued_while_running, "the slices never waited in the queue");
    // Twenty G-code files, one per slice (the same content, stored once).
    let (_, page) = lab
        .member
        .get(&format!("/api/v1/orgs/{}/files?limit=100", lab.org))
        .await;
    let gcode = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "gcode")
        .count();
    assert_eq!(gcode, 20);
}

/// A slice left `slicing` by an instance that crashed (its heartbeat stopped) is failed by the
/// pool of another, with a message that says so, and audited.
async fn a_slice_its_server_abandoned_is_failed_saying_so(server: &TestServer) {
    let lab = Lab::open(server).await;
    let cube = lab.model_file(&lab.owner, "cube.stl", CUBE).await;
    let body = json!({ "printer_model_id": lab.model, "settings": {} });
    let id = lab.start(&lab.owner, cube, body).await;
    assert_eq!(lab.finished(&lab.owner, cube, id).await["state"], "done");
    // As a crashed instance leaves a slice: `slicing`, its last heartbeat a minute ago.
    let minute_ago = server.app().now().plus_seconds(-60);
    let mut tx = server.app().store().write().await.unwrap();
    sqlx::query(
        "UPDATE slices SET state = 'slicing', gcode_file_id = NULL, finished_at = NULL, \
         heartbeat_at = $1 WHERE id = $2",
    )
    .bind(minute_ago.micros())
    .bind(id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let slice = loop {
        let (_, slice) = lab.owner.get(&lab.slice_url(cube, id)).await;
        if slice["state"] != "slicing" {
            break slice;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never failed: {slice}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(slice["state"], "failed", "{slice}");
    assert_eq!(
        slice["message"],
        "the server slicing it stopped before it finished (a restart or a crash); slice the model again"
    );
    let (_, audit) = lab
        .owner
        .get(&format!("/api/v1/orgs/{}/audit-events?limit=50", lab.org))
        .await;
    let target = id.to_string();
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| { e["action"] == "slice.fail" && e["target_id"] == target.as_str() }),
        "{audit}"
    );
}

async fn a_slice_under_way_goes_back_to_the_queue_when_the_server_stops(backend: store::Backend) {
    let mut server = TestServer::start_with(backend, pool_of_two).await;
    let lab = Lab::open(&server).await;
    let (org, model) = (lab.org, lab.model);
    let sphere = lab.model_file(&lab.owner, "sphere.stl", SPHERE).await;
    let id = lab.start(&lab.owner, sphere, slow(model)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, slice) = lab.owner.get(&lab.slice_url(sphere, id)).await;
        if slice["state"] == "slicing" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{slice}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.restart().await;
    let owner = server.client();
    owner
        .sign_in("owner@lab.test", crate::common::PASSWORD)
        .await;
    let lab = Lab {
        org,
        owner,
        member: server.client(),
        model,
    };
    // Sliced again after the restart (and stopped again, at the time limit, like the first
    // time would have been): not failed because the server stopped.
    let slice = lab.finished(&lab.owner, sphere, id).await;
    assert_eq!(slice["state"], "failed", "{slice}");
    assert_eq!(
        slice["message"],
        "the slicer took longer than its limit of 3 s and was stopped"
    );
    let (_, audit) = lab
        .owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=200"))
        .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"slice.requeue"), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "slice.slicing").count(),
        2,
        "{actions:?}"
    );
    server.stop().await;
}
