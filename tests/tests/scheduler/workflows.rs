//! Start-up creates the system workflows in Windmill when missing, once; and
//! the client speaks the stand-in's (Windmill's) contract.

use std::time::Duration;

use flexcore_infra::Secret;
use flexcore_infra::windmill::{Created, Runnable, WindmillClient, WindmillError, WindmillSettings};
use flexcore_tests::wait;
use flexcore_tests::windmill_standin::{PathBehaviour, VERSION, WindmillStandin};

use crate::harness::{Replica, TOKEN, WORKSPACE, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_workflows_are_created_once_at_start_up() {
    let world = World::new(Duration::from_millis(20)).await;
    let config = world.config_file("", "");
    let first = Replica::start(&config, "w1").await;
    let expected_scripts = [
        "f/flexcore/cluster_coordination",
        "f/flexcore/event_routing",
        "f/flexcore/message_queue",
        "f/flexcore/scheduler/execute_singleton_job",
        "f/flexcore/scheduler/update_job_state",
    ];
    let created = wait::until(Duration::from_secs(10), Duration::from_millis(100), async || {
        let (scripts, flows) = world.windmill.workflows();
        if scripts == expected_scripts && flows == ["f/flexcore/scheduler"] {
            Ok(())
        } else {
            Err((scripts, flows))
        }
    })
    .await;
    if let Err((scripts, flows)) = created {
        panic!("after 10 s: {scripts:?} {flows:?}");
    }
    // A second replica finds them there and changes nothing.
    let second = Replica::start(&config, "w2").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    second.stop().await;
    first.stop().await;
    let (scripts, flows) = world.windmill.workflows();
    assert_eq!((scripts.len(), flows.len()), (5, 1));
}

fn client(standin: &WindmillStandin, token: &str) -> WindmillClient {
    WindmillClient::new(&WindmillSettings {
        base_url: standin.base_url(),
        token: Secret::new(token),
        workspace: WORKSPACE.into(),
        request_timeout: Duration::from_secs(2),
    })
    .unwrap()
}

#[tokio::test]
async fn the_client_follows_the_windmill_contract() {
    let standin = WindmillStandin::start(TOKEN, WORKSPACE, Duration::from_millis(300)).await;
    standin.add_script("f/x/ok", PathBehaviour::default());
    let wm = client(&standin, TOKEN);
    assert_eq!(wm.version().await.unwrap(), VERSION);
    // A wrong token: 401, and the token is in no error text.
    let bad = client(&standin, "wrong-token-value");
    let e = bad
        .run(
            &Runnable::Script("f/x/ok".into()),
            &serde_json::json!({}),
            uuid::Uuid::new_v4(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, WindmillError::Unauthorized), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("wrong-token-value"));
    // A job id chosen by us; the same id again is "already accepted".
    let id = uuid::Uuid::new_v4();
    let runnable = Runnable::Script("f/x/ok".into());
    let first = wm.run(&runnable, &serde_json::json!({"a": 1}), id).await.unwrap();
    assert_eq!((first.id, first.already_existed), (id, false));
    let again = wm.run(&runnable, &serde_json::json!({"a": 1}), id).await.unwrap();
    assert_eq!((again.id, again.already_existed), (id, true));
    assert!(matches!(
        wm.job(id).await.unwrap(),
        flexcore_infra::windmill::Job::QueuedJob { .. }
    ));
    let done = wm.wait(id, Duration::from_secs(5), Default::default()).await.unwrap();
    assert!(done.success);
    assert!(matches!(
        wm.job(id).await.unwrap(),
        flexcore_infra::windmill::Job::CompletedJob { success: true, .. }
    ));
    // Unknown paths and ids: 404.
    let e = wm
        .run(
            &Runnable::Flow("f/x/none".into()),
            &serde_json::json!({}),
            uuid::Uuid::new_v4(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, WindmillError::NotFound(_)), "{e:?}");
    assert!(matches!(
        wm.result_maybe(uuid::Uuid::new_v4()).await.unwrap_err(),
        WindmillError::NotFound(_)
    ));
    // Creating idempotently: new, then existing (a 400 conflict underneath).
    let script = flexcore_scheduler::targets::system::workflows().0.remove(0);
    assert!(matches!(wm.ensure_script(&script).await.unwrap(), Created::New(_)));
    assert_eq!(wm.ensure_script(&script).await.unwrap(), Created::Existing);
    // Windmill down: a transient error.
    standin.stop();
    let e = wm.version().await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
}
