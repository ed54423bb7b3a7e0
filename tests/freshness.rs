//! Caches never outlive a change: with the server under load, a change made by the CLI
//! (another process writing the SQLite file) is in force within one second. Revoked
//! access and refresh tokens, a disabled user, a trashed project and a removed ACL
//! entry: every request that starts more than a second after the CLI returned is
//! refused, and requests before it were granted (the caches were warm).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

/// How long a change may take to reach every request (the bound).
const FRESH_WITHIN: Duration = Duration::from_secs(1);
/// Load threads per case.
const THREADS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 200 with the asked actions.
    Granted,
    /// 200 without them, or a refusal (401, 429).
    Refused,
    /// Anything else: a failure of the test or the server.
    Other(u16),
}

/// Requests in a loop from several threads until stopped; each result is kept with the
/// instant its request started.
struct Load {
    stop: Arc<AtomicBool>,
    results: Arc<Mutex<Vec<(Instant, Outcome)>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(request: impl Fn(&Client) -> RequestBuilder + Send + Sync + 'static) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let request = Arc::new(request);
        let threads = (0..THREADS)
            .map(|_| {
                let (stop, results, request) = (stop.clone(), results.clone(), request.clone());
                std::thread::spawn(move || {
                    let client = Client::new();
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let outcome = match request(&client).send() {
                            Ok(r) => classify(r),
                            Err(_) => Outcome::Other(0),
                        };
                        results.lock().unwrap().push((started, outcome));
                    }
                })
            })
            .collect();
        Load {
            stop,
            results,
            threads,
        }
    }

    fn finish(self) -> Vec<(Instant, Outcome)> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("load thread");
        }
        Arc::try_unwrap(self.results)
            .expect("threads joined")
            .into_inner()
            .unwrap()
    }
}

fn classify(r: reqwest::blocking::Response) -> Outcome {
    match r.status().as_u16() {
        200 => {
            // A 200 without a readable JWT fails the load thread, hence the test.
            let body: Value = r.json().expect("token answer");
            let (_, claims) = jwt(body["token"].as_str().expect("token"));
            let granted = claims["access"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|e| e["actions"].as_array().is_some_and(|x| !x.is_empty()))
            });
            if granted {
                Outcome::Granted
            } else {
                Outcome::Refused
            }
        }
        401 | 429 => Outcome::Refused,
        s => Outcome::Other(s),
    }
}

/// Runs `load`, lets it warm the caches, applies `change` through the CLI, keeps the
/// load going, and checks: granted before, refused from `FRESH_WITHIN` after the CLI
/// returned, nothing else at all.
fn check_fresh(
    what: &str,
    load: impl Fn(&Client) -> RequestBuilder + Send + Sync + 'static,
    change: impl FnOnce(),
) {
    let load = Load::start(load);
    std::thread::sleep(Duration::from_millis(800));
    change();
    let changed = Instant::now();
    std::thread::sleep(FRESH_WITHIN + Duration::from_millis(1200));
    let results = load.finish();

    let before: Vec<_> = results.iter().filter(|(t, _)| *t < changed).collect();
    let after: Vec<_> = results
        .iter()
        .filter(|(t, _)| *t >= changed + FRESH_WITHIN)
        .collect();
    let others: Vec<_> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Other(_)))
        .collect();
    assert!(
        others.is_empty(),
        "{what}: unexpected answers {:?}",
        &others[..others.len().min(5)]
    );
    let granted_before = before
        .iter()
        .filter(|(_, o)| *o == Outcome::Granted)
        .count();
    assert!(
        granted_before > 10,
        "{what}: only {granted_before} granted of {} before the change (no warm load)",
        before.len()
    );
    assert!(
        after.len() > 10,
        "{what}: only {} requests after the change",
        after.len()
    );
    let stale = after.iter().filter(|(_, o)| *o == Outcome::Granted).count();
    assert_eq!(
        stale,
        0,
        "{what}: {stale} of {} requests granted more than {FRESH_WITHIN:?} after the change",
        after.len()
    );
    let first_refused = results
        .iter()
        .filter(|(t, o)| *t >= changed && *o == Outcome::Refused)
        .map(|(t, _)| t.duration_since(changed))
        .min();
    eprintln!(
        "{what}: {} requests, {} after the change; first refused {first_refused:?} after the CLI returned",
        results.len(),
        after.len()
    );
}

