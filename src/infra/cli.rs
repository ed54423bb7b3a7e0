//! The `regauth` command line: `serve`, key generation, TLS certificates, and
//! administration of the embedded directory (users, teams, projects, ACLs, tokens,
//! trash, repositories).
//!
//! Administration commands open the same SQLite file as the server (WAL lets both
//! work at once), so `docker compose exec regauth regauth user add ...` just works.
//! Every failure is one line on stderr and a non-zero exit; every change is one
//! directory transaction, so a failed command leaves nothing half-written.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::domain::authn::{now_unix, password, secret};
use crate::domain::directory::{
    Directory, EntityRef, NewAccessToken, PrincipalRef, TagSort, UserUpdate,
};
use crate::domain::model::{rfc3339, AccessSet, EntityId, ScopeSet};
use crate::domain::repo_name::{parse_external, RepoPath};
use crate::infra::config::Settings;
use crate::infra::crypto::{self, KeyAlgorithm};
use crate::infra::sqlite::SqliteDirectory;
use crate::infra::tls::self_signed;

#[derive(Debug, Parser)]
#[command(
    name = "regauth",
    version,
    about = "Synapse-style access control for a stock Docker registry (a Docker token server)",
    after_help = "ENTITY is a project id (syn123) or a repository path (syn123/tool).\n\
                  PRINCIPAL is a user name, team:NAME, public or authenticated.\n\
                  PERMS is a comma list of READ, DOWNLOAD, UPDATE, CREATE, DELETE, CHANGE_PERMISSIONS (or ALL)."
)]
pub struct Cli {
    /// Configuration file (TOML); REGAUTH__SECTION__KEY variables override it.
    #[arg(long, short, global = true, env = "REGAUTH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the token server.
    Serve,
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Users.
    #[command(subcommand)]
    User(UserCmd),
    /// Teams.
    #[command(subcommand)]
    Team(TeamCmd),
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Access control lists (sharing settings).
    #[command(subcommand)]
    Acl(AclCmd),
    /// Personal access tokens (and refresh tokens).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Move a project or repository to the trash (everything under it is refused).
    Trash { entity: String },
    /// Restore a project or repository from the trash.
    Restore { entity: String },
    /// Docker repositories and their tags.
    #[command(subcommand)]
    Repo(RepoCmd),
    /// TLS certificates for `server.tls_cert` / `server.tls_key`.
    #[command(subcommand)]
    Certs(CertsCmd),
    /// Exit 0 when the server answers (for container health checks).
    ///
    /// Without --url it probes this configuration's own server on loopback:
    /// GET /healthz on server.notifications_listen when set (plain HTTP even with TLS),
    /// else on server.listen; when that listener is HTTPS, only a TCP connection is
    /// checked.
    Healthcheck {
        /// An http:// URL that must answer 200.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertsCmd {
    /// Make a throwaway CA (its key is discarded) and a server certificate for HOSTs:
    /// writes DIR/ca.crt, DIR/server.crt (leaf then CA) and DIR/server.key (mode 0600).
    /// Needs no configuration.
    SelfSigned {
        /// Directory to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A name clients use to reach the server; repeat for more. IP addresses become
        /// IP SANs, anything else DNS SANs.
        #[arg(long = "host", value_name = "NAME", required = true)]
        hosts: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = self_signed::DEFAULT_DAYS)]
        days: u32,
        /// Replace existing ca.crt / server.crt / server.key.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Write a new key and self-signed certificate; the newest key signs.
    Generate {
        /// Key directory (default: keys.dir from the configuration).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// RS256 or ES256 (default: token.algorithm).
        #[arg(long)]
        algorithm: Option<String>,
        /// Also rewrite the certificate bundle (keys.bundle) with every certificate.
        #[arg(long)]
        bundle: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a user; the password is read from standard input (one line).
    Add {
        name: String,
        #[arg(long)]
        certified: bool,
        #[arg(long)]
        admin: bool,
        /// Create the user without a password (access tokens only).
        #[arg(long)]
        no_password: bool,
    },
    /// Change a user.
    Set {
        name: String,
        #[arg(long)]
        certified: Option<bool>,
        #[arg(long)]
        admin: Option<bool>,
        /// A disabled user can no longer log in, and its tokens stop working.
        #[arg(long)]
        disabled: Option<bool>,
        /// Read a new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TeamCmd {
    /// Add a team.
    Add { name: String },
    /// Team membership.
    #[command(subcommand)]
    Member(MemberCmd),
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    Add { team: String, user: String },
    Remove { team: String, user: String },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    /// Create a project (the owner gets every access type); prints its id.
    Add {
        name: String,
        #[arg(long)]
        owner: String,
        /// Use this id (synN) instead of the next free one.
        #[arg(long)]
        id: Option<String>,
    },
    /// List projects.
    List,
}

#[derive(Debug, Subcommand)]
pub enum AclCmd {
    /// Grant PERMS to PRINCIPAL on ENTITY. On a repository without local sharing
    /// settings, this first creates them as a copy of the project's ACL.
    Grant {
        entity: String,
        principal: String,
        perms: String,
    },
    /// Remove PERMS (or every access type, when omitted) from PRINCIPAL on ENTITY.
    Revoke {
        entity: String,
        principal: String,
        perms: Option<String>,
    },
    /// Show ENTITY's effective ACL.
    Show { entity: String },
    /// Drop a repository's local sharing settings so it inherits its project's again.
    Inherit { entity: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a personal access token; prints it once (only its hash is stored).
    Create {
        user: String,
        /// Comma list of view, download, modify.
        #[arg(long)]
        scopes: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, e.g. 30d, 12h, 90m (default: never expires).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List a user's access tokens.
    List { user: String },
    /// Revoke an access token by id.
    Revoke { id: i64 },
    /// Revoke every refresh (identity) token of a user, e.g. after a lost laptop.
    RevokeRefresh { user: String },
}

#[derive(Debug, Subcommand)]
pub enum RepoCmd {
    /// A project's repositories (managed and external).
    List { project: String },
    /// A repository's tags with their current digest.
    Tags {
        repo: String,
        /// tag or time (newest first).
        #[arg(long, default_value = "tag")]
        sort: String,
    },
    /// Every commit of one tag, newest first.
    History { repo: String, tag: String },
    /// Record an image in another registry under a project (listed, never authorized).
    AddExternal { project: String, name: String },
}

/// A CLI failure: printed as one line, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl CliError {
    fn from<E: std::fmt::Display>(e: E) -> CliError {
        CliError(e.to_string())
    }
}

type CliResult = Result<(), CliError>;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    // Certificates are made before the configuration that names them exists (and in a
    // container whose REGAUTH_CONFIG may point at a file not yet complete), so this
    // command never loads one.
    let command = match cli.command {
        Command::Certs(cmd) => return certs(cmd),
        other => other,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::from)?;
    match command {
        Command::Serve => serve(settings),
        Command::Healthcheck { url: Some(url) } => healthcheck(&url),
        Command::Healthcheck { url: None } => match default_probe(&settings) {
            Probe::Http(url) => healthcheck(&url),
            Probe::Tcp(addr) => tcp_check(addr),
        },
        Command::Keys(KeysCmd::Generate {
            dir,
            algorithm,
            bundle,
        }) => {
            let dir = dir.unwrap_or_else(|| settings.keys.dir.clone());
            let alg: KeyAlgorithm = algorithm
                .as_deref()
                .unwrap_or(&settings.token.algorithm)
                .parse()
                .map_err(|_| CliError("--algorithm must be RS256 or ES256".into()))?;
            let files =
                crypto::generate(&dir, alg, &settings.token.issuer).map_err(CliError::from)?;
            println!("{}", files.key.display());
            println!("{}", files.cert.display());
            if bundle {
                let ring = crypto::KeyRing::load(&dir).map_err(CliError::from)?;
                ring.write_bundle(&settings.keys.bundle)
                    .map_err(CliError::from)?;
                println!("{}", settings.keys.bundle.display());
            }
            Ok(())
        }
        other => {
            let dir = SqliteDirectory::open(&settings.directory.path).map_err(CliError::from)?;
            admin(&dir, other)
        }
    }
}

fn serve(settings: Settings) -> CliResult {
    crate::infra::logging::init(&settings.log.format, &settings.log.level);
    // actix-web runs its workers on their own single-threaded runtimes; its system
    // runner drives them.
    actix_web::rt::System::new()
        .block_on(crate::infra::http::server::run(settings))
        .map_err(CliError::from)
}

fn certs(cmd: CertsCmd) -> CliResult {
    match cmd {
        CertsCmd::SelfSigned {
            out,
            hosts,
            days,
            force,
        } => {
            let files =
                self_signed::self_signed(&out, &hosts, days, force).map_err(CliError::from)?;
            println!("{}", files.ca_cert.display());
            println!("{}", files.server_cert.display());
            println!("{}", files.server_key.display());
            Ok(())
        }
    }
}

/// What `healthcheck` checks when no --url is given.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// GET this plain-HTTP URL, expect 200.
    Http(String),
    /// Only connect: the listener speaks TLS, and a TLS client here would need the CA
    /// (and a name in the certificate) for a check that proves little more.
    Tcp(std::net::SocketAddr),
}

/// The probe for this configuration's own server. The internal notifications listener
/// is preferred because it is plain HTTP even when the public one has TLS. A wildcard
/// listen address (0.0.0.0, [::]) is probed on loopback; a specific one on itself,
/// since that is the only address it answers on.
fn default_probe(settings: &Settings) -> Probe {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    let internal = !settings.server.notifications_listen.is_empty();
    let listen = if internal {
        &settings.server.notifications_listen
    } else {
        &settings.server.listen
    };
    // Settings::load validated both addresses; the fallback only keeps this total.
    let mut addr: SocketAddr = listen
        .parse()
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5001));
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    if !internal && settings.server.tls_files().is_some() {
        Probe::Tcp(addr)
    } else {
        Probe::Http(format!("http://{addr}/healthz"))
    }
}

