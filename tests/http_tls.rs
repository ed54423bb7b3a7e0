//! HTTPS on the public listener, end to end: the real `regauth serve` binary with a
//! certificate from `regauth certs self-signed`, a client that trusts only that CA, the
//! internal notifications listener in plain HTTP beside it, and `regauth healthcheck`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;

const SERVICE: &str = "registry.test";
const PASSWORD: &str = "correct horse battery";
const NOTIFY_SECRET: &str = "notify-secret-for-tests";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Runs the regauth CLI with `env` added and `REGAUTH_CONFIG` removed.
fn regauth(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regauth"));
    cmd.args(args).env_remove("REGAUTH_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run regauth")
}

/// `regauth certs self-signed` into `dir/tls`; returns that directory.
fn self_signed(dir: &Path) -> PathBuf {
    let out = dir.join("tls");
    let out_s = out.to_str().expect("utf-8 path");
    let args = [
        "certs",
        "self-signed",
        "--out",
        out_s,
        "--host",
        "127.0.0.1",
        "--host",
        "localhost",
    ];
    let made = regauth(&args, &[]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let printed = String::from_utf8_lossy(&made.stdout);
    let want: Vec<String> = ["ca.crt", "server.crt", "server.key"]
        .iter()
        .map(|f| out.join(f).display().to_string())
        .collect();
    assert_eq!(printed.lines().collect::<Vec<_>>(), want);

    let again = regauth(&args, &[]);
    assert!(!again.status.success(), "overwrote without --force");
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    out
}

struct Server {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// `server.tls_key` comes from the environment, to prove the override works.
    key: PathBuf,
    ca: reqwest::Certificate,
    public: u16,
    internal: u16,
    child: Child,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = self_signed(dir.path());
        let public = free_port();
        let internal = free_port();
        let d = dir.path().display();
        let config = dir.path().join("regauth.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[server]
listen = "127.0.0.1:{public}"
notifications_listen = "127.0.0.1:{internal}"
workers = 1
tls_cert = "{cert}"
[token]
services = ["{SERVICE}"]
realm = "https://127.0.0.1:{public}/token"
[keys]
dir = "{d}/keys"
bundle = "{d}/keys/bundle.pem"
[directory]
path = "{d}/regauth.db"
[notifications]
secret = "{NOTIFY_SECRET}"
[log]
format = "json"
level = "info,actix_server=warn"
[bootstrap]
admin_name = "root"
admin_password = "{PASSWORD}"
"#,
                cert = tls.join("server.crt").display()
            ),
        )
        .expect("write config");
        let key = tls.join("server.key");
        let log = std::fs::File::create(dir.path().join("regauth.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("REGAUTH_CONFIG")
            .env("REGAUTH__SERVER__TLS_KEY", &key)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start regauth");
        let pem = std::fs::read(tls.join("ca.crt")).expect("ca.crt");
        let ca = reqwest::Certificate::from_pem(&pem).expect("ca.crt is PEM");
        let mut server = Server {
            dir,
            config,
            key,
            ca,
            public,
            internal,
            child,
        };
        server.wait_ready();
        server
    }

    /// A client that trusts the generated CA and nothing else.
    fn client(&self) -> Client {
        Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(self.ca.clone())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    fn https(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.public)
    }

    fn wait_ready(&mut self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(self.https("/readyz")).send() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("regauth exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "regauth never became ready over HTTPS:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("regauth.log")).unwrap_or_default()
    }

    /// `regauth --config <ours> healthcheck` with the same environment as the server,
    /// plus `extra` (e.g. to drop the notifications listener).
    fn healthcheck(&self, extra: &[(&str, &Path)]) -> Output {
        let config = self.config.to_str().expect("utf-8 path");
        let mut env = vec![("REGAUTH__SERVER__TLS_KEY", self.key.as_path())];
        env.extend_from_slice(extra);
        regauth(&["--config", config, "healthcheck"], &env)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn public_listener_speaks_https_and_the_webhook_stays_internal() {
    let mut server = Server::start();
    let client = server.client();

    let r = client
        .get(server.https("/healthz"))
        .send()
        .expect("healthz");
    assert_eq!(r.status(), 200);
    // Browsers are told to come back over HTTPS only (server.hsts_max_age, 365 days).
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let page = client.get(server.https("/ui/signin")).send().expect("page");
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // The DNS SAN works as well as the IP SAN.
    let r = client
        .get(format!("https://localhost:{}/healthz", server.public))
        .send()
        .expect("healthz via localhost");
    assert_eq!(r.status(), 200);

    let r = client
        .get(server.https("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("root", Some(PASSWORD))
        .send()
        .expect("token");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("token json");
    let token = body["token"].as_str().expect("a token");
    assert_eq!(token.split('.').count(), 3, "{token}");

    let r = client
        .get(server.https("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("root", Some("wrong password"))
        .send()
        .expect("token");
    assert_eq!(r.status(), 401);

    // No plain HTTP on the TLS port, and no trust without the CA.
    let plain = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    assert!(
        plain
            .get(format!("http://127.0.0.1:{}/healthz", server.public))
            .send()
            .is_err(),
        "plain HTTP answered on the TLS port"
    );
    let err = plain
        .get(server.https("/healthz"))
        .send()
        .expect_err("a client without the CA trusted the certificate");
    assert!(err.is_connect(), "{err:?}");

    // The webhook is only on the internal, plain-HTTP listener.
    let r = client
        .post(server.https("/notifications"))
        .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(r#"{"events":[]}"#)
        .send()
        .expect("notifications on the public port");
    assert_eq!(r.status(), 404);
    let internal = format!("http://127.0.0.1:{}", server.internal);
    let r = plain
        .post(format!("{internal}/notifications"))
        .header("authorization", "Bearer wrong")
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(r#"{"events":[]}"#)
        .send()
        .expect("notifications on the internal port");
    assert_eq!(r.status(), 401);
    let r = plain
        .get(format!("{internal}/healthz"))
        .send()
        .expect("internal healthz");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "plain HTTP never sends HSTS"
    );

    // healthcheck probes the internal listener's /healthz...
    let hc = server.healthcheck(&[]);
    assert!(
        hc.status.success(),
        "{}",
        String::from_utf8_lossy(&hc.stderr)
    );
    // ...and without one, only connects to the TLS port.
    let no_internal = [("REGAUTH__SERVER__NOTIFICATIONS_LISTEN", Path::new(""))];
    let hc = server.healthcheck(&no_internal);
    assert!(
        hc.status.success(),
        "{}",
        String::from_utf8_lossy(&hc.stderr)
    );

    let _ = server.child.kill();
    let _ = server.child.wait();
    assert!(!server.healthcheck(&[]).status.success());
    assert!(!server.healthcheck(&no_internal).status.success());
}

#[test]
fn serve_refuses_unusable_tls_files_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let d = dir.path().display();
    let config = dir.path().join("regauth.toml");
    let port = free_port();
    let write = |cert: &Path, key: &Path| {
        std::fs::write(
            &config,
            format!(
                r#"
[server]
listen = "127.0.0.1:{port}"
tls_cert = "{}"
tls_key = "{}"
[keys]
dir = "{d}/keys"
bundle = "{d}/keys/bundle.pem"
[directory]
path = "{d}/regauth.db"
[bootstrap]
admin_password = "{PASSWORD}"
"#,
                cert.display(),
                key.display()
            ),
        )
        .expect("write config");
    };
    let serve = || {
        let out = regauth(&["--config", config.to_str().expect("utf-8"), "serve"], &[]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let key = tls.join("server.key");
    let key_pem = std::fs::read_to_string(&key).expect("key");
    let key_body = key_pem.lines().nth(1).expect("a base64 line");

    // The CA certificate where the key should be.
    write(&tls.join("server.crt"), &tls.join("ca.crt"));
    let (ok, err) = serve();
    assert!(!ok);
    assert!(
        err.contains("ca.crt") && err.contains("PRIVATE KEY"),
        "{err}"
    );

    // The key where the certificate should be.
    write(&key, &key);
    let (ok, err) = serve();
    assert!(!ok);
    assert!(
        err.contains("server.key") && err.contains("CERTIFICATE"),
        "{err}"
    );
    assert!(!err.contains(key_body), "key material in the error: {err}");

    write(&tls.join("missing.crt"), &key);
    let (ok, err) = serve();
    assert!(!ok);
    assert!(err.contains("missing.crt"), "{err}");

    // Nothing was started or written: TLS is checked before the directory is created.
    assert!(!dir.path().join("regauth.db").exists());
}
