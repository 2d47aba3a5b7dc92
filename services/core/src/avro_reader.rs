//! A reader of Avro binary datums written with the current schema, straight into a
//! [`DossierEvent`]: no generic `Value` tree, no schema walk, no per-field boxing.
//!
//! apache-avro decodes a datum into a tree of `Value`s (one heap node per field, a cloned
//! `String` per enum symbol), then serde walks the tree again to build the event. That is
//! most of what a record costs. Here the layout of `schemas/dossier_event.avsc` is written
//! out by hand, field by field, in the order the Avro specification's binary encoding puts
//! them: zig-zag varints for `int` and `long`, a length then UTF-8 bytes for `string`, the
//! branch index then the value for a union, the symbol index for an enum, and blocks of
//! items (a negative count announcing a byte size) for an array.
//!
//! Invariants:
//! - **Only for the schema it was written for.** [`SCHEMA_FINGERPRINT`] is the Rabin
//!   fingerprint of that schema; [`Codec`](crate::Codec) calls this reader only for data
//!   whose writer fingerprint is that one and the current one. A schema change changes the
//!   fingerprint, disengages the reader (apache-avro decodes everything, correctly and more
//!   slowly) and fails a test until this file is brought up to date.
//! - **Same answer as apache-avro.** For every datum this reader accepts, apache-avro
//!   decodes the same event (tests compare them over generated events and corrupted
//!   datums). It is stricter on one point: a datum that ends early is rejected, where
//!   apache-avro reads a missing union, boolean or string at the very end as null.
//! - **Never panics, never trusts a length.** Corrupt bytes give a [`Rejection`] naming the
//!   field being read; a length or item count larger than what is left is rejected before
//!   anything is allocated.

use std::borrow::Cow;

use crate::event::*;
use crate::timestamp;
use crate::validate::{RejectKind, Rejection};

/// Rabin fingerprint (the single-object encoding's, little-endian) of the schema this
/// reader was written for: `schemas/dossier_event.avsc` as of schema v4.
pub(crate) const SCHEMA_FINGERPRINT: [u8; 8] = [0xb3, 0x81, 0xa6, 0x13, 0xe9, 0x98, 0xf4, 0x86];

/// Decodes one datum (what follows the single-object header) into an event. Bytes after
/// the datum are ignored, as apache-avro ignores them.
pub(crate) fn read_event(datum: &[u8]) -> Result<DossierEvent, Rejection> {
    let mut r = Reader { rest: datum };
    event(&mut r).map_err(|f| f.into_rejection())
}

/// What went wrong, and where. Built only on the error path, boxed so that the `Result`s
/// of the happy path stay two words.
#[derive(Debug)]
struct Fault {
    /// Dotted path of the field, built outwards as the error climbs the records.
    field: Cow<'static, str>,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    /// The datum ends inside the field.
    Truncated,
    /// A varint of more than 10 bytes.
    VarintTooLong,
    /// An `int` outside `i32`.
    IntOutOfRange(i64),
    /// A string or block length below zero.
    NegativeLength(i64),
    /// A string that is not UTF-8.
    NotUtf8,
    /// A boolean byte other than 0 and 1.
    Boolean(u8),
    /// A union branch the schema does not have.
    UnionIndex(i64),
    /// An enum index outside the symbols.
    EnumIndex {
        index: i32,
        name: &'static str,
        symbols: usize,
    },
    /// A string that is not an RFC 3339 timestamp.
    Timestamp(chrono::ParseError),
}

type Read<T> = Result<T, Box<Fault>>;

impl Fault {
    #[cold]
    fn new(field: &'static str, problem: Problem) -> Box<Fault> {
        Box::new(Fault {
            field: Cow::Borrowed(field),
            problem,
        })
    }

    /// The same fault, seen from the record that holds `field`.
    #[cold]
    fn under(mut self: Box<Self>, field: &str) -> Box<Self> {
        self.field = if self.field.is_empty() {
            Cow::Owned(field.to_string())
        } else {
            Cow::Owned(format!("{field}.{}", self.field))
        };
        self
    }

