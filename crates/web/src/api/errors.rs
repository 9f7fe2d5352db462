//! The failure half of the API's contract, written once for every operation.
//!
//! Each operation lists, under every status it can answer with, the error codes that status can
//! carry there, with the shared [`ErrorBody`](super::ErrorBody) schema narrowed to exactly those
//! codes (so a client, or schemathesis, can tell an undocumented code from a documented one).
//! Most codes follow from the operation's shape, as the extractors in `crate::extract` and the
//! access layer produce them:
//!
//! | shape | codes |
//! | --- | --- |
//! | any | `internal` (500) |
//! | path parameters | `invalid_id` (400), `route_not_found` (404) |
//! | query parameters | `invalid_query` (400) |
//! | a JSON body | `malformed_json`, `unreadable_body` (400), `body_too_large` (413), `unsupported_media_type` (415), `invalid_body` (422) |
//! | not a GET | `cross_origin_request` (403) |
//! | not public | `unauthenticated`, `invalid_token` (401) |
//! | a permission (an organization route) | `invalid_path` (400), `permission_denied`, `password_change_required` (403), `not_found` (404) |
//!
//! What an operation's use case refuses besides is declared on the operation itself, in its
//! `x-errors` extension (a list of [`ErrorCode`]s, removed from the published document once
//! merged). Error responses are never written by hand in `responses(...)`: a route therefore
//! documents its failures by naming only what is its own, and a new route gets the rest for free.
//!
//! The same pass states the rest of what the shape implies: non-public operations require the
//! `token` or `session` security scheme, an optional JSON body is documented as absent-or-
//! object, never `null` (the server refuses a `null` body), and every response has the
//! description OpenAPI requires.

use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr, Required};

use axum::http::Method;

use crate::error::ErrorCode;
use crate::routes::{ALSO_EXTENSION, Declaration, PERMISSION_EXTENSION, Requires};

/// The operation extension listing the error codes of its own (beyond those of its shape).
pub const ERRORS_EXTENSION: &str = "x-errors";

/// The `x-errors` value for `codes`.
pub fn errors(codes: &[ErrorCode]) -> serde_json::Value {
    serde_json::Value::Array(
        codes
            .iter()
            .map(|c| serde_json::Value::String(c.as_str().to_string()))
            .collect(),
    )
}

/// Writes each operation's declared requirement (`x-permission`, `x-permission-also`) and its
/// failures into `doc`. Returns what is wrong (an operation without a declaration, unknown
/// codes, hand-written error responses); the server refuses to start with any.
pub fn document(doc: &mut OpenApi, declarations: &[Declaration]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let Some(declaration) = declarations
                .iter()
                .find(|d| d.method == method && d.path == *path)
            else {
                problems.push(format!("{method} {path}: no declared requirement"));
                continue;
            };
            publish(operation, declaration);
            if let Err(problem) =
                document_operation(method.as_str(), operation, declaration.requires)
            {
                problems.push(format!("{method} {path}: {problem}"));
            }
        }
    }
    problems
}

/// The declaration, as the document's extensions.
fn publish(operation: &mut Operation, declaration: &Declaration) {
    let extensions = operation.extensions.get_or_insert_with(Default::default);
    extensions.insert(
        PERMISSION_EXTENSION.to_string(),
        declaration.requires.key().into(),
    );
    if !declaration.also.is_empty() {
        let keys = declaration.also.iter().map(|p| p.key()).collect::<Vec<_>>();
        extensions.insert(ALSO_EXTENSION.to_string(), keys.into());
    }
}

