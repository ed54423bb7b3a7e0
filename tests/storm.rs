//! Login storms against the real binary: 1,000 parallel attempts with unknown users,
//! with distinct wrong passwords, and with one correct password from a cold cache.
//! Every request is answered (200, 401 or 503 — no reset, no hang), the server stays
//! within 128 MB of resident memory during and after each storm, and a user whose
//! password is already verified keeps getting tokens throughout. Latency figures are
//! the bench's business (`bench/storm.sh`); this test asserts only outcomes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const STORM: usize = 1000;
const RSS_LIMIT_KB: u64 = 128 * 1024;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One request on its own connection; the status code, or 0 for a reset or timeout.
fn get_token(port: u16, user: &str, password: &str) -> u16 {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let req = format!(
        "GET /token?service=registry HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
        b64(&format!("{user}:{password}"))
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return 0;
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

struct Server {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    port: u16,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let d = dir.path().display();
    let config = dir.path().join("regauth.toml");
    // Limits high enough that this storm from one address tests admission, not the
    // failed-login limits (tests/hardening.rs covers those).
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 2\n[auth]\nfailed_logins_per_user_and_address = 100000\nfailed_logins_per_address = 100000\n[token]\nservices = [\"registry\"]\nalgorithm = \"ES256\"\n[keys]\ndir = \"{d}/keys\"\nbundle = \"{d}/keys/bundle.pem\"\n[directory]\npath = \"{d}/regauth.db\"\n[log]\nlevel = \"warn\"\n[bootstrap]\nadmin_password = \"admin password\"\n"
        ),
    )
    .expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("REGAUTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let server = Server {
        _dir: dir,
        config,
        port,
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_token(port, "admin", "admin password") != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn add_user(server: &Server, name: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(&server.config)
        .args(["user", "add", name])
        .env_remove("REGAUTH_CONFIG")
        .stdin(Stdio::piped())
        .spawn()
        .expect("cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("stdin");
    assert!(child.wait().expect("wait").success());
}

/// Runs a storm of `STORM` parallel requests made by `credentials(i)`; meanwhile a
/// verified user asks for tokens in a loop. Returns the storm's status codes, the
/// verified user's, and the peak RSS.
fn storm(
    server: &Server,
    credentials: impl Fn(usize) -> (String, String),
) -> (Vec<u16>, Vec<u16>, u64) {
    let pid = server.child.id();
    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(rss_kb(pid)));
    let sampler = {
        let (running, peak) = (running.clone(), peak.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kb(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let port = server.port;
    let cached = {
        let running = running.clone();
        std::thread::spawn(move || {
            let mut codes = Vec::new();
            while running.load(Ordering::SeqCst) {
                codes.push(get_token(port, "cached", "cached password"));
                std::thread::sleep(Duration::from_millis(10));
            }
            codes
        })
    };
    let start = Arc::new(Barrier::new(STORM));
    let handles: Vec<_> = (0..STORM)
        .map(|i| {
            let (user, password) = credentials(i);
            let start = start.clone();
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    start.wait();
                    get_token(port, &user, &password)
                })
                .expect("thread")
        })
        .collect();
    let codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap_or(0)).collect();
    std::thread::sleep(Duration::from_millis(200));
    running.store(false, Ordering::SeqCst);
    let cached = cached.join().expect("cached loop");
    let _ = sampler.join();
    (codes, cached, peak.load(Ordering::SeqCst))
}

/// Who attempts the `i`-th login of a storm.
type Credentials = Box<dyn Fn(usize) -> (String, String)>;

fn count(codes: &[u16], code: u16) -> usize {
    codes.iter().filter(|c| **c == code).count()
}

#[test]
fn login_storms_are_answered_within_bounded_memory() {
    let server = start();
    add_user(&server, "cached", "cached password");
    add_user(&server, "victim", "victim password");
    assert_eq!(get_token(server.port, "cached", "cached password"), 200);

    let runs: [(&str, Credentials); 3] = [
        (
            "unknown users",
            Box::new(|i| (format!("ghost{i}"), format!("guess{i}"))),
        ),
        (
            "distinct wrong passwords",
            Box::new(|i| ("victim".into(), format!("wrong{i}"))),
        ),
        (
            "one correct password, cold",
            Box::new(|_| ("victim".into(), "victim password".into())),
        ),
    ];
    for (name, credentials) in runs {
        let (codes, cached, peak) = storm(&server, credentials);
        let (ok, unauthorized, busy) = (count(&codes, 200), count(&codes, 401), count(&codes, 503));
        eprintln!(
            "{name}: 200 {ok}, 401 {unauthorized}, 503 {busy}, other {}; peak RSS {} MB; verified user {} requests",
            codes.len() - ok - unauthorized - busy,
            peak / 1024,
            cached.len()
        );
        assert_eq!(
            ok + unauthorized + busy,
            STORM,
            "{name}: resets or other answers: {codes:?}"
        );
        assert!(peak <= RSS_LIMIT_KB, "{name}: peak RSS {} MB", peak / 1024);
        assert!(
            !cached.is_empty() && cached.iter().all(|c| *c == 200),
            "{name}: verified user refused: {cached:?}"
        );
        if name.starts_with("one correct") {
            assert_eq!(ok + busy, STORM, "the correct password was refused");
            assert!(ok > 0);
        } else {
            assert_eq!(ok, 0);
        }
        let after = rss_kb(server.child.id());
        assert!(
            after <= RSS_LIMIT_KB,
            "{name}: RSS after {} MB",
            after / 1024
        );
    }
}
