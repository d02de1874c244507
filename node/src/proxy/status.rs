//! Whether the data plane serves the latest applied revision, or kept an older one because
//! that revision could not be compiled. Read by `cluster status`, `/api/cluster` and the
//! metrics; written by the runtime's follower only.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// A revision the data plane could not compile whole, and why. The node goes on serving the
/// last revision it compiled, or, when it has none (just started), this one without what
/// failed (`partial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileFailure {
    /// The applied revision that did not compile.
    pub revision: u64,
    /// Every problem found, on one line.
    pub reason: String,
    /// Whether the revision is served anyway, without what failed.
    pub partial: bool,
}

impl CompileFailure {
    /// A failure of `revision` listing `problems`.
    pub fn new(revision: u64, problems: &[String], partial: bool) -> Self {
        CompileFailure {
            revision,
            reason: problems.join("; "),
            partial,
        }
    }
}

impl std::fmt::Display for CompileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.partial {
            "served without what failed to compile"
        } else {
            "not served"
        };
        write!(f, "revision {} {what}: {}", self.revision, self.reason)
    }
}

/// The data plane's compile status, shared between the runtime follower and the readers.
#[derive(Debug, Default)]
pub struct ProxyStatus {
    failure: ArcSwapOption<CompileFailure>,
}

impl ProxyStatus {
    /// The latest applied revision failed to compile.
    pub fn failed(&self, failure: CompileFailure) {
        self.failure.store(Some(Arc::new(failure)));
    }

    /// The latest applied revision is served.
    pub fn served(&self) {
        self.failure.store(None);
    }

    /// The current failure, if the latest applied revision is not served.
    pub fn failure(&self) -> Option<Arc<CompileFailure>> {
        self.failure.load_full()
    }
}