fn tcp_check(addr: std::net::SocketAddr) -> CliResult {
    connect(addr).map(drop)
}

fn connect(addr: std::net::SocketAddr) -> Result<std::net::TcpStream, CliError> {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| CliError(format!("unhealthy: cannot connect to {addr}: {e}")))
}

fn healthcheck(url: &str) -> CliResult {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| CliError("--url must start with http://".into()))?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .map_err(CliError::from)?
        .next()
        .ok_or_else(|| CliError(format!("cannot resolve {hostport}")))?;
    let mut conn = connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(CliError::from)?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").map_err(CliError::from)?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).map_err(CliError::from)?;
    if head.starts_with(b"HTTP/1.") && &head[9..12] == b"200" {
        Ok(())
    } else {
        Err(CliError(format!(
            "unhealthy: {}",
            String::from_utf8_lossy(&head)
        )))
    }
}

fn admin(dir: &dyn Directory, command: Command) -> CliResult {
    match command {
        Command::User(cmd) => user(dir, cmd),
        Command::Team(TeamCmd::Add { name }) => {
            dir.add_team(&name).map_err(CliError::from)?;
            Ok(())
        }
        Command::Team(TeamCmd::Member(MemberCmd::Add { team, user })) => {
            dir.add_team_member(&team, &user).map_err(CliError::from)
        }
        Command::Team(TeamCmd::Member(MemberCmd::Remove { team, user })) => {
            dir.remove_team_member(&team, &user).map_err(CliError::from)
        }
        Command::Project(ProjectCmd::Add { name, owner, id }) => {
            let id = id
                .map(|s| s.parse::<EntityId>())
                .transpose()
                .map_err(CliError::from)?;
            let id = dir.add_project(&name, &owner, id).map_err(CliError::from)?;
            println!("{id}");
            Ok(())
        }
        Command::Project(ProjectCmd::List) => {
            for p in dir.list_projects().map_err(CliError::from)? {
                println!(
                    "{}\t{}{}",
                    p.id,
                    p.name,
                    if p.trashed { "\t(in trash)" } else { "" }
                );
            }
            Ok(())
        }
        Command::Acl(cmd) => acl(dir, cmd),
        Command::Token(cmd) => token(dir, cmd),
        Command::Trash { entity } => dir.trash(&entity_ref(&entity)?).map_err(CliError::from),
        Command::Restore { entity } => dir.restore(&entity_ref(&entity)?).map_err(CliError::from),
        Command::Repo(cmd) => repo(dir, cmd),
        Command::Serve | Command::Keys(_) | Command::Certs(_) | Command::Healthcheck { .. } => {
            Ok(())
        }
    }
}

