//! `kill -9` during concurrent token issuance (with refresh tokens) and notification
//! ingest: after a restart the SQLite file passes `PRAGMA integrity_check`, and nothing
//! acknowledged is lost — every event batch answered 2xx is recorded, every refresh
//! token handed out still works. The events are pushes regauth granted (the admin's
//! push tokens are asked first, the events stamped now), so each batch is recorded.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};

/// At least 32 bytes: the webhook is on the public listener here.
const SECRET: &str = "crash-test-notify-secret-0123456789abcdef";
const PASSWORD: &str = "crash test password";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let config = dir.join("regauth.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 2\n[token]\nservices = [\"registry\"]\nalgorithm = \"ES256\"\n[keys]\ndir = \"{d}/keys\"\nbundle = \"{d}/keys/bundle.pem\"\n[directory]\npath = \"{d}/regauth.db\"\n[notifications]\nsecret = \"{SECRET}\"\n[log]\nlevel = \"warn\"\n[bootstrap]\nadmin_password = \"{PASSWORD}\"\n"
        ),
    )
    .expect("config");
    config
}

fn serve(config: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("REGAUTH_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{port}/readyz");
    while Client::new()
        .get(&url)
        .send()
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("REGAUTH_CONFIG")
        .output()
        .expect("cli");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn batch(project: &str, first: usize) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let events: Vec<Value> = (first..first + 20)
        .map(|i| {
            json!({
                "id": format!("crash-event-{i}"),
                "timestamp": now,
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{:064x}", i),
                    "size": 100,
                    "repository": format!("{project}/repo{}", i % 7),
                    "tag": format!("t{i}"),
                },
                "actor": {"name": "admin"},
            })
        })
        .collect();
    json!({ "events": events })
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let mut server = serve(&config, port);
    let project = cli(&config, &["project", "add", "crash", "--owner", "admin"]);
    // The grants the events must match: the admin's push token for each repository.
    for r in 0..7 {
        let status = Client::new()
            .get(format!("http://127.0.0.1:{port}/token"))
            .query(&[
                ("service", "registry".to_string()),
                ("scope", format!("repository:{project}/repo{r}:pull,push")),
            ])
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .expect("push token")
            .status();
        assert_eq!(status, 200);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let refresh_tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let acknowledged = Arc::new(Mutex::new(Vec::<usize>::new()));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (stop, tokens) = (stop.clone(), refresh_tokens.clone());
        workers.push(std::thread::spawn(move || {
            let c = Client::new();
            while !stop.load(Ordering::SeqCst) {
                let r = c
                    .get(format!("http://127.0.0.1:{port}/token"))
                    .query(&[
                        ("service", "registry"),
                        ("offline_token", "true"),
                        ("client_id", "docker"),
                    ])
                    .basic_auth("admin", Some(PASSWORD))
                    .send();
                if let Ok(r) = r {
                    if r.status().is_success() {
                        if let Ok(body) = r.json::<Value>() {
                            if let Some(t) = body["refresh_token"].as_str() {
                                tokens.lock().expect("lock").push(t.to_string());
                            }
                        }
                    }
                }
            }
        }));
    }
    for w in 0..2 {
        let (stop, acked, project) = (stop.clone(), acknowledged.clone(), project.clone());
        workers.push(std::thread::spawn(move || {
            let c = Client::new();
            let mut first = w * 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                let r = c
                    .post(format!("http://127.0.0.1:{port}/notifications"))
                    .header("authorization", format!("Bearer {SECRET}"))
                    .header(
                        "content-type",
                        "application/vnd.docker.distribution.events.v1+json",
                    )
                    .body(batch(&project, first).to_string())
                    .send();
                if r.is_ok_and(|r| r.status().is_success()) {
                    acked.lock().expect("lock").push(first);
                }
                first += 20;
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(2500));
    // SIGKILL, mid-traffic: no shutdown, no flush.
    server.kill().expect("kill -9");
    let _ = server.wait();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
    let tokens = refresh_tokens.lock().expect("lock").clone();
    let batches = acknowledged.lock().expect("lock").clone();
    assert!(
        tokens.len() > 10 && batches.len() > 10,
        "too little traffic: {} tokens, {} batches",
        tokens.len(),
        batches.len()
    );

    let db = rusqlite::Connection::open(dir.path().join("regauth.db")).expect("open");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    drop(db);

    let mut server = serve(&config, port);
    let db = rusqlite::Connection::open(dir.path().join("regauth.db")).expect("open");
    let mut missing = Vec::new();
    for first in &batches {
        for i in *first..first + 20 {
            let id = format!("crash-event-{i}");
            let found: bool = db
                .query_row("SELECT 1 FROM commits WHERE event_id = ?1", [&id], |_| {
                    Ok(true)
                })
                .unwrap_or(false);
            if !found {
                missing.push(id);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let c = Client::new();
    let mut lost = 0;
    for t in &tokens {
        let r = c
            .post(format!("http://127.0.0.1:{port}/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("service", "registry"),
                ("client_id", "docker"),
                ("refresh_token", t.as_str()),
            ])
            .send()
            .expect("refresh");
        if r.status().as_u16() != 200 {
            lost += 1;
        }
    }
    assert_eq!(
        lost,
        0,
        "{lost} of {} issued refresh tokens lost",
        tokens.len()
    );
    eprintln!(
        "kill -9: {} refresh tokens and {} event batches acknowledged, none lost",
        tokens.len(),
        batches.len()
    );
    let _ = server.kill();
    let _ = server.wait();
}
