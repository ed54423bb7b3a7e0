//! People who sign in with an OpenID Connect provider: which local account a verified
//! ID token signs in as, and which teams its groups put the account in. Pure rules:
//! the use case (`app::federated_sign_in`) gathers the facts and writes the outcome.
//!
//! A person is matched by the provider's stable subject only: display names and
//! e-mail addresses change hands, a `sub` does not. An existing local account is
//! linked by e-mail only when the provider says the address is verified — otherwise
//! anyone who can type someone else's address at the provider would take over their
//! account here.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::model::{Email, NameError, User, UserName};

/// The parts of a provider's settings the rules read.
#[derive(Debug, Clone)]
pub struct ProviderRules<'a> {
    pub name: &'a str,
    pub username_claim: &'a str,
    pub email_claim: &'a str,
    /// Group → team: the only teams a sign-in adds to or removes from.
    pub team_mapping: &'a BTreeMap<String, String>,
    pub create_users: bool,
}

/// What the verified ID token says of the person: the stable `sub`, every claim
/// flattened (booleans as `"true"`/`"false"`), and the groups claim's values (a list,
/// which the flattened map leaves out).
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub subject: String,
    pub claims: BTreeMap<String, String>,
    pub groups: Vec<String>,
}

impl Person {
    /// Whether the provider vouches for the e-mail address (OIDC Core §5.1:
    /// `email_verified`, a boolean; anything else is "no").
    pub fn email_verified(&self) -> bool {
        self.claims.get("email_verified").map(String::as_str) == Some("true")
    }
}

/// The local accounts a sign-in could concern, as the directory holds them now.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The user this provider's subject is linked to.
    pub linked: Option<User>,
    /// The user whose e-mail address is the token's (compared lower-case).
    pub same_email: Option<User>,
    /// Whether that user is already linked to another subject of this provider.
    pub same_email_linked_here: bool,
    /// Whether a user already has the name the username claim gives.
    pub name_taken: bool,
}

/// What a sign-in does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The subject is linked: sign in as that user.
    SignIn(User),
    /// Link the subject to this existing local account (its verified e-mail matched),
    /// then sign in as it. Audited.
    Link(User),
    /// Create this user, link the subject, sign in.
    Create {
        name: UserName,
        email: Option<Email>,
    },
}

/// Why a sign-in is refused. The messages are shown to the person signing in: they
/// name no other account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this account is disabled")]
    Disabled,
    #[error("an account with this e-mail address exists, but {provider} does not say the address is verified: ask an administrator to link the accounts")]
    EmailUnverified { provider: String },
    #[error(
        "the account with this e-mail address is already linked to another {provider} identity"
    )]
    LinkedElsewhere { provider: String },
    #[error("no account here is linked to this {provider} identity, and {provider} sign-ins do not create accounts: ask an administrator")]
    NoAccount { provider: String },
    #[error("{provider} gives no user name (claim {claim:?})")]
    NoUserName { provider: String, claim: String },
    #[error("the user name {provider} gives is not valid here: {name_error}")]
    BadUserName {
        provider: String,
        name_error: NameError,
    },
    #[error("the user name {name:?} is taken by another account: ask an administrator")]
    NameTaken { name: String },
}

impl Refusal {
    /// A short, stable reason for the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Disabled => "disabled",
            Refusal::EmailUnverified { .. } => "email_unverified",
            Refusal::LinkedElsewhere { .. } => "linked_elsewhere",
            Refusal::NoAccount { .. } => "no_account",
            Refusal::NoUserName { .. } => "no_user_name",
            Refusal::BadUserName { .. } => "bad_user_name",
            Refusal::NameTaken { .. } => "name_taken",
        }
    }
}

/// The e-mail address the token gives, when it is one.
pub fn email_of(rules: &ProviderRules<'_>, person: &Person) -> Option<Email> {
    person
        .claims
        .get(rules.email_claim)
        .and_then(|a| Email::parse(a).ok())
}

/// The user name the token gives, checked by the name policy.
pub fn user_name_of(rules: &ProviderRules<'_>, person: &Person) -> Result<UserName, Refusal> {
    let provider = rules.name.to_owned();
    let raw = person
        .claims
        .get(rules.username_claim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Refusal::NoUserName {
            provider: provider.clone(),
            claim: rules.username_claim.to_owned(),
        })?;
    UserName::parse(raw).map_err(|name_error| Refusal::BadUserName {
        provider,
        name_error,
    })
}

