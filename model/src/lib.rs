//! tmp
mod checks;
mod duration;
mod error;
mod kind;
mod name;
pub mod rule;
mod serde_util;
pub use duration::{DurationError, TraefikDuration};
pub use error::ModelError;
pub use kind::Kind;
pub use name::{strip_provider, validate_name};
