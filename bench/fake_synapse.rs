//! The contract server of `tests/synapse` as a process, for bench/run.sh's Synapse
//! section and the Docker suite's Synapse stack (tests/docker/synapse.sh): one
//! certified user `alice` ("bench password") owning a project with the repository
//! `tool`, and a personal access token of hers; prints `BASE_URL PROJECT PAT` on one
//! line, then serves until killed.
//!
//! Environment, each optional (unset: a loopback server on a free port, as bench/run.sh
//! wants it):
//!
//! - `FAKE_SYNAPSE_BIND`: the address to listen on (`0.0.0.0:8080` in a container).
//! - `FAKE_SYNAPSE_PUBLIC_URL`: the base URL others reach it at (a compose service
//!   name), which its tokens name as issuer; default `http://<bound address>`.
//! - `FAKE_SYNAPSE_REGISTRY_HOST`: the host of repository names, and the only registry
//!   host whose events its listener takes (default `docker.synapse.test`).
//! - `FAKE_SYNAPSE_OUTSIDER=NAME:PASSWORD`: a certified user with no access to the project.
//! - `FAKE_SYNAPSE_UNCERTIFIED=NAME:PASSWORD`: an uncertified user with READ, DOWNLOAD,
//!   UPDATE and CREATE on the project (Synapse still refuses it a new repository).
//!
//! On stderr: each user's id (`fake-synapse: user NAME id N`), because registry events
//! name users by id, and each batch its registry listener took
//! (`fake-synapse: listener batch {json}`), so that a test outside this process sees
//! what Synapse was told.

#[path = "../tests/synapse/mod.rs"]
mod synapse;

use std::io::Write;
use std::time::Duration;

/// How often the listener's batches are looked at for new ones to print.
const LISTENER_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
enum FakeError {
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("{var} must be NAME:PASSWORD, got {value:?}")]
    BadUser { var: &'static str, value: String },
    #[error("cannot write its address: {0}")]
    Write(std::io::Error),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fake-synapse: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), FakeError> {
    let bind = env("FAKE_SYNAPSE_BIND").unwrap_or_else(|| "127.0.0.1:0".into());
    let public_url = env("FAKE_SYNAPSE_PUBLIC_URL");
    let registry_host =
        env("FAKE_SYNAPSE_REGISTRY_HOST").unwrap_or_else(|| synapse::REGISTRY_HOST.into());
    let outsider = user_from_env("FAKE_SYNAPSE_OUTSIDER")?;
    let uncertified = user_from_env("FAKE_SYNAPSE_UNCERTIFIED")?;

    let fake = synapse::FakeSynapse::start_on(&bind, public_url.as_deref(), &registry_host)
        .map_err(|source| FakeError::Bind { bind, source })?;
    let alice = add_user(&fake, "alice", "bench password", true);
    let project = fake.add_project("bench");
    fake.set_owner(&project, alice);
    fake.grant(&project, alice, &synapse::EVERY_ACCESS);
    fake.add_docker_repo(&project, "tool");
    if let Some((name, password)) = outsider {
        add_user(&fake, &name, &password, true);
    }
    if let Some((name, password)) = uncertified {
        let user = add_user(&fake, &name, &password, false);
        fake.grant(&project, user, &["READ", "DOWNLOAD", "UPDATE", "CREATE"]);
    }
    let pat = fake.pat(alice, &["view", "download", "modify"]);
    let mut out = std::io::stdout();
    writeln!(out, "{} {project} {pat}", fake.base_url())
        .and_then(|()| out.flush())
        .map_err(FakeError::Write)?;
    print_listener_batches(&fake)
}

/// A non-empty environment variable.
fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// `NAME:PASSWORD` from `var`, if set.
fn user_from_env(var: &'static str) -> Result<Option<(String, String)>, FakeError> {
    let Some(value) = env(var) else {
        return Ok(None);
    };
    match value.split_once(':') {
        Some((name, password)) if !name.is_empty() && !password.is_empty() => {
            Ok(Some((name.to_string(), password.to_string())))
        }
        _ => Err(FakeError::BadUser { var, value }),
    }
}

fn add_user(
    fake: &synapse::FakeSynapse,
    name: &str,
    password: &str,
    certified: bool,
) -> synapse::UserId {
    let user = fake.add_user(name, password);
    fake.set_certified(user, certified);
    eprintln!("fake-synapse: user {name} id {user}");
    user
}

/// Serves until killed, printing each batch the registry listener takes as it comes.
fn print_listener_batches(fake: &synapse::FakeSynapse) -> ! {
    let mut printed = 0;
    loop {
        let batches = fake.listener_events();
        for batch in batches.iter().skip(printed) {
            eprintln!("fake-synapse: listener batch {batch}");
        }
        printed = batches.len();
        std::thread::sleep(LISTENER_POLL);
    }
}