fn user(dir: &dyn Directory, cmd: UserCmd) -> CliResult {
    match cmd {
        UserCmd::Add {
            name,
            certified,
            admin,
            no_password,
        } => {
            let hash = if no_password {
                None
            } else {
                Some(new_password_hash()?)
            };
            dir.add_user(&name, hash.as_deref(), certified, admin)
                .map_err(CliError::from)?;
            Ok(())
        }
        UserCmd::Set {
            name,
            certified,
            admin,
            disabled,
            password_stdin,
        } => {
            if certified.is_none() && admin.is_none() && disabled.is_none() && !password_stdin {
                return Err(CliError(
                    "nothing to change: give --certified, --admin, --disabled or --password-stdin"
                        .into(),
                ));
            }
            let password_hash = if password_stdin {
                Some(new_password_hash()?)
            } else {
                None
            };
            dir.update_user(
                &name,
                UserUpdate {
                    certified,
                    admin,
                    disabled,
                    password_hash,
                },
            )
            .map_err(CliError::from)?;
            if disabled == Some(true) {
                let n = dir.revoke_refresh_tokens(&name).map_err(CliError::from)?;
                eprintln!("revoked {n} refresh token(s)");
            }
            Ok(())
        }
        UserCmd::List => {
            for u in dir.list_users().map_err(CliError::from)? {
                let mut flags = Vec::new();
                if u.certified {
                    flags.push("certified");
                }
                if u.admin {
                    flags.push("admin");
                }
                if u.disabled {
                    flags.push("disabled");
                }
                println!("{}\t{}", u.name, flags.join(","));
            }
            Ok(())
        }
    }
}

