//! regauth's own directory beside a Synapse: what is left of it when Synapse owns the
//! users, teams, projects, sharing settings, trash and personal access tokens. It keeps
//! the operators' accounts (made at start-up by `bootstrap`), the audit trail and the
//! pushes the registry reports, and refuses every change Synapse owns with
//! `DirectoryError::Unsupported` (HTTP 405 `UNSUPPORTED`, a one-line CLI message), so no
//! command or page can make a second, diverging copy of Synapse's world.
//!
//! A push to a project regauth has never seen records the project first, under its
//! Synapse id (Synapse allowed the push: the token said so). Repositories recorded here
//! are numbered from `LOCAL_IDS_FROM` (a marker project holds that id), far above any
//! Synapse id, so a later project's id can never be taken by one of them.
//!
//! regauth still issues the tokens, so the grants of push and delete its tokens carry
//! are kept here too (`PushGrants`), and only events inside one reach `record_batch`.

use std::sync::Arc;

use crate::domain::audit::{AuditFilter, AuditRecord};
use crate::domain::authz::sharing::SharingChange;
use crate::domain::authz::{EntityFacts, RepoFacts};
use crate::domain::events::{Grant, IngestFacts};
use crate::domain::model::{
    AccessRequest, AccessSet, AccessTokenRecord, Acl, EntityId, EntityInfo, EntityRef,
    EventOutcome, NewAccessToken, NewRefreshToken, NewTrustPolicy, NewUser, Principal,
    PrincipalRef, ProjectName, RefreshTokenRecord, RequestDecision, TagInfo, TagSort, TeamId,
    TeamName, TokenHash, TrustPolicy, UnixTime, UsedToken, User, UserCredentials, UserId,
    UserUpdate,
};
use crate::domain::ports::{
    AccessRequestStore, AuditEntry, AuditLog, AuthorizationFacts, ChangeVersion, CredentialStore,
    DecisionRule, DirResult, DirectoryBackend, DirectoryError, EndTokens, EntityAdmin, EntityRule,
    FederatedIdentities, FederatedIdentity, IntegrityCheck, Pace, PushGrants, RefreshTokenStore,
    RegistryEvent, RegistryLog, RegistryReader, TeamAdmin, TokenAdmin, TrustPolicyStore, UserAdmin,
    UserUpdated,
};
use crate::domain::repo_name::{ExternalName, RepoPath};

/// The first id regauth gives its own repositories beside a Synapse (2^40; Synapse's
/// ids are in the tens of millions).
pub const LOCAL_IDS_FROM: u64 = 1 << 40;

/// The marker project holding `LOCAL_IDS_FROM`.
pub const MARKER_PROJECT: &str = "(regauth: repositories are numbered from here)";

pub struct SynapseLedger {
    inner: Arc<dyn DirectoryBackend>,
}

fn synapses(what: &str) -> DirectoryError {
    DirectoryError::Unsupported(format!(
        "{what} belong to Synapse in this mode (directory.backend = \"synapse\"): change them in Synapse"
    ))
}

/// Port methods refused in this mode, one a line: `name(argument types) -> output:
/// what`, each an `Unsupported` error saying that Synapse owns `what`.
macro_rules! refused {
    ($($name:ident($($arg:ty),*) -> $out:ty: $what:literal;)*) => {
        $(fn $name(&self, $(_: $arg),*) -> DirResult<$out> {
            Err(synapses($what))
        })*
    };
}

impl SynapseLedger {
    /// Wraps the directory, placing the marker project when it is not there yet.
    pub fn new(inner: Arc<dyn DirectoryBackend>, now: UnixTime) -> DirResult<SynapseLedger> {
        let marker = ProjectName::parse(MARKER_PROJECT)
            .map_err(|e| DirectoryError::Backend(e.to_string()))?;
        let placed = inner
            .list_projects()?
            .iter()
            .any(|p| p.id.0 >= LOCAL_IDS_FROM);
        let ledger = SynapseLedger { inner };
        if !placed {
            ledger.place_project(&marker, EntityId(LOCAL_IDS_FROM), now)?;
        }
        Ok(ledger)
    }

