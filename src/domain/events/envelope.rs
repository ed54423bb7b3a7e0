//! The notification envelope (`{"events":[...]}`) parsed into manifest pushes and
//! deletes. Pure: one bad event becomes `Malformed` and never spoils the batch.

use serde::Deserialize;

use crate::domain::model::{ManifestDelete, ManifestPush, UserName};
use crate::domain::repo_name::{valid_digest, valid_tag, RepoPath};

/// Manifest media types whose push creates or updates a repository. Public for the fuzz
/// target (`fuzz/fuzz_targets/notification_envelope.rs`), which builds envelopes of them.
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventItem {
    Push(ManifestPush),
    Delete(ManifestDelete),
    Ignored { id: String, why: &'static str },
    Malformed { id: Option<String>, error: String },
}

#[derive(Debug, thiserror::Error)]
#[error("notification body is not an events envelope: {0}")]
pub struct EnvelopeError(String);

#[derive(Deserialize)]
struct Envelope {
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    timestamp: String,
    action: String,
    target: Target,
    #[serde(default)]
    actor: Actor,
}

#[derive(Deserialize, Default)]
struct Actor {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Target {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    size: i64,
    repository: String,
    #[serde(default)]
    tag: Option<String>,
}

pub fn parse_envelope(body: &[u8]) -> Result<Vec<EventItem>, EnvelopeError> {
    // An object, as the registry sends it (serde would also take a one-element array).
    if !body.trim_ascii_start().starts_with(b"{") {
        return Err(EnvelopeError("expected a JSON object".into()));
    }
    let env: Envelope = serde_json::from_slice(body).map_err(|e| EnvelopeError(e.to_string()))?;
    Ok(env.events.into_iter().map(parse_event).collect())
}

/// The envelope `body` again, with only the events whose place in its `events` array
/// `keep` marks (the order `parse_envelope` returns them in), each as it was sent:
/// what is handed on once some events were refused.
pub fn keep_events(body: &[u8], keep: &[bool]) -> Result<Vec<u8>, EnvelopeError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| EnvelopeError(e.to_string()))?;
    let kept: Vec<serde_json::Value> = env
        .events
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "events": kept }))
        .map_err(|e| EnvelopeError(e.to_string()))
}

/// The pusher the registry names: one of our user names or a workload's name (it comes
/// from the token's `sub`), or empty. Anything else (a newline, a control character) is
/// not stored.
fn valid_actor(name: &str) -> bool {
    name.is_empty()
        || UserName::parse(name).is_ok()
        || crate::domain::federation::is_workload_name(name)
}

/// An optional tag: absent or empty is none; present must follow the tag grammar.
fn tag(t: Option<String>) -> Result<Option<String>, String> {
    match t.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if valid_tag(&t) => Ok(Some(t)),
        Some(t) => Err(format!(
            "invalid tag {:?}",
            t.chars().take(64).collect::<String>()
        )),
    }
}

