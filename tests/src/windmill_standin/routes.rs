//! The routes of the stand-in, answering as `API.md` says Windmill does:
//! plain text for ids, hashes and errors; JSON for jobs and results.

use std::convert::Infallible;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::VERSION;
use super::state::{Phase, State, Submission, content_hash};

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, body: impl Into<String>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json_answer(value: &Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn not_found(what: impl Into<String>) -> Answer {
    text(StatusCode::NOT_FOUND, format!("Not found: {}", what.into()))
}

fn bad_request(why: impl Into<String>) -> Answer {
    text(StatusCode::BAD_REQUEST, format!("Bad request: {}", why.into()))
}

pub(super) async fn handle(
    request: Request<Incoming>,
    state: &Mutex<State>,
    token: &str,
    workspace: &str,
) -> Result<Answer, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {token}"));
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(bad_request("unreadable body")),
    };
    if method == Method::GET && path == "/api/version" {
        return Ok(text(StatusCode::OK, VERSION));
    }
    let Some(rest) = path.strip_prefix("/api/w/") else {
        return Ok(not_found(path));
    };
    if !authorized {
        return Ok(text(StatusCode::UNAUTHORIZED, "Unauthorized: missing or invalid token"));
    }
    let Some((ws, route)) = rest.split_once('/') else {
        return Ok(not_found(path));
    };
    if ws != workspace {
        return Ok(not_found(format!("workspace {ws}")));
    }
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    Ok(route_workspace(&mut state, &method, route, &query, &body))
}

fn route_workspace(state: &mut State, method: &Method, route: &str, query: &str, body: &[u8]) -> Answer {
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    if post {
        if let Some(p) = route.strip_prefix("jobs/run/p/") {
            return run(state, p, "script", query, body);
        }
        if let Some(p) = route.strip_prefix("jobs/run/f/") {
            return run(state, p, "flow", query, body);
        }
        if let Some(id) = route.strip_prefix("jobs_u/queue/cancel/") {
            return cancel(state, id, body);
        }
        if route == "scripts/create" {
            return create_script(state, body);
        }
        if route == "flows/create" {
            return create_flow(state, body);
        }
        if let Some(p) = route.strip_prefix("flows/update/") {
            return match (state.flows.contains_key(p), parse_object(body)) {
                (false, _) => not_found(format!("flow {p}")),
                (true, Err(e)) => bad_request(e),
                (true, Ok(flow)) => {
                    state.flows.insert(p.to_owned(), flow);
                    text(StatusCode::OK, p)
                }
            };
        }
    }
    if get {
        if let Some(id) = route.strip_prefix("jobs_u/completed/get_result_maybe/") {
            return result_maybe(state, id, query.contains("get_started=true"));
        }
        if let Some(id) = route.strip_prefix("jobs_u/get/") {
            return get_job(state, id);
        }
        if let Some(p) = route.strip_prefix("scripts/get/p/") {
            return match state.scripts.get(p) {
                Some(s) => json_answer(&json!({
                    "path": p, "hash": s.hash, "content": s.content,
                    "language": s.language, "summary": s.summary,
                })),
                None => not_found(format!("script {p}")),
            };
        }
        if let Some(p) = route.strip_prefix("flows/get/") {
            return match state.flows.get(p) {
                Some(flow) => json_answer(flow),
                None => not_found(format!("flow {p}")),
            };
        }
    }
    not_found(route.to_owned())
}

/// The body as a JSON object, or why it is not one (for a 400).
fn parse_object(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn run(state: &mut State, path: &str, kind: &'static str, query: &str, body: &[u8]) -> Answer {
    let args = match parse_object(body) {
        Ok(args) => args,
        Err(e) => return bad_request(e),
    };
    let id = match query_param(query, "job_id") {
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(id) => id,
            Err(e) => return bad_request(format!("job_id: {e}")),
        },
        None => Uuid::new_v4(),
    };
    let exists = if kind == "script" {
        state.scripts.contains_key(path)
    } else {
        state.flows.contains_key(path)
    };
    let duplicate = state.jobs.contains_key(&id);
    state.submissions.push(Submission {
        job_id: id,
        path: path.to_owned(),
        kind,
        args: args.clone(),
        accepted: exists && !duplicate,
        at: SystemTime::now(),
    });
    if !exists {
        return not_found(format!("{kind} not found at path {path}"));
    }
    if duplicate {
        return bad_request(format!("uuid {id} already exists"));
    }
    state.create_job(id, path, kind, args);
    text(StatusCode::CREATED, id.to_string())
}

