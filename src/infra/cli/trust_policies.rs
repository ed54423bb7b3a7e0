//! `regauth trust-policy add|list|remove`: the operator's door to the same use cases the
//! API's `/api/v1/projects/{id}/trust-policies` calls.

use super::args::{AddTrustPolicy, TrustPolicyCmd};
use super::outln;
use super::{CliError, CliResult};
use crate::app::administer::trust_policies::{self, PolicyDraft, PolicyView};
use crate::app::permit::operator;
use crate::domain::federation::presets::Preset;
use crate::domain::model::{
    parse_lifetime, ClaimCondition, ClaimMatch, EntityId, UnixTime, WorkloadActions,
};
use crate::domain::ports::Directory;
use crate::infra::config::Settings;
use crate::infra::shown::Shown;

pub fn run(
    dir: &dyn Directory,
    settings: &Settings,
    now: UnixTime,
    cmd: TrustPolicyCmd,
) -> CliResult {
    match cmd {
        TrustPolicyCmd::Add(add) => {
            let AddTrustPolicy {
                project,
                creator,
                issuer,
                audience,
                repositories,
                actions,
                max_lifetime,
                claims,
                claim_globs,
                preset,
            } = *add;
            let project: EntityId = project.parse().map_err(CliError::from)?;
            let mut conditions = match preset {
                Some(json) => serde_json::from_str::<Preset>(&json)
                    .map_err(|e| CliError::Failed(format!("--preset: {e}")))?
                    .conditions()
                    .map_err(|e| CliError::Failed(format!("--preset: {e}")))?,
                None => Vec::new(),
            };
            for c in &claims {
                conditions.push(condition(c, "--claim", ClaimMatch::Exact)?);
            }
            for c in &claim_globs {
                conditions.push(condition(c, "--claim-glob", ClaimMatch::Glob)?);
            }
            let max_lifetime_secs = max_lifetime
                .map(|s| parse_lifetime(&s).map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)))
                .transpose()
                .map_err(CliError::from)?;
            let issuers: Vec<String> = settings
                .oidc
                .issuers
                .iter()
                .map(|i| i.iss().to_string())
                .collect();
            let issuer = settings
                .oidc
                .issuers
                .iter()
                .find(|i| i.name == issuer)
                .map_or(issuer, |i| i.iss().to_string());
            let draft = PolicyDraft {
                issuer,
                audience,
                conditions,
                repositories,
                actions: WorkloadActions::parse_list(&actions).map_err(CliError::Failed)?,
                max_lifetime_secs,
                creator: Some(creator),
            };
            let view = trust_policies::add(dir, &operator(), project, draft, &issuers, now)?;
            print(&view)
        }
        TrustPolicyCmd::List { project } => {
            let project: EntityId = project.parse().map_err(CliError::from)?;
            for view in trust_policies::list(dir, &operator(), project)? {
                print(&view)?;
            }
            Ok(())
        }
        TrustPolicyCmd::Remove { project, id } => {
            let project: EntityId = project.parse().map_err(CliError::from)?;
            Ok(trust_policies::remove(dir, &operator(), project, id, now)?)
        }
    }
}

/// `CLAIM=VALUE` as a condition.
fn condition(
    given: &str,
    flag: &str,
    matcher: impl Fn(String) -> ClaimMatch,
) -> Result<ClaimCondition, CliError> {
    let (claim, value) = given
        .split_once('=')
        .ok_or_else(|| CliError::Failed(format!("{flag} takes CLAIM=VALUE, got {given:?}")))?;
    Ok(ClaimCondition {
        claim: claim.to_string(),
        matcher: matcher(value.to_string()),
    })
}

/// One policy per line: id, repositories, actions, issuer, creator, the conditions, and
/// a warning when it matches names only.
fn print(v: &PolicyView) -> CliResult {
    let conditions: Vec<String> = v
        .conditions
        .iter()
        .map(|c| match &c.matcher {
            ClaimMatch::Exact(x) => format!("{}={x}", c.claim),
            ClaimMatch::Glob(p) => format!("{}~{p}", c.claim),
        })
        .collect();
    outln!(
        "{}\t{}/{}\t{}\t{}\taud={}\tcreator={}\t{}{}",
        v.id,
        v.project,
        Shown(&v.repositories),
        v.actions.join(","),
        Shown(&v.issuer),
        Shown(&v.audience),
        Shown(&v.creator),
        Shown(&conditions.join(" ")),
        if v.names_only {
            "\t(names only: pin an id)"
        } else {
            ""
        }
    );
    Ok(())
}