/// Which account `person` signs in as, given the `facts`.
pub fn decide(
    rules: &ProviderRules<'_>,
    person: &Person,
    facts: Facts,
) -> Result<Decision, Refusal> {
    let provider = || rules.name.to_owned();
    if let Some(user) = facts.linked {
        if user.disabled {
            return Err(Refusal::Disabled);
        }
        return Ok(Decision::SignIn(user));
    }
    if let Some(user) = facts.same_email {
        if !person.email_verified() {
            return Err(Refusal::EmailUnverified {
                provider: provider(),
            });
        }
        if facts.same_email_linked_here {
            return Err(Refusal::LinkedElsewhere {
                provider: provider(),
            });
        }
        if user.disabled {
            return Err(Refusal::Disabled);
        }
        return Ok(Decision::Link(user));
    }
    if !rules.create_users {
        return Err(Refusal::NoAccount {
            provider: provider(),
        });
    }
    let name = user_name_of(rules, person)?;
    if facts.name_taken {
        return Err(Refusal::NameTaken {
            name: name.as_str().to_owned(),
        });
    }
    // An unverified address is not kept: it would let a later sign-in (or a login by
    // e-mail) treat it as this person's.
    let email = email_of(rules, person).filter(|_| person.email_verified());
    Ok(Decision::Create { name, email })
}

/// The team changes a sign-in makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamChanges {
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

