//! The fake Synapse's world: users, teams, projects, Docker repositories, ACLs with
//! benefactor inheritance, the trash, and the permission flags Synapse computes from
//! them (reference: synapse-rest-backend.md §1.5-§1.8, authorization-rules.md "Model").

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{json, Value};

/// A principal id: users and teams share one numeric space, as in Synapse.
pub type UserId = u64;
/// The number of an entity; `syn<number>` on the wire.
pub type EntityId = u64;

/// The group every caller is in, anonymous ones included (authorization-rules.md
/// "Principals"). The number is the fake's own; Synapse's is not in the reference.
pub const PUBLIC: UserId = 1;
/// The group every logged-in user is in.
pub const AUTHENTICATED: UserId = 2;

const FIRST_PRINCIPAL: UserId = 3_300_001;
const FIRST_ENTITY: EntityId = 5_000_001;

/// `EntityHeader.type` of a project (§1.7).
pub const PROJECT_TYPE: &str = "org.sagebionetworks.repo.model.Project";
/// `EntityHeader.type` of a Docker repository (§1.7).
pub const DOCKER_REPOSITORY_TYPE: &str = "org.sagebionetworks.repo.model.docker.DockerRepository";

/// The access types an ACL entry can hold (authorization-rules.md "ACL").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Download,
    Update,
    Create,
    Delete,
    ChangePermissions,
    Moderate,
}

impl Access {
    /// Synapse's spelling; panics on anything else, which is a mistake in a test.
    pub fn parse(name: &str) -> Access {
        match name {
            "READ" => Access::Read,
            "DOWNLOAD" => Access::Download,
            "UPDATE" => Access::Update,
            "CREATE" => Access::Create,
            "DELETE" => Access::Delete,
            "CHANGE_PERMISSIONS" => Access::ChangePermissions,
            "MODERATE" => Access::Moderate,
            other => panic!("unknown access type {other:?}"),
        }
    }
}

pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub password: String,
    pub certified: bool,
    pub two_factor: bool,
    pub locked_out: bool,
    pub admin: bool,
    pub terms_accepted: bool,
    pub password_reset_required: bool,
    /// `authenticationReceipt`s handed out by successful logins (§1.1).
    pub receipts: HashSet<String>,
    pub failed_logins: usize,
}

pub enum Kind {
    Project,
    DockerRepository { repository_name: String },
}

pub struct Entity {
    pub id: EntityId,
    pub name: String,
    pub kind: Kind,
    pub parent: Option<EntityId>,
    pub trashed: bool,
    /// Local sharing settings; None inherits the parent's (the parent is the benefactor).
    pub acl: Option<BTreeMap<UserId, BTreeSet<Access>>>,
    /// The creator (`ownerPrincipalId`); None for entities a test made without one.
    pub owner: Option<UserId>,
    /// An access requirement on this entity (and so on its children) that blocks
    /// download until the user is approved (§1.6 `canDownload`).
    pub access_requirement: bool,
}

impl Entity {
    pub fn is_project(&self) -> bool {
        matches!(self.kind, Kind::Project)
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Project => PROJECT_TYPE,
            Kind::DockerRepository { .. } => DOCKER_REPOSITORY_TYPE,
        }
    }
}

/// Why a READ check failed (§1.5, §1.7): 404, 404 "in trash can", or 403.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    NotFound,
    InTrash,
    Forbidden,
}

pub fn syn(id: EntityId) -> String {
    format!("syn{id}")
}

