//! A real stack on loopback for end-to-end tests: the `regauth` binary (built by cargo
//! for this test run), Debian's `docker-registry` (distribution v2.8) configured for
//! token auth and notifications, and real clients (skopeo, umoci).
//!
//! Every stack lives in its own temporary directory with its own ports, so tests run
//! in parallel. Dropping the stack kills both processes.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SERVICE: &str = "registry.test";
pub const ISSUER: &str = "regauth-test";
/// At least 32 bytes: `serve` refuses a shorter secret on the public listener, where
/// the stack serves the webhook.
pub const NOTIFY_SECRET: &str = "notify-secret-for-tests-of-at-least-32-bytes";
pub const PASSWORD: &str = "correct horse battery";

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub regauth_port: u16,
    pub registry_port: u16,
    regauth: Child,
    registry: Option<Child>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// The registry the tests run, and how regauth names its keys for it. By default
/// Debian's `docker-registry` (distribution 2.8) trusting the certificate bundle; with
/// `REGAUTH_TEST_REGISTRY=/path/to/registry` another build (e.g. distribution 3.x), and
/// with `REGAUTH_TEST_KID=thumbprint` regauth's thumbprint `kid` with the registry reading
/// the key set (`auth.token.jwks`) instead of the bundle (README "Registry 3").
pub struct RegistryUnderTest {
    pub binary: String,
    pub kid: &'static str,
}

pub fn registry_under_test() -> RegistryUnderTest {
    let binary = std::env::var("REGAUTH_TEST_REGISTRY")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "docker-registry".into());
    let kid = match std::env::var("REGAUTH_TEST_KID").as_deref() {
        Ok("thumbprint") => "thumbprint",
        Ok("libtrust") | Ok("") | Err(_) => "libtrust",
        Ok(other) => panic!("REGAUTH_TEST_KID={other}: libtrust or thumbprint"),
    };
    RegistryUnderTest { binary, kid }
}

/// The major version of the registry under test (2 or 3), from its `--version`.
pub fn registry_major_version() -> u32 {
    let out = Command::new(registry_under_test().binary)
        .arg("--version")
        .output()
        .expect("registry --version");
    let text = String::from_utf8_lossy(&out.stdout);
    // "docker-registry github.com/docker/distribution 2.8.2+ds1",
    // "registry github.com/distribution/distribution/v3 v3.1.1+unknown"
    let v = text.split_whitespace().find_map(|w| {
        let w = w.strip_prefix('v').unwrap_or(w);
        w.contains('.').then(|| w.split('.').next()?.parse().ok())?
    });
    v.unwrap_or_else(|| panic!("no version in the registry's --version: {text}"))
}

/// Fails the test with a message saying how to get the missing tool.
pub fn require_tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed: run `bash tests/setup/install-deps.sh` (the README's test command does)"
    );
}

impl Stack {
    /// regauth alone (no registry), for HTTP-level tests.
    pub fn regauth_only() -> Stack {
        Self::start(false)
    }

    /// regauth alone with `extra` appended to its configuration (whole sections).
    pub fn regauth_with(extra: &str) -> Stack {
        Self::start_with(false, None, &|config| config + extra)
    }

    /// regauth and the real registry, wired together.
    pub fn with_registry() -> Stack {
        Self::start(true)
    }

    /// regauth and the real registry, with `extra` appended to regauth's configuration.
    pub fn with_registry_and(extra: &str) -> Stack {
        Self::start_with(true, None, &|config| config + extra)
    }

    /// regauth and the real registry, regauth's configuration changed by `tweak`.
    pub fn with_registry_and_tweak(tweak: &dyn Fn(String) -> String) -> Stack {
        Self::start_with(true, None, tweak)
    }

    /// regauth and the real registry, with `/metrics` on the public listener too (the
    /// notification counters).
    pub fn with_registry_and_metrics() -> Stack {
        Self::start_with(true, None, &|config: String| {
            config.replace("[server]\n", "[server]\npublic_metrics = true\n")
        })
    }

