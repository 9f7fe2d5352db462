//! Slicing measurements (issue 17; tests never assert timings, this prints them):
//!
//! 1. Throughput of the slicing queue: 20 different models (boxes of 10 to 29 mm, or spheres
//!    of 10 to 19.5 mm radius with `--models spheres`) sliced at once through the API — upload done beforehand; timed from the first `POST …/slices` to
//!    the last slice `done`, its G-code analysed and in the library — with a pool of `--workers`
//!    (default 2, this machine's cores). The slices are followed in the database every 5 ms
//!    (an API client polling that often would itself take a share of the two cores).
//! 2. The overhead Farmhand adds: the same 20 models with the same settings (the options
//!    Farmhand wrote, read back from the first G-code's `sliced_from`) given to `prusa-slicer`
//!    directly with the same flags Farmhand gives it (`--loglevel 1`, a fresh `--datadir`),
//!    the same number at a time, from this process. Overhead = Farmhand's time over
//!    the direct time, less one, in total and per slice. Target: under 5 %.
//! 3. Where the time goes: the pool's own phase timings (claim, work directory, model, config,
//!    sandbox and PrusaSlicer, G-code analysis, blob store, database record, clean-up) per
//!    slice, and what the sandbox's processes (`unshare -n`, `prlimit`) cost on their own.
//!
//! `cargo bench -p farmhand --bench slicing -- [--workers N] [--rounds N] [--models boxes|spheres]`

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::PasswordHasher;
use domain::SystemClock;
use farmhand::{Config, Server, ServerOptions};
use serde_json::{Value, json};

const MODELS: usize = 20;
const PASSWORD: &str = "correct horse battery";

/// A box of `w` × `d` × `h` mm as a binary STL.
fn box_stl(w: f32, d: f32, h: f32) -> Vec<u8> {
    let v = [
        [0.0, 0.0, 0.0],
        [w, 0.0, 0.0],
        [w, d, 0.0],
        [0.0, d, 0.0],
        [0.0, 0.0, h],
        [w, 0.0, h],
        [w, d, h],
        [0.0, d, h],
    ];
    let faces = [
        [0, 2, 1],
        [0, 3, 2],
        [4, 5, 6],
        [4, 6, 7],
        [0, 1, 5],
        [0, 5, 4],
        [1, 2, 6],
        [1, 6, 5],
        [2, 3, 7],
        [2, 7, 6],
        [3, 0, 4],
        [3, 4, 7],
    ];
    let triangles: Vec<[[f32; 3]; 3]> = faces.iter().map(|f| [v[f[0]], v[f[1]], v[f[2]]]).collect();
    binary_stl(&triangles)
}

/// A sphere of radius `r` mm resting on the plate, `rings` × 2·`rings` facets' worth of
/// latitude and longitude.
fn sphere_stl(r: f32, rings: usize) -> Vec<u8> {
    use std::f32::consts::PI;
    let point = |ring: usize, step: usize| {
        let (lat, lon) = (
            PI * ring as f32 / rings as f32,
            PI * step as f32 / rings as f32,
        );
        [
            r * lat.sin() * lon.cos(),
            r * lat.sin() * lon.sin(),
            r - r * lat.cos(),
        ]
    };
    let mut triangles = Vec::new();
    for ring in 0..rings {
        for step in 0..2 * rings {
            let (a, b) = (point(ring, step), point(ring, step + 1));
            let (c, d) = (point(ring + 1, step), point(ring + 1, step + 1));
            // Outward-facing: counter-clockwise seen from outside.
            if ring > 0 {
                triangles.push([a, c, b]);
            }
            if ring + 1 < rings {
                triangles.push([b, c, d]);
            }
        }
    }
    binary_stl(&triangles)
}

