//! The command line's grammar (clap): every command, argument and help text.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};

use crate::domain::model::TagSort;
use crate::infra::crypto::KeyAlgorithm;
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
    /// Trust policies: CI jobs that pull or push with their own OIDC token.
    #[command(subcommand, name = "trust-policy")]
    TrustPolicy(TrustPolicyCmd),
    /// Move a project or repository to the trash (everything under it is refused).
    Trash { entity: String },
    /// Restore a project or repository from the trash.
    Restore { entity: String },
    /// Docker repositories and their tags.
    #[command(subcommand)]
    Repo(RepoCmd),
    /// Why USER (logging in with a password) gets or is refused each action of each
    /// SCOPE, e.g. `regauth explain alice repository:syn123/tool:pull,push`.
    Explain {
        user: String,
        #[arg(required = true)]
        scope: Vec<String>,
    },
    /// The audit trail, newest first.
    Audit {
        /// Only records whose actor or subject is this user.
        #[arg(long)]
        user: Option<String>,
        /// Only records from this long ago on, e.g. 1h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
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
    /// Bring the configured directory's schema up to date and exit (`serve` does it
    /// too; replicas starting together take turns).
    Migrate,
    /// The directory as a whole: moving it between backends.
    #[command(subcommand)]
    Directory(DirectoryCmd),
    /// Print SHELL's completion script on standard output (the Debian package installs
    /// them), e.g. `regauth completions bash > /etc/bash_completion.d/regauth`. Needs no
    /// configuration.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages into DIR (created if missing): regauth.1 and one page per
    /// subcommand, e.g. regauth-user-add.1. Needs no configuration.
    Manpage {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCmd {
    /// Copy a SQLite directory (users with their password hashes, teams, projects with
    /// their ids, sharing settings, trash, tokens, repositories, commits, access
    /// requests, the audit trail) into an empty PostgreSQL database, in one transaction,
    /// checking every table's row count. Stop the server writing FROM first.
    Copy {
        /// The SQLite file (directory.path); its audit trail is read beside it.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL URL, postgres://user:password@host:port/database (better
        /// given in REGAUTH_COPY_TO than on the command line, which `ps` shows).
        #[arg(long, env = "REGAUTH_COPY_TO", hide_env_values = true)]
        to: String,
        /// Empty a non-empty target first (in the same transaction).
        #[arg(long)]
        replace: bool,
    },
    /// Write a consistent backup of the directory and its audit trail to FILE while the
    /// server serves (one portable file, private, written whole or not at all, with a
    /// manifest: format, schema version, row counts, a checksum). The signing keys are
    /// not in it: back up `keys.dir` beside it.
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into the configured directory (SQLite or PostgreSQL; stop the
    /// server first). Checks the file whole first; refuses a directory that holds users
    /// or projects unless --replace.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        replace: bool,
    },
    /// Check what the schema cannot: the engine's own integrity and foreign keys, that
    /// every ACL principal and every repository's project exists, that tag history
    /// belongs to repositories, the caches' counter. One line per finding; exit 1 when
    /// any.
    Check,
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
        /// Signing algorithm (default: token.algorithm).
        #[arg(long, value_enum)]
        algorithm: Option<KeyAlgorithm>,
        /// Also rewrite the certificate bundle (keys.bundle) with every certificate.
        #[arg(long)]
        bundle: bool,
    },
    /// Rotation step 1: add a key and rewrite the bundle. Then restart the registry (it
    /// trusts the new certificate and the old), then regauth (it signs with the new key).
    Rotate {
        /// Signing algorithm of the new key (default: token.algorithm).
        #[arg(long, value_enum)]
        algorithm: Option<KeyAlgorithm>,
    },
    /// Every key: kid, algorithm, which one signs, and when an old one may be retired.
    List,
    /// Rotation's last step: remove an old key once no unexpired token can carry it,
    /// and rewrite the bundle.
    Retire { kid: String },
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
        /// An e-mail address the user may log in with in place of the name.
        #[arg(long)]
        email: Option<String>,
    },
    /// Make a federated account password-less: it then signs in only through its
    /// identity provider (refused for an account no provider is linked to).
    RemovePassword { name: String },
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
        /// Read a new password from standard input (ends the user's refresh tokens,
        /// i.e. every `docker login` made with the old one).
        #[arg(long)]
        password_stdin: bool,
        /// Also revoke every personal access token of the user.
        #[arg(long)]
        revoke_tokens: bool,
        /// A new e-mail address to log in with.
        #[arg(long, conflicts_with = "no_email")]
        email: Option<String>,
        /// Remove the user's e-mail address.
        #[arg(long)]
        no_email: bool,
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

/// `regauth trust-policy add`.
#[derive(Debug, clap::Args)]
pub struct AddTrustPolicy {
    pub project: String,
    /// The user whose rights the policy acts with (intersected at every request).
    #[arg(long)]
    pub creator: String,
    /// A configured issuer's name or its `iss` (oidc.issuers).
    #[arg(long)]
    pub issuer: String,
    /// The `aud` the jobs request their token for.
    #[arg(long)]
    pub audience: String,
    /// A glob over repository names in the project (`tool`, `tool-*`, `*`).
    #[arg(long)]
    pub repositories: String,
    /// pull, push or pull,push.
    #[arg(long, default_value = "pull")]
    pub actions: String,
    /// The longest life of a registry token it yields (15m by default, at most 1h).
    #[arg(long)]
    pub max_lifetime: Option<String>,
    /// CLAIM=VALUE, exactly (repeatable); nested claims by dotted path.
    #[arg(long = "claim")]
    pub claims: Vec<String>,
    /// CLAIM=PATTERN, an anchored glob whose `*` never crosses `/` or `:`.
    #[arg(long = "claim-glob")]
    pub claim_globs: Vec<String>,
    /// A preset as JSON, e.g. '{"kind":"github-actions","repository":"org/tool",
    /// "repository_id":42,"repository_owner_id":7,"ref":"refs/heads/main"}'.
    #[arg(long)]
    pub preset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrustPolicyCmd {
    /// Let jobs whose OIDC token meets every condition pull (or push) PROJECT's
    /// repositories matching --repositories, with --creator's rights at each request.
    Add(Box<AddTrustPolicy>),
    /// List PROJECT's trust policies (names-only ones flagged).
    List { project: String },
    /// Remove policy ID of PROJECT.
    Remove { project: String, id: i64 },
    /// Read a workload's OIDC token on stdin, verify it against the configured issuers,
    /// and tell for each of PROJECT's policies whether it matches, or which condition
    /// failed (the claim, its value, what the policy wants).
    Explain { project: String },
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
        /// Lifetime, e.g. 30d, 12h, 90m, 1h30m (default: never expires).
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
        /// tag, or time (newest first).
        #[arg(long, value_enum, default_value = "tag")]
        sort: TagSort,
    },
    /// Every commit of one tag, newest first.
    History { repo: String, tag: String },
    /// Record an image in another registry under a project (listed, never authorized).
    AddExternal { project: String, name: String },
}

impl ValueEnum for TagSort {
    fn value_variants<'a>() -> &'a [Self] {
        &[TagSort::Tag, TagSort::Time]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            TagSort::Tag => PossibleValue::new("tag"),
            TagSort::Time => PossibleValue::new("time").help("newest first"),
        })
    }
}
