//! The `regauth` command line: `serve`, key generation, TLS certificates, health checks,
//! and administration of the embedded directory (users, teams, projects, ACLs, tokens,
//! trash, repositories). A front door like `http` and `web`: the composition root
//! (`infra::startup::run`) loads the settings, opens what a command needs and hands it
//! here; no backend is named in this folder.
//!
//! Administration commands open the same SQLite file as the server (WAL lets both
//! work at once), so `docker compose exec regauth regauth user add ...` just works.
//! They call the same use cases (`app`) as the HTTP API. Every failure is one line on
//! stderr and a non-zero exit; every change is one directory transaction, so a failed
//! command leaves nothing half-written. `args` is the grammar, `admin` the directory
//! commands, `keys` the key-material commands, `healthcheck` the probe.

mod admin;
mod args;
pub mod generate;
mod healthcheck;
mod keys;
mod progress;
mod trust_policies;

use std::time::Duration;

pub use args::{CertsCmd, Cli, Command, DirectoryCmd, KeysCmd};
pub use progress::Reporter;

use crate::app::clock::SystemClock;
use crate::app::AppError;
use crate::domain::ports::{Clock, Directory};
use crate::infra::config::Settings;

/// Why a command ended without success.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Printed as one line on stderr, exit code 1.
    #[error("{0}")]
    Failed(String),
    /// Standard output was closed (`regauth acl show X | head`): the command ends
    /// quietly, exit code 141 as for SIGPIPE, never a panic.
    #[error("standard output closed")]
    StdoutClosed,
}

impl CliError {
    pub fn from<E: std::fmt::Display>(e: E) -> CliError {
        CliError::Failed(e.to_string())
    }
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> CliError {
        CliError::Failed(e.to_string())
    }
}

/// Writes one line to standard output, control characters escaped; a closed stdout is
/// `StdoutClosed`, any other write failure a one-line error.
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // The fields were escaped where the line was made (`Shown`); whatever else reached
    // it escaped here, but for the listing's own tab separators.
    let line = line.to_string();
    let line = crate::infra::shown::escape_line(&line);
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::StdoutClosed),
        Err(e) => Err(CliError::Failed(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// `println!` for commands: ends the command quietly when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::infra::cli::write_line(format_args!($($arg)*))?
    };
}
pub(crate) use outln;

type CliResult = Result<(), CliError>;

/// The command that needs no configuration: certificates are made before the
/// configuration that names them exists (and in a container whose REGAUTH_CONFIG may
/// point at a file not yet complete).
pub fn certs(cmd: CertsCmd) -> CliResult {
    keys::certs(cmd)
}

/// `regauth healthcheck [--url URL]`.
pub fn healthcheck(settings: &Settings, url: Option<String>) -> CliResult {
    match url {
        Some(url) => healthcheck::run(healthcheck::Probe::Http(url)),
        None => healthcheck::run(healthcheck::default_probe(settings)),
    }
}

/// `regauth keys ...`.
pub fn key_command(settings: &Settings, cmd: KeysCmd) -> CliResult {
    keys::keys(settings, SystemClock.now(), cmd)
}

/// `regauth migrate`, once the composition root opened (and so migrated) the directory.
pub fn migrated() -> CliResult {
    outln!("the directory's schema is up to date");
    Ok(())
}

/// The administration commands, on the directory the composition root opened.
pub fn administer(dir: &dyn Directory, settings: &Settings, command: Command) -> CliResult {
    admin::run(dir, settings, SystemClock.now(), command)
}

/// `regauth directory copy`'s report: the rows of each table copied and counted.
pub fn copied(from: &std::path::Path, counts: Vec<(&'static str, usize)>) -> CliResult {
    for (table, n) in counts {
        outln!("{table:<17} {n:>9} rows copied and counted");
    }
    outln!("copied {} into PostgreSQL", from.display());
    Ok(())
}

/// `directory backup`'s report: what the file holds, and its checksum.
pub fn backed_up(to: &std::path::Path, counts: &[(String, i64)], checksum: &str) -> CliResult {
    for (table, n) in counts {
        outln!("{table:<20} {n:>9} rows");
    }
    outln!(
        "backed up into {} (sha256 of its rows {checksum})",
        to.display()
    );
    Ok(())
}

/// `directory restore`'s report.
pub fn restored(from: &std::path::Path, counts: &[(String, i64)]) -> CliResult {
    for (table, n) in counts {
        outln!("{table:<20} {n:>9} rows");
    }
    outln!("restored {}", from.display());
    Ok(())
}

/// A lifetime as the command line takes it (`domain::model::parse_lifetime`).
pub fn parse_duration(s: &str) -> Result<Duration, CliError> {
    crate::domain::model::parse_lifetime(s).map_err(|e| CliError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::args::CertsCmd;
    use super::*;
    use clap::Parser;

    #[test]
    fn durations() {
        for &(typed, secs) in crate::domain::model::LIFETIME_CASES {
            let want = secs.map(Duration::from_secs);
            assert_eq!(parse_duration(typed).ok(), want, "{typed}");
        }
    }

    #[test]
    fn certs_self_signed_needs_out_and_a_host() {
        assert!(Cli::try_parse_from(["regauth", "certs", "self-signed", "--out", "d"]).is_err());
        assert!(Cli::try_parse_from(["regauth", "certs", "self-signed", "--host", "h"]).is_err());
        match Cli::try_parse_from([
            "regauth",
            "certs",
            "self-signed",
            "--out",
            "d",
            "--host",
            "a",
            "--host",
            "b",
        ])
        .unwrap()
        .command
        {
            Command::Certs(CertsCmd::SelfSigned {
                hosts, days, force, ..
            }) => {
                assert_eq!(hosts, ["a", "b"]);
                assert_eq!(days, 825);
                assert!(!force);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cli_parses_documented_commands() {
        for args in [
            &["regauth", "serve"][..],
            &["regauth", "user", "add", "alice", "--certified"],
            &["regauth", "user", "set", "alice", "--disabled", "true"],
            &["regauth", "team", "member", "add", "t", "alice"],
            &[
                "regauth", "project", "add", "P", "--owner", "alice", "--id", "syn5",
            ],
            &["regauth", "acl", "grant", "syn5", "team:t", "READ,DOWNLOAD"],
            &[
                "regauth",
                "token",
                "create",
                "alice",
                "--scopes",
                "download",
                "--expires-in",
                "30d",
            ],
            &["regauth", "repo", "add-external", "syn5", "quay.io/x/y"],
            &["regauth", "healthcheck"],
            &["regauth", "keys", "generate", "--algorithm", "ES256"],
            &["regauth", "repo", "tags", "syn5/x", "--sort", "time"],
            &[
                "regauth",
                "healthcheck",
                "--url",
                "http://127.0.0.1:5002/healthz",
            ],
            &[
                "regauth",
                "certs",
                "self-signed",
                "--out",
                "certs",
                "--host",
                "registry.example.org",
                "--host",
                "10.0.0.5",
                "--days",
                "90",
                "--force",
            ],
        ] {
            Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        // Typed flags refuse what they do not know, before anything runs.
        for args in [
            &["regauth", "keys", "generate", "--algorithm", "HS256"][..],
            &["regauth", "repo", "tags", "syn5/x", "--sort", "size"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
