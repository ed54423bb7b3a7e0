//! The `[log]` section: the format of log lines and the tracing filter, refused at load
//! time when it does not parse (rather than silently logging nothing).

use serde::Deserialize;

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `human` or `json`.
    pub format: LogFormat,
    /// tracing filter, e.g. `info` or `regauth=debug`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match tracing_subscriber::EnvFilter::try_new(&self.level) {
            Ok(_) => Ok(()),
            Err(_) => Err(ConfigError::invalid(
                "log.level",
                "not a tracing filter, e.g. info or regauth=debug",
            )),
        }
    }
}
