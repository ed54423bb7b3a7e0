//! The errcode body of every refusal (`front::errors`) as the OpenAPI document describes
//! it: the handlers name it in their `#[utoipa::path]` answers, and `openapi` lists it
//! once under `components`, so neither needs the other.

use serde::Serialize;
use utoipa::openapi::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// A refusal: `{"errors": [{"code", "message", "detail"}]}` (`front::errors`).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorItem {
    /// The errcode, as in the distribution spec.
    #[schema(example = "DENIED")]
    pub code: ErrorCodeName,
    /// Written for the person at the terminal.
    pub message: String,
    /// Always null.
    #[schema(schema_with = null)]
    pub detail: (),
}

fn null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// Every errcode a refusal names (`front::errors::ErrorCode::as_str`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCodeName {
    Unauthorized,
    Denied,
    Unsupported,
    NameInvalid,
    NameUnknown,
    TagInvalid,
    InvalidRequest,
    #[serde(rename = "TOOMANYREQUESTS")]
    TooManyRequests,
    Unavailable,
    Unknown,
}