    /// The same fault, seen from the array `field` whose item `index` it is in.
    #[cold]
    fn in_item(mut self: Box<Self>, field: &str, index: usize) -> Box<Self> {
        self.field = if self.field.is_empty() {
            Cow::Owned(format!("{field}[{index}]"))
        } else {
            Cow::Owned(format!("{field}[{index}].{}", self.field))
        };
        self
    }

    #[cold]
    fn into_rejection(self) -> Rejection {
        let (kind, detail) = match self.problem {
            Problem::Truncated => (
                RejectKind::Undecodable,
                "avro datum ends inside this field".to_string(),
            ),
            Problem::VarintTooLong => (
                RejectKind::Undecodable,
                "avro varint longer than 10 bytes".to_string(),
            ),
            Problem::IntOutOfRange(v) => (
                RejectKind::Undecodable,
                format!("avro int {v} does not fit in 32 bits"),
            ),
            Problem::NegativeLength(v) => (
                RejectKind::Undecodable,
                format!("avro length {v} is negative"),
            ),
            Problem::NotUtf8 => (
                RejectKind::Undecodable,
                "avro string is not valid UTF-8".to_string(),
            ),
            Problem::Boolean(b) => (
                RejectKind::Undecodable,
                format!("avro boolean byte {b:#04x} is neither 0 nor 1"),
            ),
            Problem::UnionIndex(i) => (
                RejectKind::Undecodable,
                format!("avro union branch {i} does not exist (the union is [null, value])"),
            ),
            Problem::EnumIndex {
                index,
                name,
                symbols,
            } => (
                RejectKind::Undecodable,
                format!("avro enum index {index} is not one of the {symbols} symbols of {name}"),
            ),
            Problem::Timestamp(e) => (
                RejectKind::Format,
                format!("not an RFC 3339 timestamp: {e}"),
            ),
        };
        Rejection::new(kind, self.field, detail)
    }
}

