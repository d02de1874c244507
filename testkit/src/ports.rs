//! Loopback ports for the nodes a test starts.
//!
//! A test picks a port, then starts a process that binds it; in between, nothing else may
//! take it. Binding port 0 and closing the socket does not ensure that: the port comes from
//! the kernel's ephemeral range, where every outgoing connection also gets its local port,
//! and where the test processes nextest runs side by side all draw theirs. So ports come
//! from below the ephemeral range, and each is reserved with a lock file (`flock`) that the
//! process holding it keeps until it exits; the kernel drops the lock even after a crash.
//! The lock files themselves stay, empty, in `$TMPDIR/raftgate-test-ports` (one per port
//! ever used, so at most one per candidate port).

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, TcpListener};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Lock files of the ports this process reserved, kept open until it exits.
static HELD: Mutex<Vec<Reservation>> = Mutex::new(Vec::new());

/// A port held for this process until dropped.
#[derive(Debug)]
pub struct Reservation {
    /// The port.
    pub port: u16,
    _lock: File,
}

/// A free loopback TCP port, reserved for this process until it exits.
pub fn free_port() -> u16 {
    let range = candidates();
    let span = u64::from(range.end - range.start);
    // A random start spreads the processes that start together over the range.
    let start = RandomState::new().hash_one(std::process::id()) % span;
    let held = (0..span)
        .map(|i| range.start + ((start + i) % span) as u16)
        .find_map(reserve)
        .expect("a free loopback port below the ephemeral range");
    let port = held.port;
    HELD.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(held);
    port
}

/// Reserves `port` when no test process holds it (this one included) and nothing listens
/// on it.
pub fn reserve(port: u16) -> Option<Reservation> {
    let lock = lock(port)?;
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).ok()?;
    Some(Reservation { port, _lock: lock })
}

/// The lock file of `port`, locked, unless another open file holds its lock (this process
/// locking it twice included).
fn lock(port: u16) -> Option<File> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| {
            let dir = std::env::temp_dir().join("raftgate-test-ports");
            std::fs::create_dir_all(&dir).ok().map(|()| dir)
        })
        .as_ref()?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(port.to_string()))
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// The ports to draw from: from 10 000 up to the kernel's ephemeral range, or above the
/// range when it starts too low to leave room below.
fn candidates() -> Range<u16> {
    static RANGE: OnceLock<Range<u16>> = OnceLock::new();
    RANGE.get_or_init(read_candidates).clone()
}

fn read_candidates() -> Range<u16> {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut ports = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((ports.next()??, ports.next()??))
        })
        .unwrap_or((32_768, 60_999));
    if low >= 11_000 {
        10_000..low
    } else {
        high.saturating_add(1)..u16::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_port_is_outside_the_ephemeral_range_and_not_handed_out_twice() {
        let range = candidates();
        let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
        for port in &ports {
            assert!(range.contains(port), "{port} outside {range:?}");
            // The lock is held: a second reservation of the same port fails.
            assert!(reserve(*port).is_none(), "{port} reserved twice");
        }
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
    }

    #[test]
    fn a_port_something_listens_on_is_not_reserved() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = listener.local_addr().unwrap().port();
        assert!(reserve(taken).is_none());
    }

    #[test]
    fn a_dropped_reservation_frees_its_port() {
        let held = candidates().find_map(reserve).expect("a free port");
        let port = held.port;
        assert!(reserve(port).is_none(), "held twice");
        drop(held);
        assert!(reserve(port).is_some(), "not freed");
    }
}
