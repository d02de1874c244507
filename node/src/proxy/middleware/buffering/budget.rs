//! The memory all `buffering` middlewares of a node hold at once, bounded node-wide
//! (`--buffering-memory-mb`). Each buffered body reserves what it holds as it grows, and gives
//! it back when it is dropped (a response body: once the client has read it). A body that
//! would take the node past the budget is refused with 503: raftgate buffers in memory only,
//! where Traefik spills to disk past `memRequestBodyBytes`.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default budget: 256 MiB.
pub const DEFAULT_BUDGET_BYTES: usize = 256 << 20;

/// Bytes per permit: the budget counts in KiB (a semaphore holds at most `u32::MAX >> 3`).
const UNIT: usize = 1024;

/// A node's budget for buffered bodies.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    bytes: usize,
}

/// The budget is spent: the body is refused.
#[derive(Debug, thiserror::Error)]
#[error("the node's buffering memory budget ({0} MiB) is in use")]
pub struct BudgetExhausted(pub usize);

impl MemoryBudget {
    /// A budget of `bytes` (rounded down to KiB).
    pub fn new(bytes: usize) -> Self {
        let units = (bytes / UNIT).min(Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(units)),
            bytes,
        }
    }

    /// An empty reservation, grown as a body is read.
    pub fn reserve(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: None,
        }
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET_BYTES)
    }
}

/// What one buffered body holds of the budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: MemoryBudget,
    held: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    /// Holds enough for `bytes` in all, or fails without waiting.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), BudgetExhausted> {
        let want = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        let have = self.held.as_ref().map_or(0, |p| p.num_permits() as u32);
        if want <= have {
            return Ok(());
        }
        let more = Arc::clone(&self.budget.permits)
            .try_acquire_many_owned(want - have)
            .map_err(|_| BudgetExhausted(self.budget.bytes >> 20))?;
        match &mut self.held {
            Some(held) => held.merge(more),
            None => self.held = Some(more),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back_when_dropped() {
        let budget = MemoryBudget::new(10 * UNIT);
        let mut a = budget.reserve();
        a.grow_to(6 * UNIT).unwrap();
        a.grow_to(3 * UNIT).unwrap();
        let mut b = budget.reserve();
        assert!(b.grow_to(5 * UNIT).is_err());
        b.grow_to(4 * UNIT).unwrap();
        drop(a);
        b.grow_to(10 * UNIT).unwrap();
        assert!(budget.reserve().grow_to(1).is_err());
    }
}