/// The bytes not read yet.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A zig-zag varint `long`.
    #[inline]
    fn long(&mut self, field: &'static str) -> Read<i64> {
        // One byte covers -64..=63: enum and union indexes, counts, most lengths.
        if let Some((&b, rest)) = self.rest.split_first() {
            if b & 0x80 == 0 {
                self.rest = rest;
                return Ok(unzigzag(u64::from(b)));
            }
        }
        self.long_slow(field)
    }

    #[inline(never)]
    fn long_slow(&mut self, field: &'static str) -> Read<i64> {
        let mut z = 0u64;
        for (i, &b) in self.rest.iter().enumerate() {
            if i > 9 {
                return Err(Fault::new(field, Problem::VarintTooLong));
            }
            // The tenth byte's high bits fall off, as in apache-avro.
            z |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Ok(unzigzag(z));
            }
        }
        Err(Fault::new(field, Problem::Truncated))
    }

    /// A zig-zag varint `int`.
    #[inline]
    fn int(&mut self, field: &'static str) -> Read<i32> {
        let v = self.long(field)?;
        i32::try_from(v).map_err(|_| Fault::new(field, Problem::IntOutOfRange(v)))
    }

    #[inline]
    fn boolean(&mut self, field: &'static str) -> Read<bool> {
        let Some((&b, rest)) = self.rest.split_first() else {
            return Err(Fault::new(field, Problem::Truncated));
        };
        self.rest = rest;
        match b {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Fault::new(field, Problem::Boolean(other))),
        }
    }

    /// A string's bytes, borrowed from the datum.
    #[inline]
    fn str(&mut self, field: &'static str) -> Read<&'a str> {
        let len = self.long(field)?;
        if len < 0 {
            return Err(Fault::new(field, Problem::NegativeLength(len)));
        }
        if len as u64 > self.rest.len() as u64 {
            return Err(Fault::new(field, Problem::Truncated));
        }
        let (bytes, rest) = self.rest.split_at(len as usize);
        self.rest = rest;
        simdutf8::basic::from_utf8(bytes).map_err(|_| Fault::new(field, Problem::NotUtf8))
    }

    #[inline]
    fn string(&mut self, field: &'static str) -> Read<String> {
        self.str(field).map(str::to_owned)
    }

    /// A string holding an RFC 3339 timestamp, parsed as serde parses it for apache-avro's
    /// path and for JSON.
    #[inline]
    fn timestamp(&mut self, field: &'static str) -> Read<Timestamp> {
        let s = self.str(field)?;
        timestamp::parse(s).map_err(|e| Fault::new(field, Problem::Timestamp(e)))
    }

    /// An enum: the index of its symbol in `all`, which lists the Rust variants in the
    /// schema's symbol order (a test checks the orders agree).
    #[inline]
    fn symbol<T: Copy>(
        &mut self,
        field: &'static str,
        name: &'static str,
        all: &'static [T],
    ) -> Read<T> {
        let index = self.int(field)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| all.get(i))
            .copied()
            .ok_or_else(|| {
                Fault::new(
                    field,
                    Problem::EnumIndex {
                        index,
                        name,
                        symbols: all.len(),
                    },
                )
            })
    }

    /// A `["null", T]` union.
    #[inline]
    fn optional<T>(
        &mut self,
        field: &'static str,
        value: impl FnOnce(&mut Self) -> Read<T>,
    ) -> Read<Option<T>> {
        match self.long(field)? {
            0 => Ok(None),
            1 => value(self).map(Some),
            other => Err(Fault::new(field, Problem::UnionIndex(other))),
        }
    }

    /// A `["null", "string"]` union.
    #[inline]
    fn optional_string(&mut self, field: &'static str) -> Read<Option<String>> {
        self.optional(field, |r| r.string(field))
    }

    /// An array; `item` reads one item, its faults named from inside the item.
    fn array<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Self) -> Read<T>,
    ) -> Read<Vec<T>> {
        let mut out = Vec::new();
        loop {
            let count = self.long(field)?;
            let count = match count {
                0 => return Ok(out),
                // A negative count is followed by the block's size in bytes, for skipping.
                c if c < 0 => {
                    self.long(field)?;
                    c.checked_neg()
                        .ok_or_else(|| Fault::new(field, Problem::NegativeLength(c)))?
                }
                c => c,
            };
            // Every item of this schema's arrays takes at least one byte: a count beyond
            // what is left is corrupt, and must not reserve memory.
            if count as u64 > self.rest.len() as u64 {
                return Err(Fault::new(field, Problem::Truncated));
            }
            out.reserve(count as usize);
            for _ in 0..count {
                let index = out.len();
                out.push(item(self).map_err(|f| f.in_item(field, index))?);
            }
        }
    }
}

#[inline]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Runs `read` and names its faults from the record field `field`.
#[inline]
fn within<'a, T>(
    r: &mut Reader<'a>,
    field: &'static str,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Read<T> {
    read(r).map_err(|f| f.under(field))
}

/// A `["null", record]` payload union, its faults named from `field`.
#[inline]
fn payload<'a, T>(
    r: &mut Reader<'a>,
    field: &'static str,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Read<Option<T>> {
    r.optional(field, |r| within(r, field, read))
}

const FORM_SETS: &[FormSet] = &[FormSet::Tt01_2018, FormSet::Tt03_2025];

