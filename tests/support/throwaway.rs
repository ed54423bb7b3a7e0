//! A throw-away PostgreSQL server for tests (compiled only into them: the lib's unit
//! tests include this file as `infra::postgres::throwaway`, the integration tests as
//! `mod throwaway`, so it names nothing of regauth's own): Debian's `postgresql`
//! binaries, a cluster made by `initdb` in a temporary directory (as the `postgres`
//! user when this process is root: PostgreSQL refuses to run as root), listening on a
//! free loopback port, one fresh database per call. The server stops and its directory
//! is removed when this process ends, however it ends: a shell watches a pipe from this
//! process and stops the server when the pipe closes.
//!
//! `REGAUTH_TEST_POSTGRES_URL` (a URL whose user may create databases) uses that server
//! instead. Failing to start one is a panic naming the cause, never a skipped test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;
use secrecy::SecretString;

struct Server {
    /// `postgres://user:password@127.0.0.1:port` (no database).
    base: String,
    /// The watcher's stdin: the server stops when it closes (this process exits).
    _watch: Mutex<Option<Child>>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);
const USER: &str = "regauth_test";

/// A URL of a new, empty database on the test server.
pub fn fresh_database_url() -> SecretString {
    let server = match SERVER.get_or_init(start) {
        Ok(s) => s,
        Err(e) => panic!("throw-away PostgreSQL: {e}"),
    };
    let name = format!(
        "regauth_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    if let Err(e) = create_database(&server.base, &name) {
        panic!("throw-away PostgreSQL: create database {name}: {e}");
    }
    SecretString::from(format!("{}/{name}", server.base))
}

fn create_database(base: &str, name: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
        let task = tokio::spawn(conn);
        let out = client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| e.to_string());
        drop(client);
        let _ = task.await;
        out
    })
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("REGAUTH_TEST_POSTGRES_URL") {
        return Ok(Server {
            base: url.trim_end_matches('/').to_string(),
            _watch: Mutex::new(None),
        });
    }
    let bin = bindir()?;
    let dir = tempfile::Builder::new()
        .prefix("regauth-pg.")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?
        .keep();
    let as_root = is_root();
    if as_root {
        let uid = id_of("postgres")?;
        std::os::unix::fs::chown(&dir, Some(uid.0), Some(uid.1))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let password: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, format!("{password}\n")).map_err(|e| e.to_string())?;
    if as_root {
        let uid = id_of("postgres")?;
        std::os::unix::fs::chown(&pwfile, Some(uid.0), Some(uid.1)).map_err(|e| e.to_string())?;
    }
    let data = dir.join("data");
    let out = as_postgres(as_root, &bin.join("initdb"))
        .args([
            "-D",
            path_str(&data)?,
            "-U",
            USER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
        ])
        .arg("--no-locale")
        .arg(format!("--pwfile={}", path_str(&pwfile)?))
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let port = free_port()?;
    // The server in the foreground of a shell that stops it (fast shutdown) and removes
    // the cluster when its stdin closes.
    let script = format!(
        "'{pg}' -D '{data}' -k '{dir}' -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 >'{dir}/log' 2>&1 &
         pid=$!
         read _
         kill -INT $pid
         wait $pid
         rm -rf '{dir}'",
        pg = path_str(&bin.join("postgres"))?,
        data = path_str(&data)?,
        dir = path_str(&dir)?,
    );
    let mut watch = as_postgres(as_root, Path::new("/bin/sh"))
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("postgres: {e}"))?;
    let base = format!("postgres://{USER}:{password}@127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            break;
        }
        if Instant::now() > deadline || watch.try_wait().ok().flatten().is_some() {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            if let Some(mut stdin) = watch.stdin.take() {
                let _ = stdin.write_all(b"\n");
            }
            return Err(format!("the server did not start: {}", log.trim()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Server {
        base,
        _watch: Mutex::new(Some(watch)),
    })
}

/// Debian's versioned binaries (newest), or `PG_BINDIR`.
fn bindir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("/usr/lib/postgresql: {e} (install Debian's postgresql package: tests/setup/install-deps.sh)"))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb (install postgresql)".into())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn id_of(user: &str) -> Result<(u32, u32), String> {
    let get = |flag: &str| -> Result<u32, String> {
        let o = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("no user {user} (Debian's postgresql package creates it)"))
    };
    Ok((get("-u")?, get("-g")?))
}

fn as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .filter(|s| !s.contains('\''))
        .ok_or_else(|| format!("unusable path {}", p.display()))
}
