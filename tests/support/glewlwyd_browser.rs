//! Signing in at glewlwyd's own login page (`support/real_provider.rs`) in a real browser
//! (`common/webdriver.rs`), the way a person does: the page is a JavaScript application
//! that renders its password form after loading, posts the password to glewlwyd's login
//! API, and then, with consent already given by `start.sh`, shows a "Continue" button that
//! resumes the authorization request and sends the browser to the client's redirect URI.
//!
//! The selectors were read from the DOM Chromium renders for glewlwyd 2.7's `login.html`
//! (Debian's package): `form#passwordForm` with `input#username`, `input#password` and
//! `button#loginbut`; a refusal is a toast (`.toast .toast-body`, "Authentication error");
//! once signed in, the card's footer holds the green Continue button
//! (`#userCard .card-footer button.btn-success`).
//!
//! A test crate includes it beside `webdriver` (whose `Browser` it drives):
//! `#[path = "support/glewlwyd_browser.rs"] mod glewlwyd_browser;`. An element that never
//! appears fails the test with what was awaited, where the browser is and a screenshot's
//! path — never a skip.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::webdriver::Browser;

/// The login form: present once the page's script has rendered it.
pub const FORM: &str = "form#passwordForm";
pub const USERNAME: &str = "form#passwordForm input#username";
pub const PASSWORD: &str = "form#passwordForm input#password";
pub const SUBMIT: &str = "form#passwordForm button#loginbut";
/// The message a refused login shows (a Bootstrap toast in the page's corner).
pub const ERROR: &str = ".toast .toast-body";
/// The newest of those messages.
pub const LAST_ERROR: &str = ".toast:last-child .toast-body";
/// Shown once signed in: resumes the authorization request (back to the client).
pub const CONTINUE: &str = "#userCard .card-footer button.btn-success";

/// How long the page may take for each step. The script loads its configuration and
/// translations before it renders anything; a login is one API call plus a page update.
const PATIENCE: Duration = Duration::from_secs(20);

/// What became of a submitted login.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The browser left glewlwyd for this URL (the client's redirect URI).
    Left(String),
    /// glewlwyd refused the login: the browser is still on its page, which shows this.
    Refused(String),
}

/// Where a failing step's screenshot goes: beside the web tests' (`target/ui-screenshots`).
fn screenshot_path(what: &str) -> PathBuf {
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/ui-screenshots")
        .join(format!("glewlwyd-{name}-{}.png", std::process::id()))
}

/// Fails the test: what was awaited, where the browser is, what it shows, a screenshot.
pub fn fail(b: &Browser, what: &str) -> ! {
    let shot = screenshot_path(what);
    b.screenshot(&shot);
    let text = if b.find_all("body").is_empty() {
        String::new()
    } else {
        b.text("body")
    };
    panic!(
        "glewlwyd's login page: {what}; the browser is at {} ({:?}), showing:\n{text}\n\
         screenshot: {}",
        b.url(),
        b.title(),
        shot.display()
    );
}

/// Whether at least one element matches `css` (never fails when none does).
pub fn present(b: &Browser, css: &str) -> bool {
    !b.find_all(css).is_empty()
}

/// Waits until `css` matches an element, or fails the test saying so.
pub fn wait_for(b: &Browser, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !present(b, css) {
        if Instant::now() >= deadline {
            fail(b, &format!("{css} never appeared within {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `scheme://host:port` of `url`: glewlwyd's pages and API share it.
fn origin(url: &str) -> Option<&str> {
    let rest = url.find("://").map(|i| i + 3)?;
    let end = url[rest..].find('/').map_or(url.len(), |i| rest + i);
    Some(&url[..end])
}

/// Fills in and submits glewlwyd's login form, on which the browser sits (after the
/// authorization endpoint's redirect), and clicks Continue once signed in. Returns when
/// the browser has left glewlwyd, or when glewlwyd shows a refusal; fails the test if
/// neither happens.
pub fn submit(b: &Browser, username: &str, password: &str) -> Outcome {
    wait_for(b, FORM);
    let at = b.url();
    let Some(glewlwyd) = origin(&at).map(str::to_owned) else {
        fail(b, &format!("the page's URL {at:?} has no origin"));
    };
    if !b.url().contains("/login.html") {
        fail(b, "not glewlwyd's login.html");
    }
    b.type_into(USERNAME, username);
    b.type_into(PASSWORD, password);
    // A refusal adds a toast; one already shown must not count for this attempt.
    let toasts_before = b.find_all(ERROR).len();
    b.click(SUBMIT);

    let deadline = Instant::now() + PATIENCE;
    let mut continued = false;
    loop {
        let url = b.url();
        if !url.starts_with(&glewlwyd) {
            return Outcome::Left(url);
        }
        let toasts = b.find_all(ERROR);
        if toasts.len() > toasts_before {
            // The toast is added before its text is drawn: wait for the text too.
            let text = b.text(LAST_ERROR);
            if !text.trim().is_empty() || Instant::now() >= deadline {
                return Outcome::Refused(text);
            }
        }
        if !continued && present(b, CONTINUE) {
            b.click(CONTINUE);
            continued = true;
        }
        if Instant::now() >= deadline {
            let step = if continued {
                "Continue was clicked but the browser never left glewlwyd"
            } else {
                "after submitting the password, neither Continue nor an error appeared"
            };
            fail(b, &format!("{step} within {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Signs `username` in at glewlwyd's login page, on which the browser sits, and waits
/// until the browser has left glewlwyd (redirected to the client's redirect URI). A
/// refusal or a page that never gets there fails the test, with a screenshot.
pub fn sign_in(b: &Browser, username: &str, password: &str) -> String {
    match submit(b, username, password) {
        Outcome::Left(url) => url,
        Outcome::Refused(message) => fail(
            b,
            &format!("glewlwyd refused {username:?}'s login: {message:?}"),
        ),
    }
}