fn document_operation(
    method: &str,
    operation: &mut Operation,
    access: Requires,
) -> Result<(), String> {
    let mut codes = shape_codes(method, operation, access);
    for code in own_codes(operation)? {
        codes.insert(code);
    }
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        by_status
            .entry(crate::error::status(code).as_u16())
            .or_default()
            .push(code);
    }
    for (status, codes) in by_status {
        let key = status.to_string();
        if operation.responses.responses.contains_key(&key) {
            return Err(format!(
                "{key} is written by hand; list its codes in `{ERRORS_EXTENSION}` instead"
            ));
        }
        operation
            .responses
            .responses
            .insert(key, RefOr::T(response(status, &codes)));
    }
    // OpenAPI requires a description of every response; a success's is its status's name
    // unless the operation gave one.
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            response.description = status
                .parse::<u16>()
                .ok()
                .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Success")
                .to_string();
        }
    }
    if access != Requires::Public {
        // An API token, or the session cookie (the token wins when a request has both).
        operation.security = Some(vec![
            SecurityRequirement::new("token", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
    if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
        never_null_when_optional(body);
    }
    Ok(())
}

/// The codes an operation's shape implies (see the module's table).
fn shape_codes(method: &str, operation: &Operation, access: Requires) -> BTreeSet<ErrorCode> {
    let mut codes = BTreeSet::from([ErrorCode::Internal]);
    let parameters: Vec<ParameterIn> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if parameters.contains(&ParameterIn::Path) {
        codes.extend([ErrorCode::InvalidId, ErrorCode::RouteNotFound]);
    }
    if parameters.contains(&ParameterIn::Query) {
        codes.insert(ErrorCode::InvalidQuery);
    }
    let json_body = matches!(
        &operation.request_body,
        Some(RefOr::T(body)) if body.content.contains_key("application/json")
    );
    if json_body {
        codes.extend([
            ErrorCode::MalformedJson,
            ErrorCode::UnreadableBody,
            ErrorCode::BodyTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::InvalidBody,
        ]);
    }
    if access != Requires::Public {
        codes.extend([ErrorCode::Unauthenticated, ErrorCode::InvalidToken]);
    }
    // Changes come from this server's own pages or from scripts, never another site's page.
    if method != "GET" {
        codes.insert(ErrorCode::CrossOriginRequest);
    }
    if let Requires::Permission(_) = access {
        codes.extend([
            ErrorCode::InvalidPath,
            ErrorCode::PermissionDenied,
            ErrorCode::PasswordChangeRequired,
            ErrorCode::NotFound,
        ]);
    }
    codes
}

/// The operation's `x-errors`, removed from it.
fn own_codes(operation: &mut Operation) -> Result<Vec<ErrorCode>, String> {
    let Some(value) = operation
        .extensions
        .as_mut()
        .and_then(|e| e.remove(ERRORS_EXTENSION))
    else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| format!("{ERRORS_EXTENSION} must be a list of error codes"))?;
    list.iter()
        .map(|code| {
            code.as_str()
                .and_then(ErrorCode::parse)
                .ok_or_else(|| format!("{ERRORS_EXTENSION}: unknown error code {code}"))
        })
        .collect()
}

fn response(status: u16, codes: &[ErrorCode]) -> Response {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut description = format!("{reason}. `error.code` is one of:\n");
    for code in codes {
        description.push_str(&format!("- `{}`: {}\n", code.as_str(), code.meaning()));
    }
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes.iter().map(|c| c.as_str())));
    let narrowed = ObjectBuilder::new()
        .property(
            "error",
            ObjectBuilder::new().property("code", code).required("code"),
        )
        .required("error");
    let schema: Schema = AllOfBuilder::new()
        .item(Ref::from_schema_name("ErrorBody"))
        .item(narrowed)
        .into();
    let mut builder = ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(schema)));
    if status == 429 {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds until an attempt is accepted again."))
                .build(),
        );
    }
    builder.build()
}

