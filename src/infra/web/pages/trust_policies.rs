//! A project's trust policies (`/ui/trust-policies?project=syn123`): which CI jobs may
//! pull or push its repositories with their own OIDC token. The list (names-only
//! policies flagged), and for those who manage the project's sharing a form to add one
//! and a remove button per policy; the rules are `administer::trust_policies`'.

use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::query;
use crate::app::administer::trust_policies::{self, PolicyDraft, PolicyView};
use crate::app::operations::{AddTrustPolicy, ListTrustPolicies, RemoveTrustPolicy};
use crate::domain::model::{parse_lifetime, ClaimCondition, EntityId, WorkloadActions};
use crate::infra::config::OidcSettings;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::form::{path_number, Params};
use crate::infra::front::AppState;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::{layout, Visit};

/// Most condition lines a form may send.
const MAX_LINES: usize = 32;

fn project_param(raw: Option<&str>) -> Result<EntityId, WebError> {
    raw.ok_or_else(|| WebError::bad_request("give the project as ?project=syn123"))?
        .parse()
        .map_err(|e: crate::domain::model::InvalidEntityId| WebError::bad_request(e.to_string()))
}

/// The configured issuers: (name, `iss`).
fn issuers(state: &AppState) -> Vec<(String, String)> {
    state
        .settings
        .oidc
        .issuers
        .iter()
        .map(|i| (i.name.clone(), i.iss().to_string()))
        .collect()
}

fn policy_row(visit: &Visit, project: EntityId, p: &PolicyView, may_change: bool) -> Markup {
    let conditions: Vec<String> = p.conditions.iter().map(ToString::to_string).collect();
    html! {
        tr {
            td { (p.id) }
            td { (p.issuer) }
            td { (p.audience) }
            td { code { (conditions.join(" ")) }
                @if p.names_only { " " strong.warning { "names only: pin an id (names are reused)" } } }
            td { (p.repositories) }
            td { (p.actions.join(", ")) }
            td { (p.max_lifetime_secs / 60) " min" }
            td { (p.creator) }
            @if may_change {
                td { form method="post" action={ "/ui/trust-policies/" (p.id) "/remove" } {
                    (layout::csrf_field(&visit.session.csrf))
                    input type="hidden" name="project" value=(project.to_string());
                    button type="submit" aria-label={ "Remove policy " (p.id) } { "Remove" }
                } }
            }
        }
    }
}

fn add_form(visit: &Visit, project: EntityId, issuers: &[(String, String)]) -> Markup {
    html! {
        h2 { "Add a policy" }
        @if issuers.is_empty() {
            p.muted { "No OIDC issuer is configured (oidc.issuers): ask the operator." }
        } @else {
            form method="post" action="/ui/trust-policies" {
                (layout::csrf_field(&visit.session.csrf))
                input type="hidden" name="project" value=(project.to_string());
                label { "Issuer " select name="issuer" {
                    @for (name, iss) in issuers { option value=(name) { (name) " (" (iss) ")" } }
                } }
                label { "Audience " input type="text" name="audience" required placeholder="regauth"; }
                label { "Conditions, one a line: claim=value, or claim~pattern (a * never crosses / or :)"
                    textarea name="conditions" rows="4" required
                        placeholder="repository_id=741952\nref~refs/heads/main" {} }
                label { "Repositories " input type="text" name="repositories" required placeholder="tool or tool-*"; }
                label { input type="checkbox" name="actions" value="pull" checked; " pull" }
                label { input type="checkbox" name="actions" value="push"; " push" }
                label { "Longest token life " input type="text" name="max_lifetime" value="15m"; }
                p { "The policy acts with your rights at each request: if you lose them, it does too." }
                button type="submit" { "Add policy" }
            }
        }
    }
}

pub async fn show(
    page: Page<ListTrustPolicies>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let params = Params::parse(req.query_string().as_bytes());
    let project = project_param(params.get("project"))?;
    let (policies, may_change, issuers) = page
        .run(move |st, permit| {
            let store = st.directory.as_ref();
            let policies = trust_policies::list(store, permit, project)?;
            let may_change = st.upstream.is_none() && permit.also::<AddTrustPolicy>().is_ok();
            Ok((policies, may_change, issuers(st)))
        })
        .await?;
    let visit = &page.visit;
    let title = format!("Trust policies of {project}");
    let body = html! {
        h1 { (title) }
        p { "CI jobs (GitHub Actions, GitLab CI, Kubernetes…) log in with "
            code { "docker login -u oidc -p \"$OIDC_TOKEN\"" }
            " and get what the first matching policy allows, never a refresh token. "
            a href={ "/ui/sharing?" (query(&[("entity", &project.to_string())])) } { "Sharing settings" } }
        @if policies.is_empty() { p.muted { "No policy: no CI job may sign in to this project." } }
        @else {
            div.table { table #trust-policies {
                thead { tr { th { "Id" } th { "Issuer" } th { "Audience" } th { "Conditions" }
                    th { "Repositories" } th { "Actions" } th { "Token life" } th { "Acts as" }
                    @if may_change { th { "" } } } }
                tbody { @for p in &policies { (policy_row(visit, project, p, may_change)) } }
            } }
        }
        @if may_change { (add_form(visit, project, &issuers)) }
    };
    Ok(page.show(&title, body))
}

/// The form as a draft; what is malformed is a 400 naming the field.
fn draft(params: &Params, oidc: &OidcSettings) -> Result<PolicyDraft, WebError> {
    let field = |name: &str| params.get(name).unwrap_or_default().trim().to_string();
    let issuer = oidc.issuer_named(&field("issuer"));
    let text = field("conditions");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > MAX_LINES {
        return Err(WebError::bad_request(format!(
            "at most {MAX_LINES} conditions"
        )));
    }
    let conditions = lines
        .iter()
        .map(|l| ClaimCondition::parse_line(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebError::bad_request(format!("conditions: {e}")))?;
    let actions = WorkloadActions::parse_list(&params.all("actions").join(","))
        .map_err(|e| WebError::bad_request(format!("actions: {e}")))?;
    let lifetime = field("max_lifetime");
    let max_lifetime_secs = if lifetime.is_empty() {
        None
    } else {
        let d = parse_lifetime(&lifetime).map_err(|e| WebError::bad_request(e.to_string()))?;
        Some(u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
    };
    Ok(PolicyDraft {
        issuer,
        audience: field("audience"),
        conditions,
        repositories: field("repositories"),
        actions,
        max_lifetime_secs,
        creator: None,
    })
}

pub async fn add(form: Form<AddTrustPolicy>) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let project = project_param(params.get("project"))?;
    page.run(move |st, permit| {
        let oidc = &st.settings.oidc;
        let draft =
            draft(&params, oidc).map_err(|e| crate::app::AppError::Invalid(e.to_string()))?;
        let iss = oidc.workload_issuers();
        trust_policies::add(
            st.directory.as_ref(),
            permit,
            project,
            draft,
            &iss,
            st.clock.now(),
        )
    })
    .await?;
    Ok(see_other(&format!(
        "/ui/trust-policies?{}",
        query(&[("project", &project.to_string())])
    )))
}

pub async fn remove(
    form: Form<RemoveTrustPolicy>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let project = project_param(params.get("project"))?;
    let id = path_number(req.match_info().get("id").unwrap_or_default(), "policy")?;
    page.change(move |dir, permit, now| trust_policies::remove(dir, permit, project, id, now))
        .await?;
    Ok(see_other(&format!(
        "/ui/trust-policies?{}",
        query(&[("project", &project.to_string())])
    )))
}
