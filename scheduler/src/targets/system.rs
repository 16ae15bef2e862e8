//! The system workflows FlexCore keeps in Windmill (`shared/windmill/API.md`
//! names them `system/...`; Windmill paths need an owner, so they live under
//! `f/flexcore/`). Created at start-up when missing; existing ones are left
//! as they are (an operator may have edited them).
//!
//! | seed name | Windmill path | kind |
//! | --- | --- | --- |
//! | `system/event_routing` | `f/flexcore/event_routing` | script |
//! | `system/message_queue` | `f/flexcore/message_queue` | script |
//! | `system/cluster_coordination` | `f/flexcore/cluster_coordination` | script |
//! | `system/scheduler/execute_singleton_job` | `f/flexcore/scheduler/execute_singleton_job` | script |
//! | `system/scheduler/update_job_state` | `f/flexcore/scheduler/update_job_state` | script |
//! | `system/scheduler` | `f/flexcore/scheduler` | flow of the two scripts above |

use std::time::Duration;

use flexcore_infra::windmill::{Created, NewFlow, NewScript, WindmillClient, WindmillError};
use serde_json::json;

/// The scripts, as `(path, summary, body)`: small idempotent Python
/// functions that echo what they are given, for operators to extend.
const SCRIPTS: [(&str, &str); 5] = [
    (
        "f/flexcore/event_routing",
        "FlexCore: route an event to its subscribers",
    ),
    (
        "f/flexcore/message_queue",
        "FlexCore: hand a message to a queue consumer",
    ),
    (
        "f/flexcore/cluster_coordination",
        "FlexCore: a cluster chore run by the leader",
    ),
    (
        "f/flexcore/scheduler/execute_singleton_job",
        "FlexCore: run one tick of a singleton job",
    ),
    (
        "f/flexcore/scheduler/update_job_state",
        "FlexCore: record the state of a scheduler job",
    ),
];

/// The scheduler flow.
pub const SCHEDULER_FLOW: &str = "f/flexcore/scheduler";

const SCRIPT_BODY: &str = r#"# Created by flexcore-scheduler when missing; safe to edit.
# Must stay idempotent: Windmill may run a job again after a worker dies.
def main(payload: dict = {}):
    return {"ok": True, "payload": payload}
"#;

/// Every system script and flow, as Windmill create requests.
pub fn workflows() -> (Vec<NewScript>, Vec<NewFlow>) {
    let scripts = SCRIPTS
        .iter()
        .map(|(path, summary)| NewScript {
            path: (*path).to_owned(),
            summary: (*summary).to_owned(),
            description: "FlexCore system workflow".to_owned(),
            content: SCRIPT_BODY.to_owned(),
            language: "python3".to_owned(),
        })
        .collect();
    let module = |id: &str, path: &str| {
        json!({
            "id": id,
            "value": {
                "type": "script",
                "path": path,
                // Static transforms only: JavaScript ones need a part of
                // Windmill that is often compiled out.
                "input_transforms": { "payload": { "type": "static", "value": {} } }
            }
        })
    };
    let flows = vec![NewFlow {
        path: SCHEDULER_FLOW.to_owned(),
        summary: "FlexCore: execute a singleton job, then record its state".to_owned(),
        description: "FlexCore system workflow".to_owned(),
        value: json!({ "modules": [
            module("a", "f/flexcore/scheduler/execute_singleton_job"),
            module("b", "f/flexcore/scheduler/update_job_state"),
        ]}),
        schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {},
            "required": []
        }),
    }];
    (scripts, flows)
}

/// Creates the missing system workflows (scripts first: the flow uses them).
pub async fn ensure(client: &WindmillClient) -> Result<usize, WindmillError> {
    let (scripts, flows) = workflows();
    let mut created = 0;
    for script in &scripts {
        if let Created::New(_) = client.ensure_script(script).await? {
            created += 1;
        }
    }
    for flow in &flows {
        if let Created::New(_) = client.ensure_flow(flow).await? {
            created += 1;
        }
    }
    Ok(created)
}

/// [`ensure`], retried with backoff until it succeeds or `stop` fires:
/// Windmill may be down when the scheduler starts.
pub async fn ensure_in_background(client: WindmillClient, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(500);
    loop {
        match ensure(&client).await {
            Ok(created) => {
                tracing::info!(created, "windmill system workflows are in place");
                return;
            }
            Err(e) => tracing::warn!("cannot create the windmill system workflows yet: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = crate::stop::stopped(&mut stop) => return,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
