//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' own
//! `#[utoipa::path]` declarations and served at `GET /api/v1/openapi.json`.
//!
//! Each handler declares its path, parameters, body, its answers and the refusals only it
//! can give (400, 404, 409); it names its operation in `x-regauth-operation`, and the
//! refusals the gate gives before any handler runs (401, 403, 405, 413, 415, 429, 503)
//! are added here from that operation's declared needs (`app::operations`), so the two
//! cannot disagree. `docs/openapi.json` is this document as served (a test compares).

use std::sync::OnceLock;

use actix_web::http::{header, Method};
use actix_web::HttpResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi as Document, Ref, RefOr, Required,
    Response, ResponseBuilder, SecurityRequirement, Type,
};
use utoipa::{Modify, OpenApi};

use super::error_body::ErrorBody;
use super::gate::changes_state;
use super::{access_requests, admin, api, me, sharing, trust_policies};
use crate::app::operations::{OperationInfo, ALL};
use crate::domain::authz::needs::{OnEntity, Owner, Who};

/// The extension naming the operation (`app::operations`) a documented route runs.
pub const OPERATION_EXTENSION: &str = "x-regauth-operation";

/// The security scheme's name: HTTP Basic, with a password or an access token.
const BASIC: &str = "basic";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "regauth",
        description = "The JSON API of regauth, a Docker token-auth server: projects, \
                       repositories and tags, sharing and the trash, trust policies, access \
                       requests, one's own account and tokens, and administration. Every \
                       refusal is a registry-style errcode body."
    ),
    paths(
        describe,
        api::list_projects,
        api::add_project,
        api::project_repositories,
        api::repository,
        api::tags,
        api::history,
        api::add_external,
        api::delete_external,
        sharing::show,
        sharing::replace,
        sharing::inherit,
        sharing::move_to_trash,
        sharing::restore,
        trust_policies::list,
        trust_policies::add,
        trust_policies::remove,
        access_requests::file,
        access_requests::inbox,
        access_requests::mine,
        access_requests::approve,
        access_requests::deny,
        me::me,
        me::change_password,
        me::list_tokens,
        me::create_token,
        me::revoke_token,
        me::list_logins,
        me::revoke_login,
        me::explain,
        admin::list_users,
        admin::add_user,
        admin::change_user,
        admin::add_team,
        admin::add_member,
        admin::remove_member,
    ),
    components(schemas(ErrorBody)),
    modifiers(&GateAnswers)
)]
struct ApiDoc;

/// The document, with what the gate answers before each handler.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The document as served and committed: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        // Never seen; still JSON (the message escaped) rather than a panic on a request.
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    text.push('\n');
    text
}

/// `GET /api/v1/openapi.json`: this document (built once), for anyone.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    extensions(("x-regauth-operation" = json!("DescribeApi"))),
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub async fn describe() -> HttpResponse {
    static TEXT: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(TEXT.get_or_init(document_json).as_str())
}

/// A refusal's response: the errcode body, and `Retry-After` when it has one.
pub fn refusal(description: &str, retry_after: bool) -> Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let mut r = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if retry_after {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    r.build()
}

/// Adds what the gate (`http::gate`) answers before a handler runs, from the needs of
/// the operation each route names, and the security each accepts.
struct GateAnswers;

impl Modify for GateAnswers {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let basic = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some(
                "A user name and its password, or a user name (any) and an access token \
                 (rga_...) as the password. No header: anonymous, where the operation lets \
                 anyone in.",
            ))
            .build();
        components.add_security_scheme(BASIC, SecurityScheme::Http(basic));
        for (_, name, description, retry_after) in GATE_REFUSALS {
            components.responses.insert(
                name.to_string(),
                RefOr::T(refusal(description, retry_after)),
            );
        }
        for item in doc.paths.paths.values_mut() {
            let ops = [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::PATCH, &mut item.patch),
                (Method::DELETE, &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                if let Some(info) = operation_of(op) {
                    // The gate's own rule: its 415 and CSRF answers come from it.
                    add_gate_answers(op, info, changes_state(&method));
                }
            }
        }
    }
}

/// The operation a documented route declares it runs.
pub fn operation_of(op: &Operation) -> Option<OperationInfo> {
    let name = op.extensions.as_ref()?.get(OPERATION_EXTENSION)?.as_str()?;
    ALL.iter().find(|o| o.name == name).copied()
}

/// The refusals of the gate, each a reusable response (`components.responses`):
/// status, name, description, whether it carries `Retry-After`.
const GATE_REFUSALS: [(u16, &str, &str, bool); 8] = [
    (
        401,
        "Unauthorized",
        "The credentials are not good (never downgraded to anonymous), or the operation \
         needs a signed-in user",
        false,
    ),
    (
        403,
        "Denied",
        "Refused: a scope the credential lacks, an admin's operation, the access the \
         entity needs, or a change sent from another origin",
        false,
    ),
    (
        405,
        "OwnedBySynapse",
        "Beside a Synapse, this is changed in Synapse",
        false,
    ),
    (408, "BodyTimeout", "The body did not arrive in time", false),
    (
        413,
        "BodyTooLarge",
        "The body is over the size limit",
        false,
    ),
    (
        415,
        "NotJson",
        "A change must say Content-Type: application/json, even without a body",
        false,
    ),
    (
        429,
        "TooManyFailedLogins",
        "Too many failed logins: wait Retry-After seconds",
        true,
    ),
    (
        503,
        "Busy",
        "Too many password checks waiting, or the directory is unavailable: retry after \
         Retry-After seconds",
        true,
    ),
];

