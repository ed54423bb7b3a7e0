//! Presets: the conditions a trust policy for GitHub Actions, GitLab CI or a Kubernetes
//! service account needs, from the few facts its owner knows, with the provider's
//! immutable ids pinned (names are reused; ids are not) and the known traps closed
//! (GitLab's fork pipelines carry the fork's project claims, so the preset requires a
//! protected ref).

use serde::Deserialize;

use super::glob::{self, GlobError};
use crate::domain::model::{ClaimCondition, ClaimMatch};

/// What a preset is filled in with (the API's and the CLI's `preset` object).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Preset {
    /// A GitHub Actions workflow of one repository.
    GithubActions {
        /// `org/repo`.
        repository: String,
        repository_id: u64,
        repository_owner_id: u64,
        /// A glob on `ref` (e.g. `refs/heads/main`, `refs/tags/v*`); any ref when absent.
        #[serde(default, rename = "ref")]
        git_ref: Option<String>,
        #[serde(default)]
        environment: Option<String>,
    },
    /// A GitLab CI job of one project, on a protected ref.
    GitlabCi {
        /// `group/project`.
        project_path: String,
        project_id: u64,
        namespace_id: u64,
        #[serde(default, rename = "ref")]
        git_ref: Option<String>,
    },
    /// A Kubernetes service account's projected token.
    Kubernetes {
        namespace: String,
        service_account: String,
        service_account_uid: String,
    },
}

impl Preset {
    /// The conditions it stands for, ids pinned exactly.
    pub fn conditions(&self) -> Result<Vec<ClaimCondition>, GlobError> {
        let exact = |claim: &str, v: String| ClaimCondition {
            claim: claim.into(),
            matcher: ClaimMatch::Exact(v),
        };
        let globbed = |claim: &str, pattern: &str| -> Result<ClaimCondition, GlobError> {
            glob::validate(pattern)?;
            Ok(ClaimCondition {
                claim: claim.into(),
                matcher: ClaimMatch::Glob(pattern.into()),
            })
        };
        let mut out = Vec::new();
        match self {
            Preset::GithubActions {
                repository,
                repository_id,
                repository_owner_id,
                git_ref,
                environment,
            } => {
                out.push(exact("repository", repository.clone()));
                out.push(exact("repository_id", repository_id.to_string()));
                out.push(exact(
                    "repository_owner_id",
                    repository_owner_id.to_string(),
                ));
                if let Some(r) = git_ref {
                    out.push(globbed("ref", r)?);
                }
                if let Some(e) = environment {
                    out.push(exact("environment", e.clone()));
                }
            }
            Preset::GitlabCi {
                project_path,
                project_id,
                namespace_id,
                git_ref,
            } => {
                out.push(exact("project_path", project_path.clone()));
                out.push(exact("project_id", project_id.to_string()));
                out.push(exact("namespace_id", namespace_id.to_string()));
                out.push(exact("ref_protected", "true".into()));
                if let Some(r) = git_ref {
                    out.push(globbed("ref", r)?);
                }
            }
            Preset::Kubernetes {
                namespace,
                service_account,
                service_account_uid,
            } => {
                out.push(exact("kubernetes.io.namespace", namespace.clone()));
                out.push(exact(
                    "kubernetes.io.serviceaccount.name",
                    service_account.clone(),
                ));
                out.push(exact(
                    "kubernetes.io.serviceaccount.uid",
                    service_account_uid.clone(),
                ));
                out.push(exact(
                    "sub",
                    format!("system:serviceaccount:{namespace}:{service_account}"),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::federation::pins_ids;
    use crate::domain::model::{EntityId, NewTrustPolicy, TrustPolicy, UserId, WorkloadActions};

    fn policy_of(conditions: Vec<ClaimCondition>) -> TrustPolicy {
        TrustPolicy {
            id: 1,
            policy: NewTrustPolicy {
                project: EntityId(1),
                creator: UserId(1),
                issuer: "i".into(),
                audience: "a".into(),
                conditions,
                repositories: "*".into(),
                actions: WorkloadActions::PULL,
                max_lifetime_secs: 60,
                created_at: 0,
            },
            creator_name: "alice".into(),
        }
    }

    #[test]
    fn every_preset_pins_ids() {
        let presets = [
            r#"{"kind":"github-actions","repository":"org/tool","repository_id":42,"repository_owner_id":7,"ref":"refs/heads/main"}"#,
            r#"{"kind":"gitlab-ci","project_path":"g/p","project_id":5,"namespace_id":6}"#,
            r#"{"kind":"kubernetes","namespace":"ci","service_account":"builder","service_account_uid":"0b8c-uid"}"#,
        ];
        for json in presets {
            let preset: Preset = serde_json::from_str(json).unwrap();
            let conditions = preset.conditions().unwrap();
            assert!(pins_ids(&policy_of(conditions)), "{json}");
        }
    }

    #[test]
    fn gitlab_requires_a_protected_ref() {
        let preset: Preset = serde_json::from_str(
            r#"{"kind":"gitlab-ci","project_path":"g/p","project_id":5,"namespace_id":6}"#,
        )
        .unwrap();
        let c = preset.conditions().unwrap();
        assert!(c
            .iter()
            .any(|c| c.claim == "ref_protected" && c.matcher == ClaimMatch::Exact("true".into())));
    }

    #[test]
    fn unknown_fields_and_bad_globs_are_refused() {
        assert!(serde_json::from_str::<Preset>(
            r#"{"kind":"kubernetes","namespace":"a","service_account":"b","service_account_uid":"c","extra":1}"#
        )
        .is_err());
        let bad = Preset::GithubActions {
            repository: "o/r".into(),
            repository_id: 1,
            repository_owner_id: 2,
            git_ref: Some("refs/**".into()),
            environment: None,
        };
        assert!(bad.conditions().is_err());
    }
}