    /// regauth beside the Synapse at `base_url` (`directory.backend = "synapse"`),
    /// repository names under `registry_host`; `synapse_extra` adds keys to the
    /// `[synapse]` section (e.g. the listener's). Short timeouts and TTLs, so tests of
    /// outages and changes take seconds.
    /// `registry_port`: start the real registry too, on this port (the registry host
    /// Synapse's listener accepts events from must be known before it starts).
    pub fn beside_synapse(
        base_url: &str,
        registry_host: &str,
        registry_port: Option<u16>,
        synapse_extra: &str,
    ) -> Stack {
        let section = format!(
            r#"
[synapse]
base_url = "{base_url}"
registry_host = "{registry_host}"
call_timeout = "1s"
request_deadline = "3s"
permission_ttl = "1s"
jwks_refetch = "300ms"
breaker_after = 5
breaker_open = "1s"
{synapse_extra}
"#
        );
        Self::start_with(registry_port.is_some(), registry_port, &|config: String| {
            config
                .replace("[directory]\n", "[directory]\nbackend = \"synapse\"\n")
                .replace("[server]\n", "[server]\npublic_metrics = true\n")
                + &section
        })
    }

    fn start(with_registry: bool) -> Stack {
        Self::start_with(with_registry, None, &|config| config)
    }

    /// regauth alone, started with `umask` (e.g. 0o022, 0o000) in force, its
    /// configuration changed by `tweak`: for what it creates on disk.
    pub fn regauth_only_with_umask(umask: u32, tweak: &dyn Fn(String) -> String) -> Stack {
        Self::start_as(false, None, tweak, Some(umask))
    }

    fn start_with(
        with_registry: bool,
        registry_port: Option<u16>,
        tweak: &dyn Fn(String) -> String,
    ) -> Stack {
        Self::start_as(with_registry, registry_port, tweak, None)
    }

    fn start_as(
        with_registry: bool,
        registry_port: Option<u16>,
        tweak: &dyn Fn(String) -> String,
        umask: Option<u32>,
    ) -> Stack {
        let dir = tempfile::tempdir().expect("tempdir");
        let given_registry_port = registry_port;
        let config = dir.path().join("regauth.toml");
        let d = dir.path().display();
        // A free port can be taken by another test between `free_port` and regauth's
        // bind (tests run in parallel): then regauth exits, and another test's server
        // would answer this one's requests. Each attempt waits for this regauth's own
        // "regauth serving" line, and a taken port means new ports.
        let mut attempt = 0;
        let (regauth, regauth_port, registry_port) = loop {
            attempt += 1;
            let regauth_port = free_port();
            let registry_port = given_registry_port.unwrap_or_else(free_port);
            std::fs::write(
                &config,
                tweak(format!(
                    r#"
[server]
listen = "127.0.0.1:{regauth_port}"
workers = 2
[token]
issuer = "{ISSUER}"
services = ["{SERVICE}", "other.service"]
realm = "http://127.0.0.1:{regauth_port}/token"
ttl_seconds = 300
[keys]
dir = "{d}/keys"
generate = true
bundle = "{d}/keys/bundle.pem"
kid = "{kid}"
[directory]
path = "{d}/regauth.db"
[notifications]
secret = "{NOTIFY_SECRET}"
registry_hosts = ["127.0.0.1:{registry_port}", "registry.example.org"]
[log]
format = "json"
level = "info,actix_server=warn"
[bootstrap]
admin_name = "root"
admin_password = "{PASSWORD}"
"#,
                    kid = registry_under_test().kid,
                )),
            )
            .expect("write config");
            let _ = std::fs::remove_file(dir.path().join("regauth.log"));
            let mut regauth = spawn_regauth_as(dir.path(), &config, umask);
            match wait_serving(dir.path(), &mut regauth) {
                Serving::Yes => break (regauth, regauth_port, registry_port),
                Serving::PortTaken if attempt < 5 => continue,
                Serving::PortTaken => panic!("regauth found its port taken five times"),
            }
        };
        let mut stack = Stack {
            dir,
            config,
            regauth_port,
            registry_port,
            regauth,
            registry: None,
        };
        stack.wait_http(&format!("http://127.0.0.1:{regauth_port}/readyz"), 200);
        if with_registry {
            stack.start_registry();
        }
        stack
    }

