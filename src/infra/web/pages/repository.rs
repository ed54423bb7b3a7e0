//! A repository (`/ui/repository?path=P`): its tags newest first, paged
//! (`browse::tags`), each with the exact `docker pull` line by digest and a link to the
//! tag's history (`/ui/repository/history?path=P&tag=T`, `browse::history`), and what
//! the user's own password may do there, in `explain::for_caller`'s words.

use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::query;
use crate::app::browse;
use crate::app::explain::{self, ScopeExplanation};
use crate::app::operations::{ExplainOwnAccess, ListTags, ShowRepository, TagHistory};
use crate::domain::model::{TagInfo, TagSort};
use crate::domain::repo_name::RepoPath;
use crate::domain::scope::ScopeLimits;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::form::Params;
use crate::infra::web::errors::WebError;
use crate::infra::web::gate::Page;
use crate::infra::web::{layout, registry_host};

/// Tags per page.
const PAGE: usize = 50;

fn path_param(params: &Params) -> Result<RepoPath, WebError> {
    let raw = params
        .get("path")
        .ok_or_else(|| WebError::bad_request("give the repository as ?path=syn123/name"))?;
    RepoPath::parse(raw).map_err(|e| WebError::bad_request(e.to_string()))
}

/// "pull ✓, push ✗ — you have no UPDATE permission on the repository".
fn access_line(explained: &[ScopeExplanation]) -> Markup {
    let verdicts: Vec<_> = explained.iter().flat_map(|s| &s.verdicts).collect();
    let mut reasons: Vec<&str> = verdicts
        .iter()
        .filter_map(|v| v.refusal.map(|r| r.words()))
        .collect();
    reasons.dedup();
    html! {
        p #your-access {
            "Your access: "
            @for (i, v) in verdicts.iter().enumerate() {
                @if i > 0 { ", " }
                (v.action) " "
                @if v.refusal.is_none() {
                    span.ok aria-label="granted" { "✓" }
                } @else {
                    span.bad aria-label="refused" { "✗" }
                }
            }
            @if !reasons.is_empty() { " — " (reasons.join("; ")) }
        }
    }
}

fn tag_rows(tags: &[TagInfo], host: &str, path: &RepoPath) -> Markup {
    html! {
        div.table { table #tags {
            thead { tr { th { "Tag" } th { "Digest" } th { "Size" } th { "Pushed by" } th { "Pushed at" } } }
            tbody {
                @for (i, t) in tags.iter().enumerate() {
                    tr {
                        td.tag {
                            (t.tag) br;
                            a href={ "/ui/repository/history?" (query(&[("path", path.as_str()), ("tag", &t.tag)])) } { "history" }
                        }
                        td {
                            code.digest { (t.digest) }
                            (layout::copyable(&format!("pull-{i}"), &format!("docker pull {host}/{path}@{}", t.digest)))
                        }
                        td { (layout::size(t.size)) }
                        td { (t.pusher) }
                        td { (layout::when(Some(t.pushed_at))) }
                    }
                }
            }
        } }
    }
}

pub async fn tags(page_of: Page<ListTags>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let state = &page_of.state;
    let params = Params::parse(req.query_string().as_bytes());
    let path = path_param(&params)?;
    let page: usize = match params.get("page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| WebError::bad_request("page must be a number from 1"))?,
    };
    let limits = ScopeLimits {
        max_scopes: state.settings.token.max_scopes,
        ..Default::default()
    };
    let p = path.clone();
    let (tags, total, explained) = page_of
        .run(move |st, permit| {
            let store = st.directory.as_ref();
            browse::repository(store, &permit.also::<ShowRepository>()?, p.clone())?;
            let offset = (page - 1).saturating_mul(PAGE);
            let (tags, total) = browse::tags(store, permit, &p, TagSort::Time, offset, PAGE)?;
            let scope = format!("repository:{p}:pull,push");
            let own = permit.also::<ExplainOwnAccess>()?;
            let explained = explain::for_caller(store, &own, &[scope], limits)?;
            Ok((tags, total, explained))
        })
        .await?;
    let host = registry_host(state, &req);
    let pages = total.div_ceil(PAGE).max(1);
    let link = |n: usize| {
        format!(
            "/ui/repository?{}",
            query(&[("path", path.as_str()), ("page", &n.to_string())])
        )
    };
    let title = format!("Repository {path}");
    let body = html! {
        h1 { (title) }
        (access_line(&explained))
        p {
            a href={ "/ui/projects/" (path.project()) } { "Project " (path.project()) }
            " · "
            a href={ "/ui/sharing?" (query(&[("entity", path.as_str())])) } { "Sharing settings" }
            " · "
            a href={ "/ui/access?" (query(&[("entity", path.as_str())])) } { "Access requests" }
        }
        h2 { "Tags (" (total) ")" }
        @if tags.is_empty() {
            p.muted { "No tags." }
        } @else {
            (tag_rows(&tags, &host, &path))
        }
        @if pages > 1 {
            nav aria-label="Pages" {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Newer" } " " }
                "Page " (page) " of " (pages)
                @if page < pages { " " a href=(link(page + 1)) rel="next" { "Older →" } }
            }
        }
    };
    Ok(page_of.show(&title, body))
}

pub async fn history(page: Page<TagHistory>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let params = Params::parse(req.query_string().as_bytes());
    let path = path_param(&params)?;
    let tag = params
        .owned("tag")
        .ok_or_else(|| WebError::bad_request("give the tag as &tag=NAME"))?;
    let (p, t) = (path.clone(), tag.clone());
    let commits = page
        .read(move |dir, permit| browse::history(dir, permit, &p, &t))
        .await?;
    let title = format!("History of {path}:{tag}");
    let body = html! {
        h1 { (title) }
        p { a href={ "/ui/repository?" (query(&[("path", path.as_str())])) } { "Back to " (path) } }
        @if commits.is_empty() {
            p.muted { "No such tag." }
        } @else {
            div.table { table {
                thead { tr { th { "Digest" } th { "Size" } th { "Pushed by" } th { "Pushed at" } } }
                tbody {
                    @for c in &commits {
                        tr {
                            td { code.digest { (c.digest) } }
                            td { (layout::size(c.size)) }
                            td { (c.pusher) }
                            td { (layout::when(Some(c.pushed_at))) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page.show(&title, body))
}
