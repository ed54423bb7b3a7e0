//! The hostile-input findings, each against the real `regauth serve` binary on loopback:
//! forged log lines, an enumeration signal at start, refresh tokens that outlived a
//! password change, non-canonical project ids, unbounded scope lists.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;

const SERVICE: &str = "registry";
const PASSWORD: &str = "correct horse battery";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// `regauth serve` with a config of its own (`extra` appended to a base that logs in
/// the human format to a file).
struct Server {
    dir: tempfile::TempDir,
    config: PathBuf,
    port: u16,
    child: Child,
}

impl Server {
    fn start(extra: &str) -> Server {
        Server::start_with_env(extra, &[])
    }

    /// With `REGAUTH__*` overrides in the environment.
    fn start_with_env(extra: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let d = dir.path().display();
        let config = dir.path().join("regauth.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 2\n[token]\nservices = [\"{SERVICE}\"]\nalgorithm = \"ES256\"\n[keys]\ndir = \"{d}/keys\"\nbundle = \"{d}/keys/bundle.pem\"\n[directory]\npath = \"{d}/regauth.db\"\n[bootstrap]\nadmin_password = \"{PASSWORD}\"\n{extra}"
            ),
        )
        .expect("config");
        let log = std::fs::File::create(dir.path().join("regauth.log")).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("REGAUTH_CONFIG")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start regauth");
        let server = Server {
            dir,
            config,
            port,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Client::new()
            .get(server.url("/readyz"))
            .send()
            .map(|r| r.status().as_u16())
            .ok()
            != Some(200)
        {
            assert!(
                Instant::now() < deadline,
                "regauth never became ready:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("regauth.log")).unwrap_or_default()
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("REGAUTH_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cli");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("cli output")
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn token(&self, query: &[(&str, &str)], auth: Option<(&str, &str)>) -> Response {
        let mut r = Client::new().get(self.url("/token")).query(query);
        if let Some((u, p)) = auth {
            r = r.basic_auth(u, Some(p));
        }
        r.send().expect("GET /token")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn errcode(r: Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap_or(Value::Null);
    (
        status,
        body["errors"][0]["code"].as_str().unwrap_or("").to_string(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[test]
fn request_fields_cannot_forge_log_lines_or_colour_a_file() {
    let server = Server::start("[log]\nformat = \"human\"\n");
    let forged = "eve\nINFO regauth::token: token issued user=admin \u{1b}[31m";
    let r = server.token(
        &[
            ("service", SERVICE),
            ("account", forged),
            ("client_id", forged),
        ],
        Some(("nobody", "wrong password")),
    );
    assert_eq!(r.status().as_u16(), 401);
    let r = server.token(&[("service", SERVICE), ("account", forged)], None);
    assert_eq!(r.status().as_u16(), 200);
    let log = server.log();
    assert!(
        log.contains("eve\\u{a}INFO regauth::token"),
        "the field is not shown escaped:\n{log}"
    );
    for line in log.lines() {
        assert!(
            !line.starts_with("INFO regauth::token: token issued user=admin"),
            "a request forged a log line:\n{log}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{log}"
    );
}

#[test]
fn the_unknown_user_check_is_ready_before_the_first_request() {
    let server = Server::start("");
    let log = server.log();
    let ready = log
        .find("password checks ready")
        .unwrap_or_else(|| panic!("no readiness line:\n{log}"));
    let serving = log.find("regauth serving").expect("serving line");
    assert!(
        ready < serving,
        "the dummy hash is made after listening:\n{log}"
    );
}

#[test]
fn a_password_change_ends_docker_logins_and_revoke_tokens_ends_access_tokens() {
    let server = Server::start("");
    server.ok(
        &["user", "add", "alice", "--certified"],
        Some("first password\n"),
    );
    let login = |password: &str| {
        server.token(
            &[
                ("service", SERVICE),
                ("offline_token", "true"),
                ("client_id", "docker"),
            ],
            Some(("alice", password)),
        )
    };
    let body: Value = login("first password").json().expect("json");
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let access = server.ok(&["token", "create", "alice", "--scopes", "download"], None);
    let access = access.trim().to_string();
    let refresh_grant = || {
        Client::new()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("service", SERVICE),
                ("client_id", "docker"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .expect("POST")
            .status()
            .as_u16()
    };
    assert_eq!(refresh_grant(), 200);
    server.ok(
        &["user", "set", "alice", "--password-stdin"],
        Some("second password\n"),
    );
    assert_eq!(
        refresh_grant(),
        401,
        "a refresh token survived the password change"
    );
    assert_eq!(login("first password").status().as_u16(), 401);
    assert_eq!(login("second password").status().as_u16(), 200);
    let with_token = || {
        server
            .token(&[("service", SERVICE)], Some(("x", access.as_str())))
            .status()
            .as_u16()
    };
    assert_eq!(with_token(), 200, "access tokens live on unless asked");
    server.ok(&["user", "set", "alice", "--revoke-tokens"], None);
    assert_eq!(with_token(), 401);
}

#[test]
fn a_project_id_has_one_spelling() {
    let server = Server::start("");
    server.ok(
        &["user", "add", "alice", "--certified"],
        Some("first password\n"),
    );
    let p = server.ok(
        &[
            "project", "add", "alpha", "--owner", "alice", "--id", "syn1000",
        ],
        None,
    );
    assert_eq!(p.trim(), "syn1000");
    server.ok(
        &["acl", "grant", "syn1000", "public", "READ,DOWNLOAD"],
        None,
    );
    let r = server.token(
        &[
            ("service", SERVICE),
            ("scope", "repository:syn01000/app:pull,push"),
        ],
        Some(("alice", "first password")),
    );
    let body: Value = r.json().expect("json");
    let token = body["token"].as_str().expect("token");
    let claims = token.split('.').nth(1).expect("claims");
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("b64"),
    )
    .expect("claims json");
    assert_eq!(claims["access"][0]["name"], "syn01000/app");
    assert_eq!(claims["access"][0]["actions"], serde_json::json!([]));
    let out = server.cli(
        &[
            "project", "add", "beta", "--owner", "alice", "--id", "syn01001",
        ],
        None,
    );
    assert!(!out.status.success());
    let r = Client::new()
        .get(server.url("/api/v1/projects/syn01000/repositories"))
        .basic_auth("alice", Some("first password"))
        .send()
        .expect("GET");
    assert_eq!(r.status().as_u16(), 400);
    let r = Client::new()
        .get(server.url("/api/v1/repository/tags?path=syn01000/app"))
        .basic_auth("alice", Some("first password"))
        .send()
        .expect("GET");
    assert_eq!(r.status().as_u16(), 400);
}

#[test]
fn scope_lists_are_bounded_before_any_work() {
    let server = Server::start_with_env("", &[("REGAUTH__TOKEN__MAX_SCOPES", "10")]);
    let many = (0..11)
        .map(|i| format!("repository:syn1/r{i}:pull"))
        .collect::<Vec<_>>()
        .join(" ");
    let (status, code, message) =
        errcode(server.token(&[("service", SERVICE), ("scope", many.as_str())], None));
    assert_eq!(
        (status, code.as_str()),
        (400, "INVALID_REQUEST"),
        "{message}"
    );
    assert!(message.contains("at most 10"), "{message}");
    let long = format!("repository:syn1/{}:pull", "a".repeat(520));
    let (status, _, message) =
        errcode(server.token(&[("service", SERVICE), ("scope", long.as_str())], None));
    assert_eq!(status, 400);
    assert!(message.contains("512 bytes"), "{message}");
    // Over the OAuth2 POST too, with credentials that are never checked.
    let form: Vec<(&str, &str)> = vec![
        ("grant_type", "password"),
        ("service", SERVICE),
        ("client_id", "c"),
        ("username", "admin"),
        ("password", "wrong"),
        ("scope", many.as_str()),
    ];
    let r = Client::new()
        .post(server.url("/token"))
        .form(&form)
        .send()
        .expect("POST");
    assert_eq!(errcode(r).0, 400);
    let ten = (0..10)
        .map(|i| format!("repository:syn1/r{i}:pull"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        server
            .token(&[("service", SERVICE), ("scope", ten.as_str())], None)
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let server = Server::start("");
    server.ok(
        &[
            "project", "add", "alpha", "--owner", "admin", "--id", "syn7",
        ],
        None,
    );
    for args in [
        &["user", "list"][..],
        &["project", "list"],
        &["acl", "show", "syn7"],
    ] {
        // A pipe whose reading end is closed before the command starts: its first line
        // hits EPIPE, whatever the scheduler does.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--config")
            .arg(&server.config)
            .args(args)
            .env_remove("REGAUTH_CONFIG")
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("cli");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: not quiet: {err}");
    }
}

#[test]
fn failed_logins_are_limited_per_address_and_never_lock_out_other_addresses() {
    let server = Server::start_with_env(
        "",
        &[
            ("REGAUTH__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
            ("REGAUTH__AUTH__FAILED_LOGINS_PER_USER_AND_ADDRESS", "5"),
            ("REGAUTH__AUTH__FAILED_LOGINS_PER_ADDRESS", "20"),
        ],
    );
    server.ok(
        &["user", "add", "alice", "--certified"],
        Some("alice password\n"),
    );
    let from = |address: &str, password: &str| {
        Client::new()
            .get(server.url("/token"))
            .query(&[("service", SERVICE)])
            .header("x-forwarded-for", address)
            .basic_auth("alice", Some(password))
            .send()
            .expect("GET /token")
    };
    let attacker = "203.0.113.7";
    for _ in 0..5 {
        assert_eq!(from(attacker, "guess").status().as_u16(), 401);
    }
    let r = from(attacker, "guess");
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    let (_, code, _) = errcode(r);
    assert_eq!(code, "TOOMANYREQUESTS");
    // Even the right password is not checked from there until the limit lets it.
    assert_eq!(from(attacker, "alice password").status().as_u16(), 429);
    // Alice at home is not locked out.
    assert_eq!(
        from("198.51.100.2", "alice password").status().as_u16(),
        200
    );
    // A sprayer of user names is limited as an address.
    for i in 0..20 {
        let r = Client::new()
            .get(server.url("/token"))
            .query(&[("service", SERVICE)])
            .header("x-forwarded-for", "192.0.2.50")
            .basic_auth(format!("user{i}"), Some("guess"))
            .send()
            .expect("GET");
        assert_eq!(r.status().as_u16(), 401, "attempt {i}");
    }
    let r = Client::new()
        .get(server.url("/token"))
        .query(&[("service", SERVICE)])
        .header("x-forwarded-for", "192.0.2.50")
        .basic_auth("someone-else", Some("guess"))
        .send()
        .expect("GET");
    assert_eq!(r.status().as_u16(), 429);
    // A client that is not a trusted proxy cannot pick its address with the header.
    let log = server.log();
    assert!(
        log.contains("203.0.113.7"),
        "client address not in the log:\n{log}"
    );
}

/// Writes a raw HTTP/1.1 request head, then `body` slowly or not at all, and returns
/// the response as text.
fn raw_request(port: u16, head: &str, body: &[u8], pause: Duration) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("head");
    if !body.is_empty() {
        let _ = s.write_all(body);
    }
    std::thread::sleep(pause);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn bodies_are_bounded_in_size_and_time_and_refused_in_errcode_json() {
    let server = Server::start_with_env(
        "[notifications]\nsecret = \"hook-secret-long-enough-for-the-public-listener\"\nmax_body_bytes = 100000\n",
        &[("REGAUTH__SERVER__BODY_TIMEOUT", "1s")],
    );
    // Too large: refused from the declared length, in errcode JSON.
    let big = vec![b'a'; 9 * 1024 * 1024];
    let r = Client::new()
        .post(server.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send();
    if let Ok(r) = r {
        let (status, code, message) = errcode(r);
        assert_eq!((status, code.as_str()), (413, "UNSUPPORTED"), "{message}");
    }
    let started = Instant::now();
    let answer = raw_request(
        server.port,
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
        b"grant_type=pass",
        Duration::from_millis(0),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"UNSUPPORTED\""), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Too slow: a body that never arrives is a 408 after server.body_timeout.
    let started = Instant::now();
    let answer = raw_request(
        server.port,
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\n",
        b"grant_type=",
        Duration::from_millis(0),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"errors\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The webhook: the secret is checked before a byte of the body is read.
    let started = Instant::now();
    let answer = raw_request(
        server.port,
        "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.docker.distribution.events.v1+json\r\nContent-Length: 8000000\r\n\r\n",
        b"{",
        Duration::from_millis(0),
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let r = Client::new()
        .post(server.url("/notifications"))
        .header(
            "authorization",
            "Bearer hook-secret-long-enough-for-the-public-listener",
        )
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(vec![b' '; 200_000])
        .send()
        .expect("POST");
    assert_eq!(errcode(r).0, 413);
    // An API JSON body is read only after the caller is authenticated.
    let answer = raw_request(
        server.port,
        "POST /api/v1/projects/syn1/external-repositories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Basic bm9ib2R5Ondyb25n\r\nContent-Length: 60000\r\n\r\n",
        b"{",
        Duration::from_millis(0),
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[test]
fn metrics_on_the_internal_listener_and_an_audit_trail_without_secrets() {
    let internal = free_port();
    let internal_addr = format!("127.0.0.1:{internal}");
    let server = Server::start_with_env(
        "",
        &[
            (
                "REGAUTH__SERVER__NOTIFICATIONS_LISTEN",
                internal_addr.as_str(),
            ),
            ("REGAUTH__AUTH__FAILED_LOGINS_PER_USER_AND_ADDRESS", "2"),
        ],
    );
    server.ok(
        &["user", "add", "alice", "--certified"],
        Some("alice password\n"),
    );
    let token = server.ok(&["token", "create", "alice", "--scopes", "download"], None);
    let token = token.trim();
    assert_eq!(
        server
            .token(
                &[
                    ("service", SERVICE),
                    ("offline_token", "true"),
                    ("client_id", "docker")
                ],
                Some(("alice", "alice password"))
            )
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        server
            .token(&[("service", SERVICE)], Some(("x", token)))
            .status()
            .as_u16(),
        200
    );
    for _ in 0..3 {
        server.token(&[("service", SERVICE)], Some(("alice", "a wrong one")));
    }
    // Metrics: not on the public port, on the internal one.
    let r = Client::new()
        .get(server.url("/metrics"))
        .send()
        .expect("GET");
    assert_eq!(r.status().as_u16(), 404);
    let text = Client::new()
        .get(format!("http://{internal_addr}/metrics"))
        .send()
        .expect("GET")
        .text()
        .expect("text");
    for series in [
        "regauth_token_requests_total{outcome=\"issued\",credential=\"password\"} 1",
        "regauth_token_requests_total{outcome=\"issued\",credential=\"access_token\"} 1",
        "regauth_token_requests_total{outcome=\"unauthorized\"",
        "regauth_token_requests_total{outcome=\"rate_limited\"",
        "regauth_password_checks_total{result=\"mismatch\"}",
        "regauth_rate_limited_total 1",
        "regauth_token_request_duration_seconds_bucket",
        "regauth_directory_query_duration_seconds_bucket{engine=\"sqlite\",kind=\"read\"",
        "regauth_directory_query_duration_seconds_bucket{engine=\"sqlite\",kind=\"write\"",
        "regauth_password_checks_running 0",
        "regauth_signing_key_not_after_seconds{kid=\"",
        "regauth_password_checks_waiting 0",
        "regauth_build_info{version=",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    // The audit trail: token issued, refresh token, failures, the limit, the CLI's
    // changes; no secret anywhere.
    std::thread::sleep(Duration::from_millis(500));
    let out = server.ok(&["audit", "--json", "--limit", "100"], None);
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json line")["kind"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for kind in [
        "token_issued",
        "refresh_token_issued",
        "login_failed",
        "rate_limited",
        "access_token_created",
        "user_added",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }
    for secret in ["alice password", "a wrong one", token] {
        assert!(
            !out.contains(secret),
            "a secret in the audit trail: {secret}"
        );
    }
    let alice = server.ok(&["audit", "--user", "alice", "--since", "1h"], None);
    assert!(alice.lines().count() >= 5, "{alice}");
    assert!(alice.contains("127.0.0.1"), "{alice}");
}

#[test]
fn refusals_written_by_the_http_library_are_errcode_json_too() {
    let server = Server::start_with_env("", &[("REGAUTH__SERVER__HEAD_TIMEOUT", "1s")]);
    let json_refusal = |answer: &str, status: &str| {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    };
    // Malformed.
    let answer = raw_request(server.port, "GARBAGE\r\n\r\n", b"", Duration::ZERO);
    json_refusal(&answer, "400");
    let answer = raw_request(
        server.port,
        "GET /token HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"",
        Duration::ZERO,
    );
    json_refusal(&answer, "400");
    // A head that never ends.
    let started = Instant::now();
    let answer = raw_request(
        server.port,
        "GET /token?service=registry HTTP/1.1\r\nHost: x\r\n",
        b"",
        Duration::ZERO,
    );
    json_refusal(&answer, "408");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A head too large.
    let huge = format!(
        "GET /token HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let answer = raw_request(server.port, &huge, b"", Duration::ZERO);
    json_refusal(&answer, "431");
    // The server still serves.
    assert_eq!(
        server
            .token(&[("service", SERVICE)], None)
            .status()
            .as_u16(),
        200
    );
}
