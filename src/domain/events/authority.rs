//! Whether a registry event may change the directory: only an event regauth itself
//! authorised. The webhook's shared secret says an event came from something that
//! holds the secret, not that the push it reports was allowed; a forged push would make
//! a repository exist (so the next push needs UPDATE instead of CREATE) or move a tag in
//! anyone's name. So every token that grants `push` or `delete` on a repository is
//! recorded as a grant first (`grants_in`), and an event is applied only when it falls
//! inside such a grant of its own actor, repository and action (`judge`).
//!
//! A grant is the validity of the tokens that carried it, `[nbf, exp]`, with intervals of
//! the same actor, repository and action merged where they overlap. An event matches
//! when its own timestamp (the registry's clock) lies in
//! `[from - CLOCK_LEEWAY, until + CLOCK_LEEWAY + NOTE_SLACK]`:
//! - `CLOCK_LEEWAY` is the registry's own leeway on `nbf` and `exp` (60 s), which is
//!   also the clock difference between the two hosts a push may meet;
//! - `NOTE_SLACK` is how long the token path may skip recording a grant because it
//!   recorded the same one moments ago (each token it hands out meanwhile ends at most
//!   that much later than the recorded interval).
//!
//! Grants are kept `GRANT_RETENTION` (7 days): a registry that delivers late, after an
//! outage, still finds them; older ones are pruned.
//!
//! Pure: facts in, a verdict and its reason out.

use crate::domain::model::UnixTime;
use crate::domain::scope::ResourceActions;

/// The registry's leeway on a token's `nbf` and `exp`, seconds.
const CLOCK_LEEWAY: i64 = 60;
/// How long a grant recorded moments ago covers the same grant again without a write,
/// seconds (see `app::issue_token`).
pub const NOTE_SLACK: i64 = 30;
/// How long grants are kept after they end, seconds (7 days).
pub const GRANT_RETENTION: i64 = 7 * 86_400;

/// Grants that ended before this are pruned at `now`: a week of late deliveries.
pub fn prune_before(now: UnixTime) -> UnixTime {
    now.saturating_sub(GRANT_RETENTION)
}

/// What a grant lets an event do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantedAction {
    /// A manifest pushed: a repository created, a tag moved.
    Push,
    /// A manifest or tag deleted.
    Delete,
}

impl GrantedAction {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantedAction::Push => "push",
            GrantedAction::Delete => "delete",
        }
    }

    /// The stored form back; `None` for anything else.
    pub fn parse(s: &str) -> Option<GrantedAction> {
        match s {
            "push" => Some(GrantedAction::Push),
            "delete" => Some(GrantedAction::Delete),
            _ => None,
        }
    }
}

/// A grant as recorded: `actor` held `action` on `repository` from `from` to `until`
/// (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub actor: String,
    pub repository: String,
    pub action: GrantedAction,
    pub from: UnixTime,
    pub until: UnixTime,
}

/// What an event claims: `actor` did `action` on `repository` at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventClaim<'a> {
    pub actor: &'a str,
    pub repository: &'a str,
    pub action: GrantedAction,
    pub at: UnixTime,
}

/// Whether an event may change the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Authorized,
    Refused(Refusal),
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The event names no actor: no token was ever granted to nobody.
    AnonymousActor,
    /// No grant of this action on this repository to this actor at all (a pull-only
    /// token records none).
    NoGrant,
    /// Every such grant began after the event.
    BeforeGrant,
    /// Every such grant ended (leeway included) before the event.
    GrantExpired,
    /// Grants before and after, none around the event.
    BetweenGrants,
}

impl Refusal {
    /// The reason code, as counted and audited.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::AnonymousActor => "anonymous_actor",
            Refusal::NoGrant => "no_grant",
            Refusal::BeforeGrant => "before_grant",
            Refusal::GrantExpired => "grant_expired",
            Refusal::BetweenGrants => "between_grants",
        }
    }
}

/// The window in which an event matches `grant`.
fn window(grant: &Grant) -> (UnixTime, UnixTime) {
    (
        grant.from.saturating_sub(CLOCK_LEEWAY),
        grant
            .until
            .saturating_add(CLOCK_LEEWAY)
            .saturating_add(NOTE_SLACK),
    )
}

