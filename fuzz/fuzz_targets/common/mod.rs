//! Properties shared by the targets that produce `ResourceScope`s.

use regauth::domain::authz::target::{query, TargetQuery};
use regauth::domain::repo_name::RepoPath;
use regauth::domain::scope::{parse_scope_params, ResourceScope, ScopeLimitError, ScopeLimits};

/// Everything that holds for a scope `ResourceScope::parse` accepted.
///
/// The round trip holds for every parsed scope, with or without a class: the type and
/// class are `[a-z0-9]+` and `[A-Za-z0-9]+`, so the printed scope's first `:` is the one
/// after them; the actions came from after the input's last `:`, so they hold none and
/// the printed scope's last `:` is the one before them; and the actions are non-empty and
/// hold no `,`, so joining and splitting them gives them back. The name is whatever lay
/// between, `:` included (`localhost:5000/x`).
pub fn check_scope(scope: &ResourceScope) {
    assert!(!scope.resource_type.is_empty());
    assert!(scope
        .resource_type
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if let Some(c) = &scope.class {
        assert!(!c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    assert!(!scope.name.is_empty());
    for a in &scope.actions {
        assert!(!a.is_empty() && !a.contains(',') && !a.contains(':'), "{a:?}");
    }

    let printed = scope.to_string();
    assert_eq!(
        ResourceScope::parse(&printed).as_ref(),
        Ok(scope),
        "round trip through {printed:?}"
    );

    match (scope.resource_type.as_str(), query(scope)) {
        ("repository", TargetQuery::Repository(p)) => {
            assert_eq!(p.as_str(), scope.name);
            assert_eq!(RepoPath::parse(&scope.name).as_ref(), Ok(&p));
        }
        ("repository", TargetQuery::InvalidRepository) => {
            assert!(RepoPath::parse(&scope.name).is_err());
        }
        ("registry", TargetQuery::Catalog) => assert_eq!(scope.name, "catalog"),
        ("registry", TargetQuery::Unsupported) => assert_ne!(scope.name, "catalog"),
        ("repository" | "registry", other) => panic!("{scope:?} -> {other:?}"),
        (_, TargetQuery::Unsupported) => {}
        (_, other) => panic!("{scope:?} -> {other:?}"),
    }
}

/// `parse_scope_params` over `values`: past the limits the whole list is refused (and
/// only then); within them every space-separated word is either a scope (checked, and
/// the same as parsing the word alone) or rejected, in order.
pub fn check_scope_params<'a>(values: &[&'a str]) {
    let limits = ScopeLimits::default();
    let words: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(' '))
        .filter(|w| !w.is_empty())
        .collect();
    let (ok, rejected) = match parse_scope_params(values.iter().copied(), limits) {
        Ok(parsed) => parsed,
        Err(ScopeLimitError::TooMany { max }) => {
            assert!(words.len() > max);
            return;
        }
        Err(ScopeLimitError::TooLong { max }) => {
            assert!(words.iter().any(|w| w.len() > max));
            return;
        }
    };
    assert!(words.len() <= limits.max_scopes);
    assert!(words.iter().all(|w| w.len() <= limits.max_bytes));
    assert_eq!(ok.len() + rejected.len(), words.len());
    let (mut i, mut j) = (0, 0);
    for w in words {
        match ResourceScope::parse(w) {
            Ok(s) => {
                assert_eq!(ok[i], s);
                assert!(!s.name.contains(' '));
                check_scope(&s);
                i += 1;
            }
            Err(_) => {
                let shown: String = w.chars().take(200).collect();
                assert_eq!(rejected[j], shown);
                j += 1;
            }
        }
    }
}