fn parse_event(v: serde_json::Value) -> EventItem {
    let id_hint = v.get("id").and_then(|i| i.as_str()).map(str::to_string);
    let malformed = |error: String| EventItem::Malformed {
        id: id_hint.clone(),
        error,
    };
    let e: Event = match serde_json::from_value(v) {
        Ok(e) => e,
        Err(err) => return malformed(err.to_string()),
    };
    if e.id.is_empty() || e.id.len() > 256 || e.id.chars().any(char::is_control) {
        return malformed("empty, overlong or unprintable event id".into());
    }
    let when = match time::OffsetDateTime::parse(
        &e.timestamp,
        &time::format_description::well_known::Rfc3339,
    ) {
        Ok(t) => t.unix_timestamp(),
        Err(err) => return malformed(format!("timestamp: {err}")),
    };
    match e.action.as_str() {
        "push" => {
            if !MANIFEST_TYPES.contains(&e.target.media_type.as_str()) {
                return EventItem::Ignored {
                    id: e.id,
                    why: "not a manifest push",
                };
            }
            let path = match RepoPath::parse(&e.target.repository) {
                Ok(p) => p,
                Err(err) => return malformed(format!("repository: {err}")),
            };
            let digest = match e.target.digest {
                Some(d) if valid_digest(&d) => d,
                _ => return malformed("missing or invalid digest".into()),
            };
            let tag = match tag(e.target.tag) {
                Ok(t) => t,
                Err(err) => return malformed(err),
            };
            if !valid_actor(&e.actor.name) {
                return malformed("invalid actor name".into());
            }
            if e.target.size < 0 {
                return malformed("negative size".into());
            }
            EventItem::Push(ManifestPush {
                event_id: e.id,
                path,
                tag,
                digest,
                media_type: e.target.media_type,
                size: e.target.size,
                pusher: e.actor.name,
                pushed_at: when,
            })
        }
        "delete" => {
            let path = match RepoPath::parse(&e.target.repository) {
                Ok(p) => p,
                Err(err) => return malformed(format!("repository: {err}")),
            };
            let digest = match e.target.digest.filter(|d| !d.is_empty()) {
                Some(d) if valid_digest(&d) => Some(d),
                Some(_) => return malformed("invalid digest".into()),
                None => None,
            };
            let tag = match tag(e.target.tag) {
                Ok(t) => t,
                Err(err) => return malformed(err),
            };
            if digest.is_none() && tag.is_none() {
                return malformed("delete without tag or digest".into());
            }
            if !valid_actor(&e.actor.name) {
                return malformed("invalid actor name".into());
            }
            EventItem::Delete(ManifestDelete {
                event_id: e.id,
                path,
                tag,
                digest,
                deleter: e.actor.name,
                deleted_at: when,
            })
        }
        "pull" | "mount" => EventItem::Ignored {
            id: e.id,
            why: "pulls and mounts change nothing",
        },
        _ => EventItem::Ignored {
            id: e.id,
            why: "unknown action",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        id: &str,
        action: &str,
        media: &str,
        repo: &str,
        tag: Option<&str>,
    ) -> serde_json::Value {
        let mut target = serde_json::json!({
            "mediaType": media, "size": 528, "length": 528,
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "repository": repo,
            "url": format!("http://127.0.0.1:5000/v2/{repo}/manifests/sha256:..."),
        });
        if let Some(t) = tag {
            target["tag"] = t.into();
        }
        serde_json::json!({
            "id": id, "timestamp": "2026-11-22T16:00:00.123456789Z", "action": action, "target": target,
            "request": {"id": "r", "addr": "127.0.0.1:4000", "host": "127.0.0.1:5000", "method": "PUT", "useragent": "skopeo"},
            "actor": {"name": "alice"}, "source": {"addr": "host:5000", "instanceID": "x"}
        })
    }

    #[test]
    fn batch_with_good_ignored_and_bad_events() {
        let body = serde_json::json!({"events": [
            event("1", "push", MANIFEST_TYPES[2], "syn1/tool", Some("v1")),
            event("2", "push", "application/octet-stream", "syn1/tool", None),
            event("3", "pull", MANIFEST_TYPES[0], "syn1/tool", Some("v1")),
            event("4", "push", MANIFEST_TYPES[0], "not/a-project", Some("v1")),
            {"garbage": true},
            event("5", "delete", "", "syn1/tool", Some("v1")),
            event("6", "push", MANIFEST_TYPES[3], "syn1/tool", None),
        ]});
        let items = parse_envelope(body.to_string().as_bytes()).unwrap();
        assert_eq!(items.len(), 7);
        match &items[0] {
            EventItem::Push(p) => {
                assert_eq!(p.tag.as_deref(), Some("v1"));
                assert_eq!(p.pusher, "alice");
                assert_eq!(p.path.as_str(), "syn1/tool");
                assert_eq!(p.pushed_at, 1_795_363_200);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(items[1], EventItem::Ignored { .. }));
        assert!(matches!(items[2], EventItem::Ignored { .. }));
        assert!(matches!(items[3], EventItem::Malformed { .. }));
        assert!(matches!(items[4], EventItem::Malformed { id: None, .. }));
        assert!(matches!(&items[5], EventItem::Delete(d) if d.deleter == "alice"));
        assert!(matches!(&items[6], EventItem::Push(p) if p.tag.is_none()));
    }

    #[test]
    fn unstorable_fields_are_skipped_not_stored() {
        let mut events = Vec::new();
        for (i, tag) in ["../x", "a\u{0}b", &"t".repeat(100_000), "-lead"]
            .iter()
            .enumerate()
        {
            events.push(event(
                &i.to_string(),
                "push",
                MANIFEST_TYPES[0],
                "syn1/tool",
                Some(tag),
            ));
        }
        let mut bad_actor = event("10", "push", MANIFEST_TYPES[0], "syn1/tool", Some("v1"));
        bad_actor["actor"]["name"] = "alice\nINFO token issued user=admin".into();
        events.push(bad_actor);
        let mut bad_digest = event("11", "push", MANIFEST_TYPES[0], "syn1/tool", Some("v1"));
        bad_digest["target"]["digest"] = "sha256:../../etc".into();
        events.push(bad_digest);
        let mut bad_delete = event("12", "delete", "", "syn1/tool", Some("a/b"));
        bad_delete["target"]["digest"] = "".into();
        events.push(bad_delete);
        let mut bad_deleter = event("14", "delete", "", "syn1/tool", Some("v1"));
        bad_deleter["actor"]["name"] = "bob\r\nforged".into();
        events.push(bad_deleter);
        events.push(event(
            "13",
            "push",
            MANIFEST_TYPES[0],
            "syn01/tool",
            Some("v1"),
        ));
        let body = serde_json::json!({ "events": events });
        let items = parse_envelope(body.to_string().as_bytes()).unwrap();
        assert_eq!(items.len(), 9);
        for item in &items {
            assert!(matches!(item, EventItem::Malformed { .. }), "{item:?}");
        }
        // The good shapes still pass.
        let ok = serde_json::json!({"events": [event("20", "push", MANIFEST_TYPES[0], "syn1/tool", Some("v1.0_rc-1"))]});
        assert!(matches!(
            parse_envelope(ok.to_string().as_bytes()).unwrap()[0],
            EventItem::Push(_)
        ));
    }

    #[test]
    fn ids_sizes_and_actions_at_their_edges() {
        let parse = |e: serde_json::Value| {
            let body = serde_json::json!({ "events": [e] });
            parse_envelope(body.to_string().as_bytes())
                .unwrap()
                .remove(0)
        };
        let push = |id: &str| event(id, "push", MANIFEST_TYPES[0], "syn1/tool", Some("v1"));
        // Event ids: 1 to 256 printable characters; each condition alone refuses.
        assert!(matches!(parse(push(&"i".repeat(256))), EventItem::Push(_)));
        for bad in [String::new(), "i".repeat(257), "a\u{7}b".into()] {
            assert!(
                matches!(parse(push(&bad)), EventItem::Malformed { .. }),
                "{bad:?}"
            );
        }
        // Sizes: zero is a size; below zero is not.
        let mut zero = push("z");
        zero["target"]["size"] = 0.into();
        assert!(matches!(parse(zero), EventItem::Push(_)));
        let mut negative = push("n");
        negative["target"]["size"] = (-1).into();
        assert!(matches!(parse(negative), EventItem::Malformed { .. }));
        // A delete names a valid digest, a tag, or both.
        let delete = |digest: &str, tag: Option<&str>| {
            let mut e = event("d", "delete", "", "syn1/tool", tag);
            e["target"]["digest"] = digest.into();
            parse(e)
        };
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert!(matches!(
            delete(&digest, None),
            EventItem::Delete(ManifestDelete { digest: Some(d), tag: None, .. }) if d == digest
        ));
        assert!(matches!(
            delete("sha256:../x", Some("v1")),
            EventItem::Malformed { .. }
        ));
        // Pulls and mounts are known and ignored, with their own reason.
        for action in ["pull", "mount"] {
            let item = parse(event(
                "p",
                action,
                MANIFEST_TYPES[0],
                "syn1/tool",
                Some("v1"),
            ));
            assert!(
                matches!(item, EventItem::Ignored { why, .. } if why == "pulls and mounts change nothing"),
                "{action}"
            );
        }
    }

    #[test]
    fn a_thinned_envelope_keeps_the_chosen_events_as_sent() {
        let first = event("1", "push", MANIFEST_TYPES[0], "syn1/tool", Some("v1"));
        let second = event("2", "push", MANIFEST_TYPES[0], "syn1/forged", Some("v1"));
        let third = event("3", "delete", "", "syn1/tool", Some("v1"));
        let body = serde_json::json!({"events": [first, second, third]}).to_string();
        let thinned = keep_events(body.as_bytes(), &[true, false, true]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&thinned).unwrap();
        assert_eq!(v, serde_json::json!({"events": [first, third]}));
        let items = parse_envelope(&thinned).unwrap();
        assert!(matches!(&items[0], EventItem::Push(p) if p.event_id == "1"));
        assert!(matches!(&items[1], EventItem::Delete(d) if d.event_id == "3"));
        let none = keep_events(body.as_bytes(), &[false; 3]).unwrap();
        assert!(parse_envelope(&none).unwrap().is_empty());
    }

    #[test]
    fn non_envelopes_are_errors() {
        for body in [
            &b"not json"[..],
            b"{}",
            b"[]",
            b"{\"events\": 3}",
            b"[[]]",
            b" [[{}]]",
        ] {
            assert!(parse_envelope(body).is_err());
        }
    }
}
