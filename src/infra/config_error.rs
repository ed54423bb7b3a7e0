//! The one error of loading the configuration: the file could not be read, or a key's
//! value is refused (named, so the operator knows which line to fix). Its own file so that
//! the sections validated elsewhere (`synapse::settings`) use it without importing the
//! loader that imports them.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key {key}: {message}")]
    Invalid { key: &'static str, message: String },
}