fn event(r: &mut Reader<'_>) -> Read<DossierEvent> {
    Ok(DossierEvent {
        event_id: r.string("event_id")?,
        dossier_code: r.string("dossier_code")?,
        national_dossier_code: r.optional_string("national_dossier_code")?,
        agency_code: r.string("agency_code")?,
        occurred_at: r.timestamp("occurred_at")?,
        form_set: r.symbol("form_set", "FormSet", FORM_SETS)?,
        source_system: r.optional_string("source_system")?,
        kind: r.symbol("kind", "EventKind", EventKind::ALL)?,
        received: payload(r, "received", received)?,
        supplement_requested: payload(r, "supplement_requested", supplement_requested)?,
        supplement_received: payload(r, "supplement_received", supplement_received)?,
        refused: payload(r, "refused", refused)?,
        apology: payload(r, "apology", apology)?,
        processing_stopped: payload(r, "processing_stopped", processing_stopped)?,
        handover: payload(r, "handover", handover)?,
        withdrawn: payload(r, "withdrawn", withdrawn)?,
        result_ready: payload(r, "result_ready", result_ready)?,
        result_returned: payload(r, "result_returned", result_returned)?,
        survey: payload(r, "survey", survey)?,
        sipas: payload(r, "sipas", sipas)?,
        portal_sync: payload(r, "portal_sync", portal_sync)?,
        feedback: payload(r, "feedback", feedback)?,
    })
}

fn received(r: &mut Reader<'_>) -> Read<DossierReceived> {
    Ok(DossierReceived {
        procedure_code: r.string("procedure_code")?,
        procedure_name: r.string("procedure_name")?,
        field_code: r.string("field_code")?,
        agency_level: r.symbol("agency_level", "AgencyLevel", AgencyLevel::ALL)?,
        channel: r.symbol("channel", "Channel", Channel::ALL)?,
        applicant: within(r, "applicant", applicant)?,
        summary: r.string("summary")?,
        documents: r.array("documents", document)?,
        sets: r.int("sets")?,
        time_limit: within(r, "time_limit", time_limit)?,
        appointment_at: r.timestamp("appointment_at")?,
        result_delivery: r.symbol("result_delivery", "Delivery", Delivery::ALL)?,
        register_book: r.optional_string("register_book")?,
        register_line: r.optional("register_line", |r| r.int("register_line"))?,
        receiving_officer: r.string("receiving_officer")?,
        fee_paid: r.optional("fee_paid", |r| r.boolean("fee_paid"))?,
        digitised: r.optional("digitised", |r| r.boolean("digitised"))?,
    })
}

fn applicant(r: &mut Reader<'_>) -> Read<Applicant> {
    Ok(Applicant {
        kind: r.symbol("kind", "ApplicantKind", ApplicantKind::ALL)?,
        name: r.string("name")?,
        id_type: r.optional("id_type", |r| r.symbol("id_type", "IdType", IdType::ALL))?,
        id_number: r.optional_string("id_number")?,
        phone: r.optional_string("phone")?,
        email: r.optional_string("email")?,
        address: r.optional_string("address")?,
    })
}

fn document(r: &mut Reader<'_>) -> Read<SubmittedDocument> {
    Ok(SubmittedDocument {
        name: r.string("name")?,
        kind: r.symbol("kind", "DocumentKind", DocumentKind::ALL)?,
        count: r.int("count")?,
    })
}

fn time_limit(r: &mut Reader<'_>) -> Read<TimeLimit> {
    Ok(TimeLimit {
        amount: r.int("amount")?,
        unit: r.symbol("unit", "TimeUnit", TimeUnit::ALL)?,
    })
}

fn supplement_requested(r: &mut Reader<'_>) -> Read<SupplementRequested> {
    Ok(SupplementRequested {
        request_no: r.string("request_no")?,
        reason: r.string("reason")?,
        missing_documents: r.array("missing_documents", document)?,
        guiding_officer: r.string("guiding_officer")?,
    })
}

fn supplement_received(r: &mut Reader<'_>) -> Read<SupplementReceived> {
    Ok(SupplementReceived {
        request_no: r.string("request_no")?,
        documents: r.array("documents", document)?,
    })
}