    /// Stops regauth and starts it again on the PostgreSQL directory at `url` (same
    /// keys, same port): a replica, or the server after `directory copy`.
    pub fn restart_on_postgres(&mut self, url: &str) {
        let _ = self.regauth.kill();
        let _ = self.regauth.wait();
        let config = std::fs::read_to_string(&self.config).expect("config");
        let config = config.replace("[directory]\n", &format!("[directory]\nurl = \"{url}\"\n"));
        std::fs::write(&self.config, config).expect("write config");
        self.regauth = spawn_regauth(self.dir.path(), &self.config);
        self.wait_http(
            &format!("http://127.0.0.1:{}/readyz", self.regauth_port),
            200,
        );
    }

    /// Stops regauth (the files stay).
    pub fn stop_regauth(&mut self) {
        let _ = self.regauth.kill();
        let _ = self.regauth.wait();
    }

    /// Starts regauth again after `stop_regauth`, on the same files and port.
    pub fn start_regauth(&mut self) {
        self.regauth = spawn_regauth(self.dir.path(), &self.config);
        self.wait_http(
            &format!("http://127.0.0.1:{}/readyz", self.regauth_port),
            200,
        );
    }

    fn start_registry(&mut self) {
        let registry = registry_under_test();
        require_tool(&registry.binary);
        let d = self.dir.path().display();
        let cfg = self.dir.path().join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                r#"version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {d}/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{rp}
auth:
  token:
    realm: http://127.0.0.1:{ap}/token
    service: {SERVICE}
    issuer: {ISSUER}
    {trust}
notifications:
  endpoints:
    - name: regauth
      url: http://127.0.0.1:{ap}/notifications
      headers:
        Authorization: [Bearer {NOTIFY_SECRET}]
      timeout: 2s
      threshold: 3
      backoff: 1s
"#,
                rp = self.registry_port,
                ap = self.regauth_port,
                trust = match registry_under_test().kid {
                    "thumbprint" => format!("jwks: {d}/keys/jwks.json"),
                    _ => format!("rootcertbundle: {d}/keys/bundle.pem"),
                },
            ),
        )
        .expect("write registry config");
        let log = std::fs::File::create(self.dir.path().join("registry.log")).expect("log file");
        let child = Command::new(&registry.binary)
            .arg("serve")
            .arg(&cfg)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.registry = Some(child);
        self.wait_http(&format!("http://127.0.0.1:{}/v2/", self.registry_port), 401);
    }

    fn wait_http(&mut self, url: &str, want: u16) {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(url).send() {
                if r.status().as_u16() == want {
                    return;
                }
            }
            if let Ok(Some(status)) = self.regauth.try_wait() {
                panic!("regauth exited ({status}): {}", self.regauth_log());
            }
            assert!(
                Instant::now() < deadline,
                "{url} never answered {want}; regauth log:\n{}\nregistry log:\n{}",
                self.regauth_log(),
                self.registry_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn regauth_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("regauth.log")).unwrap_or_default()
    }

    pub fn registry_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.regauth_port)
    }

    pub fn registry_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.registry_port)
    }

    /// `127.0.0.1:PORT/<repo>` as clients name images.
    pub fn image(&self, repo_and_ref: &str) -> String {
        format!("127.0.0.1:{}/{repo_and_ref}", self.registry_port)
    }

    /// Runs the regauth CLI against this stack's configuration.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("REGAUTH_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run regauth cli");
        if let Some(input) = stdin {
            child
                .stdin
                .as_mut()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("cli output")
    }

    /// Runs the CLI and returns trimmed stdout, failing the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args, None);
        assert!(
            out.status.success(),
            "regauth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn add_user(&self, name: &str, flags: &[&str]) {
        let mut args = vec!["user", "add", name];
        args.extend_from_slice(flags);
        let out = self.cli(&args, Some(&format!("{PASSWORD}\n")));
        assert!(
            out.status.success(),
            "user add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates a project owned by `owner`; returns its id (`synN`).
    pub fn add_project(&self, name: &str, owner: &str) -> String {
        self.ok(&["project", "add", name, "--owner", owner])
    }

    pub fn grant(&self, entity: &str, principal: &str, perms: &str) {
        self.ok(&["acl", "grant", entity, principal, perms]);
    }

    pub fn token(&self, user: &str, scopes: &str) -> String {
        self.ok(&["token", "create", user, "--scopes", scopes])
    }

    /// Records a push of `repo:tag` by `actor` the way a real push does, so that the
    /// repository exists without running a registry: a push token for the actor first
    /// (with the password every test user has), then the registry's notification of
    /// the push, stamped now. regauth applies an event only inside a push it granted.
    pub fn record_push(&self, repo: &str, tag: &str, actor: &str) {
        self.record_push_as(repo, tag, actor, (actor, PASSWORD));
    }

    /// Like [`record_push`](Self::record_push), the push token asked with `login`
    /// (beside a Synapse: the Synapse login of the user whose id is `actor`).
    pub fn record_push_as(&self, repo: &str, tag: &str, actor: &str, login: (&str, &str)) {
        let scope = format!("repository:{repo}:push,pull");
        let r = reqwest::blocking::Client::new()
            .get(self.url("/token"))
            .query(&[("service", SERVICE), ("scope", scope.as_str())])
            .basic_auth(login.0, Some(login.1))
            .send()
            .expect("push token");
        assert!(r.status().is_success(), "push token: {}", r.status());
        let body: serde_json::Value = r.json().expect("token json");
        let (_, claims) = jwt(body["token"].as_str().expect("a token"));
        assert!(
            claims["access"][0]["actions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "push")),
            "{actor} may not push to {repo}: {claims}"
        );
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("now");
        let event = serde_json::json!({"events": [{
            "id": format!("evt-{repo}-{tag}"),
            "timestamp": now,
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{}", "a".repeat(64)), "size": 400,
                "repository": repo, "tag": tag
            },
            "actor": {"name": actor}
        }]});
        let r = reqwest::blocking::Client::new()
            .post(self.url("/notifications"))
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
            .body(event.to_string())
            .send()
            .expect("notify");
        assert!(r.status().is_success(), "notification: {}", r.status());
        let counts: serde_json::Value = r.json().expect("counts");
        assert_eq!(counts["unauthorized"], 0, "the push was refused: {counts}");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(r) = self.registry.as_mut() {
            let _ = r.kill();
            let _ = r.wait();
        }
        let _ = self.regauth.kill();
        let _ = self.regauth.wait();
    }
}

/// Whether a freshly started regauth bound its own port.
enum Serving {
    Yes,
    PortTaken,
}

/// Waits for regauth's "regauth serving" log line (written once its listeners are
/// bound); a port another process took ends it early with `PortTaken`.
fn wait_serving(dir: &Path, regauth: &mut Child) -> Serving {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(dir.join("regauth.log")).unwrap_or_default();
        if log.contains("\"regauth serving\"") {
            return Serving::Yes;
        }
        if let Ok(Some(status)) = regauth.try_wait() {
            if log.contains("Address already in use") {
                return Serving::PortTaken;
            }
            panic!("regauth exited ({status}): {log}");
        }
        assert!(
            Instant::now() < deadline,
            "regauth never said it serves: {log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_regauth(dir: &Path, config: &Path) -> Child {
    spawn_regauth_as(dir, config, None)
}

/// `regauth serve`, with `umask` in force when given (set by a shell that then `exec`s
/// regauth, so the process is regauth itself and killing it stops the server).
fn spawn_regauth_as(dir: &Path, config: &Path, umask: Option<u32>) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("regauth.log"))
        .expect("log file");
    let mut command = match umask {
        Some(mask) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("umask {mask:03o} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_regauth"));
            sh
        }
        None => Command::new(env!("CARGO_BIN_EXE_regauth")),
    };
    command
        .args(["--config"])
        .arg(config)
        .arg("serve")
        .env_remove("REGAUTH_CONFIG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start regauth")
}

