//! The administration commands: each parses its arguments, calls the one use case in
//! `app` that the HTTP API calls too (with the operator's permit: the shell's owner
//! passes every check), and prints the result.

use std::io::{BufRead, IsTerminal};

use super::args::{
    AclCmd, Command, DirectoryCmd, MemberCmd, ProjectCmd, RepoCmd, TeamCmd, TokenCmd, UserCmd,
};
use super::outln;
use super::{CliError, CliResult};
use crate::app::administer::{external, projects, sharing, teams, tokens, trash, users};
use crate::app::permit::operator;
use crate::app::{browse, explain};
use crate::domain::audit::AuditFilter;
use crate::domain::model::{
    rfc3339, AccessSet, EntityId, EntityRef, PrincipalRef, ScopeSet, UnixTime,
};
use crate::domain::ports::Directory;
use crate::domain::repo_name::RepoPath;
use crate::infra::config::Settings;
use crate::infra::shown::Shown;

/// Runs an administration command against the directory.
pub fn run(dir: &dyn Directory, settings: &Settings, now: UnixTime, command: Command) -> CliResult {
    match command {
        Command::User(cmd) => user(dir, now, cmd),
        Command::Team(TeamCmd::Add { name }) => {
            teams::add(dir, &operator(), &name, now)?;
            Ok(())
        }
        Command::Team(TeamCmd::Member(MemberCmd::Add { team, user })) => {
            Ok(teams::add_member(dir, &operator(), &team, &user, now)?)
        }
        Command::Team(TeamCmd::Member(MemberCmd::Remove { team, user })) => {
            Ok(teams::remove_member(dir, &operator(), &team, &user, now)?)
        }
        Command::Project(ProjectCmd::Add { name, owner, id }) => {
            let id = id
                .map(|s| s.parse::<EntityId>())
                .transpose()
                .map_err(CliError::from)?;
            let id = projects::add(dir, &operator(), &name, &owner, id, now)?;
            outln!("{id}");
            Ok(())
        }
        Command::Project(ProjectCmd::List) => {
            for p in projects::list(dir, &operator())? {
                outln!(
                    "{}\t{}{}",
                    p.id,
                    Shown(&p.name),
                    if p.trashed { "\t(in trash)" } else { "" }
                );
            }
            Ok(())
        }
        Command::Acl(cmd) => acl(dir, now, cmd),
        Command::Token(cmd) => token(dir, now, cmd),
        Command::TrustPolicy(cmd) => super::trust_policies::run(dir, settings, now, cmd),
        Command::Trash { entity } => {
            Ok(trash::trash(dir, &operator(), &entity_ref(&entity)?, now)?)
        }
        Command::Restore { entity } => {
            trash::restore(dir, &operator(), &entity_ref(&entity)?, now)?;
            Ok(())
        }
        Command::Repo(cmd) => repo(dir, settings, now, cmd),
        Command::Explain { user, scope } => {
            let limits = crate::domain::scope::ScopeLimits {
                max_scopes: settings.token.max_scopes,
                ..Default::default()
            };
            for s in explain::for_user(dir, &operator(), &user, &scope, limits)? {
                outln!("{}", Shown(&s.scope));
                for v in s.verdicts {
                    match v.refusal {
                        None => outln!("  {}: granted", Shown(&v.action)),
                        Some(r) => outln!(
                            "  {}: refused, {} ({})",
                            Shown(&v.action),
                            r.words(),
                            r.code()
                        ),
                    }
                }
            }
            Ok(())
        }
        Command::Audit {
            user,
            since,
            limit,
            json,
        } => audit(dir, now, user, since, limit, json),
        Command::Directory(DirectoryCmd::Check) => check(dir),
        Command::Serve
        | Command::Keys(_)
        | Command::Certs(_)
        | Command::Healthcheck { .. }
        | Command::Completions { .. }
        | Command::Manpage { .. }
        | Command::Migrate
        | Command::Directory(
            DirectoryCmd::Copy { .. } | DirectoryCmd::Backup { .. } | DirectoryCmd::Restore { .. },
        ) => Ok(()),
    }
}

