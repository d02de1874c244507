//! Idle HTTP/1.1 connections, by server, last in first out (the warmest connection first).
//!
//! Limits: at most `max_idle_per_host` idle connections per server, each kept at most
//! `idle_timeout`. Expired and closed connections are dropped when met at checkout, and by a
//! sweeper task that runs while the pool lives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use http::uri::Authority;

use super::conn::Http1Conn;

/// A connection back in the pool for less than this is handed out without being polled: it
/// was polled through to the end of its last response an instant ago and asks for the next
/// request. Had its server closed it meanwhile, the first poll of the request's send reads
/// the end of stream before writing, and the unsent request goes again on a new connection.
const FRESH: Duration = Duration::from_millis(1);

type IdleMap = HashMap<Box<str>, Vec<Http1Conn>, foldhash::fast::RandomState>;

/// The idle connections of one upstream client.
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<IdleMap>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    sweeping: AtomicBool,
}

impl Pool {
    /// An empty pool with these limits.
    pub fn new(max_idle_per_host: usize, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::default(),
            max_idle_per_host,
            idle_timeout,
            sweeping: AtomicBool::new(false),
        })
    }

    /// The most recently used idle connection to `server` that can take a request now, and
    /// how long it was idle.
    pub fn checkout(&self, server: &Authority) -> Option<(Http1Conn, Duration)> {
        loop {
            let mut conn = self.lock().get_mut(server.as_str())?.pop()?;
            let idle = conn.idle_since.elapsed();
            let fresh = idle < FRESH && conn.is_waiting();
            if idle < self.idle_timeout && (fresh || conn.is_ready_now()) {
                return Some((conn, idle));
            }
        }
    }

    /// Puts a connection whose last response has ended back for reuse.
    pub fn put(self: &Arc<Self>, server: &Authority, mut conn: Http1Conn) {
        if self.max_idle_per_host == 0 {
            return;
        }
        conn.idle_since = Instant::now();
        let mut idle = self.lock();
        match idle.get_mut(server.as_str()) {
            Some(list) if list.len() >= self.max_idle_per_host => {
                drop(idle);
                return;
            }
            Some(list) => list.push(conn),
            None => {
                idle.insert(server.as_str().into(), vec![conn]);
            }
        }
        drop(idle);
        if !self.sweeping.swap(true, Ordering::Relaxed) {
            self.start_sweeper();
        }
    }

    /// How many idle connections the pool holds to `server`.
    #[cfg(test)]
    pub fn idle_count(&self, server: &Authority) -> usize {
        self.lock().get(server.as_str()).map_or(0, Vec::len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdleMap> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops expired and closed idle connections.
    fn sweep(&self) {
        let mut dropped = Vec::new();
        {
            let mut idle = self.lock();
            for list in idle.values_mut() {
                let mut i = 0;
                while i < list.len() {
                    if list[i].idle_since.elapsed() >= self.idle_timeout || !list[i].is_ready_now()
                    {
                        dropped.push(list.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            idle.retain(|_, list| !list.is_empty());
        }
        drop(dropped);
    }

    fn start_sweeper(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Relaxed);
            return;
        };
        let pool: Weak<Self> = Arc::downgrade(self);
        let every =
            (self.idle_timeout / 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.sweep(),
                    None => break,
                }
            }
        });
    }
}