fn b64url_json(part: &str) -> serde_json::Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// `docker login`'s OAuth password grant (offline): the identity token docker keeps.
pub fn docker_login(stack: &Stack, user: &str, password: &str) -> String {
    let login: serde_json::Value = reqwest::blocking::Client::new()
        .post(stack.url("/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("access_type", "offline"),
        ])
        .send()
        .expect("login")
        .json()
        .expect("json");
    login["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string()
}

/// The refresh grant docker sends with that identity token.
pub fn refresh_grant(stack: &Stack, token: &str, scope: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(stack.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("scope", scope),
        ])
        .send()
        .expect("refresh")
}

/// Who calls the HTTP API.
pub enum As<'a> {
    Anonymous,
    Password(&'a str),
    Token(&'a str),
}

/// One API request as `who`, with an optional JSON body.
pub fn call(
    stack: &Stack,
    method: &str,
    path: &str,
    who: As,
    body: Option<serde_json::Value>,
) -> reqwest::blocking::Response {
    let c = reqwest::blocking::Client::new();
    let url = stack.url(path);
    let mut req: reqwest::blocking::RequestBuilder = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "PUT" => c.put(url),
        "DELETE" => c.delete(url),
        "PATCH" => c.patch(url),
        m => panic!("method {m}"),
    };
    req = match who {
        As::Anonymous => req,
        As::Password(user) => req.basic_auth(user, Some(PASSWORD)),
        As::Token(t) => req.basic_auth("ignored", Some(t)),
    };
    match body {
        Some(b) => req = req.json(&b),
        // A change without fields still declares JSON: the API refuses anything else
        // (415), so a cross-site form can never reach it.
        None if method != "GET" => req = req.header("content-type", "application/json"),
        None => {}
    }
    req.send().expect("request")
}

