//! motcua-sim: a deterministic simulator of a province's one-stop-shop dossiers, the
//! pipeline's load and test source.
//!
//! [`Simulator`] is an `Iterator<Item = DossierEvent>` over the events of a synthetic
//! province ([`Province`]) handling procedures from a catalogue ([`Procedure`]): receipts
//! (form 01), refusals, supplement requests, process-control handovers, apologies, stops,
//! withdrawals, results, returns and satisfaction surveys, with timing driven by a
//! working-time calendar ([`WorkCalendar`]).
//!
//! Invariants:
//! - **Deterministic**: everything is drawn from seeded ChaCha8 generators; the same
//!   [`SimConfig`] gives the same events, byte for byte.
//! - **Valid**: every event passes `motcua_core::validate`.
//! - **Streaming**: events are produced lazily from a queue of open dossiers; memory is
//!   bounded by the dossiers still open, not by the length of the run, and receipts are
//!   generated one day at a time.
//! - **Delivery order is event time**, except the deliberate faults: a configurable share of
//!   events is held back (out of order) and another re-sent unchanged (duplicates), as
//!   agency systems do. Nothing at or after the horizon (start + days, 00:00) is emitted.

pub mod calendar;
pub mod catalogue;
pub mod names;
pub mod province;
mod queue;
mod sim;

pub use calendar::WorkCalendar;
pub use catalogue::{catalogue, Procedure};
pub use province::{Agency, AgencyRole, Province, Unit};
pub use sim::{ConfigError, PlannedOutcomes, SimConfig, SimStats, Simulator};