/// From the person's groups and the mapping, the teams to join and to leave, given the
/// mapped teams the user is in now (`current`). Only teams the mapping names are ever
/// touched: memberships an administrator gave by hand in other teams stay. A team
/// several groups map to is kept while any of them is held.
pub fn team_changes(
    mapping: &BTreeMap<String, String>,
    groups: &[String],
    current: &BTreeSet<String>,
) -> TeamChanges {
    let held: BTreeSet<&str> = groups.iter().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = mapping
        .iter()
        .filter(|(group, _)| held.contains(group.as_str()))
        .map(|(_, team)| team.as_str())
        .collect();
    let mapped: BTreeSet<&str> = mapping.values().map(String::as_str).collect();
    TeamChanges {
        add: wanted
            .iter()
            .filter(|t| !current.contains(**t))
            .map(|t| t.to_string())
            .collect(),
        remove: mapped
            .iter()
            .filter(|t| current.contains(**t) && !wanted.contains(**t))
            .map(|t| t.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::UserId;

    fn mapping() -> BTreeMap<String, String> {
        [
            ("eng", "developers"),
            ("ops", "operators"),
            ("sre", "operators"),
        ]
        .map(|(g, t)| (g.to_string(), t.to_string()))
        .into()
    }

    fn rules(mapping: &BTreeMap<String, String>, create_users: bool) -> ProviderRules<'_> {
        ProviderRules {
            name: "corp",
            username_claim: "preferred_username",
            email_claim: "email",
            team_mapping: mapping,
            create_users,
        }
    }

    fn person(name: &str, email: &str, verified: bool) -> Person {
        let claims = [
            ("sub", "u-0001"),
            ("preferred_username", name),
            ("email", email),
            ("email_verified", if verified { "true" } else { "false" }),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        Person {
            subject: "u-0001".into(),
            claims,
            groups: Vec::new(),
        }
    }

    fn user(name: &str, disabled: bool) -> User {
        User {
            id: UserId(7),
            name: name.into(),
            certified: true,
            admin: false,
            disabled,
            email: Some(format!("{name}@example.org")),
        }
    }

    #[test]
    fn a_linked_subject_signs_in_as_its_user_whatever_its_names_say_now() {
        let m = mapping();
        let facts = Facts {
            linked: Some(user("alice", false)),
            // Another account has the name and address the token gives now: ignored.
            same_email: Some(user("mallory", false)),
            name_taken: true,
            ..Facts::default()
        };
        let p = person("mallory", "mallory@example.org", true);
        assert_eq!(
            decide(&rules(&m, false), &p, facts),
            Ok(Decision::SignIn(user("alice", false)))
        );
    }

    #[test]
    fn a_disabled_account_is_refused_linked_or_by_email() {
        let m = mapping();
        let p = person("alice", "alice@example.org", true);
        let linked = Facts {
            linked: Some(user("alice", true)),
            ..Facts::default()
        };
        assert_eq!(decide(&rules(&m, true), &p, linked), Err(Refusal::Disabled));
        let by_email = Facts {
            same_email: Some(user("alice", true)),
            ..Facts::default()
        };
        assert_eq!(
            decide(&rules(&m, true), &p, by_email),
            Err(Refusal::Disabled)
        );
    }

    #[test]
    fn an_existing_account_is_linked_only_by_a_verified_email() {
        let m = mapping();
        let facts = || Facts {
            same_email: Some(user("alice", false)),
            ..Facts::default()
        };
        let verified = person("someone", "alice@example.org", true);
        assert_eq!(
            decide(&rules(&m, true), &verified, facts()),
            Ok(Decision::Link(user("alice", false)))
        );
        let unverified = person("someone", "alice@example.org", false);
        let refused = decide(&rules(&m, true), &unverified, facts());
        assert!(
            matches!(refused, Err(Refusal::EmailUnverified { .. })),
            "{refused:?}"
        );
        // A missing or odd `email_verified` is not a yes.
        let mut odd = verified.clone();
        odd.claims.insert("email_verified".into(), "yes".into());
        assert!(!odd.email_verified());
        odd.claims.remove("email_verified");
        assert!(!odd.email_verified());
        assert!(decide(&rules(&m, true), &odd, facts()).is_err());
    }

    #[test]
    fn an_account_linked_to_another_subject_of_the_provider_is_not_linked_again() {
        let m = mapping();
        let facts = Facts {
            same_email: Some(user("alice", false)),
            same_email_linked_here: true,
            ..Facts::default()
        };
        let p = person("alice", "alice@example.org", true);
        assert!(matches!(
            decide(&rules(&m, true), &p, facts),
            Err(Refusal::LinkedElsewhere { .. })
        ));
    }

    #[test]
    fn an_unknown_person_is_created_only_when_the_provider_creates_users() {
        let m = mapping();
        let p = person("carol", "Carol@Example.org", true);
        assert_eq!(
            decide(&rules(&m, true), &p, Facts::default()),
            Ok(Decision::Create {
                name: UserName::parse("carol").unwrap(),
                email: Some(Email::parse("carol@example.org").unwrap()),
            })
        );
        assert!(matches!(
            decide(&rules(&m, false), &p, Facts::default()),
            Err(Refusal::NoAccount { .. })
        ));
        // An unverified address is not kept on a new account.
        let unverified = person("carol", "carol@example.org", false);
        assert!(matches!(
            decide(&rules(&m, true), &unverified, Facts::default()),
            Ok(Decision::Create { email: None, .. })
        ));
    }

    #[test]
    fn a_new_name_must_pass_the_name_policy_and_be_free() {
        let m = mapping();
        for bad in ["", "public", "a b", "ünï", "x/y"] {
            let p = person(bad, "x@example.org", true);
            let refused = decide(&rules(&m, true), &p, Facts::default());
            assert!(
                matches!(
                    refused,
                    Err(Refusal::BadUserName { .. } | Refusal::NoUserName { .. })
                ),
                "{bad:?}: {refused:?}"
            );
        }
        let mut nameless = person("carol", "carol@example.org", true);
        nameless.claims.remove("preferred_username");
        assert!(matches!(
            decide(&rules(&m, true), &nameless, Facts::default()),
            Err(Refusal::NoUserName { .. })
        ));
        let taken = Facts {
            name_taken: true,
            ..Facts::default()
        };
        let p = person("carol", "carol@example.org", true);
        assert_eq!(
            decide(&rules(&m, true), &p, taken),
            Err(Refusal::NameTaken {
                name: "carol".into()
            })
        );
    }

    #[test]
    fn teams_follow_the_mapped_groups_only() {
        let m = mapping();
        let set = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // First sign-in: joins the mapped teams; unmapped groups do nothing.
        assert_eq!(
            team_changes(&m, &groups(&["eng", "marketing"]), &set(&[])),
            TeamChanges {
                add: vec!["developers".into()],
                remove: vec![],
            }
        );
        // Group gone: the team is left; a hand-given team the mapping does not name stays.
        assert_eq!(
            team_changes(&m, &groups(&["ops"]), &set(&["developers", "auditors"])),
            TeamChanges {
                add: vec!["operators".into()],
                remove: vec!["developers".into()],
            }
        );
        // A team two groups map to stays while one of them is held.
        assert_eq!(
            team_changes(&m, &groups(&["sre"]), &set(&["operators"])),
            TeamChanges::default()
        );
        assert_eq!(
            team_changes(&m, &[], &set(&["operators", "developers"])),
            TeamChanges {
                add: vec![],
                remove: vec!["developers".into(), "operators".into()],
            }
        );
    }
}