fn add_gate_answers(op: &mut Operation, info: OperationInfo, changes: bool) {
    let needs = info.needs;
    if !needs.takes_api_credentials() {
        return;
    }
    op.security = Some(match needs.who {
        Who::Anyone => vec![
            SecurityRequirement::default(),
            SecurityRequirement::new(BASIC, Vec::<String>::new()),
        ],
        _ => vec![SecurityRequirement::new(BASIC, Vec::<String>::new())],
    });
    let may_be_denied = changes
        || matches!(needs.who, Who::Admin)
        || !needs.scopes.is_empty()
        || !matches!(needs.entity, OnEntity::Nothing);
    let has_body = op.request_body.is_some();
    if changes && !has_body {
        op.request_body = Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "None is read, but a change must still say Content-Type: \
                     application/json (an empty body will do)",
                ))
                .content("application/json", ContentBuilder::new().build())
                .required(Some(Required::False))
                .build(),
        );
    }
    for (status, name, _, _) in GATE_REFUSALS {
        let applies = match status {
            403 => may_be_denied,
            405 => needs.owner == Owner::Synapse,
            415 => changes,
            408 | 413 => has_body,
            _ => true,
        };
        if applies {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::model::{EntityKind, RequestState, ScopeSet, TagSort, WorkloadActions};

    #[test]
    fn every_documented_operation_names_a_declared_operation() {
        let doc = document();
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                assert!(operation_of(op).is_some(), "{path}: no known operation");
            }
        }
    }

    /// The values a schema-only enum lists in the document.
    fn listed<T: utoipa::PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).expect("a schema");
        schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no enum in {schema}"))
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    }

    fn set<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        values.into_iter().map(str::to_string).collect()
    }

    /// The document's enums written beside the types they describe (so that the domain
    /// carries no utoipa), the errcodes too, list exactly the values the code gives and
    /// takes. Each domain
    /// enum's variants come from a match that stops compiling when one is added.
    #[test]
    fn every_schema_only_enum_lists_the_values_of_the_code() {
        assert_eq!(listed::<me::ScopeName>(), set(ScopeSet::all().names()));
        assert_eq!(
            listed::<trust_policies::ActionName>(),
            set(WorkloadActions::all().names())
        );

        let states = [
            RequestState::Open,
            RequestState::Approved,
            RequestState::Denied,
        ];
        for s in states {
            match s {
                RequestState::Open | RequestState::Approved | RequestState::Denied => {}
            }
        }
        let given = states
            .iter()
            .map(|s| serde_json::to_value(s).expect("state"));
        let given: BTreeSet<String> = given.map(|v| v.as_str().expect("a name").into()).collect();
        assert_eq!(listed::<access_requests::RequestStateName>(), given);
        assert_eq!(given, set(states.map(RequestState::as_str)));

        let kinds = [
            EntityKind::Project,
            EntityKind::ManagedRepository,
            EntityKind::ExternalRepository,
        ];
        for k in kinds {
            match k {
                EntityKind::Project
                | EntityKind::ManagedRepository
                | EntityKind::ExternalRepository => {}
            }
        }
        assert_eq!(
            listed::<api::EntityKindName>(),
            set(kinds.map(EntityKind::as_str))
        );

        let sorts = listed::<api::TagSortName>();
        let taken: Vec<TagSort> = sorts.iter().map(|s| s.parse().expect(s)).collect();
        for sort in [TagSort::Tag, TagSort::Time] {
            match sort {
                TagSort::Tag | TagSort::Time => assert!(taken.contains(&sort), "{sort:?}"),
            }
        }
        assert_eq!(taken.len(), sorts.len());

        let inbox = listed::<access_requests::InboxState>();
        assert_eq!(inbox, set(["open", "all"]));
        let all: Vec<bool> = inbox
            .iter()
            .map(|s| access_requests::inbox_all(Some(s)).expect(s))
            .collect();
        assert!(all.contains(&true) && all.contains(&false));
        assert!(access_requests::inbox_all(Some("decided")).is_err());

        use crate::infra::front::errors::ErrorCode;
        let codes = [
            ErrorCode::Unauthorized,
            ErrorCode::Denied,
            ErrorCode::Unsupported,
            ErrorCode::NameInvalid,
            ErrorCode::NameUnknown,
            ErrorCode::TagInvalid,
            ErrorCode::InvalidRequest,
            ErrorCode::TooManyRequests,
            ErrorCode::Unavailable,
            ErrorCode::Unknown,
        ];
        for c in codes {
            match c {
                ErrorCode::Unauthorized
                | ErrorCode::Denied
                | ErrorCode::Unsupported
                | ErrorCode::NameInvalid
                | ErrorCode::NameUnknown
                | ErrorCode::TagInvalid
                | ErrorCode::InvalidRequest
                | ErrorCode::TooManyRequests
                | ErrorCode::Unavailable
                | ErrorCode::Unknown => {}
            }
        }
        assert_eq!(
            listed::<super::super::error_body::ErrorCodeName>(),
            set(codes.map(ErrorCode::as_str))
        );
    }
}
