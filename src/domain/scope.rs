//! The token spec's scope grammar: `type[(class)]:name:actions`.
//!
//! The name may contain `host:port`, so the type ends at the first `:` and the actions
//! start after the last one. Anything that does not parse is reported back to the caller
//! to log and ignore: a bad scope never fails the whole token request.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    #[error("scope has no ':' separating type, name and actions")]
    MissingSeparator,
    #[error("scope resource type is empty or not lower-case alphanumeric")]
    InvalidType,
    #[error("scope resource class is malformed")]
    InvalidClass,
    #[error("scope resource name is empty")]
    EmptyName,
}

impl ResourceScope {
    pub fn parse(s: &str) -> Result<ResourceScope, ScopeError> {
        let (type_part, rest) = s.split_once(':').ok_or(ScopeError::MissingSeparator)?;
        let (name, actions) = rest.rsplit_once(':').ok_or(ScopeError::MissingSeparator)?;
        let (resource_type, class) = match type_part.split_once('(') {
            Some((t, c)) => {
                let c = c.strip_suffix(')').ok_or(ScopeError::InvalidClass)?;
                if c.is_empty() || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(ScopeError::InvalidClass);
                }
                (t, Some(c.to_string()))
            }
            None => (type_part, None),
        };
        if resource_type.is_empty()
            || !resource_type
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(ScopeError::InvalidType);
        }
        if name.is_empty() {
            return Err(ScopeError::EmptyName);
        }
        Ok(ResourceScope {
            resource_type: resource_type.to_string(),
            class,
            name: name.to_string(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource_type)?;
        if let Some(c) = &self.class {
            write!(f, "({c})")?;
        }
        write!(f, ":{}:{}", self.name, self.actions.join(","))
    }
}

/// One entry of a token's `access` claim: a resource and the actions granted on it
/// (distribution's `ResourceActions`). A denied scope is listed with no actions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceActions {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// How many scopes one request may ask for, and how long each may be: a client asks for
/// a handful (docker: one, plus one per cross-repository mount), so anything near these
/// bounds is an attack on memory, CPU and the log, refused before any work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeLimits {
    pub max_scopes: usize,
    pub max_bytes: usize,
}

impl Default for ScopeLimits {
    fn default() -> ScopeLimits {
        ScopeLimits {
            max_scopes: 100,
            max_bytes: 512,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeLimitError {
    #[error("too many scopes: at most {max} per request")]
    TooMany { max: usize },
    #[error("scope too long: at most {max} bytes each")]
    TooLong { max: usize },
}

/// Parses the values of repeated `scope` fields, each of which may hold several
/// space-separated scopes (the OAuth2 form). Returns the scopes in request order and
/// the strings that did not parse (for the log); refuses the whole request past
/// `limits`.
pub fn parse_scope_params<'a, I: IntoIterator<Item = &'a str>>(
    values: I,
    limits: ScopeLimits,
) -> Result<(Vec<ResourceScope>, Vec<String>), ScopeLimitError> {
    let mut scopes = Vec::new();
    let mut rejected = Vec::new();
    let mut count = 0usize;
    for value in values {
        for raw in value.split(' ').filter(|s| !s.is_empty()) {
            count += 1;
            if count > limits.max_scopes {
                return Err(ScopeLimitError::TooMany {
                    max: limits.max_scopes,
                });
            }
            if raw.len() > limits.max_bytes {
                return Err(ScopeLimitError::TooLong {
                    max: limits.max_bytes,
                });
            }
            match ResourceScope::parse(raw) {
                Ok(s) => scopes.push(s),
                Err(_) => rejected.push(raw.chars().take(200).collect()),
            }
        }
    }
    Ok((scopes, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(t: &str, name: &str, actions: &[&str]) -> ResourceScope {
        ResourceScope {
            resource_type: t.into(),
            class: None,
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            ResourceScope::parse("repository:syn1/x:pull,push").unwrap(),
            s("repository", "syn1/x", &["pull", "push"])
        );
        assert_eq!(
            ResourceScope::parse("registry:catalog:*").unwrap(),
            s("registry", "catalog", &["*"])
        );
        assert_eq!(
            ResourceScope::parse("repository:localhost:5000/syn1/x:pull").unwrap(),
            s("repository", "localhost:5000/syn1/x", &["pull"])
        );
        let c = ResourceScope::parse("repository(plugin):syn1/x:pull").unwrap();
        assert_eq!(c.class.as_deref(), Some("plugin"));
        assert_eq!(c.to_string(), "repository(plugin):syn1/x:pull");
        assert_eq!(
            ResourceScope::parse("repository:syn1/x:").unwrap().actions,
            Vec::<String>::new()
        );
    }

    #[test]
    fn malformed_scopes() {
        for bad in [
            "",
            "repository",
            "repository:x",
            ":x:pull",
            "Repo:x:pull",
            "repository::pull",
            "repository(:x:pull",
            "repository():x:pull",
        ] {
            assert!(ResourceScope::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn params_accept_repeated_and_space_separated() {
        let (ok, bad) = parse_scope_params(
            [
                "repository:syn1/a:pull repository:syn1/b:push",
                "garbage",
                "registry:catalog:*",
            ],
            ScopeLimits::default(),
        )
        .unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[1].name, "syn1/b");
        assert_eq!(bad, vec!["garbage".to_string()]);
    }

    #[test]
    fn limits_refuse_the_whole_request() {
        let limits = ScopeLimits {
            max_scopes: 3,
            max_bytes: 30,
        };
        let three = "repository:syn1/a:pull repository:syn1/b:pull";
        assert!(parse_scope_params([three, "registry:catalog:*"], limits).is_ok());
        assert_eq!(
            parse_scope_params([three, "a:b:c", "d:e:f"], limits),
            Err(ScopeLimitError::TooMany { max: 3 })
        );
        // Junk counts too: it would still cost a log line.
        assert!(parse_scope_params(["x y z w"], limits).is_err());
        // Exactly the limit is allowed; one byte more is not.
        let at_limit = format!("repository:syn1/{}:pull", "a".repeat(9));
        assert_eq!(at_limit.len(), 30);
        assert!(parse_scope_params([at_limit.as_str()], limits).is_ok());
        let long = format!("repository:syn1/{}:pull", "a".repeat(10));
        assert_eq!(
            parse_scope_params([long.as_str()], limits),
            Err(ScopeLimitError::TooLong { max: 30 })
        );
        // 182,000 scopes stop at the limit, not after parsing them all.
        let storm = "repository:syn1/a:pull ".repeat(182_000);
        assert_eq!(
            parse_scope_params([storm.as_str()], ScopeLimits::default()),
            Err(ScopeLimitError::TooMany { max: 100 })
        );
    }

    proptest! {
        #[test]
        fn display_round_trips(t in "[a-z0-9]{1,10}", name in "[a-z0-9/:._-]{1,40}", actions in prop::collection::vec("[a-z*]{1,6}", 0..4)) {
            let scope = ResourceScope { resource_type: t, class: None, name, actions };
            prop_assert_eq!(ResourceScope::parse(&scope.to_string()).unwrap(), scope);
        }

        #[test]
        fn garbage_never_panics(g in ".{0,200}") {
            let _ = ResourceScope::parse(&g);
            let _ = parse_scope_params([g.as_str()], ScopeLimits::default());
        }
    }
}