    /// A project without ACL under `id`, unless one is there already (another replica,
    /// or a batch retried, may have placed it first).
    fn place_project(&self, name: &ProjectName, id: EntityId, now: UnixTime) -> DirResult<()> {
        match self
            .inner
            .add_project(name, Some(id), &Acl::new(Vec::new()), now)
        {
            Ok(_) | Err(DirectoryError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Records the project of each push not seen before, under its Synapse id.
    fn mirror_projects(&self, events: &[RegistryEvent<'_>], now: UnixTime) -> DirResult<()> {
        for event in events {
            let RegistryEvent::Push(push) = event else {
                continue;
            };
            let id = push.path.project();
            if id.0 >= LOCAL_IDS_FROM {
                continue;
            }
            let entity = EntityRef::Id(id);
            if self.inner.entity_facts(&entity)?.is_some() {
                continue;
            }
            let name = ProjectName::parse(&format!("syn{}", id.0))
                .map_err(|e| DirectoryError::Backend(e.to_string()))?;
            self.place_project(&name, id, now)?;
        }
        Ok(())
    }
}

impl ChangeVersion for SynapseLedger {
    fn change_version(&self, pace: Pace) -> DirResult<u64> {
        self.inner.change_version(pace)
    }
    fn local_writes(&self) -> u64 {
        self.inner.local_writes()
    }
}

impl CredentialStore for SynapseLedger {
    fn user_credentials(&self, login: &str, pace: Pace) -> DirResult<Option<UserCredentials>> {
        self.inner.user_credentials(login, pace)
    }
    fn access_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<AccessTokenRecord>> {
        self.inner.access_token(hash, pace)
    }
    fn refresh_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<RefreshTokenRecord>> {
        self.inner.refresh_token(hash, pace)
    }
    fn teams_of(&self, user: UserId, pace: Pace) -> DirResult<Vec<TeamId>> {
        self.inner.teams_of(user, pace)
    }
}

impl RefreshTokenStore for SynapseLedger {
    fn create_refresh_token(&self, token: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        self.inner.create_refresh_token(token, now)
    }
}

impl AuthorizationFacts for SynapseLedger {
    fn repository_facts(&self, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        self.inner.repository_facts(path, pace)
    }
    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        self.inner.entity_facts(entity)
    }
}

impl UserAdmin for SynapseLedger {
    refused! {
        add_user(&NewUser, UnixTime) -> User: "users";
        update_user(&str, &UserUpdate, EndTokens, UnixTime) -> UserUpdated: "users";
    }
    fn user_by_name(&self, name: &str) -> DirResult<Option<User>> {
        self.inner.user_by_name(name)
    }
    fn list_users(&self) -> DirResult<Vec<User>> {
        self.inner.list_users()
    }
}

impl TeamAdmin for SynapseLedger {
    refused! {
        add_team(&TeamName) -> TeamId: "teams";
        add_team_member(&str, &str) -> (): "teams";
        remove_team_member(&str, &str) -> (): "teams";
    }
}

impl EntityAdmin for SynapseLedger {
    refused! {
        add_project(&ProjectName, Option<EntityId>, &Acl, UnixTime) -> EntityId: "projects";
    }
    fn list_projects(&self) -> DirResult<Vec<EntityInfo>> {
        self.inner.list_projects()
    }
    fn projects_shared_with(&self, principals: &[Principal]) -> DirResult<Vec<(EntityInfo, Acl)>> {
        self.inner.projects_shared_with(principals)
    }
    fn resolve_principal(&self, principal: &PrincipalRef) -> DirResult<Principal> {
        self.inner.resolve_principal(principal)
    }
    fn name_acl(&self, acl: &Acl) -> DirResult<Vec<(PrincipalRef, AccessSet)>> {
        self.inner.name_acl(acl)
    }
    refused! {
        change_sharing(&EntityRef, EntityRule<SharingChange>) -> (): "sharing settings";
        set_trashed(&EntityRef, bool, EntityRule<()>, UnixTime) -> (): "the trash and its entities";
        add_external_repository(EntityId, &ExternalName, EntityRule<()>, UnixTime)
            -> EntityInfo: "repositories";
        delete_external_repository(EntityId) -> (): "repositories";
    }
}

impl AccessRequestStore for SynapseLedger {
    refused! {
        file_access_request(&EntityRef, UserId, &str, EntityRule<()>, UnixTime)
            -> AccessRequest: "access requests";
    }
    fn entity_access_requests(
        &self,
        entity: &EntityRef,
        all: bool,
        rule: EntityRule<()>,
    ) -> DirResult<Vec<AccessRequest>> {
        self.inner.entity_access_requests(entity, all, rule)
    }
    fn user_access_requests(&self, requester: UserId) -> DirResult<Vec<AccessRequest>> {
        self.inner.user_access_requests(requester)
    }
    refused! {
        decide_access_request(i64, &RequestDecision, DecisionRule, UnixTime)
            -> AccessRequest: "access requests";
    }
}

impl TokenAdmin for SynapseLedger {
    refused! {
        create_access_token(&NewAccessToken, Option<usize>, UnixTime)
            -> AccessTokenRecord: "personal access tokens";
    }
    fn list_access_tokens(&self, user: UserId) -> DirResult<Vec<AccessTokenRecord>> {
        self.inner.list_access_tokens(user)
    }
    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        self.inner.revoke_access_token(id, now)
    }
    fn revoke_refresh_tokens(&self, user: UserId, now: UnixTime) -> DirResult<usize> {
        self.inner.revoke_refresh_tokens(user, now)
    }
    fn list_refresh_tokens(&self, user: UserId) -> DirResult<Vec<RefreshTokenRecord>> {
        self.inner.list_refresh_tokens(user)
    }
    fn revoke_refresh_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        self.inner.revoke_refresh_token(id, now)
    }
    fn record_token_use(&self, uses: &[(UsedToken, UnixTime)]) -> DirResult<()> {
        self.inner.record_token_use(uses)
    }
}

impl RegistryLog for SynapseLedger {
    fn record_batch(
        &self,
        events: &[RegistryEvent<'_>],
        skip: &dyn Fn(&IngestFacts) -> Option<&'static str>,
        now: UnixTime,
    ) -> DirResult<Vec<DirResult<EventOutcome>>> {
        self.mirror_projects(events, now)?;
        self.inner.record_batch(events, skip, now)
    }
}

/// regauth is still the token server beside a Synapse: the grants its tokens carry are
/// kept here, and the registry's events are checked against them whether they are
/// recorded here or forwarded to Synapse's listener.
impl PushGrants for SynapseLedger {
    fn record_grants(&self, grants: &[Grant]) -> DirResult<()> {
        self.inner.record_grants(grants)
    }
    fn grants_for(&self, keys: &[(&str, &str)]) -> DirResult<Vec<Grant>> {
        self.inner.grants_for(keys)
    }
    fn prune_grants(&self, before: UnixTime) -> DirResult<usize> {
        self.inner.prune_grants(before)
    }
}

impl RegistryReader for SynapseLedger {
    fn list_repositories(&self, project: EntityId) -> DirResult<Vec<EntityInfo>> {
        self.inner.list_repositories(project)
    }
    fn list_tags(
        &self,
        repo: &RepoPath,
        sort: TagSort,
        offset: usize,
        limit: usize,
    ) -> DirResult<(Vec<TagInfo>, usize)> {
        self.inner.list_tags(repo, sort, offset, limit)
    }
    fn tag_history(&self, repo: &RepoPath, tag: &str) -> DirResult<Vec<TagInfo>> {
        self.inner.tag_history(repo, tag)
    }
}

/// What regauth keeps beside Synapse is checked as any directory is.
impl IntegrityCheck for SynapseLedger {
    fn check_integrity(&self) -> DirResult<(usize, Vec<String>)> {
        self.inner.check_integrity()
    }
}

impl AuditLog for SynapseLedger {
    fn append_counted(&self, records: &[(AuditRecord, u64)]) -> DirResult<()> {
        self.inner.append_counted(records)
    }
    fn query(&self, filter: &AuditFilter) -> DirResult<Vec<AuditEntry>> {
        self.inner.query(filter)
    }
    fn prune(&self, before: UnixTime) -> DirResult<usize> {
        self.inner.prune(before)
    }
}

/// Trust policies belong to projects, and Synapse owns the projects (and who may change
/// their sharing) in this mode: none is kept here, so a workload's token matches no
/// policy, and none can be made that Synapse would not know of.
impl TrustPolicyStore for SynapseLedger {
    fn create_trust_policy(&self, _: &NewTrustPolicy) -> DirResult<TrustPolicy> {
        Err(DirectoryError::Unsupported(
            "trust policies are not available in this mode (directory.backend = \"synapse\"): Synapse owns the projects they would belong to".into(),
        ))
    }
    fn list_trust_policies(&self, _: EntityId) -> DirResult<Vec<TrustPolicy>> {
        Ok(Vec::new())
    }
    fn delete_trust_policy(&self, project: EntityId, id: i64) -> DirResult<()> {
        Err(DirectoryError::NotFound(format!(
            "trust policy {id} of project {project}"
        )))
    }
    fn trust_policies_for_issuer(&self, _: &str, _: Pace) -> DirResult<Vec<TrustPolicy>> {
        Ok(Vec::new())
    }
}

/// People sign in through Synapse in this mode, which owns the users: no provider
/// identity is linked here, and none can be.
impl FederatedIdentities for SynapseLedger {
    fn link_identity(&self, _: &FederatedIdentity) -> DirResult<()> {
        Err(DirectoryError::Unsupported(
            "sign-in with an OpenID Connect provider is not available in this mode (directory.backend = \"synapse\"): Synapse owns the users".into(),
        ))
    }
    fn identity_user(&self, _: &str, _: &str) -> DirResult<Option<User>> {
        Ok(None)
    }
    fn identities_of(&self, _: UserId) -> DirResult<Vec<FederatedIdentity>> {
        Ok(Vec::new())
    }
    fn all_identities(&self) -> DirResult<Vec<FederatedIdentity>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::ManifestPush;
    use crate::infra::sqlite::SqliteDirectory;

