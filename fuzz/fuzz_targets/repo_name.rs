//! Repository paths (`syn<digits>/<name>`) and Docker reference names.
//!
//! The matchers are meant to be linear-time (Synapse once had a catastrophic-backtracking
//! regex here): `tests/fuzz/run.sh` runs this target with a short libFuzzer `-timeout`
//! and a `-max_len` well past the 255-character limit, so a slow input is a crash too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regauth::domain::authz::target::{query, TargetQuery};
use regauth::domain::repo_name::{parse_external, RepoPath, MAX_LEN};
use regauth::domain::scope::ResourceScope;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;

    let parsed = RepoPath::parse(text);
    if let Ok(p) = &parsed {
        assert_eq!(p.as_str(), text);
        assert_eq!(p.to_string(), text);
        assert!(p.as_str().len() <= MAX_LEN);
        assert!(text.starts_with("syn"));
        assert!(!p.name().is_empty());
        assert_eq!(p.name(), text.split_once('/').unwrap().1);
        assert!(text.bytes().all(|b| b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'/' | b'.' | b'_' | b'-')));
        assert_eq!(RepoPath::parse(p.as_str()).as_ref(), Ok(p));
        // A managed path is a valid Docker name too (no host: `syn1` has no `.` or `:`).
        let ext = parse_external(text).expect("a repository path is a Docker name");
        assert_eq!(ext.host, None);
        assert_eq!(ext.path, text);
    }

    // The scope door must agree with the path grammar.
    let scope = ResourceScope {
        resource_type: "repository".into(),
        class: None,
        name: text.to_string(),
        actions: vec!["pull".into(), "push".into()],
    };
    match (query(&scope), &parsed) {
        (TargetQuery::Repository(q), Ok(p)) => assert_eq!(&q, p),
        (TargetQuery::InvalidRepository, Err(_)) => {}
        (q, p) => panic!("query says {q:?}, RepoPath::parse says {p:?}"),
    }

    if let Ok(ext) = parse_external(text) {
        assert_eq!(ext.full(), text);
        assert!(text.len() <= MAX_LEN);
        assert!(!text.contains('@'));
        assert!(!ext.path.contains(':'));
        assert!(!ext.path.is_empty());
        assert_eq!(parse_external(&ext.full()).as_ref(), Ok(&ext));
        assert!(ext.check_not_ours(&[]).is_ok());
        if let Some(h) = &ext.host {
            assert!(ext.check_not_ours(&[h.to_ascii_uppercase()]).is_err());
        }
    }
});
