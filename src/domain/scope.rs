//! The token spec's scope grammar: `type[(class)]:name:actions`.

/// One parsed scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub resource_type: String,
    /// Deprecated resource class (`repository(plugin)`): accepted, ignored.
    pub class: Option<String>,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("malformed scope")]
    Todo,
}

impl ResourceScope {
    pub fn parse(s: &str) -> Result<ResourceScope, ScopeError> {
        let (t, rest) = s.split_once(':').ok_or(ScopeError::Todo)?;
        let (name, actions) = rest.rsplit_once(':').ok_or(ScopeError::Todo)?;
        Ok(ResourceScope {
            resource_type: t.to_string(),
            class: None,
            name: name.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
        })
    }
}