/// `directory check`: one line per finding on stdout, then exit 1 when any.
fn check(dir: &dyn Directory) -> CliResult {
    let (checks, findings) = dir.check_integrity().map_err(CliError::from)?;
    for f in &findings {
        outln!("{}", Shown(f));
    }
    if findings.is_empty() {
        outln!("directory check: sound ({checks} checks)");
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "directory check: {} finding(s) in {checks} checks",
            findings.len()
        )))
    }
}

fn user(dir: &dyn Directory, now: UnixTime, cmd: UserCmd) -> CliResult {
    match cmd {
        UserCmd::Add {
            name,
            certified,
            admin,
            no_password,
            email,
        } => {
            let password = if no_password {
                None
            } else {
                Some(read_password()?)
            };
            let request = users::UserRequest {
                name: &name,
                password: password.as_deref(),
                certified,
                admin,
                email: email.as_deref(),
            };
            users::add(dir, &operator(), request, now)?;
            Ok(())
        }
        UserCmd::RemovePassword { name } => {
            let done = users::remove_password(dir, &operator(), &name, now)?;
            eprintln!("revoked {} refresh token(s)", done.refresh_tokens_ended);
            Ok(())
        }
        UserCmd::Set {
            name,
            certified,
            admin,
            disabled,
            password_stdin,
            revoke_tokens,
            email,
            no_email,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let changes = users::UserChanges {
                certified,
                admin,
                disabled,
                password,
                email: if no_email {
                    Some(None)
                } else {
                    email.map(Some)
                },
                revoke_access_tokens: revoke_tokens,
            };
            let done = users::set(dir, &operator(), &name, changes, now)?;
            if done.refresh_tokens_ended > 0 || disabled == Some(true) || password_stdin {
                eprintln!("revoked {} refresh token(s)", done.refresh_tokens_ended);
            }
            if revoke_tokens {
                eprintln!("revoked {} access token(s)", done.access_tokens_ended);
            }
            Ok(())
        }
        UserCmd::List => {
            for u in users::list(dir, &operator())? {
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
                match &u.email {
                    Some(email) => {
                        outln!("{}\t{}\t{}", Shown(&u.name), flags.join(","), Shown(email))
                    }
                    None => outln!("{}\t{}", Shown(&u.name), flags.join(",")),
                }
            }
            Ok(())
        }
    }
}

fn acl(dir: &dyn Directory, now: UnixTime, cmd: AclCmd) -> CliResult {
    match cmd {
        AclCmd::Grant {
            entity,
            principal,
            perms,
        } => {
            let access = AccessSet::parse_list(&perms).map_err(CliError::from)?;
            let (entity, principal) = (entity_ref(&entity)?, principal_ref(&principal)?);
            sharing::grant(dir, &operator(), &entity, &principal, access, now)?;
            Ok(())
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
            let (entity, principal) = (entity_ref(&entity)?, principal_ref(&principal)?);
            sharing::revoke(dir, &operator(), &entity, &principal, access, now)?;
            Ok(())
        }
        AclCmd::Inherit { entity } => {
            sharing::inherit(dir, &operator(), &entity_ref(&entity)?, now)?;
            Ok(())
        }
        AclCmd::Show { entity } => {
            let view = sharing::show(dir, &operator(), &entity_ref(&entity)?)?;
            match &view.inherited_from {
                Some(p) => outln!("{} (inherits from {p})", Shown(&view.entity)),
                None => outln!("{} (local sharing settings)", Shown(&view.entity)),
            }
            for (principal, access) in &view.entries {
                outln!("  {}\t{access}", Shown(principal));
            }
            Ok(())
        }
    }
}

