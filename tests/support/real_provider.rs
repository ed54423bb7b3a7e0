//! A real OpenID Connect provider for tests: Debian's glewlwyd, started by
//! `tests/setup/oidc-provider/start.sh` (installed by `tests/setup/install-deps.sh`) on a
//! free loopback port with its own state in a temporary directory, a confidential client
//! allowed the redirect URIs the test gives, and a password user. The handle knows the
//! issuer, port, client and user; dropping it stops the provider (its process group), and
//! the script also stops by itself when this process ends, however it ends (its standard
//! input, a pipe from here, closes). Failing to start is a panic naming the cause, never
//! a skipped test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

/// A running glewlwyd and what the start script set up in it.
pub struct RealProvider {
    /// `http://127.0.0.1:PORT/api/oidc`: its discovery document is under it.
    pub issuer: String,
    pub port: u16,
    pub client_id: String,
    pub client_secret: SecretString,
    pub username: String,
    pub password: SecretString,
    pub email: String,
    pub name: String,
    /// glewlwyd's own log, to show when a test fails.
    pub log: PathBuf,
    child: Child,
    /// The script's standard input: it stops when this closes.
    stdin: Option<ChildStdin>,
}

impl RealProvider {
    /// Starts a provider whose client may redirect to `redirect_uris`; panics with the
    /// reason if it cannot.
    pub fn start(redirect_uris: &[&str]) -> RealProvider {
        match RealProvider::try_start(redirect_uris) {
            Ok(p) => p,
            Err(e) => panic!(
                "the real OIDC provider (glewlwyd) did not start: {e}; \
                 is it installed (bash tests/setup/install-deps.sh)?"
            ),
        }
    }

    pub fn try_start(redirect_uris: &[&str]) -> Result<RealProvider, String> {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/setup/oidc-provider/start.sh");
        let mut command = Command::new("bash");
        command.arg(&script);
        for uri in redirect_uris {
            command.arg("--redirect-uri").arg(uri);
        }
        // Its own process group, so that a stop reaches glewlwyd too.
        command
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", script.display()))?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err("no stdout from the start script".into());
        };
        let mut values = HashMap::new();
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading the start script: {e}"))?;
            if line == "READY" {
                ready = true;
                break;
            }
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.to_owned(), value.to_owned());
            }
        }
        let mut provider = RealProvider {
            issuer: String::new(),
            port: 0,
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            username: String::new(),
            password: SecretString::from(String::new()),
            email: String::new(),
            name: String::new(),
            log: PathBuf::new(),
            child,
            stdin,
        };
        if !ready {
            // Dropping `provider` stops what the script may have left.
            let status = provider.child.try_wait().ok().flatten();
            return Err(format!("the start script ended before READY ({status:?})"));
        }
        let mut take = |key: &str| {
            values
                .remove(key)
                .ok_or_else(|| format!("the start script printed no {key}"))
        };
        provider.issuer = take("ISSUER")?;
        provider.port = take("PORT")?.parse().map_err(|e| format!("PORT: {e}"))?;
        provider.client_id = take("CLIENT_ID")?;
        provider.client_secret = SecretString::from(take("CLIENT_SECRET")?);
        provider.username = take("USERNAME")?;
        provider.password = SecretString::from(take("PASSWORD")?);
        provider.email = take("EMAIL")?;
        provider.name = take("NAME")?;
        provider.log = PathBuf::from(take("LOG")?);
        Ok(provider)
    }

    /// `http://127.0.0.1:PORT`: the login page and glewlwyd's own API live under it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of glewlwyd's log, for a failing test's message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for RealProvider {
    fn drop(&mut self) {
        // Closing the pipe stops the script, which stops glewlwyd and removes its state;
        // the process group is signalled only if that has not happened within seconds.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}