/// Whether the event `claim` lies inside a grant of its own actor, repository and
/// action among `grants` (which may hold others: they never match).
pub fn judge(claim: &EventClaim<'_>, grants: &[Grant]) -> Verdict {
    if claim.actor.is_empty() {
        return Verdict::Refused(Refusal::AnonymousActor);
    }
    let (mut earlier, mut later, mut any) = (false, false, false);
    for g in grants.iter().filter(|g| {
        g.actor == claim.actor && g.repository == claim.repository && g.action == claim.action
    }) {
        any = true;
        let (from, until) = window(g);
        if claim.at < from {
            later = true;
        } else if claim.at > until {
            earlier = true;
        } else {
            return Verdict::Authorized;
        }
    }
    Verdict::Refused(match (any, earlier, later) {
        (false, _, _) => Refusal::NoGrant,
        (true, true, true) => Refusal::BetweenGrants,
        (true, false, _) => Refusal::BeforeGrant,
        (true, true, false) => Refusal::GrantExpired,
    })
}

/// What a token granting `access` to `subject` lets the registry's events do: each
/// repository with `push`, `delete` or `*` among its granted actions, once per action.
/// Nothing for an anonymous subject, a pull, or any other resource type.
pub fn grants_in(subject: &str, access: &[ResourceActions]) -> Vec<(String, GrantedAction)> {
    let mut out: Vec<(String, GrantedAction)> = Vec::new();
    if subject.is_empty() {
        return out;
    }
    for entry in access.iter().filter(|e| e.resource_type == "repository") {
        for action in &entry.actions {
            let granted: &[GrantedAction] = match action.as_str() {
                "push" => &[GrantedAction::Push],
                "delete" => &[GrantedAction::Delete],
                "*" => &[GrantedAction::Push, GrantedAction::Delete],
                _ => &[],
            };
            for a in granted {
                let key = (entry.name.clone(), *a);
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use GrantedAction::{Delete, Push};

    const T0: UnixTime = 1_795_000_000;

    #[test]
    fn grants_are_kept_a_week_after_they_end() {
        let week = 7 * 24 * 3600;
        assert_eq!(prune_before(T0), T0 - week);
        assert!(
            T0 - week + 1 > prune_before(T0),
            "ended a second short of a week: kept"
        );
        assert_eq!(prune_before(0), -week);
        assert_eq!(prune_before(i64::MIN), i64::MIN);
    }
    const TTL: UnixTime = 300;

    fn grant(actor: &str, repository: &str, action: GrantedAction) -> Grant {
        Grant {
            actor: actor.into(),
            repository: repository.into(),
            action,
            from: T0,
            until: T0 + TTL,
        }
    }

    fn claim(actor: &str, repository: &str, action: GrantedAction, at: UnixTime) -> Verdict {
        let grants = [
            grant("alice", "syn1/tool", Push),
            grant("carol", "syn1/tool", Delete),
        ];
        judge(
            &EventClaim {
                actor,
                repository,
                action,
                at,
            },
            &grants,
        )
    }

    fn refused(r: Refusal) -> Verdict {
        Verdict::Refused(r)
    }

    #[test]
    fn an_event_matches_only_a_grant_of_its_actor_repository_and_action_around_its_time() {
        let ok = Verdict::Authorized;
        let rows: &[(&str, &str, &str, GrantedAction, UnixTime, Verdict)] = &[
            (
                "before the grant, past the leeway",
                "alice",
                "syn1/tool",
                Push,
                T0 - CLOCK_LEEWAY - 1,
                refused(Refusal::BeforeGrant),
            ),
            (
                "before the grant, within the registry's clock leeway",
                "alice",
                "syn1/tool",
                Push,
                T0 - CLOCK_LEEWAY,
                ok,
            ),
            ("inside", "alice", "syn1/tool", Push, T0 + 10, ok),
            ("at expiry", "alice", "syn1/tool", Push, T0 + TTL, ok),
            (
                "after expiry, within leeway and note slack",
                "alice",
                "syn1/tool",
                Push,
                T0 + TTL + CLOCK_LEEWAY + NOTE_SLACK,
                ok,
            ),
            (
                "after expiry + leeway + slack",
                "alice",
                "syn1/tool",
                Push,
                T0 + TTL + CLOCK_LEEWAY + NOTE_SLACK + 1,
                refused(Refusal::GrantExpired),
            ),
            (
                "wrong actor",
                "bob",
                "syn1/tool",
                Push,
                T0 + 10,
                refused(Refusal::NoGrant),
            ),
            (
                "wrong repository",
                "alice",
                "syn1/other",
                Push,
                T0 + 10,
                refused(Refusal::NoGrant),
            ),
            (
                "a repository whose name only starts alike",
                "alice",
                "syn1/tool/sub",
                Push,
                T0 + 10,
                refused(Refusal::NoGrant),
            ),
            (
                "delete without a delete grant",
                "alice",
                "syn1/tool",
                Delete,
                T0 + 10,
                refused(Refusal::NoGrant),
            ),
            (
                "delete with a delete grant",
                "carol",
                "syn1/tool",
                Delete,
                T0 + 10,
                ok,
            ),
            (
                "push with only a delete grant",
                "carol",
                "syn1/tool",
                Push,
                T0 + 10,
                refused(Refusal::NoGrant),
            ),
            (
                "anonymous actor",
                "",
                "syn1/tool",
                Push,
                T0 + 10,
                refused(Refusal::AnonymousActor),
            ),
        ];
        for (what, actor, repo, action, at, want) in rows {
            assert_eq!(claim(actor, repo, *action, *at), *want, "{what}");
        }
    }

    #[test]
    fn a_pull_only_token_records_no_grant_so_its_holder_s_events_are_refused() {
        let pull = [ResourceActions {
            resource_type: "repository".into(),
            name: "syn1/tool".into(),
            actions: vec!["pull".into()],
        }];
        assert!(grants_in("alice", &pull).is_empty());
        let event = EventClaim {
            actor: "alice",
            repository: "syn1/tool",
            action: Push,
            at: T0,
        };
        assert_eq!(judge(&event, &[]), refused(Refusal::NoGrant));
    }

    #[test]
    fn an_event_between_two_grants_is_refused_and_a_late_one_matches_the_old_interval() {
        let mut late = grant("alice", "syn1/tool", Push);
        late.from = T0 + 3_600;
        late.until = T0 + 3_600 + TTL;
        let grants = [grant("alice", "syn1/tool", Push), late];
        let at = |at| EventClaim {
            actor: "alice",
            repository: "syn1/tool",
            action: Push,
            at,
        };
        assert_eq!(
            judge(&at(T0 + 1_800), &grants),
            refused(Refusal::BetweenGrants)
        );
        assert_eq!(judge(&at(T0 + 5), &grants), Verdict::Authorized);
        assert_eq!(judge(&at(T0 + 3_605), &grants), Verdict::Authorized);
    }

    #[test]
    fn tokens_grant_push_and_delete_per_repository_and_star_grants_both() {
        let access = |name: &str, actions: &[&str]| ResourceActions {
            resource_type: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        };
        let token = [
            access("syn1/a", &["pull", "push"]),
            access("syn1/b", &["delete"]),
            access("syn1/c", &["*"]),
            access("syn1/d", &[]),
            access("syn1/a", &["push"]),
            ResourceActions {
                resource_type: "registry".into(),
                name: "catalog".into(),
                actions: vec!["*".into()],
            },
        ];
        assert_eq!(
            grants_in("alice", &token),
            vec![
                ("syn1/a".to_string(), Push),
                ("syn1/b".to_string(), Delete),
                ("syn1/c".to_string(), Push),
                ("syn1/c".to_string(), Delete),
            ]
        );
        assert!(grants_in("", &token).is_empty(), "anonymous records none");
    }

    #[test]
    fn actions_are_stored_by_name() {
        for a in [Push, Delete] {
            assert_eq!(GrantedAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(GrantedAction::parse("pull"), None);
    }
}
