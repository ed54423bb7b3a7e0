//! The `[audit]` section: how long the audit trail is kept, and whether pull-only
//! tokens are recorded.

use std::time::Duration;

use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// How long records are kept, e.g. `90d`; older ones are pruned every hour.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// Record tokens that grant nothing but pulls (the bulk of the volume).
    pub pulls: bool,
}

/// Pruning runs hourly: a shorter retention would not be kept to.
const RETENTION: Bounds<Duration> = Bounds::at_least(Duration::from_secs(3600));

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention: Duration::from_secs(90 * 86_400),
            pulls: true,
        }
    }
}

impl AuditSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        RETENTION.check("audit.retention", self.retention)
    }
}
