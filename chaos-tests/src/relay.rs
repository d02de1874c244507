//! A fault-injecting TCP relay for the peer links of a test cluster.
//!
//! Node A dials the relay's [`Relay::local_addr`] instead of node B's real address and the relay
//! forwards every accepted connection to B. A [`Fault`] switched at run time with
//! [`Relay::set_fault`] decides, chunk by chunk and per direction, what happens to the bytes:
//! forwarded, delayed, or discarded. Faults apply to existing and new connections at once.
//!
//! Faults that discard data ([`Fault::Blackhole`], [`Fault::OneWay`], [`Fault::Drop`]) never
//! buffer it for later: the bytes are gone, so the TCP streams that crossed the fault are corrupt
//! afterwards (an HTTP/2 or gRPC peer will see a protocol error, or wait forever for a frame that
//! never comes). [`Relay::heal`] therefore also resets every open connection when the fault it
//! lifts discarded data, so that peers reconnect on clean streams; use
//! `set_fault(Fault::None)` to lift a fault and keep the (possibly corrupt) connections.
//!
//! This is test tooling: it binds loopback only, and reads the current fault through a
//! `tokio::sync::watch` channel once per chunk.

mod pump;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What the relay does to the bytes of its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    /// Forward everything.
    #[default]
    None,
    /// Accept and read, but forward nothing in either direction: a partition that keeps TCP up
    /// while packets vanish. Discarded bytes are lost, not released later. A FIN is held back
    /// too, until the fault stops discarding that direction.
    Blackhole,
    /// Refuse new connections and close existing ones: a partition that resets. New
    /// connections are accepted by the kernel and then closed at once with a RST, so a client's
    /// `connect` may succeed but its first read or write fails.
    Refuse,
    /// Delay every chunk by `ms` milliseconds in each direction (a round trip takes at least
    /// `2 * ms`). Chunks are queued with their deadline, so throughput is not capped.
    Delay { ms: u64 },
    /// Forward only in the given direction and discard the other one (an asymmetric link).
    OneWay(Direction),
    /// Discard each chunk with probability `percent`/100, drawn from the relay's seeded RNG.
    /// Dropping chunks of a TCP stream corrupts it, so affected connections will error: this
    /// is the intent (a lossy link that breaks streams, not packet loss that TCP would repair).
    /// Chunk boundaries depend on timing, so the seed makes runs comparable, not identical.
    Drop { percent: u8 },
}

impl Fault {
    /// Whether this fault discards (some) bytes travelling in `direction`.
    fn discards(self, direction: Direction) -> bool {
        match self {
            Fault::Blackhole => true,
            Fault::OneWay(allowed) => allowed != direction,
            Fault::Drop { percent } => percent > 0,
            Fault::None | Fault::Refuse | Fault::Delay { .. } => false,
        }
    }

    /// Whether this fault withholds everything travelling in `direction`, FIN included.
    fn silences(self, direction: Direction) -> bool {
        match self {
            Fault::Blackhole => true,
            Fault::OneWay(allowed) => allowed != direction,
            Fault::None | Fault::Refuse | Fault::Delay { .. } | Fault::Drop { .. } => false,
        }
    }
}

/// Which way bytes travel through the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the dialling node (the client) to the upstream node.
    ToUpstream,
    /// From the upstream node back to the client.
    ToClient,
}

/// A snapshot of the relay's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Connections accepted and relayed (refused ones are not counted here).
    pub connections_accepted: u64,
    /// Connections closed on arrival because the fault was [`Fault::Refuse`].
    pub connections_refused: u64,
    /// Connections closed because the upstream could not be dialled.
    pub upstream_connect_failures: u64,
    /// Relayed connections still open.
    pub connections_open: u64,
    /// Bytes written to the upstream.
    pub bytes_to_upstream: u64,
    /// Bytes written back to clients.
    pub bytes_to_client: u64,
    /// Bytes read and discarded by a fault, both directions.
    pub bytes_dropped: u64,
}

/// One listen socket forwarding to one upstream address, with a switchable fault.
pub struct Relay {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

/// State shared by the relay handle, its accept loop and its connection tasks.
struct Shared {
    upstream: SocketAddr,
    seed: u64,
    fault: watch::Sender<Fault>,
    /// Bumped by `reset_connections`; every connection task closes when it changes.
    reset: watch::Sender<u64>,
    rng: Mutex<StdRng>,
    connections: Mutex<JoinSet<()>>,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    connections_accepted: AtomicU64,
    connections_refused: AtomicU64,
    upstream_connect_failures: AtomicU64,
    connections_open: AtomicU64,
    bytes_to_upstream: AtomicU64,
    bytes_to_client: AtomicU64,
    bytes_dropped: AtomicU64,
}

impl Relay {
    /// Binds 127.0.0.1:0 (ephemeral) and forwards every accepted connection to `upstream`.
    /// The drop RNG gets a random seed; read it back with [`Relay::seed`].
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Relay> {
        Self::start_seeded(upstream, rand::random()).await
    }

