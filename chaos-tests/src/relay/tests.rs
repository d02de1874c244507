//! Relay tests over real loopback sockets: an echo server behind the relay, faults switched
//! while connections are open. Waits are on conditions with timeouts; the only fixed windows
//! prove that nothing arrives within them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// How long to wait for something that should happen.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long to watch for something that should not happen.
const QUIET: Duration = Duration::from_millis(300);

/// An echo server on loopback that counts the bytes it received.
async fn echo_server() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (addr, received)
}

async fn relay_to_echo() -> (Relay, Arc<AtomicU64>) {
    let (upstream, received) = echo_server().await;
    (Relay::start_seeded(upstream, 7).await.unwrap(), received)
}

async fn connect(relay: &Relay) -> TcpStream {
    TcpStream::connect(relay.local_addr()).await.unwrap()
}

/// Writes `payload` and reads the same number of bytes back.
async fn round_trip(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    stream.write_all(payload).await.unwrap();
    let mut echoed = vec![0u8; payload.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut echoed))
        .await
        .expect("echo did not come back in time")
        .unwrap();
    echoed
}

/// Asserts that no byte arrives on `stream` within `QUIET`.
async fn assert_silent(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    if let Ok(read) = tokio::time::timeout(QUIET, stream.read(&mut buf)).await {
        panic!("expected silence, got {read:?}");
    }
}

/// Asserts that `stream` is closed (EOF or error) soon.
async fn assert_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("expected a closed stream, read {n} bytes"),
        Err(_) => panic!("stream still open after {PATIENCE:?}"),
    }
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn forwards_both_ways_and_counts_bytes() {
    let (relay, received) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    assert_eq!(round_trip(&mut stream, b"hello").await, b"hello");
    assert_eq!(round_trip(&mut stream, b" world").await, b" world");
    wait_until("both directions are counted", || {
        let stats = relay.stats();
        stats.bytes_to_upstream == 11 && stats.bytes_to_client == 11
    })
    .await;
    let stats = relay.stats();
    assert_eq!(received.load(Ordering::Relaxed), 11);
    assert_eq!(stats.connections_accepted, 1);
    assert_eq!(stats.connections_open, 1);
    assert_eq!(stats.bytes_dropped, 0);
}

#[tokio::test]
async fn a_large_payload_arrives_intact() {
    let (relay, _) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = stream.split();
    let send = async {
        write.write_all(&payload).await.unwrap();
    };
    let receive = async {
        let mut echoed = vec![0u8; payload.len()];
        read.read_exact(&mut echoed).await.unwrap();
        echoed
    };
    let ((), echoed) = within(async { tokio::join!(send, receive) }).await;
    assert!(echoed == payload, "payload corrupted in transit");
}

#[tokio::test]
async fn half_close_is_forwarded() {
    let (relay, _) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    stream.write_all(b"bye").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut echoed = Vec::new();
    within(stream.read_to_end(&mut echoed)).await.unwrap();
    assert_eq!(echoed, b"bye");
    wait_until("the connection is gone", || {
        relay.stats().connections_open == 0
    })
    .await;
}

#[tokio::test]
async fn blackhole_swallows_bytes_and_heal_resets_connections() {
    let (relay, received) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    assert_eq!(round_trip(&mut stream, b"before").await, b"before");

    relay.set_fault(Fault::Blackhole);
    assert_eq!(relay.fault(), Fault::Blackhole);
    stream.write_all(b"lost").await.unwrap();
    assert_silent(&mut stream).await;
    assert_eq!(
        received.load(Ordering::Relaxed),
        6,
        "upstream saw blackholed bytes"
    );
    wait_until("blackholed bytes are counted", || {
        relay.stats().bytes_dropped == 4
    })
    .await;

    // A new connection is accepted but nothing comes back either.
    let mut during = connect(&relay).await;
    during.write_all(b"ping").await.unwrap();
    assert_silent(&mut during).await;

    relay.heal();
    assert_eq!(relay.fault(), Fault::None);
    assert_closed(&mut stream).await;
    assert_closed(&mut during).await;
    let mut after = connect(&relay).await;
    assert_eq!(round_trip(&mut after, b"after").await, b"after");
}

#[tokio::test]
async fn lifting_a_blackhole_without_heal_keeps_connections_but_not_the_lost_bytes() {
    let (relay, _) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    relay.set_fault(Fault::Blackhole);
    stream.write_all(b"lost").await.unwrap();
    wait_until("the bytes are swallowed", || {
        relay.stats().bytes_dropped == 4
    })
    .await;

    relay.set_fault(Fault::None);
    assert_eq!(round_trip(&mut stream, b"kept").await, b"kept");
    assert_silent(&mut stream).await; // "lost" was discarded, not buffered
}

#[tokio::test]
async fn refuse_closes_existing_connections_and_rejects_new_ones() {
    let (relay, _) = relay_to_echo().await;
    let mut existing = connect(&relay).await;
    assert_eq!(round_trip(&mut existing, b"hi").await, b"hi");

    relay.set_fault(Fault::Refuse);
    assert_closed(&mut existing).await;
    // The kernel may complete the handshake; the relay then resets the connection at once.
    if let Ok(mut refused) = TcpStream::connect(relay.local_addr()).await {
        assert_closed(&mut refused).await;
        wait_until("the refusal is counted", || {
            relay.stats().connections_refused == 1
        })
        .await;
    }
    wait_until("no connection is open", || {
        relay.stats().connections_open == 0
    })
    .await;
    assert_eq!(relay.stats().connections_accepted, 1);

    relay.heal();
    let mut after = connect(&relay).await;
    assert_eq!(round_trip(&mut after, b"back").await, b"back");
}

