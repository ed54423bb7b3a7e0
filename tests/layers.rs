//! The house's rules, read off the source (docs/architecture.md, "Invariants"): which
//! room may name which. Each rule is checked on every `crate::…` path of every file of
//! `src/`, so a new import that breaks one fails here, with the file and the path.

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable source folder") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The room a file stands in: `domain`, `app`, or `infra/<folder or file>`.
fn room(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("below src");
    let parts: Vec<&str> = rel
        .iter()
        .map(|p| p.to_str().expect("UTF-8 path"))
        .collect();
    match parts.as_slice() {
        ["infra", name, ..] => format!("infra/{}", name.trim_end_matches(".rs")),
        [first, ..] => first.trim_end_matches(".rs").to_string(),
        [] => String::new(),
    }
}

/// The rooms a file names through `crate::…` paths.
fn named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments = path.split("::");
        match (segments.next(), segments.next()) {
            (Some("infra"), Some(inner)) if !inner.is_empty() => out.push(format!("infra/{inner}")),
            (Some(top), _) if !top.is_empty() => out.push(top.to_string()),
            _ => {}
        }
    }
    out
}

/// `(room, file, named room)` for every `crate::` path in `src/`.
fn edges() -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for file in sources(&src) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let from = room(&src, &file);
        let shown = file.strip_prefix(&src).unwrap().display().to_string();
        for to in named(&text) {
            out.push((from.clone(), shown.clone(), to));
        }
    }
    out
}

/// The edges from rooms `from` (by prefix) to rooms in `forbidden`.
fn broken(from: &[&str], forbidden: &[&str]) -> Vec<String> {
    edges()
        .into_iter()
        .filter(|(room, _, to)| {
            from.iter().any(|f| room == f) && forbidden.iter().any(|n| to == n) && room != to
        })
        .map(|(_, file, to)| format!("{file} names {to}"))
        .collect()
}

const FRONT_DOORS: [&str; 3] = ["infra/http", "infra/web", "infra/cli"];

#[test]
fn the_domain_names_nothing_but_itself_and_app_only_the_domain() {
    let domain = broken(&["domain"], &["app", "infra"]);
    assert!(domain.is_empty(), "{domain:#?}");
    let infra_rooms: Vec<String> = edges()
        .into_iter()
        .filter(|(room, _, to)| room == "app" && to.starts_with("infra"))
        .map(|(_, file, to)| format!("{file} names {to}"))
        .collect();
    assert!(infra_rooms.is_empty(), "{infra_rooms:#?}");
}

#[test]
fn the_front_doors_are_peers_and_their_shared_room_is_below_them() {
    for door in FRONT_DOORS {
        let others: Vec<&str> = FRONT_DOORS.iter().copied().filter(|d| *d != door).collect();
        let mut forbidden = others;
        forbidden.extend(["infra/routes", "infra/startup"]);
        let found = broken(&[door], &forbidden);
        assert!(found.is_empty(), "{door}: {found:#?}");
    }
    let front = broken(
        &["infra/front"],
        &[
            "infra/http",
            "infra/web",
            "infra/cli",
            "infra/routes",
            "infra/startup",
        ],
    );
    assert!(front.is_empty(), "{front:#?}");
}

#[test]
fn only_the_composition_root_names_a_backend_or_is_named_by_anyone() {
    // The backends themselves, their shared scripts and the suites that run them.
    let allowed = [
        "infra/startup",
        "infra/sqlite",
        "infra/postgres",
        "infra/sql",
        "infra/synapse",
        "infra/directory_tests",
        "infra/use_case_tests",
    ];
    let found: Vec<String> = edges()
        .into_iter()
        .filter(|(room, _, to)| {
            ["infra/sqlite", "infra/postgres", "infra/synapse"].contains(&to.as_str())
                && !allowed.contains(&room.as_str())
        })
        .map(|(_, file, to)| format!("{file} names {to}"))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
    let root: Vec<String> = edges()
        .into_iter()
        .filter(|(room, _, to)| to == "infra/startup" && room != "infra/startup")
        .map(|(_, file, _)| file)
        .collect();
    assert!(
        root.is_empty(),
        "only main.rs calls the composition root: {root:#?}"
    );
}

#[test]
fn the_reader_sees_every_kind_of_path() {
    // The rules above are only as good as this reading of paths.
    assert_eq!(
        named("use crate::infra::http::{a, b};\nlet x = crate::app::f();"),
        ["infra/http", "app"]
    );
    assert_eq!(named("crate::domain::ports::Pace"), ["domain"]);
    let src = Path::new("/x/src");
    assert_eq!(
        room(src, Path::new("/x/src/infra/web/pages/a.rs")),
        "infra/web"
    );
    assert_eq!(
        room(src, Path::new("/x/src/infra/startup.rs")),
        "infra/startup"
    );
    assert_eq!(room(src, Path::new("/x/src/app/issue_token.rs")), "app");
}
