//! Domain events and where they go.
//!
//! - [`domain`]: the events themselves, plain values;
//! - [`bus`]: the [`EventPublisher`] port every feature publishes to, and the
//!   in-process bus behind it on a single node.

mod bus;
mod domain;

pub use bus::{EventPublisher, InProcessBus};
pub use domain::{DomainEvent, Outcome};