/// `syn<digits>` (no leading zero) to the entity number.
pub fn parse_syn(text: &str) -> Option<EntityId> {
    let digits = text.strip_prefix("syn")?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub struct Model {
    pub users: BTreeMap<UserId, User>,
    pub entities: BTreeMap<EntityId, Entity>,
    pub teams: BTreeMap<UserId, BTreeSet<UserId>>,
    /// `jti`s of revoked tokens (logout, deleted PAT): 401 from then on (§1.4).
    pub revoked: HashSet<String>,
    /// (entity carrying the requirement, user) pairs that met it.
    pub approvals: HashSet<(EntityId, UserId)>,
    /// Hosts the registry listener accepts; the first is the one `add_docker_repo` uses.
    pub registry_hosts: Vec<String>,
    next_principal: UserId,
    next_entity: EntityId,
}

impl Model {
    pub fn new(registry_host: &str) -> Model {
        Model {
            users: BTreeMap::new(),
            entities: BTreeMap::new(),
            teams: BTreeMap::new(),
            revoked: HashSet::new(),
            approvals: HashSet::new(),
            registry_hosts: vec![registry_host.to_string()],
            next_principal: FIRST_PRINCIPAL,
            next_entity: FIRST_ENTITY,
        }
    }

    fn principal_id(&mut self) -> UserId {
        self.next_principal += 1;
        self.next_principal - 1
    }

    pub fn add_user(&mut self, name: &str, password: &str) -> UserId {
        let id = self.principal_id();
        let user = User {
            id,
            name: name.to_string(),
            email: format!("{name}@users.synapse.test"),
            password: password.to_string(),
            certified: false,
            two_factor: false,
            locked_out: false,
            admin: false,
            terms_accepted: true,
            password_reset_required: false,
            receipts: HashSet::new(),
            failed_logins: 0,
        };
        self.users.insert(id, user);
        id
    }

    pub fn user_mut(&mut self, id: UserId) -> &mut User {
        self.users
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no user {id}"))
    }

    /// login2's lookup: user name or e-mail (§1.1, AUTH:392-398).
    pub fn user_by_login(&mut self, username: &str) -> Option<&mut User> {
        self.users
            .values_mut()
            .find(|u| u.name == username || u.email == username)
    }

    pub fn add_team(&mut self) -> UserId {
        let id = self.principal_id();
        self.teams.insert(id, BTreeSet::new());
        id
    }

    pub fn add_member(&mut self, team: UserId, user: UserId) {
        self.teams
            .get_mut(&team)
            .unwrap_or_else(|| panic!("no team {team}"))
            .insert(user);
    }

    fn add_entity(&mut self, name: &str, kind: Kind, parent: Option<EntityId>) -> EntityId {
        let id = self.next_entity;
        self.next_entity += 1;
        let acl = parent.is_none().then(BTreeMap::new);
        let entity = Entity {
            id,
            name: name.to_string(),
            kind,
            parent,
            trashed: false,
            acl,
            owner: None,
            access_requirement: false,
        };
        self.entities.insert(id, entity);
        id
    }

    /// A project: its own (empty) ACL, no parent.
    pub fn add_project(&mut self, name: &str) -> EntityId {
        self.add_entity(name, Kind::Project, None)
    }

    /// A managed repository under `project`, inheriting its ACL. Its entity name is the
    /// full repository name.
    pub fn add_repository(&mut self, project: EntityId, repository_name: &str) -> EntityId {
        assert!(
            self.entity(project).is_some_and(Entity::is_project),
            "{} is not a project",
            syn(project)
        );
        let kind = Kind::DockerRepository {
            repository_name: repository_name.to_string(),
        };
        self.add_entity(repository_name, kind, Some(project))
    }

    pub fn entity(&self, id: EntityId) -> Option<&Entity> {
        self.entities.get(&id)
    }

    pub fn entity_mut(&mut self, id: EntityId) -> &mut Entity {
        self.entities
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no entity {}", syn(id)))
    }

    /// §1.5: a managed repository by its full name (host/project/path).
    pub fn repository_by_name(&self, name: &str) -> Option<EntityId> {
        self.entities.values().find_map(|e| match &e.kind {
            Kind::DockerRepository { repository_name } if repository_name == name => Some(e.id),
            _ => None,
        })
    }

    /// In the trash itself or below something that is (authorization-rules.md "Trash").
    pub fn in_trash(&self, id: EntityId) -> bool {
        let mut next = Some(id);
        while let Some(entity) = next.and_then(|id| self.entity(id)) {
            if entity.trashed {
                return true;
            }
            next = entity.parent;
        }
        false
    }

    /// The entity whose ACL applies: the nearest one with local sharing settings.
    pub fn benefactor(&self, id: EntityId) -> EntityId {
        let mut current = id;
        loop {
            let entity = &self.entities[&current];
            match (&entity.acl, entity.parent) {
                (None, Some(parent)) => current = parent,
                _ => return current,
            }
        }
    }

    /// Sets `principal`'s access types in `entity`'s own ACL (creating local sharing
    /// settings, which replace the inherited ACL entirely); an empty list removes it.
    pub fn set_access(&mut self, entity: EntityId, principal: UserId, access: &[Access]) {
        let acl = self
            .entity_mut(entity)
            .acl
            .get_or_insert_with(BTreeMap::new);
        if access.is_empty() {
            acl.remove(&principal);
        } else {
            acl.insert(principal, access.iter().copied().collect());
        }
    }

    /// The caller's principals: `public`, and for a user also itself, `authenticated`
    /// and its teams.
    fn principals(&self, caller: Option<UserId>) -> BTreeSet<UserId> {
        let mut out = BTreeSet::from([PUBLIC]);
        if let Some(user) = caller {
            out.extend([user, AUTHENTICATED]);
            let teams = self.teams.iter().filter(|(_, m)| m.contains(&user));
            out.extend(teams.map(|(team, _)| *team));
        }
        out
    }

    /// The raw ACL bits of the caller on `id` (through its benefactor).
    fn acl_access(&self, caller: Option<UserId>, id: EntityId) -> BTreeSet<Access> {
        let principals = self.principals(caller);
        let benefactor = self.benefactor(id);
        let acl = self.entities[&benefactor].acl.iter().flatten();
        acl.filter(|(p, _)| principals.contains(*p))
            .flat_map(|(_, a)| a.iter().copied())
            .collect()
    }

    fn user(&self, caller: Option<UserId>) -> Option<&User> {
        caller.and_then(|id| self.users.get(&id))
    }

    /// The READ check behind §1.5 and §1.7 (EDF:45-54): missing, then trash, then
    /// admin, then the READ bit.
    pub fn read_check(&self, caller: Option<UserId>, id: EntityId) -> Result<(), Denied> {
        if self.entity(id).is_none() {
            return Err(Denied::NotFound);
        }
        if self.in_trash(id) {
            return Err(Denied::InTrash);
        }
        if self.user(caller).is_some_and(|u| u.admin)
            || self.acl_access(caller, id).contains(&Access::Read)
        {
            return Ok(());
        }
        Err(Denied::Forbidden)
    }

    /// An access requirement on the entity or an ancestor that the caller has not met.
    fn unmet_requirement(&self, caller: Option<UserId>, id: EntityId) -> bool {
        let mut next = Some(id);
        while let Some(entity) = next.and_then(|id| self.entity(id)) {
            let met = caller.is_some_and(|u| self.approvals.contains(&(entity.id, u)));
            if entity.access_requirement && !met {
                return true;
            }
            next = entity.parent;
        }
        false
    }

    /// The facts the EAU rules of §1.6 decide from.
    fn facts(&self, caller: Option<UserId>, id: EntityId) -> Facts {
        let user = self.user(caller);
        let exists = self.entity(id).is_some();
        Facts {
            exists,
            in_trash: exists && self.in_trash(id),
            admin: user.is_some_and(|u| u.admin),
            anonymous: user.is_none(),
            certified: user.is_some_and(|u| u.certified),
            is_project: self.entity(id).is_some_and(Entity::is_project),
            unmet_requirement: exists && self.unmet_requirement(caller, id),
            acl: if exists {
                self.acl_access(caller, id)
            } else {
                BTreeSet::new()
            },
            public_read: exists && self.acl_access(None, id).contains(&Access::Read),
        }
    }

    /// `GET /repo/v1/entity/{id}/permissions` (§1.6): `UserEntityPermissions`.
    pub fn permissions(&self, caller: Option<UserId>, id: EntityId) -> Value {
        let f = self.facts(caller, id);
        let owner = self.entity(id).and_then(|e| e.owner);
        json!({
            "canView": f.can_view(),
            "canEdit": f.can_edit(),
            "canAddChild": f.can_add_child(),
            "canCertifiedUserEdit": f.acl.contains(&Access::Update),
            "canCertifiedUserAddChild": f.acl.contains(&Access::Create),
            "isCertifiedUser": f.certified,
            "canChangePermissions": f.granted(Access::ChangePermissions),
            "canDelete": f.can_delete(),
            "canDownload": f.can_download(),
            "canPublicRead": f.public_read,
            "canModerate": f.granted(Access::Moderate),
            "isCertificationRequired": true,
            "ownerPrincipalId": owner,
        })
    }

    /// The registry listener's check of one manifest push (§1.9, DMI:133-195): the actor
    /// name is a user id and the path starts with an existing project. Err is the
    /// status and reason that reject the whole batch.
    pub fn check_push(&self, path: &str, actor: &str) -> Result<(EntityId, UserId), (u16, String)> {
        let actor: UserId = actor
            .parse()
            .map_err(|_| (400, format!("Actor name {actor:?} is not a user id")))?;
        let project_part = path.split('/').next().unwrap_or_default();
        let project = parse_syn(project_part)
            .filter(|p| self.entity(*p).is_some_and(Entity::is_project))
            .ok_or_else(|| (404, format!("Project {project_part} does not exist")))?;
        Ok((project, actor))
    }

    /// A checked push: the managed repository `name` under `project`, created by
    /// `actor`, unless it exists already.
    pub fn record_push(&mut self, project: EntityId, name: &str, actor: UserId) {
        if self.repository_by_name(name).is_none() {
            let id = self.add_repository(project, name);
            self.entity_mut(id).owner = Some(actor);
        }
    }
}

/// What EAU decides from, for one caller and one entity.
struct Facts {
    exists: bool,
    in_trash: bool,
    admin: bool,
    anonymous: bool,
    certified: bool,
    is_project: bool,
    unmet_requirement: bool,
    acl: BTreeSet<Access>,
    public_read: bool,
}

impl Facts {
    /// The common head of the EAU rules: missing or in trash → no; admin → yes;
    /// anonymous → no.
    fn head(&self) -> Option<bool> {
        if !self.exists || self.in_trash {
            Some(false)
        } else if self.admin {
            Some(true)
        } else if self.anonymous {
            Some(false)
        } else {
            None
        }
    }

    fn granted(&self, access: Access) -> bool {
        self.head().unwrap_or_else(|| self.acl.contains(&access))
    }

    fn can_view(&self) -> bool {
        if !self.exists || self.in_trash {
            return false;
        }
        self.admin || self.acl.contains(&Access::Read)
    }

    /// EAU:137-153. Open data (READ for public on an open-data entity) is not modelled.
    fn can_download(&self) -> bool {
        if !self.exists || self.in_trash {
            false
        } else if self.admin {
            true
        } else if self.unmet_requirement || self.anonymous {
            false
        } else {
            self.acl.contains(&Access::Download)
        }
    }

    /// EAU:155-168: certification needed unless the entity is a project (EDF:215-222).
    fn can_edit(&self) -> bool {
        self.head().unwrap_or_else(|| {
            (self.is_project || self.certified) && self.acl.contains(&Access::Update)
        })
    }

    /// EAU:170-183: certification always needed (the child type is unknown, EDF:204-211).
    fn can_add_child(&self) -> bool {
        self.head()
            .unwrap_or_else(|| self.certified && self.acl.contains(&Access::Create))
    }

    /// EAU:198-210: admin wins even in the trash; no certification check.
    fn can_delete(&self) -> bool {
        if !self.exists {
            false
        } else if self.admin {
            true
        } else if self.in_trash || self.anonymous {
            false
        } else {
            self.acl.contains(&Access::Delete)
        }
    }
}