fn binary_stl(triangles: &[[[f32; 3]; 3]]) -> Vec<u8> {
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
    for triangle in triangles {
        out.extend_from_slice(&[0u8; 12]);
        for corner in triangle {
            for c in corner {
                out.extend_from_slice(&f32::to_le_bytes(*c));
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// The bench's model sets: `boxes` (12 facets, a tenth of a second in PrusaSlicer each: the
/// set where Farmhand's fixed cost per slice weighs most) or `spheres` (radius 10 to 19.5 mm,
/// 6,240 facets each: small real parts).
fn models(set: &str) -> Vec<Vec<u8>> {
    (0..MODELS)
        .map(|i| {
            let i = i as f32;
            match set {
                "boxes" => box_stl(10.0 + i, 15.0 + i / 2.0, 5.0 + i),
                "spheres" => sphere_stl(10.0 + i / 2.0, 40),
                other => panic!("--models is boxes or spheres, not {other}"),
            }
        })
        .collect()
}

async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{what}: {status} {body}");
    body
}

struct Lab {
    server: Server,
    app: app::App,
    client: reqwest::Client,
    base: String,
    model: i64,
    files: Vec<i64>,
    _dir: tempfile::TempDir,
}

async fn open_lab(workers: usize, set: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.slicer.workers = workers;
    let store = farmhand::open_store(&config).await.unwrap();
    let options = ServerOptions {
        clock: Arc::new(SystemClock),
        hasher: PasswordHasher::fast_for_tests().unwrap(),
    };
    let app = farmhand::build_app(store, &config, options).unwrap();
    let created = app
        .console()
        .create_org(
            "Bench",
            "owner@bench.test",
            Some("Owner"),
            authz::Preset::Farmhand,
        )
        .await
        .unwrap();
    let org = created.org.id;
    let server = Server::start(&config, app.clone()).await.unwrap();
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let one_time = created.one_time_password.unwrap();
    send(
        client
            .post(format!("{base}/api/v1/auth/sign-in"))
            .json(&json!({ "email": "owner@bench.test", "password": one_time })),
        "sign in",
    )
    .await;
    send(
        client
            .post(format!("{base}/api/v1/me/password"))
            .json(&json!({ "current_password": one_time, "new_password": PASSWORD })),
        "change the password",
    )
    .await;
    let base = format!("{base}/api/v1/orgs/{org}");
    let model = send(
        client.post(format!("{base}/printer-models")).json(
            &json!({ "name": "Cube 200", "build_volume_mm": [200, 200, 200],
                           "nozzle_diameter_mm": 0.4 }),
        ),
        "create a printer model",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut files = Vec::new();
    for (n, stl) in models(set).into_iter().enumerate() {
        let file = send(
            client
                .post(format!("{base}/files?name=box-{n}.stl"))
                .header("content-type", "application/octet-stream")
                .body(stl),
            "upload a model",
        )
        .await;
        files.push(file["id"].as_i64().unwrap());
    }
    Lab {
        server,
        app,
        client,
        base,
        model,
        files,
        _dir: dir,
    }
}

/// Slices every model at once through the API; the wall time until all are done, and the
/// first G-code file's record of its settings.
async fn through_farmhand(lab: &Lab) -> (Duration, Value) {
    let started = Instant::now();
    let mut slices = Vec::new();
    for file in &lab.files {
        let accepted = send(
            lab.client
                .post(format!("{}/files/{file}/slices", lab.base))
                .json(&json!({ "printer_model_id": lab.model })),
            "start a slice",
        )
        .await;
        slices.push((*file, accepted["id"].as_i64().unwrap()));
    }
    // Followed in the database, not through the API: a client asking every few milliseconds
    // would take CPU from the slicer on two cores and charge it to Farmhand.
    let ids: Vec<String> = slices.iter().map(|(_, id)| id.to_string()).collect();
    let states = format!("SELECT state FROM slices WHERE id IN ({})", ids.join(", "));
    loop {
        let states: Vec<String> = {
            let mut conn = lab.app.store().read().await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(states.clone()))
                .fetch_all(&mut *conn)
                .await
                .unwrap()
        };
        assert!(
            states
                .iter()
                .all(|s| ["queued", "slicing", "done"].contains(&s.as_str())),
            "a slice did not slice: {states:?}"
        );
        if states.iter().all(|s| s == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let (file, slice) = slices[0];
    let done = send(
        lab.client
            .get(format!("{}/files/{file}/slices/{slice}", lab.base)),
        "read a slice",
    )
    .await;
    let first = send(
        lab.client
            .get(format!("{}/files/{}", lab.base, done["gcode_file_id"])),
        "read a G-code file",
    )
    .await;
    (elapsed, first["sliced_from"]["settings"].clone())
}

/// The same models and settings given to `prusa-slicer` directly, `workers` at a time.
async fn directly(settings: &Value, workers: usize, dir: &Path, set: &str) -> Duration {
    let ini: String = settings
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", v.as_str().unwrap()))
        .collect();
    let config = dir.join("direct.ini");
    std::fs::write(&config, ini).unwrap();
    let inputs: Vec<PathBuf> = models(set)
        .into_iter()
        .enumerate()
        .map(|(n, stl)| {
            let path = dir.join(format!("box-{n}.stl"));
            std::fs::write(&path, stl).unwrap();
            path
        })
        .collect();
    let started = Instant::now();
    let queue = Arc::new(tokio::sync::Mutex::new(inputs.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let queue = queue.clone();
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(input) = queue.lock().await.next() else {
                    return;
                };
                let status = tokio::process::Command::new("prusa-slicer")
                    .arg("--datadir")
                    .arg(input.with_extension("datadir"))
                    .arg("--loglevel")
                    .arg("1")
                    .arg("--load")
                    .arg(&config)
                    .arg("--export-gcode")
                    .arg("--output")
                    .arg(input.with_extension("gcode"))
                    .arg(&input)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .await
                    .unwrap();
                assert!(status.success(), "prusa-slicer failed on {input:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

/// The pool's time per slice in each phase.
fn print_phases(lab: &Lab) {
    let phases = lab.app.slicing_phases();
    let slices = phases
        .iter()
        .find(|(p, _, _)| *p == app::SlicingPhase::Claim)
        .map_or(1, |(_, n, _)| (*n).max(1));
    println!("where a slice's time goes in the pool ({slices} slices, mean per slice):");
    for (phase, _, total) in phases {
        println!(
            "  {:<28} {:>8.2} ms",
            phase.key(),
            total.as_secs_f64() * 1000.0 / f64::from(slices)
        );
    }
}

/// What starting a program through the sandbox costs beside starting it directly: `true`, 50
/// times each way.
async fn print_sandbox_cost() {
    async fn time(program: &str, args: &[&str]) -> Option<Duration> {
        let started = Instant::now();
        for _ in 0..50 {
            let status = tokio::process::Command::new(program)
                .args(args)
                .status()
                .await
                .ok()?;
            if !status.success() {
                return None;
            }
        }
        Some(started.elapsed() / 50)
    }
    let direct = time("true", &[]).await;
    let limited = time("prlimit", &["--as=4294967296", "--core=0", "--", "true"]).await;
    let isolated = time(
        "unshare",
        &[
            "-n",
            "--",
            "prlimit",
            "--as=4294967296",
            "--core=0",
            "--",
            "true",
        ],
    )
    .await;
    let ms = |d: Option<Duration>| {
        d.map_or("unavailable".to_string(), |d| {
            format!("{:.2} ms", d.as_secs_f64() * 1000.0)
        })
    };
    println!(
        "starting `true`: directly {}, through prlimit {}, through unshare -n and prlimit {}",
        ms(direct),
        ms(limited),
        ms(isolated)
    );
}

/// This process's CPU time so far and that of its children it has waited for (PrusaSlicer and
/// the sandbox's programs), in seconds, from `/proc/self/stat` (in clock ticks of 10 ms).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<f64> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').map(|f| f.parse().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    let tick = |i: usize| fields.get(i).copied().unwrap_or(0.0) / 100.0;
    // utime, stime, cutime, cstime are fields 14 to 17, 12 to 15 after the name.
    (tick(11) + tick(12), tick(13) + tick(14))
}

fn text_arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let workers = arg("--workers", 2);
    let rounds = arg("--rounds", 3);
    let set = text_arg("--models", "boxes");
    let lab = open_lab(workers, &set).await;
    let scratch = tempfile::tempdir().unwrap();
    println!(
        "slicing {MODELS} models ({set}), pool of {workers}, {rounds} rounds (alternating Farmhand and direct)"
    );
    let mut farmhand_times = Vec::new();
    let mut direct_times = Vec::new();
    let mut overheads = Vec::new();
    // CPU seconds: (this process, its children) through Farmhand and directly.
    let mut cpu = [(0.0, 0.0); 2];
    for round in 0..rounds {
        let before = cpu_seconds();
        let (through, settings) = through_farmhand(&lab).await;
        let between = cpu_seconds();
        let direct = directly(&settings, workers, scratch.path(), &set).await;
        let after = cpu_seconds();
        cpu[0].0 += between.0 - before.0;
        cpu[0].1 += between.1 - before.1;
        cpu[1].0 += after.0 - between.0;
        cpu[1].1 += after.1 - between.1;
        overheads.push((through.as_secs_f64() / direct.as_secs_f64() - 1.0) * 100.0);
        println!(
            "round {round}: Farmhand {:.2} s ({:.2} slices/s), prusa-slicer directly {:.2} s, overhead {:+.1} %",
            through.as_secs_f64(),
            MODELS as f64 / through.as_secs_f64(),
            direct.as_secs_f64(),
            (through.as_secs_f64() / direct.as_secs_f64() - 1.0) * 100.0
        );
        farmhand_times.push(through.as_secs_f64());
        direct_times.push(direct.as_secs_f64());
    }
    overheads.sort_by(f64::total_cmp);
    farmhand_times.sort_by(f64::total_cmp);
    direct_times.sort_by(f64::total_cmp);
    let through = farmhand_times[farmhand_times.len() / 2];
    let direct = direct_times[direct_times.len() / 2];
    println!(
        "median: Farmhand {through:.2} s = {:.2} slices/s; directly {direct:.2} s; overhead {:+.1} % ({:+.0} ms a slice)",
        MODELS as f64 / through,
        (through / direct - 1.0) * 100.0,
        (through - direct) * 1000.0 / MODELS as f64 * workers as f64
    );
    // Each round's pair ran back to back: the median of their ratios is steadier than the
    // ratio of medians when the machine's speed drifts.
    println!(
        "median of the rounds' overheads: {:+.1} % (from {:+.1} % to {:+.1} %)",
        overheads[overheads.len() / 2],
        overheads[0],
        overheads[overheads.len() - 1]
    );
    let per_slice = |seconds: f64| seconds * 1000.0 / (rounds * MODELS) as f64;
    println!(
        "CPU per slice: through Farmhand {:.1} ms in Farmhand's process + {:.1} ms in PrusaSlicer and the sandbox; directly {:.1} ms in this process + {:.1} ms in PrusaSlicer",
        per_slice(cpu[0].0),
        per_slice(cpu[0].1),
        per_slice(cpu[1].0),
        per_slice(cpu[1].1)
    );
    print_phases(&lab);
    print_sandbox_cost().await;
    lab.server.stop().await.unwrap();
}
