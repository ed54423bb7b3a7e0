//! The page shell every page shares: the document head (viewport for phones, the one
//! inline style sheet), the navigation with the sign-out form, the main content, and
//! the one small inline script (the copy buttons, which stay hidden without it). Also
//! the small formatting helpers pages share (times, sizes, copyable lines).
//!
//! The security headers (`Content-Security-Policy` naming the style's and the script's
//! SHA-256, no framing, no referrer, no caching) are set on every response under
//! `/ui` by `headers()`, wrapped around the whole scope in `web::configure`.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, HttpResponseBuilder};
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

use crate::domain::model::{rfc3339, UnixTime};

/// What the navigation shows for a signed-in user.
pub struct Nav<'a> {
    pub user: &'a str,
    pub admin: bool,
    pub csrf: &'a str,
    /// The path of the page shown, marked in the navigation.
    pub current: &'a str,
}

const STYLE: &str = r#"
:root{color-scheme:light;--fg:#1b1f23;--muted:#4a5560;--bg:#fff;--line:#c9d1d9;--accent:#0b5cad;--bad:#a4161a;--good:#1a7f37;--soft:#f3f6f9}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#12263a;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
header a,header button{color:#fff}
header .brand{font-weight:700;text-decoration:none;margin-right:auto}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header form{margin:0}
header button{background:transparent;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem;cursor:pointer;font:inherit}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f5a623;outline-offset:2px}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.copy{display:flex;gap:.5rem;align-items:flex-start;background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:.4rem .6rem;margin:.25rem 0}
.copy code{flex:1}
form.stack{display:grid;gap:.75rem;max-width:32rem;margin:.5rem 0}
label{font-weight:600}
fieldset{border:1px solid var(--line);border-radius:4px}
fieldset label{font-weight:400;margin-right:1rem;white-space:nowrap}
input[type=text],input[type=password],select{font:inherit;padding:.4rem;border:1px solid var(--muted);border-radius:4px;width:100%}
button{font:inherit;padding:.4rem .9rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.danger{background:var(--bad);border-color:var(--bad)}
button.plain{background:#fff;color:var(--accent)}
td form{margin:0}
.error{color:var(--bad);font-weight:600}
.ok{color:var(--good)}
.bad{color:var(--bad)}
.muted{color:var(--muted)}
.notice{border-left:4px solid var(--accent);background:var(--soft);padding:.5rem 1rem}
@media (max-width:40rem){main{padding:.5rem}th,td{padding:.3rem}}
"#;

const SCRIPT: &str = r#"
(function(){function pick(e){var r=document.createRange();r.selectNodeContents(e);var s=window.getSelection();s.removeAllRanges();s.addRange(r);}
document.querySelectorAll('button[data-copy]').forEach(function(b){b.hidden=false;b.addEventListener('click',function(){var e=document.getElementById(b.getAttribute('data-copy'));var t=e.textContent;var done=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy';},1500);};
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).then(done,function(){pick(e);});}else{pick(e);try{if(document.execCommand('copy')){done();}}catch(x){}}});});})();
"#;

fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The policy: nothing from elsewhere, only our own style and script blocks.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'self'; style-src {}; script-src {}; img-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        sha256_source(STYLE),
        sha256_source(SCRIPT)
    )
});

/// The headers of every response under `/ui`.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CONTENT_SECURITY_POLICY, CSP.as_str()))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// A whole page: `nav` is `None` for the signed-out pages and error pages.
pub fn page(nav: Option<&Nav>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · regauth" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/ui/" { "regauth" }
                    @if let Some(nav) = nav {
                        nav aria-label="Main" {
                            ul {
                                (link(nav, "/ui/tokens", "Access tokens"))
                                (link(nav, "/ui/logins", "Docker logins"))
                                (link(nav, "/ui/projects", "Projects"))
                                (link(nav, "/ui/requests", "Requests"))
                                (link(nav, "/ui/account", "Account"))
                                @if nav.admin { (link(nav, "/ui/admin/users", "Users")) }
                            }
                        }
                        form method="post" action="/ui/signout" {
                            (csrf_field(nav.csrf))
                            button type="submit" { "Sign out " (nav.user) }
                        }
                    }
                }
                main id="main" { (body) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

fn link(nav: &Nav, href: &str, text: &str) -> Markup {
    let current = (nav.current == href).then_some("page");
    html! { li { a href=(href) aria-current=[current] { (text) } } }
}

/// An HTML response.
pub fn respond(builder: &mut HttpResponseBuilder, page: Markup) -> HttpResponse {
    builder
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// 200 with `page`.
pub fn ok(page: Markup) -> HttpResponse {
    respond(&mut HttpResponse::Ok(), page)
}

/// The hidden field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(super::csrf::FIELD) value=(token); }
}

/// `text` in a box with a copy button (shown only with the script); `id` names it.
pub fn copyable(id: &str, text: &str) -> Markup {
    html! {
        div.copy {
            code id=(id) { (text) }
            button.plain type="button" data-copy=(id) hidden aria-label="Copy to the clipboard" { "Copy" }
        }
    }
}

/// `2026-11-22 14:23 UTC`, or `never` for none.
pub fn when(t: Option<UnixTime>) -> String {
    match t.and_then(rfc3339) {
        Some(s) => s.replacen('T', " ", 1).replace('Z', " UTC"),
        None => "never".into(),
    }
}

/// Bytes for people: `1.4 MB`.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    match b {
        b if b < 1000.0 => format!("{bytes} B"),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.1} GB", b / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_exactly_the_inline_blocks_rendered() {
        let html = page(None, "t", html! { p { "x" } }).into_string();
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(CSP.contains(&sha256_source(STYLE)));
        assert!(CSP.contains(&sha256_source(SCRIPT)));
        assert!(!CSP.contains("unsafe"));
    }

    #[test]
    fn titles_and_values_are_escaped() {
        let html = page(None, "<b>", copyable("x", "a\"<script>")).into_string();
        assert!(!html.contains("<b>"));
        assert!(!html.contains("a\"<script>"));
    }

    #[test]
    fn helpers_format_for_people() {
        assert_eq!(when(None), "never");
        assert_eq!(when(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1_400_000), "1.4 MB");
    }
}