fn refused(r: &mut Reader<'_>) -> Read<Refused> {
    Ok(Refused {
        stage: r.symbol("stage", "RefusalStage", RefusalStage::ALL)?,
        reason: r.string("reason")?,
        officer: r.string("officer")?,
        procedure_code: r.optional_string("procedure_code")?,
        applicant: payload(r, "applicant", applicant)?,
    })
}

fn apology(r: &mut Reader<'_>) -> Read<Apology> {
    Ok(Apology {
        original_appointment_at: r.timestamp("original_appointment_at")?,
        new_appointment_at: r.timestamp("new_appointment_at")?,
        reason: r.string("reason")?,
        signed_by: r.string("signed_by")?,
    })
}

fn processing_stopped(r: &mut Reader<'_>) -> Read<ProcessingStopped> {
    Ok(ProcessingStopped {
        reason: r.string("reason")?,
        signed_by: r.string("signed_by")?,
    })
}

fn handover(r: &mut Reader<'_>) -> Read<Handover> {
    // Written in schema order; the Rust struct puts `allotted` before `note`.
    let step = r.int("step")?;
    let from_unit = r.string("from_unit")?;
    let to_unit = r.string("to_unit")?;
    let step_outcome = r.optional("step_outcome", |r| {
        r.symbol("step_outcome", "StepOutcome", StepOutcome::ALL)
    })?;
    let note = r.optional_string("note")?;
    let allotted = payload(r, "allotted", time_limit)?;
    Ok(Handover {
        step,
        from_unit,
        to_unit,
        step_outcome,
        allotted,
        note,
    })
}

fn withdrawn(r: &mut Reader<'_>) -> Read<Withdrawn> {
    Ok(Withdrawn {
        reason: r.optional_string("reason")?,
    })
}

fn result_ready(r: &mut Reader<'_>) -> Read<ResultReady> {
    Ok(ResultReady {
        decision: r.symbol("decision", "Decision", Decision::ALL)?,
        electronic_result: r.boolean("electronic_result")?,
        document_number: r.optional_string("document_number")?,
    })
}

fn result_returned(r: &mut Reader<'_>) -> Read<ResultReturned> {
    Ok(ResultReturned {
        delivery: r.symbol("delivery", "Delivery", Delivery::ALL)?,
    })
}

fn survey(r: &mut Reader<'_>) -> Read<Survey> {
    Ok(Survey {
        channel: r.symbol("channel", "SurveyChannel", SurveyChannel::ALL)?,
        overall: r.symbol("overall", "Satisfaction", Satisfaction::ALL)?,
        criteria: r.array("criteria", |r| {
            Ok(CriterionScore {
                code: r.string("code")?,
                score: r.int("score")?,
            })
        })?,
        complaint: r.boolean("complaint")?,
    })
}

fn sipas(r: &mut Reader<'_>) -> Read<SipasResponse> {
    Ok(SipasResponse {
        campaign: r.string("campaign")?,
        channel: r.symbol("channel", "SurveyChannel", SurveyChannel::ALL)?,
        about_dossier: r.optional_string("about_dossier")?,
        answers: r.array("answers", |r| {
            Ok(SipasAnswer {
                element: r.symbol("element", "SipasElement", SipasElement::ALL)?,
                criterion: r.string("criterion")?,
                assessment: r.int("assessment")?,
                satisfaction: r.int("satisfaction")?,
                expectation: r.int("expectation")?,
            })
        })?,
    })
}

fn portal_sync(r: &mut Reader<'_>) -> Read<PortalSync> {
    Ok(PortalSync {
        status: r.string("status")?,
        accepted: r.boolean("accepted")?,
        error: r.optional_string("error")?,
    })
}

