//! "Why was I refused?" for a caller's own credential (`/api/v1/me/explain`), and for
//! an admin on anyone's behalf (`regauth explain USER SCOPE`, as that user's password
//! would be judged). The words are `domain::authz::explain`'s.

use super::issue_token::gather;
use super::operations::{ExplainForUser, ExplainOwnAccess};
use super::permit::Permit;
use super::{AppError, AppResult};
use crate::domain::authz::explain::{explain, explain_to_admin, Verdict};
use crate::domain::authz::Caller;
use crate::domain::model::ScopeSet;
use crate::domain::ports::{AuthorizationFacts, Directory, Pace};
use crate::domain::scope::{parse_scope_params, ScopeLimits};

/// The verdicts for one requested scope.
#[derive(Debug, Clone)]
pub struct ScopeExplanation {
    /// The scope as parsed (`repository:syn123/tool:pull,push`).
    pub scope: String,
    pub verdicts: Vec<Verdict>,
}

/// Explains each of `scopes` (the values of `scope` parameters) for the permit's holder,
/// as its own credential would be judged.
pub fn for_caller(
    facts: &dyn AuthorizationFacts,
    permit: &Permit<ExplainOwnAccess>,
    scopes: &[String],
    limits: ScopeLimits,
) -> AppResult<Vec<ScopeExplanation>> {
    let anonymous = Caller::anonymous();
    let caller = permit.caller().unwrap_or(&anonymous);
    judge(facts, caller, scopes, limits, explain)
}

type Explainer = fn(&Caller, &crate::domain::authz::Target, &[String]) -> Vec<Verdict>;

fn judge(
    facts: &dyn AuthorizationFacts,
    caller: &Caller,
    scopes: &[String],
    limits: ScopeLimits,
    explainer: Explainer,
) -> AppResult<Vec<ScopeExplanation>> {
    let (parsed, rejected) = parse_scope_params(scopes.iter().map(String::as_str), limits)
        .map_err(|e| AppError::Invalid(format!("scope: {e}")))?;
    if let Some(bad) = rejected.first() {
        return Err(AppError::Invalid(format!(
            "scope: {bad:?} is not type:name:actions, e.g. repository:syn123/tool:pull"
        )));
    }
    if parsed.is_empty() {
        return Err(AppError::Invalid(
            "scope: give one, e.g. scope=repository:syn123/tool:pull,push".into(),
        ));
    }
    parsed
        .into_iter()
        .map(|scope| {
            let target = gather(facts, &scope)?;
            Ok(ScopeExplanation {
                verdicts: explainer(caller, &target, &scope.actions),
                scope: scope.to_string(),
            })
        })
        .collect()
}

/// Explains `scopes` for user `name` logging in with a password (admins only, who are
/// told the real reason even where the user would be told "not found").
pub fn for_user(
    store: &dyn Directory,
    _: &Permit<ExplainForUser>,
    name: &str,
    scopes: &[String],
    limits: ScopeLimits,
) -> AppResult<Vec<ScopeExplanation>> {
    let user = store
        .user_credentials(name, Pace::MayBlock)?
        .ok_or_else(|| AppError::NotFound(format!("user {name}")))?
        .user;
    if user.disabled {
        return Err(AppError::Invalid(format!(
            "user {name} is disabled: every credential is refused"
        )));
    }
    let caller = Caller::of_user(
        &user,
        store.teams_of(user.id, Pace::MayBlock)?,
        ScopeSet::PASSWORD,
    );
    judge(store, &caller, scopes, limits, explain_to_admin)
}
