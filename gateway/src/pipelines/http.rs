//! The HTTP handlers for `/pipelines`: parse the request, call the
//! [`Pipelines`](super::Pipelines) service, shape the response.

use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Pipeline;
use super::domain::{PipelineStatus, Step};
use super::execution::Execution;
use super::service::{Change, CreatePipeline, ExecutePipeline, Target};
use super::store::{ExecutionQuery, PipelineQuery};
use crate::Error;
use crate::http::auth::Scope;
use crate::http::request_id::X_REQUEST_ID;
use crate::http::{Body, RequestBody, body, respond};
use crate::state::AppState;

/// Largest page a listing returns.
const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct PipelinePage<'a> {
    pipelines: Vec<&'a Pipeline>,
    next_cursor: Option<Uuid>,
}

#[derive(Serialize)]
struct ExecutionPage {
    executions: Vec<Execution>,
    next_cursor: Option<Uuid>,
}

/// `GET /pipelines?status=&limit=&cursor=`
pub async fn list(state: &AppState, parts: &Parts) -> Result<Response<Body>, Error> {
    let params: ListParams = query(parts)?;
    let status = params
        .status
        .filter(|s| !s.is_empty())
        .map(|s| PipelineStatus::parse(&s).ok_or_else(|| Error::BadRequest(format!("unknown status '{s}'"))))
        .transpose()?;
    let page = state
        .pipelines
        .list(PipelineQuery {
            status,
            limit: limit(params.limit)?,
            cursor: cursor(params.cursor)?,
        })
        .await?;
    respond::ok(&PipelinePage {
        pipelines: page.items.iter().map(AsRef::as_ref).collect(),
        next_cursor: page.next_cursor,
    })
}

/// `POST /pipelines`
pub async fn create<B: RequestBody>(state: &AppState, parts: &Parts, body: B) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let CreateBody {
        name,
        description,
        steps,
    } = json_body(state, parts, body).await?;
    let pipeline = state
        .pipelines
        .create(CreatePipeline {
            name,
            description,
            steps,
        })
        .await?;
    let mut response = pipeline_response(StatusCode::CREATED, &pipeline)?;
    if let Ok(location) = HeaderValue::try_from(format!("/pipelines/{}", pipeline.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /pipelines/{id}`
pub async fn get(state: &AppState, id: &str) -> Result<Response<Body>, Error> {
    let pipeline = state.pipelines.get(pipeline_id(id)?).await?;
    pipeline_response(StatusCode::OK, &pipeline)
}

/// `POST /pipelines/{id}/steps` with `{"plugin": "...", "config": {...}}`
pub async fn add_step<B: RequestBody>(
    state: &AppState,
    id: &str,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let target = target(id, parts)?;
    let step: Step = json_body(state, parts, body).await?;
    let pipeline = state.pipelines.change(target, Change::AddStep(step)).await?;
    pipeline_response(StatusCode::OK, &pipeline)
}

/// `DELETE /pipelines/{id}/steps/{index}`
pub async fn remove_step(state: &AppState, id: &str, index: &str, parts: &Parts) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let target = target(id, parts)?;
    let index = index
        .parse()
        .map_err(|_| Error::BadRequest(format!("step index '{index}' is not a number")))?;
    let pipeline = state.pipelines.change(target, Change::RemoveStep(index)).await?;
    pipeline_response(StatusCode::OK, &pipeline)
}

/// `POST /pipelines/{id}/activate` and `/archive`.
pub async fn change(state: &AppState, id: &str, parts: &Parts, change: Change) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let pipeline = state.pipelines.change(target(id, parts)?, change).await?;
    pipeline_response(StatusCode::OK, &pipeline)
}

/// `POST /pipelines/{id}/execute`: the body in, the last step's output out.
pub async fn execute<B: RequestBody>(
    state: &AppState,
    id: &str,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Invoke)?;
    let pipeline_id = pipeline_id(id)?;
    let body = body::read(&parts.headers, body, state.config.max_body_bytes).await?;
    let executed = state
        .pipelines
        .execute(ExecutePipeline {
            pipeline_id,
            body,
            content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
            request_id: parts
                .headers
                .get(X_REQUEST_ID)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("")),
        })
        .await?;
    let mut response = Response::new(Body::new(executed.output.body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, executed.output.content_type);
    if let Ok(id) = HeaderValue::try_from(executed.execution_id.to_string()) {
        headers.insert("x-flexcore-execution-id", id);
    }
    Ok(response)
}

/// `GET /pipelines/{id}/executions?limit=&cursor=`, newest first.
pub async fn executions(state: &AppState, id: &str, parts: &Parts) -> Result<Response<Body>, Error> {
    let pipeline_id = pipeline_id(id)?;
    let params: ListParams = query(parts)?;
    if params.status.is_some() {
        return Err(Error::BadRequest("executions cannot be filtered by status".into()));
    }
    let page = state
        .pipelines
        .executions(ExecutionQuery {
            pipeline_id,
            limit: limit(params.limit)?,
            cursor: cursor(params.cursor)?,
        })
        .await?;
    respond::ok(&ExecutionPage {
        executions: page.items,
        next_cursor: page.next_cursor,
    })
}

fn pipeline_response(status: StatusCode, pipeline: &Pipeline) -> Result<Response<Body>, Error> {
    let mut response = respond::json(status, pipeline)?;
    if let Ok(etag) = HeaderValue::try_from(format!("\"{}\"", pipeline.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

fn pipeline_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id).map_err(|_| Error::PipelineNotFound(id.to_owned()))
}

/// The pipeline and, from `If-Match` (`3`, `"3"` or `W/"3"`), the version the caller saw.
fn target(id: &str, parts: &Parts) -> Result<Target, Error> {
    let expected_version = parts
        .headers
        .get(header::IF_MATCH)
        .map(|value| {
            let text = value.to_str().unwrap_or_default().trim();
            text.trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .map_err(|_| Error::BadRequest(format!("If-Match must be a pipeline version, not '{text}'")))
        })
        .transpose()?;
    Ok(Target {
        pipeline_id: pipeline_id(id)?,
        expected_version,
    })
}

fn query<T: serde::de::DeserializeOwned>(parts: &Parts) -> Result<T, Error> {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
        .map_err(|e| Error::BadRequest(format!("invalid query string: {e}")))
}

fn limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(Error::BadRequest(format!("limit must be 1 to {MAX_LIMIT}, not {n}"))),
    }
}

fn cursor(cursor: Option<String>) -> Result<Option<Uuid>, Error> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| Uuid::parse_str(&c).map_err(|_| Error::BadRequest(format!("invalid cursor '{c}'"))))
        .transpose()
}

async fn json_body<T: serde::de::DeserializeOwned, B: RequestBody>(
    state: &AppState,
    parts: &Parts,
    body: B,
) -> Result<T, Error> {
    let bytes = body::read(&parts.headers, body, state.config.max_body_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadRequest(format!("request body: {e}")))
}