fn feedback(r: &mut Reader<'_>) -> Read<Feedback> {
    Ok(Feedback {
        feedback_id: r.string("feedback_id")?,
        category: r.symbol("category", "FeedbackCategory", FeedbackCategory::ALL)?,
        stage: r.symbol("stage", "FeedbackStage", FeedbackStage::ALL)?,
        received_at: r.timestamp("received_at")?,
        due_at: r.timestamp("due_at")?,
        answered_at: r.optional("answered_at", |r| r.timestamp("answered_at"))?,
        satisfaction: r.optional("satisfaction", |r| {
            r.symbol("satisfaction", "Satisfaction", Satisfaction::ALL)
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Codec, Encoding, CURRENT_SCHEMA};
    use apache_avro::schema::{ResolvedSchema, Schema};

    #[test]
    fn written_for_the_current_schema() {
        let schema = Schema::parse_str(CURRENT_SCHEMA).unwrap();
        let fp = schema.fingerprint::<apache_avro::rabin::Rabin>().bytes;
        assert_eq!(
            fp[..],
            SCHEMA_FINGERPRINT[..],
            "schemas/dossier_event.avsc changed: bring avro_reader.rs up to date with it, \
             then set SCHEMA_FINGERPRINT to {fp:02x?}"
        );
        assert!(Codec::new().has_fast_reader());
    }

    fn symbols(schema: &Schema, name: &str) -> Vec<String> {
        let resolved = ResolvedSchema::try_from(schema).unwrap();
        let (_, s) = resolved
            .get_names()
            .iter()
            .find(|(n, _)| n.name == name)
            .unwrap_or_else(|| panic!("no enum {name} in the schema"));
        match s {
            Schema::Enum(e) => e.symbols.clone(),
            other => panic!("{name} is not an enum: {other:?}"),
        }
    }

    #[test]
    fn enum_variants_are_in_schema_symbol_order() {
        let schema = Schema::parse_str(CURRENT_SCHEMA).unwrap();
        fn names<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> Vec<String> {
            all.iter().map(|v| f(*v).to_string()).collect()
        }
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("FormSet", names(FORM_SETS, FormSet::as_str)),
            ("EventKind", names(EventKind::ALL, EventKind::as_str)),
            ("AgencyLevel", names(AgencyLevel::ALL, AgencyLevel::as_str)),
            ("Channel", names(Channel::ALL, Channel::as_str)),
            (
                "ApplicantKind",
                names(ApplicantKind::ALL, ApplicantKind::as_str),
            ),
            ("IdType", names(IdType::ALL, IdType::as_str)),
            (
                "DocumentKind",
                names(DocumentKind::ALL, DocumentKind::as_str),
            ),
            ("TimeUnit", names(TimeUnit::ALL, TimeUnit::as_str)),
            ("Delivery", names(Delivery::ALL, Delivery::as_str)),
            (
                "RefusalStage",
                names(RefusalStage::ALL, RefusalStage::as_str),
            ),
            ("StepOutcome", names(StepOutcome::ALL, StepOutcome::as_str)),
            ("Decision", names(Decision::ALL, Decision::as_str)),
            (
                "SurveyChannel",
                names(SurveyChannel::ALL, SurveyChannel::as_str),
            ),
            (
                "Satisfaction",
                names(Satisfaction::ALL, Satisfaction::as_str),
            ),
        ];
        for (name, rust) in cases {
            assert_eq!(symbols(&schema, name), rust, "symbols of {name}");
        }
    }

    fn datum(e: &DossierEvent) -> Vec<u8> {
        Codec::new().encode(e, Encoding::Avro).unwrap()[10..].to_vec()
    }

    #[test]
    fn faults_name_the_field() {
        let bytes = datum(&crate::samples::received());
        // Cut inside the applicant's name: find it in the datum.
        let name = "Nguyễn Văn An".as_bytes();
        let at = bytes.windows(name.len()).position(|w| w == name).unwrap();
        let r = read_event(&bytes[..at + 3]).unwrap_err();
        assert_eq!(
            (r.kind, r.field.as_str()),
            (RejectKind::Undecodable, "received.applicant.name"),
            "{r}"
        );
        // Not UTF-8 in the same place.
        let mut bad = bytes.clone();
        bad[at] = 0xff;
        let r = read_event(&bad).unwrap_err();
        assert_eq!(r.field, "received.applicant.name", "{r}");
        assert!(r.detail.contains("UTF-8"), "{r}");

        // An item of an array.
        let doc = "Tờ khai đăng ký kết hôn".as_bytes();
        let at = bytes.windows(doc.len()).position(|w| w == doc).unwrap();
        let r = read_event(&bytes[..at + doc.len()]).unwrap_err();
        assert_eq!(r.field, "received.documents[0].kind", "{r}");

        // An enum index out of range: `form_set` follows `occurred_at`.
        let mut e = crate::samples::received();
        e.national_dossier_code = None;
        let bytes = datum(&e);
        let ts = b"2026-10-08T09:15:00+07:00";
        let at = bytes.windows(ts.len()).position(|w| w == ts).unwrap() + ts.len();
        let mut bad = bytes.clone();
        bad[at] = 2 * 2; // zig-zag 2: a third symbol
        let r = read_event(&bad).unwrap_err();
        assert_eq!(
            (r.kind, r.field.as_str()),
            (RejectKind::Undecodable, "form_set")
        );
        assert!(r.detail.contains("FormSet"), "{r}");

        // A timestamp that is not one.
        let mut bad = bytes.clone();
        bad[at - ts.len() + 10] = b'x';
        let r = read_event(&bad).unwrap_err();
        assert_eq!(
            (r.kind, r.field.as_str()),
            (RejectKind::Format, "occurred_at"),
            "{r}"
        );

        // A union branch that does not exist: two empty strings, then branch 2.
        let r = read_event(&[0, 0, 4]).unwrap_err();
        assert_eq!(r.field, "national_dossier_code", "{r}");
        assert!(r.detail.contains("branch 2"), "{r}");
        assert!(read_event(&[]).unwrap_err().detail.contains("ends"));
    }

    #[test]
    fn varints_as_the_specification_writes_them() {
        for (bytes, value) in [
            (&[0x00][..], 0i64),
            (&[0x01], -1),
            (&[0x02], 1),
            (&[0x7f], -64),
            (&[0x80, 0x01], 64),
            (
                &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MAX,
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MIN,
            ),
        ] {
            let mut r = Reader { rest: bytes };
            assert_eq!(r.long("x").unwrap(), value, "{bytes:02x?}");
            assert!(r.rest.is_empty());
        }
        let mut r = Reader { rest: &[0x80; 11] };
        assert!(matches!(
            r.long("x").unwrap_err().problem,
            Problem::VarintTooLong
        ));
        let mut r = Reader {
            rest: &[0x80, 0x80],
        };
        assert!(matches!(
            r.long("x").unwrap_err().problem,
            Problem::Truncated
        ));
        let mut r = Reader {
            rest: &[0x80, 0x80, 0x80, 0x80, 0x10],
        };
        assert!(matches!(
            r.int("x").unwrap_err().problem,
            Problem::IntOutOfRange(_)
        ));
    }

    #[test]
    fn arrays_in_blocks_with_a_byte_size() {
        // Two blocks: 1 item announced with a byte size (count -1), then 1 item, then 0.
        let item = [0x02, b'a', 0x00, 0x02]; // name "a", ORIGINAL, count 1
        let mut bytes = vec![0x01, 0x08];
        bytes.extend(item);
        bytes.push(0x02);
        bytes.extend(item);
        bytes.push(0x00);
        let mut r = Reader { rest: &bytes };
        let docs = r.array("documents", document).unwrap();
        assert_eq!(docs.len(), 2);
        assert!(r.rest.is_empty());
        // A huge count is rejected before anything is reserved.
        let mut r = Reader {
            rest: &[0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00],
        };
        assert!(matches!(
            r.array("documents", document).unwrap_err().problem,
            Problem::Truncated
        ));
    }
}
