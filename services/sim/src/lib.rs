//! motcua-sim: a deterministic simulator of a province's one-stop-shop dossiers, the
//! pipeline's load and test source.
//!
//! [`Simulator`] is an `Iterator<Item = DossierEvent>` over the events of a synthetic
//! province ([`Province`]) handling procedures from a catalogue ([`Procedure`]): receipts
//! (form 01), refusals, supplement requests, process-control handovers, apologies, stops,
//! withdrawals, results, returns and satisfaction surveys, with timing driven by the
//! pipeline's own rules: the Vietnamese civil-service calendar ([`WorkCalendar::vietnam`]),
//! the statutory limits of the shipped catalogue (`motcua_core::deadline::Catalogue`) and
//! the default `EXTEND` supplement policy, so that what a dossier was planned to be (early,
//! on time, late; each step within or over its allotment) is what the processor measures.
//!
//! Invariants:
//! - **Deterministic**: everything is drawn from seeded ChaCha8 generators; the same
//!   [`SimConfig`] gives the same events, byte for byte.
//! - **Valid**: every event passes `motcua_core::validate`.
//! - **Lawful by default**: counter receipts happen only in working hours of working days;
//!   form 01's limit is the catalogue's and its appointment the legal due time, except a
//!   counted share of deliberately wrong ones; every handover says its allotted time.
//! - **Streaming**: events are produced lazily from a queue of open dossiers; memory is
//!   bounded by the dossiers still open, not by the length of the run, and receipts are
//!   generated one day at a time.
//! - **Delivery order is event time**, except the deliberate faults: a configurable share of
//!   events is held back (out of order) and another re-sent unchanged (duplicates), as
//!   agency systems do. Nothing at or after the horizon (start + days, 00:00) is emitted.

pub mod catalogue;
pub mod names;
pub mod province;
mod queue;
mod sim;

pub use catalogue::{catalogue, Procedure};
pub use motcua_core::calendar::WorkCalendar;
pub use province::{Agency, AgencyRole, Province, Unit};
pub use sim::{ConfigError, PlannedOutcomes, SimConfig, SimStats, Simulator};