    fn ledger() -> (tempfile::TempDir, SynapseLedger) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDirectory::open(&dir.path().join("ledger.db")).unwrap();
        let ledger = SynapseLedger::new(Arc::new(db), 1_000).unwrap();
        (dir, ledger)
    }

    fn push(project: u64, name: &str, tag: &str, event: &str) -> ManifestPush {
        ManifestPush {
            event_id: event.into(),
            path: RepoPath::parse(&format!("syn{project}/{name}")).unwrap(),
            tag: Some(tag.into()),
            digest: format!("sha256:{:064x}", event.len()),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 10,
            pusher: "3350396".into(),
            pushed_at: 2_000,
        }
    }

    #[test]
    fn changes_synapse_owns_are_refused_and_say_where_to_make_them() {
        let (_d, l) = ledger();
        let e = l.add_team(&TeamName::parse("t").unwrap()).unwrap_err();
        assert!(matches!(e, DirectoryError::Unsupported(_)), "{e:?}");
        assert!(e.to_string().contains("change them in Synapse"), "{e}");
        let name = ProjectName::parse("p").unwrap();
        let e = l
            .add_project(&name, None, &Acl::new(Vec::new()), 1)
            .unwrap_err();
        assert!(
            e.to_string().starts_with("projects belong to Synapse"),
            "{e}"
        );
        assert_eq!(l.list_projects().unwrap().len(), 1, "only the marker");
    }

