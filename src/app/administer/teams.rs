//! Teams and their members.

use crate::app::audit::admin_record;
use crate::app::operations::{AddTeam, AddTeamMember, RemoveTeamMember};
use crate::app::permit::Permit;
use crate::app::{AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::model::{TeamId, TeamName, UnixTime};
use crate::domain::ports::{AuditLog, TeamAdmin};

pub fn add<S: TeamAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddTeam>,
    name: &str,
    now: UnixTime,
) -> AppResult<TeamId> {
    let name = TeamName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let id = store.add_team(&name)?;
    admin_record(
        store,
        permit.actor(),
        format!("team:{name}"),
        AuditEvent::TeamAdded,
        now,
    );
    Ok(id)
}

pub fn add_member<S: TeamAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddTeamMember>,
    team: &str,
    user: &str,
    now: UnixTime,
) -> AppResult<()> {
    store.add_team_member(team, user)?;
    let event = AuditEvent::TeamMemberAdded { user: user.into() };
    admin_record(store, permit.actor(), format!("team:{team}"), event, now);
    Ok(())
}

pub fn remove_member<S: TeamAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RemoveTeamMember>,
    team: &str,
    user: &str,
    now: UnixTime,
) -> AppResult<()> {
    store.remove_team_member(team, user)?;
    let event = AuditEvent::TeamMemberRemoved { user: user.into() };
    admin_record(store, permit.actor(), format!("team:{team}"), event, now);
    Ok(())
}