/// The errcode message of an answer that must have `status`.
pub fn error(r: reqwest::blocking::Response, status: u16) -> String {
    assert_eq!(r.status(), status);
    let body: serde_json::Value = r.json().expect("errcode json");
    body["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

/// The actions a `repository:<repo>:pull` token grants `user` logging in with
/// `password` (an empty list when refused).
pub fn pull_actions(stack: &Stack, user: &str, password: &str, repo: &str) -> serde_json::Value {
    let body: serde_json::Value = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .basic_auth(user, Some(password))
        .send()
        .expect("GET /token")
        .json()
        .expect("token answer");
    jwt(body["token"].as_str().expect("token")).1["access"][0]["actions"].clone()
}

/// (header, claims) of a JWT, undecoded signature (the registry tests check that).
pub fn jwt(token: &str) -> (serde_json::Value, serde_json::Value) {
    let mut parts = token.split('.');
    let h = b64url_json(parts.next().expect("header"));
    let c = b64url_json(parts.next().expect("claims"));
    assert!(parts.next().is_some_and(|s| !s.is_empty()), "no signature");
    (h, c)
}

/// A tiny OCI image layout built with umoci (no pulls): `oci:<dir>:<tag>` holds one
/// layer with one file whose content is `content`, so different contents give
/// different digests.
pub fn tiny_image(dir: &Path, tag: &str, content: &str) -> String {
    require_tool("umoci");
    let layout = dir.join("oci");
    let layout_s = layout.display().to_string();
    if !layout.exists() {
        run_ok("umoci", &["init", "--layout", &layout_s]);
    }
    let image = format!("{layout_s}:{tag}");
    run_ok("umoci", &["new", "--image", &image]);
    let bundle = dir.join(format!("bundle-{tag}"));
    let bundle_s = bundle.display().to_string();
    run_ok(
        "umoci",
        &["unpack", "--rootless", "--image", &image, &bundle_s],
    );
    std::fs::write(bundle.join("rootfs").join("hello.txt"), content).expect("write layer file");
    run_ok("umoci", &["repack", "--image", &image, &bundle_s]);
    format!("oci:{image}")
}

pub fn run_ok(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The result of a skopeo run, with its combined output for assertions.
pub struct Skopeo {
    pub success: bool,
    pub output: String,
}

/// Runs skopeo with an empty auth file (so nothing from the machine leaks in).
pub fn skopeo(dir: &Path, args: &[&str]) -> Skopeo {
    require_tool("skopeo");
    let auth = dir.join("skopeo-auth.json");
    if !auth.exists() {
        std::fs::write(&auth, "{}").expect("auth file");
    }
    let out = Command::new("skopeo")
        .args(args)
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .expect("run skopeo");
    Skopeo {
        success: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Which refusal a client met, told apart by what skopeo prints (the user's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Bad credentials (wrong password, unknown user, revoked token): regauth's /token
    /// answers 401 and skopeo prints its body, `unable to retrieve auth token: invalid
    /// username/password: unauthorized: invalid username or password`.
    BadCredentials,
    /// A missing permission, for a push or a pull (regauth issues a token without the
    /// action; trashed entities grant nothing, not even to the admin): the registry
    /// answers 401 and skopeo prints `denied: requested access to the resource is denied`
    /// (followed by `unauthorized: authentication required` or a parse error).
    Denied,
}

impl Refusal {
    /// The substring that identifies this refusal in skopeo's output.
    pub fn marker(self) -> &'static str {
        match self {
            // regauth's own wording (`INVALID_CREDENTIALS`), as sent in the 401 body.
            Refusal::BadCredentials => "unauthorized: invalid username or password",
            Refusal::Denied => "denied: requested access to the resource is denied",
        }
    }

    fn other(self) -> Refusal {
        match self {
            Refusal::BadCredentials => Refusal::Denied,
            Refusal::Denied => Refusal::BadCredentials,
        }
    }
}

/// Asserts that a skopeo run failed with exactly the refusal `kind`: it did not succeed,
/// its output carries `kind`'s marker, and not the other kind's (a permission refusal
/// must not read as bad credentials, nor the other way round). `what` names the case.
#[track_caller]
pub fn assert_refused(r: &Skopeo, kind: Refusal, what: &str) {
    assert!(
        !r.success,
        "{what}: succeeded, expected {kind:?}:\n{}",
        r.output
    );
    assert!(
        r.output.contains(kind.marker()),
        "{what}: expected {kind:?} (`{}`), skopeo said:\n{}",
        kind.marker(),
        r.output
    );
    assert!(
        !r.output.contains(kind.other().marker()),
        "{what}: expected {kind:?}, got {:?} (`{}`):\n{}",
        kind.other(),
        kind.other().marker(),
        r.output
    );
}

impl Stack {
    /// `skopeo copy` of a local OCI image to `repo:tag` with `user:secret` credentials;
    /// returns the outcome and the pushed manifest digest (when it succeeded).
    pub fn push(&self, src: &str, repo_tag: &str, creds: &str) -> (Skopeo, Option<String>) {
        let digest_file = self.dir.path().join(format!("digest-{}", rand_suffix()));
        let digest_s = digest_file.display().to_string();
        let dest = format!("docker://{}", self.image(repo_tag));
        let r = skopeo(
            self.dir.path(),
            &[
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                creds,
                "--digestfile",
                &digest_s,
                src,
                &dest,
            ],
        );
        let digest = std::fs::read_to_string(&digest_file)
            .ok()
            .map(|s| s.trim().to_string());
        if r.success {
            // The registry's notification (which makes the repository exist for pulls)
            // is asynchronous: wait for it, so later steps do not race it.
            let repo = repo_tag
                .split([':', '@'])
                .next()
                .unwrap_or(repo_tag)
                .to_string();
            eventually(15, || {
                self.cli(&["acl", "show", &repo], None)
                    .status
                    .success()
                    .then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "{repo} never recorded; regauth log:\n{}",
                    self.regauth_log()
                )
            });
        }
        (r, digest)
    }

    /// `skopeo copy` from the registry into a local directory (a real pull: manifest,
    /// config and layers).
    pub fn pull(&self, repo_ref: &str, creds: Option<&str>) -> Skopeo {
        let out = self.dir.path().join(format!("pulled-{}", rand_suffix()));
        let out_s = format!("dir:{}", out.display());
        let src = format!("docker://{}", self.image(repo_ref));
        let mut args = vec!["copy", "--src-tls-verify=false"];
        match creds {
            Some(c) => args.extend_from_slice(&["--src-creds", c]),
            None => args.push("--src-no-creds"),
        }
        args.push(&src);
        args.push(&out_s);
        skopeo(self.dir.path(), &args)
    }
}

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `f` until it returns Some, for at most `secs` seconds (registry notifications
/// are asynchronous).
pub fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
