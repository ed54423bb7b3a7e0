//! What a requested scope names: a repository path (valid or not), the catalog, or
//! something regauth never grants. Decided before any fact is gathered, so a scope for
//! an unsupported resource costs no directory read.

use crate::domain::repo_name::RepoPath;
use crate::domain::scope::ResourceScope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetQuery {
    /// `repository:<valid path>`: the facts of this path decide.
    Repository(RepoPath),
    /// `repository:<name that fails the path grammar>`.
    InvalidRepository,
    /// `registry:catalog`.
    Catalog,
    /// Any other resource type or name.
    Unsupported,
}

pub fn query(scope: &ResourceScope) -> TargetQuery {
    match scope.resource_type.as_str() {
        "repository" => match RepoPath::parse(&scope.name) {
            Ok(path) => TargetQuery::Repository(path),
            Err(_) => TargetQuery::InvalidRepository,
        },
        "registry" if scope.name == "catalog" => TargetQuery::Catalog,
        _ => TargetQuery::Unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> TargetQuery {
        query(&ResourceScope::parse(s).unwrap())
    }

    #[test]
    fn scopes_map_to_targets() {
        assert!(
            matches!(q("repository:syn1/x:pull"), TargetQuery::Repository(p) if p.as_str() == "syn1/x")
        );
        assert_eq!(q("repository:syn1:pull"), TargetQuery::InvalidRepository);
        assert_eq!(q("repository:SYN1/x:pull"), TargetQuery::InvalidRepository);
        assert_eq!(q("registry:catalog:*"), TargetQuery::Catalog);
        assert_eq!(q("registry:other:*"), TargetQuery::Unsupported);
        assert_eq!(q("plugin:syn1/x:pull"), TargetQuery::Unsupported);
    }
}