fn job_id(raw: &str) -> Result<Uuid, String> {
    Uuid::parse_str(raw).map_err(|e| format!("invalid job id: {e}"))
}

fn result_maybe(state: &State, id: &str, get_started: bool) -> Answer {
    let id = match job_id(id) {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    let Some(job) = state.jobs.get(&id) else {
        return not_found(format!("job {id}"));
    };
    let answer = match job.phase(Instant::now()) {
        Phase::Done { success } => json!({ "completed": true, "success": success, "result": job.result() }),
        phase => {
            let mut answer = json!({ "completed": false });
            if get_started {
                answer["started"] = json!(matches!(phase, Phase::Running));
            }
            answer
        }
    };
    json_answer(&answer)
}

fn get_job(state: &State, id: &str) -> Answer {
    let id = match job_id(id) {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    let Some(job) = state.jobs.get(&id) else {
        return not_found(format!("job {id}"));
    };
    let created_at = chrono::DateTime::<chrono::Utc>::from(job.created_at).to_rfc3339();
    let mut answer = match job.phase(Instant::now()) {
        Phase::Done { success } => {
            let mut result = job.result();
            if result.to_string().len() > 90_000 {
                result = json!("WINDMILL_TOO_BIG");
            }
            json!({
                "type": "CompletedJob", "success": success,
                "canceled": job.canceled.is_some(),
                "canceled_reason": job.canceled.as_ref().map(|(_, r)| r.clone()),
                "result": result,
                "duration_ms": u64::try_from(job.duration.as_millis()).unwrap_or(u64::MAX),
            })
        }
        phase => json!({
            "type": "QueuedJob",
            "running": matches!(phase, Phase::Running),
            "canceled": false,
        }),
    };
    answer["id"] = json!(job.id);
    answer["created_at"] = json!(created_at);
    answer["job_kind"] = json!(job.kind);
    answer["args"] = job.args.clone();
    if job.kind == "script" {
        answer["script_path"] = json!(job.path);
    } else {
        answer["script_path"] = json!(job.path);
        answer["job_kind"] = json!("flow");
    }
    json_answer(&answer)
}

fn cancel(state: &mut State, id: &str, body: &[u8]) -> Answer {
    let id = match job_id(id) {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    let reason = match parse_object(body) {
        Ok(body) => body.get("reason").and_then(Value::as_str).unwrap_or("").to_owned(),
        Err(e) => return bad_request(e),
    };
    let Some(job) = state.jobs.get_mut(&id) else {
        return not_found(format!("job {id}"));
    };
    if let Phase::Done { .. } = job.phase(Instant::now()) {
        return text(StatusCode::OK, format!("queued job id {id} is already completed"));
    }
    job.canceled = Some((Instant::now(), reason.clone()));
    state.cancellations.push((id, reason));
    text(StatusCode::OK, id.to_string())
}

fn create_script(state: &mut State, body: &[u8]) -> Answer {
    let script = match parse_object(body) {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    let field = |name: &str| script.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(path), Some(content), Some(language)) = (field("path"), field("content"), field("language")) else {
        return bad_request("path, content and language are required");
    };
    if !(path.starts_with("f/") || path.starts_with("u/")) {
        return bad_request(format!("invalid path {path}: it must start with f/ or u/"));
    }
    if let Some(current) = state.scripts.get(&path) {
        let hash = content_hash(&path, &content);
        if current.hash == hash {
            return bad_request(format!("same hash {hash} already exists for {path}"));
        }
        if field("parent_hash").as_deref() != Some(current.hash.as_str()) {
            return bad_request(format!(
                "Path conflict for {path} with non-archived hash {}",
                current.hash
            ));
        }
    }
    let hash = state.add_script(&path, &language, &content);
    if let (Some(summary), Some(s)) = (field("summary"), state.scripts.get_mut(&path)) {
        s.summary = summary;
    }
    text(StatusCode::CREATED, hash)
}

fn create_flow(state: &mut State, body: &[u8]) -> Answer {
    let flow = match parse_object(body) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let Some(path) = flow.get("path").and_then(Value::as_str).map(str::to_owned) else {
        return bad_request("path is required");
    };
    if flow.get("value").and_then(|v| v.get("modules")).is_none() {
        return bad_request("value.modules is required");
    }
    if state.flows.contains_key(&path) {
        return bad_request(format!("Flow {path} already exists"));
    }
    state.flows.insert(path.clone(), flow);
    text(StatusCode::CREATED, path)
}