#[tokio::test]
async fn delay_slows_each_direction() {
    let (relay, _) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    relay.set_fault(Fault::Delay { ms: 200 });
    let start = Instant::now();
    assert_eq!(round_trip(&mut stream, b"slow").await, b"slow");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400),
        "round trip took only {elapsed:?}"
    );

    relay.heal(); // a delay loses nothing, so connections survive
    let start = Instant::now();
    assert_eq!(round_trip(&mut stream, b"fast").await, b"fast");
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "delay still applied after heal"
    );
}

#[tokio::test]
async fn one_way_to_upstream_delivers_but_swallows_replies() {
    let (relay, received) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    relay.set_fault(Fault::OneWay(Direction::ToUpstream));
    stream.write_all(b"hello").await.unwrap();
    wait_until("the upstream got the bytes", || {
        received.load(Ordering::Relaxed) == 5
    })
    .await;
    assert_silent(&mut stream).await;
    wait_until("the echo is counted as dropped", || {
        relay.stats().bytes_dropped == 5
    })
    .await;
    assert_eq!(relay.stats().bytes_to_client, 0);
}

#[tokio::test]
async fn one_way_to_client_swallows_requests() {
    let (relay, received) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    relay.set_fault(Fault::OneWay(Direction::ToClient));
    stream.write_all(b"hello").await.unwrap();
    assert_silent(&mut stream).await;
    assert_eq!(received.load(Ordering::Relaxed), 0);
    wait_until("the request is counted as dropped", || {
        relay.stats().bytes_dropped == 5
    })
    .await;
}

#[tokio::test]
async fn drop_all_loses_everything_and_drop_none_loses_nothing() {
    let (relay, received) = relay_to_echo().await;
    let mut stream = connect(&relay).await;
    relay.set_fault(Fault::Drop { percent: 100 });
    stream.write_all(b"gone").await.unwrap();
    assert_silent(&mut stream).await;
    assert_eq!(received.load(Ordering::Relaxed), 0);
    wait_until("the chunk is counted as dropped", || {
        relay.stats().bytes_dropped == 4
    })
    .await;

    relay.set_fault(Fault::Drop { percent: 0 });
    assert_eq!(round_trip(&mut stream, b"kept").await, b"kept");
}

#[tokio::test]
async fn drop_decisions_follow_the_seed() {
    let (upstream, _) = echo_server().await;
    let rolls = |relay: &Relay| {
        (0..64)
            .map(|_| relay.shared.roll_drop(50))
            .collect::<Vec<_>>()
    };
    let a = Relay::start_seeded(upstream, 42).await.unwrap();
    let b = Relay::start_seeded(upstream, 42).await.unwrap();
    let c = Relay::start_seeded(upstream, 43).await.unwrap();
    assert_eq!(a.seed(), 42);
    let (ra, rb, rc) = (rolls(&a), rolls(&b), rolls(&c));
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
    assert!(ra.iter().any(|&d| d) && ra.iter().any(|&d| !d));
}

#[tokio::test]
async fn reset_connections_closes_open_ones_only() {
    let (relay, _) = relay_to_echo().await;
    let mut first = connect(&relay).await;
    let mut second = connect(&relay).await;
    assert_eq!(round_trip(&mut first, b"1").await, b"1");
    assert_eq!(round_trip(&mut second, b"2").await, b"2");

    relay.reset_connections();
    assert_closed(&mut first).await;
    assert_closed(&mut second).await;
    wait_until("no connection is open", || {
        relay.stats().connections_open == 0
    })
    .await;

    let mut third = connect(&relay).await;
    assert_eq!(round_trip(&mut third, b"3").await, b"3");
}

#[tokio::test]
async fn an_unreachable_upstream_closes_the_client() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = Relay::start(closed).await.unwrap();
    let mut stream = connect(&relay).await;
    assert_closed(&mut stream).await;
    wait_until("the failure is counted", || {
        relay.stats().upstream_connect_failures == 1
    })
    .await;
}

#[tokio::test]
async fn stop_closes_the_listener_and_connections() {
    let (relay, _) = relay_to_echo().await;
    let addr = relay.local_addr();
    let mut stream = connect(&relay).await;
    assert_eq!(round_trip(&mut stream, b"x").await, b"x");

    within(relay.stop()).await;
    assert_closed(&mut stream).await;
    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "connect after stop succeeded");
}

#[tokio::test]
async fn dropping_the_relay_closes_everything() {
    let (relay, _) = relay_to_echo().await;
    let addr = relay.local_addr();
    let mut stream = connect(&relay).await;
    assert_eq!(round_trip(&mut stream, b"x").await, b"x");

    drop(relay);
    assert_closed(&mut stream).await;
    // The aborted accept loop releases the listener once the runtime drops it.
    let start = Instant::now();
    while TcpStream::connect(addr).await.is_ok() {
        assert!(start.elapsed() < PATIENCE, "still listening after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