fn acl(dir: &dyn Directory, cmd: AclCmd) -> CliResult {
    match cmd {
        AclCmd::Grant {
            entity,
            principal,
            perms,
        } => {
            let access = AccessSet::parse_list(&perms).map_err(CliError::from)?;
            dir.acl_grant(&entity_ref(&entity)?, &principal_ref(&principal)?, access)
                .map_err(CliError::from)
        }
        AclCmd::Revoke {
            entity,
            principal,
            perms,
        } => {
            let access = perms
                .map(|p| AccessSet::parse_list(&p))
                .transpose()
                .map_err(CliError::from)?;
            dir.acl_revoke(&entity_ref(&entity)?, &principal_ref(&principal)?, access)
                .map_err(CliError::from)
        }
        AclCmd::Inherit { entity } => dir
            .acl_inherit(&entity_ref(&entity)?)
            .map_err(CliError::from),
        AclCmd::Show { entity } => {
            let view = dir
                .acl_show(&entity_ref(&entity)?)
                .map_err(CliError::from)?;
            match &view.inherited_from {
                Some(p) => println!("{} (inherits from {p})", view.entity),
                None => println!("{} (local sharing settings)", view.entity),
            }
            for e in &view.entries {
                println!("  {}\t{}", e.principal, e.access.join(","));
            }
            Ok(())
        }
    }
}

fn token(dir: &dyn Directory, cmd: TokenCmd) -> CliResult {
    match cmd {
        TokenCmd::Create {
            user,
            scopes,
            name,
            expires_in,
        } => {
            let scopes = ScopeSet::parse_list(&scopes).map_err(CliError::from)?;
            let expires_at = expires_in
                .map(|d| parse_duration(&d).map(|d| now_unix().saturating_add(d.as_secs() as i64)))
                .transpose()?;
            let owner = dir
                .user_credentials(&user)
                .map_err(CliError::from)?
                .ok_or_else(|| CliError(format!("user {user} not found")))?
                .user;
            let token = secret::generate_token(secret::ACCESS_TOKEN_PREFIX);
            dir.create_access_token(NewAccessToken {
                user: owner.id,
                name,
                hash: secret::hash_token(&token),
                scopes,
                expires_at,
            })
            .map_err(CliError::from)?;
            println!("{token}");
            Ok(())
        }
        TokenCmd::List { user } => {
            for t in dir.list_access_tokens(&user).map_err(CliError::from)? {
                let state = if t.revoked {
                    "revoked".to_string()
                } else {
                    match t.expires_at {
                        Some(e) if e <= now_unix() => "expired".into(),
                        Some(e) => format!("expires {}", rfc3339(e).unwrap_or_default()),
                        None => "no expiry".into(),
                    }
                };
                println!("{}\t{}\t{}\t{}", t.id, t.name, t.scopes, state);
            }
            Ok(())
        }
        TokenCmd::Revoke { id } => dir.revoke_access_token(id).map_err(CliError::from),
        TokenCmd::RevokeRefresh { user } => {
            let n = dir.revoke_refresh_tokens(&user).map_err(CliError::from)?;
            println!("{n}");
            Ok(())
        }
    }
}

