//! Open loop against a server that sleeps 10 ms on every 10th request: the
//! requests due while a connection is stuck are charged for their wait, so
//! the stall shows at p90, where a closed loop hides it.

use std::time::Duration;

use flexcore_benches::load::client::Target;
use flexcore_benches::load::scenario::{BodySource, Scenario};
use flexcore_benches::load::{Mix, RunPlan, run};

use super::server::{Behaviour, TestServer};

fn stalling_server() -> TestServer {
    TestServer::start(Behaviour {
        stall_every: 10,
        stall: Duration::from_millis(10),
        status: 200,
    })
}

fn plan(server: &TestServer, rate: Option<f64>) -> RunPlan {
    let scenario = Scenario::new("echo", None, "/echo", &[], &BodySource::Filler(64), 1).unwrap();
    RunPlan {
        target: Target::from_addr(server.addr),
        mix: Mix::new(vec![scenario]).unwrap(),
        connections: 1,
        rate,
        warmup: Duration::from_millis(200),
        duration: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        progress: false,
        server_pid: None,
    }
}

/// The check: one connection offered 1000 req/s. Every 10th answer
/// takes 10 ms, so the requests due during each stall queue behind it, and
/// the open loop's p90 is at least 10 ms. A closed loop on the same
/// connection reports the same server with a p90 far below the open loop's
/// (only the stalled 10% are slow there), its stall visible only at p99.
/// (Relative, not absolute: a busy CI machine adds milliseconds to every
/// request.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn open_loop_shows_the_stall_at_p90_where_closed_loop_hides_it() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = stalling_server();
    let open = run(plan(&server, Some(1000.0))).await.unwrap();
    let open_latency = open.per_scenario[0].latency.summary();
    assert!(
        open_latency.p90_us >= 10_000,
        "open loop p90 {} µs should include the queueing behind the 10 ms stalls",
        open_latency.p90_us
    );
    assert_eq!(open.per_scenario[0].errors.total(), 0);

    let closed = run(plan(&server, None)).await.unwrap();
    let closed_latency = closed.per_scenario[0].latency.summary();
    assert!(
        closed_latency.p90_us * 2 < open_latency.p90_us,
        "closed loop p90 {} µs against open loop p90 {} µs: only the stalled requests are slow there",
        closed_latency.p90_us,
        open_latency.p90_us
    );
    assert!(closed_latency.p99_us >= 10_000, "{closed_latency:?}");
}

/// Below saturation the accounting is exact. A server that sleeps 50 ms on
/// every 10th request, offered 40 req/s (one due every 25 ms) on one
/// connection: of every 10 requests, 8 are answered at once, the stalled one
/// takes 50 ms, and the one due 25 ms into the stall waits about 25 ms for
/// the connection. So p85 (the waiting one) is about 25 ms and p95 (the
/// stalled one) about 50 ms; the median shows the pacer adds no lag of its
/// own, and the rate offered is the rate achieved. The margins (−10 ms,
/// +20 ms) absorb a busy machine's scheduling delays.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn open_loop_charges_exactly_the_wait_behind_a_stall() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Behaviour {
        stall_every: 10,
        stall: Duration::from_millis(50),
        status: 200,
    });
    let mut plan = plan(&server, Some(40.0));
    plan.duration = Duration::from_millis(2500);
    let result = run(plan).await.unwrap();
    let recorded = &result.per_scenario[0];
    let latency = &recorded.latency;
    let ms = |p: f64| latency.at_percentile(p) as f64 / 1000.0;
    assert!(ms(50.0) < 12.0, "median {} ms", ms(50.0));
    assert!((15.0..45.0).contains(&ms(85.0)), "p85 {} ms", ms(85.0));
    assert!(ms(95.0) >= 49.0, "p95 {} ms", ms(95.0));
    let rate = recorded.responses() as f64 / result.measured.as_secs_f64();
    assert!((38.0..=42.0).contains(&rate), "achieved {rate} req/s");
    let delay = result.send_delay.unwrap();
    assert!(
        delay.at_percentile(50.0) < 10_000,
        "pacing error {} µs",
        delay.at_percentile(50.0)
    );
}

/// A server that is not there: every request is a connect error, none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn refused_connections_are_counted_as_connect_errors() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let scenario = Scenario::new("x", None, "/", &[], &BodySource::Empty, 1).unwrap();
    let result = run(RunPlan {
        target: Target::from_addr(addr),
        mix: Mix::new(vec![scenario]).unwrap(),
        connections: 2,
        rate: None,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(300),
        timeout: Duration::from_secs(1),
        progress: false,
        server_pid: None,
    })
    .await
    .unwrap();
    let recorded = &result.per_scenario[0];
    assert_eq!(recorded.responses(), 0);
    assert!(recorded.errors.connect > 0);
    assert_eq!(recorded.error_rate(), 1.0);
}
