//! Pipelines as a caller sees them, on both stores.
//!
//! Every test case of [`lifecycle`], [`rules`], [`listing`] and [`executions`]
//! is an `async fn(Store)` instantiated twice by [`on_both_stores!`]: once on
//! the in-memory store and once on PostgreSQL (a fresh database per test), as
//! `pipelines::<file>::memory::<case>` and `pipelines::<file>::postgres::<case>`.
//! The others need PostgreSQL itself: [`durability`] (`kill -9` and restart),
//! [`concurrency`] (two processes on one database) and [`outage`] (connections
//! terminated, the server stopped and started).
//!
//! [`Api`] speaks the `/pipelines` routes to any gateway, in-process or a
//! process; [`Subject`] is an in-process gateway on the store a case asks for.

mod concurrency;
mod durability;
mod executions;
mod lifecycle;
mod listing;
mod outage;
mod rules;

use std::net::SocketAddr;

use flexcore_infra::Secret;
use flexcore_tests::{TestDatabase, TestGateway};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

/// Where a gateway keeps its pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    Postgres,
}

impl Store {
    /// As `/info` names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Postgres => "postgres",
        }
    }
}

/// Instantiates each named `async fn(Store)` of the calling module as two
/// tests, in `mod memory` and `mod postgres`.
macro_rules! on_both_stores {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::pipelines::Store::Memory).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::pipelines::Store::Postgres).await
                }
            )+
        }
    };
}
pub(crate) use on_both_stores;

/// An in-process gateway on the store a test case asks for; on PostgreSQL,
/// with a database of its own (dropped after the gateway).
pub struct Subject {
    pub gw: TestGateway,
    pub api: Api,
    pub db: Option<TestDatabase>,
}

impl Subject {
    /// Starts the gateway and checks, through `/info`, that it really keeps
    /// its state where the case asked.
    pub async fn start(store: Store) -> Self {
        let db = match store {
            Store::Memory => None,
            Store::Postgres => Some(TestDatabase::create().await),
        };
        let url = db.as_ref().map(|db| db.url().to_owned());
        let gw = TestGateway::start(|config| config.database_url = url.map(Secret::new)).await;
        let info = gw.get_json("/info").await;
        assert_eq!(info["storage"], store.name(), "/info: {info}");
        let api = Api::new(&gw.client, gw.addr);
        Self { gw, api, db }
    }

    /// On PostgreSQL, how many rows `table` holds, read behind the gateway's
    /// back; `None` on the memory store.
    pub async fn rows(&self, table: &str) -> Option<i64> {
        let db = self.db.as_ref()?;
        let client = db.client().await;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap_or_else(|e| panic!("cannot count the rows of {table}: {e}"));
        Some(row.get(0))
    }
}

/// The `/pipelines` routes of one gateway.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(client: &reqwest::Client, addr: SocketAddr) -> Self {
        Self {
            client: client.clone(),
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path`, with `If-Match` when given.
    pub fn request(&self, method: Method, path: &str, if_match: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match if_match {
            Some(version) => request.header("if-match", version),
            None => request,
        }
    }

    pub async fn send(request: RequestBuilder) -> Response {
        request.send().await.expect("the gateway answers")
    }

    /// `POST /pipelines` with `body` as JSON.
    pub async fn create(&self, body: &Value) -> Response {
        Self::send(self.request(Method::POST, "/pipelines", None).json(body)).await
    }

    /// Creates a pipeline of `plugins`, which must answer 201; the pipeline.
    pub async fn create_ok(&self, name: &str, plugins: &[&str]) -> Value {
        let steps: Vec<Value> = plugins.iter().map(|p| json!({ "plugin": p })).collect();
        let response = self.create(&json!({ "name": name, "steps": steps })).await;
        json_of(response, 201).await
    }

    /// `GET /pipelines/{id}`.
    pub async fn get(&self, id: &str) -> Response {
        Self::send(self.request(Method::GET, &format!("/pipelines/{id}"), None)).await
    }

    /// `GET /pipelines/{id}`, which must answer 200.
    pub async fn pipeline(&self, id: &str) -> Value {
        json_of(self.get(id).await, 200).await
    }

    /// `POST /pipelines/{id}/steps` with `step` as JSON.
    pub async fn add_step(&self, id: &str, step: &Value, if_match: Option<&str>) -> Response {
        let path = format!("/pipelines/{id}/steps");
        Self::send(self.request(Method::POST, &path, if_match).json(step)).await
    }

    /// Appends a step of `plugin`, which must answer 200; the pipeline.
    pub async fn add_step_ok(&self, id: &str, plugin: &str) -> Value {
        json_of(self.add_step(id, &json!({ "plugin": plugin }), None).await, 200).await
    }

    /// `DELETE /pipelines/{id}/steps/{index}`.
    pub async fn remove_step(&self, id: &str, index: &str, if_match: Option<&str>) -> Response {
        let path = format!("/pipelines/{id}/steps/{index}");
        Self::send(self.request(Method::DELETE, &path, if_match)).await
    }

    /// `POST /pipelines/{id}/{action}` (`activate` or `archive`).
    pub async fn action(&self, id: &str, action: &str, if_match: Option<&str>) -> Response {
        let path = format!("/pipelines/{id}/{action}");
        Self::send(self.request(Method::POST, &path, if_match)).await
    }

    /// `POST /pipelines/{id}/execute` with `body` of `content_type`.
    pub async fn execute(&self, id: &str, body: impl Into<reqwest::Body>, content_type: &str) -> Response {
        let path = format!("/pipelines/{id}/execute");
        let request = self
            .request(Method::POST, &path, None)
            .header("content-type", content_type)
            .body(body);
        Self::send(request).await
    }

    /// `GET path`, which must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        json_of(Self::send(self.request(Method::GET, path, None)).await, 200).await
    }

    /// Every page of a listing (`path` has its query, if any, without a
    /// cursor), following `next_cursor`; `key` names the items' array.
    pub async fn pages(&self, path: &str, key: &str) -> Vec<Vec<Value>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(cursor) => format!("{path}{separator}cursor={cursor}"),
                None => path.to_owned(),
            };
            let page = self.get_json(&url).await;
            let items = page[key]
                .as_array()
                .unwrap_or_else(|| panic!("GET {url}: no `{key}` array in {page}"))
                .clone();
            pages.push(items);
            match &page["next_cursor"] {
                Value::Null => return pages,
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("GET {url}: next_cursor is {other}"),
            }
            assert!(pages.len() <= 1000, "GET {path}: over 1000 pages");
        }
    }

    /// Every item of a listing, over all its pages.
    pub async fn all(&self, path: &str, key: &str) -> Vec<Value> {
        self.pages(path, key).await.concat()
    }
}

/// The JSON body of `response`, which must have `status`.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let url = response.url().clone();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{url} answered {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: body is not JSON ({e}): {text}"))
}

/// The `id` of a pipeline or an execution.
pub fn id_of(item: &Value) -> String {
    item["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {item}"))
        .to_owned()
}

/// The plugins of a pipeline's steps, in order.
pub fn plugins_of(pipeline: &Value) -> Vec<String> {
    pipeline["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {pipeline}"))
        .iter()
        .map(|s| s["plugin"].as_str().unwrap().to_owned())
        .collect()
}

/// A pipeline with its timestamps left out, to compare what else it says.
pub fn without_times(pipeline: &Value) -> Value {
    let mut pipeline = pipeline.clone();
    if let Some(object) = pipeline.as_object_mut() {
        object.remove("created_at");
        object.remove("updated_at");
    }
    pipeline
}