fn token(dir: &dyn Directory, now: UnixTime, cmd: TokenCmd) -> CliResult {
    match cmd {
        TokenCmd::Create {
            user,
            scopes,
            name,
            expires_in,
        } => {
            let scopes = ScopeSet::parse_list(&scopes).map_err(CliError::from)?;
            let expires_in = expires_in
                .as_deref()
                .map(super::parse_duration)
                .transpose()?;
            let created = tokens::create(dir, &operator(), &user, &name, scopes, expires_in, now)?;
            outln!("{}", created.secret);
            Ok(())
        }
        TokenCmd::List { user } => {
            for t in tokens::list(dir, &operator(), &user)? {
                let state = if t.revoked {
                    "revoked".to_string()
                } else {
                    match t.expires_at {
                        Some(e) if e <= now => "expired".into(),
                        Some(e) => format!("expires {}", rfc3339(e).unwrap_or_default()),
                        None => "no expiry".into(),
                    }
                };
                outln!("{}\t{}\t{}\t{}", t.id, Shown(&t.name), t.scopes, state);
            }
            Ok(())
        }
        TokenCmd::Revoke { id } => Ok(tokens::revoke(dir, &operator(), id, now)?),
        TokenCmd::RevokeRefresh { user } => {
            let n = tokens::revoke_refresh(dir, &operator(), &user, now)?;
            outln!("{n}");
            Ok(())
        }
    }
}

fn repo(dir: &dyn Directory, settings: &Settings, now: UnixTime, cmd: RepoCmd) -> CliResult {
    match cmd {
        RepoCmd::List { project } => {
            let id: EntityId = project.parse().map_err(CliError::from)?;
            for r in browse::project_repositories(dir, &operator(), id)? {
                outln!("{}\t{}\t{}", r.id, r.kind.as_str(), Shown(&r.name));
            }
            Ok(())
        }
        RepoCmd::Tags { repo, sort } => {
            let path = RepoPath::parse(&repo).map_err(CliError::from)?;
            let (tags, _) = browse::tags(dir, &operator(), &path, sort, 0, usize::MAX >> 1)?;
            for t in tags {
                outln!(
                    "{}\t{}\t{}\t{}",
                    Shown(&t.tag),
                    Shown(&t.digest),
                    rfc3339(t.pushed_at).unwrap_or_default(),
                    Shown(&t.pusher)
                );
            }
            Ok(())
        }
        RepoCmd::History { repo, tag } => {
            let path = RepoPath::parse(&repo).map_err(CliError::from)?;
            for t in browse::history(dir, &operator(), &path, &tag)? {
                outln!(
                    "{}\t{}\t{}",
                    rfc3339(t.pushed_at).unwrap_or_default(),
                    Shown(&t.digest),
                    Shown(&t.pusher)
                );
            }
            Ok(())
        }
        RepoCmd::AddExternal { project, name } => {
            let id: EntityId = project.parse().map_err(CliError::from)?;
            let hosts = &settings.notifications.registry_hosts;
            let info = external::add(dir, &operator(), id, &name, hosts, now)?;
            outln!("{}", info.id);
            Ok(())
        }
    }
}

fn audit(
    dir: &dyn Directory,
    now: UnixTime,
    user: Option<String>,
    since: Option<String>,
    limit: usize,
    json: bool,
) -> CliResult {
    let since = since
        .as_deref()
        .map(super::parse_duration)
        .transpose()?
        .map(|d| now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
    let filter = AuditFilter { user, since, limit };
    for e in dir.query(&filter).map_err(CliError::from)? {
        if json {
            let line = serde_json::to_string(&e).map_err(CliError::from)?;
            outln!("{line}");
        } else {
            let at = rfc3339(e.at).unwrap_or_default();
            let ip = Shown(e.client_ip.as_deref().unwrap_or("-"));
            let times = if e.count > 1 {
                format!(" x{}", e.count)
            } else {
                String::new()
            };
            outln!(
                "{at}\t{}{times}\t{}\t{}\t{ip}\t{}",
                Shown(&e.kind),
                Shown(or_dash(&e.actor)),
                Shown(or_dash(&e.subject)),
                Shown(&e.detail)
            );
        }
    }
    Ok(())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn entity_ref(s: &str) -> Result<EntityRef, CliError> {
    s.parse().map_err(CliError::Failed)
}

fn principal_ref(s: &str) -> Result<PrincipalRef, CliError> {
    s.parse().map_err(CliError::Failed)
}

/// Reads one line from stdin (the password). With a terminal it says what it waits for.
fn read_password() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(CliError::from)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
