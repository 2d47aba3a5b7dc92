//! Why one record of a request was not accepted: a bounded reason (metric label, error
//! code in the answer), the field, and a sentence for the integrator.

use motcua_core::validate::{RejectKind, Rejection};
use serde::Serialize;

/// Bounded reasons a record is rejected for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The record is not the JSON shape the endpoint takes.
    Undecodable,
    /// A required value is missing or empty.
    MissingField,
    /// A value has the wrong format.
    BadFormat,
    /// Values contradict each other.
    Inconsistent,
    /// The record names an agency or dossier outside the caller's scopes.
    Forbidden,
    /// A portal status or field that has no motcua equivalent (never guessed).
    Unmappable,
    /// A portal progress step whose receiving unit is not known yet (the next step names it).
    Pending,
}

impl Reason {
    /// Every reason, for metric initialisation and the OpenAPI enum.
    pub const ALL: [Reason; 7] = [
        Reason::Undecodable,
        Reason::MissingField,
        Reason::BadFormat,
        Reason::Inconsistent,
        Reason::Forbidden,
        Reason::Unmappable,
        Reason::Pending,
    ];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Undecodable => "undecodable",
            Reason::MissingField => "missing_field",
            Reason::BadFormat => "bad_format",
            Reason::Inconsistent => "inconsistent",
            Reason::Forbidden => "forbidden",
            Reason::Unmappable => "unmappable",
            Reason::Pending => "pending",
        }
    }
}

/// One record's rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// Bounded reason.
    pub reason: Reason,
    /// The offending field (dotted path, or the portal's field name); empty for the record.
    pub field: String,
    /// What is wrong, and what to do when that is not obvious.
    pub detail: String,
}

impl RecordError {
    /// A rejection of `field`.
    pub fn new(reason: Reason, field: impl Into<String>, detail: impl Into<String>) -> Self {
        RecordError {
            reason,
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<Rejection> for RecordError {
    fn from(r: Rejection) -> Self {
        let reason = match r.kind {
            RejectKind::Undecodable => Reason::Undecodable,
            RejectKind::Missing => Reason::MissingField,
            RejectKind::Format => Reason::BadFormat,
            // Conflicts are found by the processor only; anything else is a contradiction.
            _ => Reason::Inconsistent,
        };
        RecordError {
            reason,
            field: r.field,
            detail: r.detail,
        }
    }
}

/// Deserialises one record from a JSON value, naming the failing field.
pub fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, RecordError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        RecordError::new(Reason::Undecodable, field, e.into_inner().to_string())
    })
}