/// An optional body is absent or an object: the extractor refuses `null` like any other
/// non-object, so the `Option<T>` the derive writes as "T or null" is documented as T.
fn never_null_when_optional(body: &mut RequestBody) {
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
            continue;
        };
        let not_null: Vec<RefOr<Schema>> = one_of
            .items
            .iter()
            .filter(|item| !is_null(item))
            .cloned()
            .collect();
        if let [only] = not_null.as_slice() {
            content.schema = Some(only.clone());
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == Type::Null.into())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn published() -> Value {
        let (_, doc, _, problems) = super::super::routes();
        assert!(problems.is_empty(), "{problems:#?}");
        serde_json::to_value(&doc).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                all.push((format!("{} {path}", method.to_uppercase()), operation));
            }
        }
        all
    }

    fn codes_under(operation: &Value, status: &str) -> Vec<String> {
        let schema = &operation["responses"][status]["content"]["application/json"]["schema"];
        schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .map(|codes| {
                codes
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn every_operation_lists_its_failures_under_their_statuses() {
        let doc = published();
        for (name, operation) in operations(&doc) {
            assert!(operation.get(ERRORS_EXTENSION).is_none(), "{name}");
            let access = operation["x-permission"].as_str().unwrap();
            assert_eq!(codes_under(operation, "500"), ["internal"], "{name}");
            if access != "public" {
                assert!(
                    codes_under(operation, "401").contains(&"invalid_token".into()),
                    "{name}"
                );
                assert_eq!(
                    operation["security"],
                    json!([{"token": []}, {"session": []}]),
                    "{name}"
                );
            }
            if name.contains("{org_id}") {
                assert!(
                    codes_under(operation, "403").contains(&"permission_denied".into()),
                    "{name}"
                );
                assert!(
                    codes_under(operation, "404").contains(&"not_found".into()),
                    "{name}"
                );
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty())
                );
                if status.starts_with('2') {
                    continue;
                }
                let codes = codes_under(operation, status);
                assert!(!codes.is_empty(), "{name} {status}");
                for code in codes {
                    let code = ErrorCode::parse(&code).unwrap();
                    assert_eq!(
                        crate::error::status(code).as_str(),
                        status,
                        "{name}: {code:?}"
                    );
                    let description = response["description"].as_str().unwrap();
                    assert!(description.contains(code.meaning()), "{name} {status}");
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = published();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut stack = vec![&doc];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let name = target.strip_prefix("#/components/schemas/").unwrap();
                        assert!(schemas.contains_key(name), "{target} is not defined");
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }

    #[test]
    fn optional_bodies_are_absent_or_objects_never_null() {
        let doc = published();
        for (name, operation) in operations(&doc) {
            if let Some(body) = operation.get("requestBody") {
                let schema = body["content"]["application/json"]["schema"].to_string();
                assert!(!schema.contains("\"null\""), "{name}: {schema}");
            }
        }
        let accept = &doc["paths"]["/api/v1/invitations/{token}/accept"]["post"];
        assert_eq!(accept["requestBody"]["required"], Value::Null);
    }

    #[test]
    fn documented_limits_are_the_enforced_ones() {
        let doc = published();
        let invitation = &doc["components"]["schemas"]["CreateInvitation"]["properties"];
        assert_eq!(
            invitation["expires_in_hours"]["maximum"],
            json!(app::MAX_INVITATION_TTL_HOURS)
        );
        let explain = &doc["paths"]["/api/v1/orgs/{org_id}/printers"]["get"]["parameters"];
        let limit = explain
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["maximum"], json!(500));
        assert_eq!(limit["schema"]["minimum"], json!(1));
    }

    fn single_operation(responses: Value, extensions: Value) -> OpenApi {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/api/v1/orgs/{org_id}/things": {"post": {
                "parameters": [{"name": "org_id", "in": "path", "required": true,
                    "schema": {"type": "integer"}}],
                "responses": responses,
            }}},
        });
        let mut doc: OpenApi = serde_json::from_value(doc).unwrap();
        let operation = doc
            .paths
            .paths
            .get_mut("/api/v1/orgs/{org_id}/things")
            .unwrap()
            .post
            .as_mut()
            .unwrap();
        operation.extensions = Some(
            extensions
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        doc
    }

    fn sites_manage() -> Declaration {
        Declaration {
            method: Method::POST,
            path: "/api/v1/orgs/{org_id}/things".into(),
            requires: Requires::Permission(authz::Permission::SitesManage),
            also: Vec::new(),
        }
    }

    #[test]
    fn declarations_that_cannot_be_documented_are_refused() {
        let mut doc = single_operation(json!({"201": {"description": "made"}}), json!({}));
        let problems = document(&mut doc, &[]);
        assert_eq!(
            problems,
            ["POST /api/v1/orgs/{org_id}/things: no declared requirement"]
        );

        let mut doc = single_operation(
            json!({"201": {"description": "made"}}),
            json!({"x-errors": ["name_taken", "no_such_code"]}),
        );
        let problems = document(&mut doc, &[sites_manage()]);
        assert!(
            problems[0].contains("unknown error code \"no_such_code\""),
            "{problems:?}"
        );

        let mut doc = single_operation(
            json!({"201": {"description": "made"}, "409": {"description": "taken"}}),
            json!({"x-errors": ["name_taken"]}),
        );
        let problems = document(&mut doc, &[sites_manage()]);
        assert!(
            problems[0].contains("409 is written by hand"),
            "{problems:?}"
        );

        let mut doc = single_operation(
            json!({"201": {"description": "made"}}),
            json!({"x-errors": ["name_taken"]}),
        );
        assert!(document(&mut doc, &[sites_manage()]).is_empty());
        let doc = serde_json::to_value(&doc).unwrap();
        let operation = &doc["paths"]["/api/v1/orgs/{org_id}/things"]["post"];
        assert_eq!(codes_under(operation, "409"), ["name_taken"]);
        assert_eq!(
            codes_under(operation, "400"),
            ["invalid_id", "invalid_path"]
        );
        assert_eq!(
            codes_under(operation, "403"),
            [
                "permission_denied",
                "password_change_required",
                "cross_origin_request"
            ]
        );
    }
}
