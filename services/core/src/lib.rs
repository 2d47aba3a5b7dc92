//! motcua-core: the domain model of motcua, with no I/O.
//!
//! - [`event`]: the dossier event, mirroring `schemas/dossier_event.avsc`.
//! - [`validate`](mod@validate): what makes an event acceptable, with errors naming the field.
//! - [`codec`]: JSON and Avro single-object encodings, told apart by their first bytes.
//! - [`fold`]: a dossier's events folded into facts and classified early / on time / late.
//! - [`indicators`]: Decision 766 points from the progress figures, weights configurable.
//! - [`period`]: reporting periods, and a dossier as a closed period's report saw it.
//! - [`pseudonym`]: keyed pseudonyms for the personal data on the forms.
//! - [`topics`]: which topic carries which kind of event.
//! - [`names`]: metric names, defined once.
//! - [`calendar`]: the working-day calendar as per-year data, and due times counted on it.
//! - [`lunar`]: the Vietnamese lunar calendar (UTC+7), for Tết and Hùng Kings' day.
//! - [`deadline`]: the procedure catalogue, the pause policy, and the [`deadline::Clock`] that
//!   turns a dossier's events into due times.
//!
//! Nothing here reads the wall clock, the network or the disk: every service shares these
//! rules, and tests exercise them synchronously.

mod avro_reader;
pub mod calendar;
pub mod codec;
pub mod deadline;
pub mod event;
pub mod fold;
pub mod indicators;
pub mod lunar;
pub mod names;
pub mod period;
pub mod pseudonym;
pub mod samples;
mod timestamp;
pub mod topics;
pub mod validate;

pub use codec::{Codec, Encoding};
pub use event::DossierEvent;
pub use fold::{Classification, DossierState, Outcome};
pub use validate::{validate, RejectKind, Rejection};
