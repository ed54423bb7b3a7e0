//! The one error of loading the configuration: the file could not be read, or a key's
//! value is refused (named, so the operator knows which line to fix). A file of its own,
//! importing nothing, that every section's checks use.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl ConfigError {
    /// A refused value of `key`, for the checks that are not ranges (those use `Bounds`).
    pub fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key,
            message: message.into(),
        }
    }
}
