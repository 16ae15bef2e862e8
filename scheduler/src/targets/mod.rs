//! Targets: where a run's work goes.
//!
//! - [`function`]: a gateway function, called on a live gateway node
//!   (from Redis membership or a configured list), round-robin, on another
//!   node when one is unreachable;
//! - [`windmill`]: a Windmill script or flow, submitted under a job id
//!   derived from the tick (UUIDv5), then followed to its end;
//! - [`system`]: the system workflows created in Windmill at start-up.
//!
//! [`Targets`] holds what is configured; a job whose target kind is not
//! configured fails its runs with a message saying what is missing.

pub mod function;
pub mod system;
pub mod windmill;

use std::sync::Arc;

pub use function::{CallError, FunctionTargets, Nodes};
pub use windmill::WindmillTargets;

/// The configured targets.
#[derive(Clone, Default)]
pub struct Targets {
    pub functions: Option<Arc<FunctionTargets>>,
    pub windmill: Option<Arc<WindmillTargets>>,
}
