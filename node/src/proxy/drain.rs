//! Draining an entrypoint on shutdown: each connection task holds a [`Watch`]; when the
//! entrypoint stops, every watch reports the drain once (the task then asks its connection
//! to finish the requests in flight and close), and [`Drain::drain`] returns when every
//! watch is gone.
//!
//! A watch costs one atomic load per poll of its connection, and takes a lock only when
//! its task's waker changes (in practice, on the first poll): hyper-util's graceful watcher
//! polls a `watch` channel on every poll instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Waker};

use tokio::sync::mpsc;

#[derive(Default)]
struct Shared {
    draining: AtomicBool,
    next_id: AtomicU64,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Shared {
    fn wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The drain of one entrypoint's connections.
pub struct Drain {
    shared: Arc<Shared>,
    /// Cloned into every watch; the channel closes when the last clone is dropped.
    alive: mpsc::Sender<()>,
    gone: mpsc::Receiver<()>,
}

/// One connection's view of the drain.
pub struct Watch {
    shared: Arc<Shared>,
    id: u64,
    registered: Option<Waker>,
    reported: bool,
    _alive: mpsc::Sender<()>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A drain that has not started.
    pub fn new() -> Self {
        let (alive, gone) = mpsc::channel(1);
        Self {
            shared: Arc::default(),
            alive,
            gone,
        }
    }

    /// A watch for one more connection.
    pub fn watch(&self) -> Watch {
        Watch {
            shared: self.shared.clone(),
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            registered: None,
            reported: false,
            _alive: self.alive.clone(),
        }
    }

    /// Starts the drain: wakes every watch, then waits until all are dropped.
    pub async fn drain(self) {
        let Self {
            shared,
            alive,
            mut gone,
        } = self;
        shared.draining.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = shared.wakers().drain().map(|(_, w)| w).collect();
        wakers.into_iter().for_each(Waker::wake);
        drop(alive);
        // `None` once no watch holds a sender any more.
        let _ = gone.recv().await;
    }
}

impl Watch {
    /// `true` exactly once: on the first poll after the drain started. Until then the task's
    /// waker is kept, so the start of the drain wakes it.
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> bool {
        if self.reported {
            return false;
        }
        if !self.shared.draining.load(Ordering::SeqCst) {
            if self
                .registered
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                return false;
            }
            let waker = cx.waker().clone();
            self.shared.wakers().insert(self.id, waker.clone());
            self.registered = Some(waker);
            // The drain may have taken the wakers between the load above and the insert.
            if !self.shared.draining.load(Ordering::SeqCst) {
                return false;
            }
        }
        self.reported = true;
        true
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.registered.is_some() {
            self.shared.wakers().remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;
    use std::time::Duration;

    use super::*;

    /// A connection task: pending until its watch reports the drain, then holding on for
    /// `linger` (its requests in flight) before it ends.
    fn connection(mut watch: Watch, linger: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            poll_fn(|cx| match watch.poll_drain(cx) {
                true => Poll::Ready(()),
                false => Poll::Pending,
            })
            .await;
            tokio::time::sleep(linger).await;
            drop(watch);
        })
    }

    #[tokio::test]
    async fn the_drain_wakes_every_connection_and_waits_for_the_last() {
        let drain = Drain::new();
        let quick = connection(drain.watch(), Duration::ZERO);
        let slow = connection(drain.watch(), Duration::from_millis(200));
        // Let both register their wakers.
        tokio::task::yield_now().await;
        tokio::time::timeout(Duration::from_secs(5), drain.drain())
            .await
            .expect("drain finished");
        assert!(quick.is_finished() && slow.is_finished());
    }

    #[tokio::test]
    async fn a_watch_taken_after_the_start_reports_it_at_once() {
        let drain = Drain::new();
        drain.shared.draining.store(true, Ordering::SeqCst);
        let mut watch = drain.watch();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(watch.poll_drain(&mut cx));
        assert!(!watch.poll_drain(&mut cx), "reported twice");
    }

    #[tokio::test]
    async fn without_connections_the_drain_ends_at_once() {
        tokio::time::timeout(Duration::from_secs(1), Drain::new().drain())
            .await
            .expect("drain finished");
    }
}