/// alice (certified) owns a project with repository `tool` (pushed: the registry's
/// notification recorded it); bob may download it.
fn stack() -> (Stack, String) {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("fresh", "alice");
    stack.grant(&p, "bob", "READ,DOWNLOAD");
    stack.record_push(&format!("{p}/tool"), "v1", "alice");
    (stack, p)
}

fn token_get(
    stack: &Stack,
    repo: &str,
    user: &'static str,
    secret: String,
) -> impl Fn(&Client) -> RequestBuilder + Send + Sync + 'static {
    let url = stack.url("/token");
    let scope = format!("repository:{repo}:pull");
    move |c: &Client| {
        c.get(&url)
            .query(&[("service", SERVICE), ("scope", scope.as_str())])
            .basic_auth(user, Some(&secret))
    }
}

#[test]
fn a_revoked_access_token_is_refused_within_a_second() {
    let (stack, p) = stack();
    let token = stack.token("bob", "download");
    let id = stack.ok(&["token", "list", "bob"]);
    let id = id.split_whitespace().next().expect("token id").to_string();
    let load = token_get(&stack, &format!("{p}/tool"), "bob", token);
    check_fresh("revoked access token", load, || {
        stack.ok(&["token", "revoke", &id]);
    });
}

#[test]
fn a_disabled_user_is_refused_within_a_second() {
    let (stack, p) = stack();
    let load = token_get(&stack, &format!("{p}/tool"), "bob", PASSWORD.to_string());
    check_fresh("disabled user", load, || {
        stack.ok(&["user", "set", "bob", "--disabled", "true"]);
    });
}

#[test]
fn a_trashed_project_is_refused_within_a_second() {
    let (stack, p) = stack();
    let load = token_get(&stack, &format!("{p}/tool"), "bob", PASSWORD.to_string());
    check_fresh("trashed project", load, || {
        stack.ok(&["trash", &p]);
    });
}

#[test]
fn a_removed_acl_entry_is_refused_within_a_second() {
    let (stack, p) = stack();
    let load = token_get(&stack, &format!("{p}/tool"), "bob", PASSWORD.to_string());
    check_fresh("removed ACL entry", load, || {
        stack.ok(&["acl", "revoke", &p, "bob"]);
    });
}

#[test]
fn revoked_refresh_tokens_are_refused_within_a_second() {
    let (stack, p) = stack();
    let login: Value = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("offline_token", "true"),
            ("client_id", "docker"),
        ])
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .expect("login")
        .json()
        .expect("json");
    let refresh = login["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let url = stack.url("/token");
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "refresh_token"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("refresh_token", refresh.as_str()),
            ("scope", format!("repository:{p}/tool:pull").as_str()),
        ])
        .finish();
    let load = move |c: &Client| {
        c.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
    };
    check_fresh("revoked refresh tokens", load, || {
        stack.ok(&["token", "revoke-refresh", "bob"]);
    });
}

#[test]
fn public_download_removed_is_refused_to_anonymous_within_a_second() {
    // Anonymous tokens for identical claims share one signature within a second
    // (app::shared_anonymous_token): the decision must still run for every request.
    let (stack, p) = stack();
    stack.grant(&p, "public", "READ,DOWNLOAD");
    let url = stack.url("/token");
    let scope = format!("repository:{p}/tool:pull");
    let load = move |c: &Client| {
        c.get(&url)
            .query(&[("service", SERVICE), ("scope", scope.as_str())])
    };
    check_fresh("public download removed", load, || {
        stack.ok(&["acl", "revoke", &p, "public"]);
    });
}
