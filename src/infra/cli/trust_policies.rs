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
use crate::domain::ports::{OidcRejection, OidcVerifier, Pace};
use crate::infra::config::Settings;
use crate::infra::oidc::Verifier;
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
            let issuers = settings.oidc.workload_issuers();
            let issuer = settings.oidc.issuer_named(&issuer);
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
        TrustPolicyCmd::Explain { project } => {
            let project: EntityId = project.parse().map_err(CliError::from)?;
            explain(dir, settings, now, project)
        }
        TrustPolicyCmd::Remove { project, id } => {
            let project: EntityId = project.parse().map_err(CliError::from)?;
            Ok(trust_policies::remove(dir, &operator(), project, id, now)?)
        }
    }
}

/// The owner's view of why a token is (not) admitted: the token read from stdin,
/// verified as the token path would, then every policy of the project evaluated.
fn explain(
    dir: &dyn Directory,
    settings: &Settings,
    now: UnixTime,
    project: EntityId,
) -> CliResult {
    let mut token = String::new();
    std::io::stdin()
        .read_line(&mut token)
        .map_err(|e| CliError::Failed(format!("reading the token from stdin: {e}")))?;
    let verifier = Verifier::from_settings(&settings.oidc).map_err(CliError::from)?;
    let claims = match verifier.verify(token.trim(), now, Pace::MayBlock) {
        Ok(c) => c,
        Err(OidcRejection::Rejected(why)) => {
            return Err(CliError::Failed(format!(
                "the token is refused before any policy: {why}"
            )))
        }
        Err(OidcRejection::Unanswered(e)) => {
            return Err(CliError::Failed(format!(
                "the issuer's keys could not be had: {e}"
            )))
        }
    };
    outln!(
        "token: iss={} sub={} aud={}",
        Shown(&claims.issuer),
        Shown(&claims.subject),
        Shown(&claims.audience.join(","))
    );
    let verdicts = trust_policies::explain(dir, &operator(), project, &claims)?;
    if verdicts.is_empty() {
        outln!("{project} has no trust policy");
    }
    for (id, verdict) in verdicts {
        match verdict {
            Ok(matched) => outln!("policy {id}: matches ({})", Shown(&matched.join(" "))),
            Err(why) => outln!("policy {id}: {}", Shown(&why)),
        }
    }
    Ok(())
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
    let conditions: Vec<String> = v.conditions.iter().map(ToString::to_string).collect();
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
