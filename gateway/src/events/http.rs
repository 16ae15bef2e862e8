//! The HTTP handlers for `/events`, `/events/dead` and `/subscriptions`.

use http::request::Parts;
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{DeadLetter, NewEvent};
use super::subscriptions::{Subscription, Target};
use crate::Error;
use crate::http::auth::Scope;
use crate::http::{Body, RequestBody, body, respond};
use crate::state::AppState;

#[derive(Serialize)]
struct Accepted {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    event_type: String,
    target: Target,
}

#[derive(Serialize)]
struct Subscriptions {
    subscriptions: Vec<Subscription>,
}

#[derive(Serialize)]
struct DeadLetters {
    dead_letters: Vec<DeadLetter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
}

/// `POST /events`: 202 with the event's id once the transport has it.
pub async fn publish<B: RequestBody>(state: &AppState, parts: &Parts, body: B) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Invoke)?;
    let bytes = body::read(&parts.headers, body, state.config.max_body_bytes).await?;
    let event: NewEvent =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadRequest(format!("request body: {e}")))?;
    event.validate()?;
    let id = state.event_log.append(event).await?;
    respond::json(StatusCode::ACCEPTED, &Accepted { id })
}

/// `GET /events/dead?limit=`: newest first.
pub async fn dead_letters(state: &AppState, parts: &Parts) -> Result<Response<Body>, Error> {
    let params: Limit = serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
        .map_err(|e| Error::BadRequest(format!("invalid query string: {e}")))?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    respond::ok(&DeadLetters {
        dead_letters: state.event_log.dead_letters(limit).await?,
    })
}

/// `POST /subscriptions` with `{"event_type": "...", "target": {"plugin": "..."}}`
/// or `{"pipeline": "<id>"}`.
pub async fn subscribe<B: RequestBody>(state: &AppState, parts: &Parts, body: B) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let bytes = body::read(&parts.headers, body, state.config.max_body_bytes).await?;
    let new: NewSubscription =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadRequest(format!("request body: {e}")))?;
    let probe = NewEvent {
        event_type: new.event_type.clone(),
        source: String::new(),
        data: serde_json::Value::Null,
    };
    if new.event_type != "*" {
        probe.validate()?;
    }
    match &new.target {
        Target::Plugin(name) if !flexcore_abi::valid_plugin_name(name) => {
            return Err(Error::BadRequest(format!("'{name}' is not a valid plugin name")));
        }
        Target::Pipeline(id) => {
            state.pipelines.get(*id).await?;
        }
        Target::Plugin(_) => {}
    }
    let subscription = Subscription {
        id: Uuid::now_v7(),
        event_type: new.event_type,
        target: new.target,
        created_at: crate::clock::now(),
    };
    state.subscriptions.store().insert(&subscription).await?;
    state.subscriptions.refresh().await?;
    respond::json(StatusCode::CREATED, &subscription)
}

/// `GET /subscriptions`
pub async fn list(state: &AppState) -> Result<Response<Body>, Error> {
    respond::ok(&Subscriptions {
        subscriptions: state.subscriptions.store().list().await?,
    })
}

/// `DELETE /subscriptions/{id}`: 204, or 404 when there is none.
pub async fn unsubscribe(state: &AppState, id: &str, parts: &Parts) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Admin)?;
    let not_found = || Error::SubscriptionNotFound(id.to_owned());
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    if !state.subscriptions.store().delete(id).await? {
        return Err(not_found());
    }
    state.subscriptions.refresh().await?;
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