    /// Like [`Relay::start`], with the seed for [`Fault::Drop`] given (to replay a run).
    pub async fn start_seeded(upstream: SocketAddr, seed: u64) -> std::io::Result<Relay> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            seed,
            fault: watch::Sender::new(Fault::None),
            reset: watch::Sender::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            connections: Mutex::new(JoinSet::new()),
            counters: Counters::default(),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(%local_addr, %upstream, seed, "relay started");
        Ok(Relay {
            local_addr,
            shared,
            accept_task,
        })
    }

    /// The address nodes should dial instead of the upstream.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address every connection is forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The seed of the RNG behind [`Fault::Drop`]; print it when a test fails.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Switches the fault; it applies to existing and new connections at once.
    /// [`Fault::Refuse`] also closes every open connection.
    pub fn set_fault(&self, fault: Fault) {
        let previous = self.shared.fault.send_replace(fault);
        if previous != fault {
            tracing::debug!(relay = %self.local_addr, ?previous, ?fault, "relay fault switched");
        }
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        *self.shared.fault.borrow()
    }

    /// Lifts the fault. If the lifted fault discarded data, every open connection is reset as
    /// well (their streams are corrupt), so peers reconnect on clean streams.
    pub fn heal(&self) {
        let previous = self.shared.fault.send_replace(Fault::None);
        if previous.discards(Direction::ToUpstream) || previous.discards(Direction::ToClient) {
            self.reset_connections();
        }
    }

    /// Closes every open connection, both sides, with a RST (a network reset).
    pub fn reset_connections(&self) {
        self.shared.reset.send_modify(|generation| *generation += 1);
    }

    /// Stops listening (a later connect is refused) and closes every connection.
    pub async fn stop(mut self) {
        self.accept_task.abort();
        // Awaiting the aborted task guarantees the listener is closed when `stop` returns.
        let _ = (&mut self.accept_task).await;
        let mut connections = std::mem::take(&mut *self.shared.lock_connections());
        connections.shutdown().await;
    }

    /// The counters so far.
    pub fn stats(&self) -> RelayStats {
        let c = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RelayStats {
            connections_accepted: load(&c.connections_accepted),
            connections_refused: load(&c.connections_refused),
            upstream_connect_failures: load(&c.upstream_connect_failures),
            connections_open: load(&c.connections_open),
            bytes_to_upstream: load(&c.bytes_to_upstream),
            bytes_to_client: load(&c.bytes_to_client),
            bytes_dropped: load(&c.bytes_dropped),
        }
    }
}

impl Drop for Relay {
    /// Aborts the accept loop and every connection task; sockets close as the runtime drops them.
    fn drop(&mut self) {
        self.accept_task.abort();
        self.shared.lock_connections().abort_all();
    }
}

impl Shared {
    fn lock_connections(&self) -> MutexGuard<'_, JoinSet<()>> {
        // A panic while holding this lock cannot leave the set inconsistent; keep going.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Draws whether to drop one chunk under `Fault::Drop { percent }`.
    fn roll_drop(&self, percent: u8) -> bool {
        use rand::Rng;
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random_range(0..100u8) < percent
    }
}

/// Accepts until aborted; refuses or spawns a relayed connection for each client.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // E.g. EMFILE: back off instead of spinning.
                tracing::warn!(%error, "relay accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if *shared.fault.borrow() == Fault::Refuse {
            shared
                .counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            close_with_reset(client);
            continue;
        }
        shared
            .counters
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        // Subscribe before spawning so a reset issued from now on reaches this connection.
        let reset = shared.reset.subscribe();
        let task = pump::relay_connection(client, peer, Arc::clone(&shared), reset);
        let mut connections = shared.lock_connections();
        // Reap finished tasks so the set does not grow with every connection ever accepted.
        while connections.try_join_next().is_some() {}
        connections.spawn(task);
    }
}

/// Drops `stream` so that the peer sees a RST rather than an orderly FIN.
fn close_with_reset(stream: TcpStream) {
    if let Err(error) = stream.set_zero_linger() {
        tracing::debug!(%error, "relay could not set SO_LINGER=0; closing with FIN");
    }
    drop(stream);
}
