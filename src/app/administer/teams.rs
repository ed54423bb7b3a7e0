//! Teams and their members.

use crate::app::{Actor, AppError, AppResult};
use crate::domain::model::{TeamId, TeamName};
use crate::domain::ports::TeamAdmin;

pub fn add(store: &dyn TeamAdmin, actor: &Actor, name: &str) -> AppResult<TeamId> {
    actor.require_admin()?;
    let name = TeamName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    Ok(store.add_team(&name)?)
}

pub fn add_member(store: &dyn TeamAdmin, actor: &Actor, team: &str, user: &str) -> AppResult<()> {
    actor.require_admin()?;
    Ok(store.add_team_member(team, user)?)
}

pub fn remove_member(
    store: &dyn TeamAdmin,
    actor: &Actor,
    team: &str,
    user: &str,
) -> AppResult<()> {
    actor.require_admin()?;
    Ok(store.remove_team_member(team, user)?)
}
