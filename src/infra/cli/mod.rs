//! The `regauth` command line: `serve`, key generation, TLS certificates, health checks,
//! and administration of the embedded directory (users, teams, projects, ACLs, tokens,
//! trash, repositories).
//!
//! Administration commands open the same SQLite file as the server (WAL lets both
//! work at once), so `docker compose exec regauth regauth user add ...` just works.
//! They call the same use cases (`app`) as the HTTP API. Every failure is one line on
//! stderr and a non-zero exit; every change is one directory transaction, so a failed
//! command leaves nothing half-written. `args` is the grammar, `admin` the directory
//! commands, `keys` the key-material commands, `healthcheck` the probe.

mod admin;
mod args;
mod healthcheck;
mod keys;

use std::time::Duration;

pub use args::Cli;
use args::Command;

use crate::app::clock::SystemClock;
use crate::app::AppError;
use crate::domain::ports::Clock;
use crate::infra::config::Settings;
use crate::infra::startup;

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
    fn from<E: std::fmt::Display>(e: E) -> CliError {
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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    // Certificates are made before the configuration that names them exists (and in a
    // container whose REGAUTH_CONFIG may point at a file not yet complete), so this
    // command never loads one.
    let command = match cli.command {
        Command::Certs(cmd) => return keys::certs(cmd),
        // Needs no configuration: both ends are on the command line.
        Command::Directory(args::DirectoryCmd::Copy { from, to, replace }) => {
            return copy_directory(&from, to, replace)
        }
        other => other,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::from)?;
    match command {
        Command::Serve => serve(settings),
        Command::Healthcheck { url: Some(url) } => healthcheck::run(healthcheck::Probe::Http(url)),
        Command::Healthcheck { url: None } => {
            healthcheck::run(healthcheck::default_probe(&settings))
        }
        Command::Keys(cmd) => keys::keys(&settings, SystemClock.now(), cmd),
        Command::Migrate => {
            startup::open_directory(&settings).map_err(CliError::from)?;
            outln!("the directory's schema is up to date");
            Ok(())
        }
        other => {
            let dir = startup::open_directory(&settings).map_err(CliError::from)?;
            admin::run(dir.as_ref(), &settings, SystemClock.now(), other)
        }
    }
}

fn copy_directory(from: &std::path::Path, to: String, replace: bool) -> CliResult {
    let to = secrecy::SecretString::from(to);
    let counts = crate::infra::postgres::copy::sqlite_to_postgres(from, &to, replace)
        .map_err(|e| CliError::Failed(format!("directory copy: {e}")))?;
    for (table, n) in counts {
        outln!("{table:<17} {n:>9} rows copied and counted");
    }
    outln!("copied {} into PostgreSQL", from.display());
    Ok(())
}

fn serve(settings: Settings) -> CliResult {
    crate::infra::logging::init(settings.log.format, &settings.log.level);
    // actix-web runs its workers on their own single-threaded runtimes; its system
    // runner drives them.
    actix_web::rt::System::new()
        .block_on(crate::infra::startup::serve(settings))
        .map_err(CliError::from)
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
    fn certs_self_signed_runs_without_a_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("certs");
        let missing = dir.path().join("no-such-config.toml");
        let cli = Cli::try_parse_from([
            "regauth".as_ref(),
            "--config".as_ref(),
            missing.as_os_str(),
            "certs".as_ref(),
            "self-signed".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--host".as_ref(),
            "localhost".as_ref(),
        ])
        .unwrap();
        run(cli).unwrap();
        assert!(out.join("server.key").exists());
        // ...while a command that needs it fails on the missing file.
        let cli = Cli::try_parse_from([
            "regauth".as_ref(),
            "--config".as_ref(),
            missing.as_os_str(),
            "user".as_ref(),
            "list".as_ref(),
        ])
        .unwrap();
        assert!(run(cli).is_err());
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