    #[test]
    fn no_trust_policy_is_kept_beside_synapse() {
        let (_d, l) = ledger();
        let marker = EntityId(LOCAL_IDS_FROM);
        let policy = NewTrustPolicy {
            project: marker,
            creator: UserId(1),
            issuer: "https://token.actions.githubusercontent.com".into(),
            audience: "regauth".into(),
            conditions: vec![],
            repositories: "*".into(),
            actions: crate::domain::model::WorkloadActions::PULL,
            max_lifetime_secs: 300,
            created_at: 1,
        };
        let e = l.create_trust_policy(&policy).unwrap_err();
        assert!(matches!(e, DirectoryError::Unsupported(_)), "{e:?}");
        assert!(e.to_string().contains("Synapse owns the projects"), "{e}");
        assert!(l.list_trust_policies(marker).unwrap().is_empty());
        assert!(l
            .trust_policies_for_issuer(&policy.issuer, Pace::Inline)
            .unwrap()
            .is_empty());
        assert!(matches!(
            l.delete_trust_policy(marker, 1),
            Err(DirectoryError::NotFound(_))
        ));
    }

    #[test]
    fn pushes_record_their_project_under_its_synapse_id_and_repositories_number_far_above() {
        let (_d, l) = ledger();
        let first = push(3_000_123, "tool", "v1", "ev-1");
        let next_project = push(3_000_124, "other", "v1", "ev-2");
        let outcomes = l
            .record_batch(
                &[
                    RegistryEvent::Push(&first),
                    RegistryEvent::Push(&next_project),
                ],
                &crate::domain::events::push_skip,
                3_000,
            )
            .unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Ok(EventOutcome::Recorded))));
        let repos = l.list_repositories(EntityId(3_000_123)).unwrap();
        assert_eq!(repos.len(), 1);
        assert!(repos[0].id.0 > LOCAL_IDS_FROM, "{:?}", repos[0].id);
        let (tags, n) = l.list_tags(&first.path, TagSort::Tag, 0, 10).unwrap();
        assert_eq!((n, tags[0].tag.as_str()), (1, "v1"));
        assert_eq!(l.list_repositories(EntityId(3_000_124)).unwrap().len(), 1);
        // A restart finds its marker and places no second one.
        let again = SynapseLedger::new(l.inner.clone(), 4_000).unwrap();
        assert_eq!(again.list_projects().unwrap().len(), 3);
    }
}
