//! Graceful shutdown: on SIGTERM (the binary) or the shutdown future (the
//! library) the gateway stops accepting, finishes the calls in flight, and
//! exits cleanly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use flexcore_tests::{GatewayProcess, TestGateway, wait};

/// Whether a new connection to `addr` is refused.
async fn refused(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

/// Polls until connections to `addr` are refused; at most `within`.
async fn wait_until_refused(addr: SocketAddr, within: Duration) {
    let gone = wait::until_some(within, Duration::from_millis(10), async || {
        refused(addr).await.then_some(())
    })
    .await;
    assert!(gone.is_some(), "{addr} still accepts connections after {within:?}");
}

/// Polls `/metrics` until `faulty` has counted `calls` invocations (a call
/// is counted when it enters the plugin); at most 5 s.
async fn wait_until_faulty_called(gw: &GatewayProcess, calls: u32) {
    let line = format!("flexcore_plugin_invocations_total{{plugin=\"faulty\"}} {calls}");
    let counted = wait::until(Duration::from_secs(5), Duration::from_millis(10), async || {
        let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap();
        let metrics = metrics.text().await.unwrap();
        if metrics.contains(&line) { Ok(()) } else { Err(metrics) }
    })
    .await;
    if let Err(metrics) = counted {
        panic!("the calls never started:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_calls_in_flight_then_exits_0() {
    let mut gw = GatewayProcess::spawn(&[], &[]).await;
    let url = gw.url("/plugins/faulty/execute");
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let request = gw.client.post(url.clone()).body("sleep 1500");
            tokio::spawn(async move { request.send().await })
        })
        .collect();
    // Both calls have entered the plugin once /metrics has counted them.
    wait_until_faulty_called(&gw, 2).await;

    let signalled = Instant::now();
    gw.terminate();
    // New connections are refused while the calls in flight still run.
    wait_until_refused(gw.addr, Duration::from_secs(1)).await;

    for call in calls {
        let response = call.await.unwrap().expect("the call in flight is answered");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "slept 1500");
    }
    let status = gw.wait_exit(Duration::from_secs(5)).await;
    assert!(status.success(), "exit status {status}; log:\n{}", gw.stderr());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(refused(gw.addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_finishes_calls_in_flight_and_returns() {
    let gw = TestGateway::start(|_| {}).await;
    assert_eq!(gw.execute("echo", "x").await.status(), 200);
    let call = gw.spawn_execute("faulty", "sleep 500");
    gw.wait_for_invocations("faulty", 1).await;
    let addr = gw.addr;

    let started = Instant::now();
    gw.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let response = call.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "slept 500");
    assert!(refused(addr).await, "the listener is closed after stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_period_despite_a_stuck_call() {
    let env = [("FLEXCORE_SHUTDOWN_GRACE", "300ms")];
    let mut gw = GatewayProcess::spawn(&[], &env).await;
    let stuck = gw.client.post(gw.url("/plugins/faulty/execute")).body("sleep 6000");
    let stuck = tokio::spawn(async move { stuck.send().await });
    wait_until_faulty_called(&gw, 1).await;

    let signalled = Instant::now();
    gw.terminate();
    let status = gw.wait_exit(Duration::from_secs(8)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status}; log:\n{}", gw.stderr());
    assert!(
        took < Duration::from_secs(3),
        "with a grace of 300 ms the gateway took {took:?} to exit; log:\n{}",
        gw.stderr()
    );
    // The call that outlived the grace period is cut off, not answered.
    assert!(stuck.await.unwrap().is_err());
}
