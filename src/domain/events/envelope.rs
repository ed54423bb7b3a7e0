//! The notification envelope (`{"events":[...]}`) parsed into manifest pushes and
//! deletes. Pure: one bad event becomes `Malformed` and never spoils the batch.

use serde::Deserialize;

use crate::domain::model::{ManifestDelete, ManifestPush};
use crate::domain::repo_name::RepoPath;

/// Manifest media types whose push creates or updates a repository.
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
    let env: Envelope = serde_json::from_slice(body).map_err(|e| EnvelopeError(e.to_string()))?;
    Ok(env.events.into_iter().map(parse_event).collect())
}

fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some(("sha256", h)) => {
            h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        Some(("sha512", h)) => {
            h.len() == 128 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        _ => false,
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
    if e.id.is_empty() {
        return malformed("empty event id".into());
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
            EventItem::Push(ManifestPush {
                event_id: e.id,
                path,
                tag: e.target.tag.filter(|t| !t.is_empty()),
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
            let digest = e.target.digest.filter(|d| valid_digest(d));
            let tag = e.target.tag.filter(|t| !t.is_empty());
            if digest.is_none() && tag.is_none() {
                return malformed("delete without tag or digest".into());
            }
            EventItem::Delete(ManifestDelete {
                event_id: e.id,
                path,
                tag,
                digest,
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
        assert!(matches!(items[5], EventItem::Delete(_)));
        assert!(matches!(&items[6], EventItem::Push(p) if p.tag.is_none()));
    }

    #[test]
    fn non_envelopes_are_errors() {
        for body in [&b"not json"[..], b"{}", b"[]", b"{\"events\": 3}"] {
            assert!(parse_envelope(body).is_err());
        }
    }
}