fn repo(dir: &dyn Directory, cmd: RepoCmd) -> CliResult {
    match cmd {
        RepoCmd::List { project } => {
            let id: EntityId = project.parse().map_err(CliError::from)?;
            for r in dir.list_repositories(id).map_err(CliError::from)? {
                let kind = serde_json::to_value(r.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                println!("{}\t{}\t{}", r.id, kind, r.name);
            }
            Ok(())
        }
        RepoCmd::Tags { repo, sort } => {
            let path = RepoPath::parse(&repo).map_err(CliError::from)?;
            let sort = match sort.as_str() {
                "tag" => TagSort::Tag,
                "time" => TagSort::Time,
                _ => return Err(CliError("--sort must be tag or time".into())),
            };
            let (tags, _) = dir
                .list_tags(&path, sort, 0, usize::MAX >> 1)
                .map_err(CliError::from)?;
            for t in tags {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.tag,
                    t.digest,
                    rfc3339(t.pushed_at).unwrap_or_default(),
                    t.pusher
                );
            }
            Ok(())
        }
        RepoCmd::History { repo, tag } => {
            let path = RepoPath::parse(&repo).map_err(CliError::from)?;
            for t in dir.tag_history(&path, &tag).map_err(CliError::from)? {
                println!(
                    "{}\t{}\t{}",
                    rfc3339(t.pushed_at).unwrap_or_default(),
                    t.digest,
                    t.pusher
                );
            }
            Ok(())
        }
        RepoCmd::AddExternal { project, name } => {
            let id: EntityId = project.parse().map_err(CliError::from)?;
            parse_external(&name).map_err(CliError::from)?;
            let info = dir
                .add_external_repository(id, &name)
                .map_err(CliError::from)?;
            println!("{}", info.id);
            Ok(())
        }
    }
}

fn entity_ref(s: &str) -> Result<EntityRef, CliError> {
    s.parse().map_err(CliError)
}

fn principal_ref(s: &str) -> Result<PrincipalRef, CliError> {
    s.parse().map_err(CliError)
}

/// Reads one line from stdin and hashes it. Refuses to prompt-less read from a
/// terminal silently: with a TTY it says what it waits for.
fn new_password_hash() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(CliError::from)?;
    let pw = line.trim_end_matches(['\n', '\r']);
    password::check_password_policy(pw).map_err(CliError::from)?;
    password::hash_password(pw).map_err(CliError::from)
}

/// `30d`, `12h`, `90m`, `45s`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration, CliError> {
    let bad = || CliError(format!("invalid duration {s:?}: use e.g. 30d, 12h, 90m"));
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "d", "10", "10y", "-1d", "0h", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
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
    fn healthcheck_probes_the_plain_http_listener_of_the_configuration() {
        let mut s = Settings::default();
        s.server.listen = "0.0.0.0:6001".into();
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://127.0.0.1:6001/healthz".into())
        );
        s.server.tls_cert = Some("c.pem".into());
        s.server.tls_key = Some("k.pem".into());
        assert_eq!(
            default_probe(&s),
            Probe::Tcp("127.0.0.1:6001".parse().unwrap())
        );
        s.server.notifications_listen = "[::]:6002".into();
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://[::1]:6002/healthz".into())
        );
        s.server.notifications_listen = "10.1.2.3:6002".into();
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://10.1.2.3:6002/healthz".into())
        );
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
    }
}
