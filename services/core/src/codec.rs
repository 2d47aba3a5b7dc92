//! Wire encodings: JSON and Avro single-object encoding, told apart by their first bytes.
//!
//! Avro messages use the Avro specification's single-object encoding (`C3 01`, the 8-byte
//! CRC-64-AVRO fingerprint of the writer schema, then the datum), so a reader needs no
//! schema registry: it knows the current schema and every earlier version kept in
//! `schemas/fixtures/`, and resolves old data to the current shape. JSON messages are a
//! single object in the same field layout.
//!
//! Data written with the current schema, nearly all of it, is read by a hand-written
//! reader of that schema's binary layout (`avro_reader`), straight into a [`DossierEvent`];
//! apache-avro's generic `Value` tree and schema resolution read the older versions, and
//! every version if the reader was written for another schema than the current one.
//! [`Codec::decode_generic`] is the apache-avro path alone, the reference the reader is
//! tested against. JSON is read by serde straight from the bytes.

use std::collections::HashMap;

use apache_avro::rabin::Rabin;
use apache_avro::Schema;

use crate::avro_reader;
use crate::event::DossierEvent;
use crate::validate::{RejectKind, Rejection};

/// The current schema, the source of truth.
pub const CURRENT_SCHEMA: &str = include_str!("../../../schemas/dossier_event.avsc");

/// Earlier versions still readable, oldest first (the last one may equal the current one).
pub const PREVIOUS_SCHEMAS: &[(&str, &str)] = &[
    (
        "v1",
        include_str!("../../../schemas/fixtures/dossier_event.v1.avsc"),
    ),
    (
        "v2",
        include_str!("../../../schemas/fixtures/dossier_event.v2.avsc"),
    ),
    (
        "v3",
        include_str!("../../../schemas/fixtures/dossier_event.v3.avsc"),
    ),
];

/// Top-level fields the event's serialised form leaves out when absent, in schema order
/// (each one is last of the fields before the next schema version's).
const SKIPPED_WHEN_ABSENT: [&str; 3] = ["sipas", "portal_sync", "feedback"];
/// The same, inside the receipt (`received`).
const RECEIPT_SKIPPED_WHEN_ABSENT: [&str; 1] = ["digitised"];

/// Puts a null union in each field left out of `value` (an event as apache-avro's serde
/// sees it), as the schema wants every field.
fn fill_skipped(value: &mut apache_avro::types::Value) {
    use apache_avro::types::Value;
    fn fill(fields: &mut Vec<(String, Value)>, names: &[&str]) {
        for name in names {
            if !fields.iter().any(|(n, _)| n == name) {
                fields.push((name.to_string(), Value::Union(0, Box::new(Value::Null))));
            }
        }
    }
    let Value::Record(fields) = value else { return };
    for (name, field) in fields.iter_mut() {
        if name == "received" {
            let inner = match field {
                Value::Union(_, inner) => inner.as_mut(),
                other => other,
            };
            if let Value::Record(receipt) = inner {
                fill(receipt, &RECEIPT_SKIPPED_WHEN_ABSENT);
            }
        }
    }
    fill(fields, &SKIPPED_WHEN_ABSENT);
}

const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];

/// How an event is written to Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Avro single-object encoding of the current schema.
    #[default]
    Avro,
    /// One JSON object.
    Json,
}

impl Encoding {
    /// Value of the `content-type` header that accompanies the message.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Avro => "application/vnd.apache.avro.single-object",
            Encoding::Json => "application/json",
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "avro" => Ok(Encoding::Avro),
            "json" => Ok(Encoding::Json),
            other => Err(format!(
                "unknown encoding `{other}`, expected `avro` or `json`"
            )),
        }
    }
}

/// Encodes and decodes events. Build once and share: parsing schemas is not free.
#[derive(Debug)]
pub struct Codec {
    schema: Schema,
    fingerprint: [u8; 8],
    writers: HashMap<[u8; 8], Schema>,
    /// Whether `avro_reader` was written for the current schema (else apache-avro reads all).
    fast: bool,
}

fn fingerprint(schema: &Schema) -> [u8; 8] {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    bytes.try_into().expect("rabin fingerprints are 8 bytes")
}

impl Codec {
    /// Parses the embedded schemas.
    pub fn new() -> Self {
        let schema = Schema::parse_str(CURRENT_SCHEMA).expect("schemas/dossier_event.avsc parses");
        let fingerprint = fingerprint(&schema);
        let mut writers = HashMap::new();
        for (version, text) in PREVIOUS_SCHEMAS {
            let old = Schema::parse_str(text)
                .unwrap_or_else(|e| panic!("schema fixture {version} does not parse: {e}"));
            writers.insert(self::fingerprint(&old), old);
        }
        writers.insert(fingerprint, schema.clone());
        Codec {
            schema,
            fingerprint,
            writers,
            fast: fingerprint == avro_reader::SCHEMA_FINGERPRINT,
        }
    }

    /// The current schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Encodes an event.
    pub fn encode(&self, event: &DossierEvent, encoding: Encoding) -> Result<Vec<u8>, Rejection> {
        match encoding {
            Encoding::Json => serde_json::to_vec(event)
                .map_err(|e| Rejection::new(RejectKind::Format, "", format!("json encoding: {e}"))),
            Encoding::Avro => {
                let avro_error = |e: apache_avro::Error| {
                    Rejection::new(RejectKind::Format, "", format!("avro encoding: {e}"))
                };
                let mut value = apache_avro::to_value(event).map_err(avro_error)?;
                // Fields left out of the serialised form when absent (to keep the JSON, and
                // so the content hash, of older kinds unchanged) are null in Avro.
                fill_skipped(&mut value);
                let mut out = Vec::with_capacity(512);
                out.extend_from_slice(&SINGLE_OBJECT_MARKER);
                out.extend_from_slice(&self.fingerprint);
                out.extend(apache_avro::to_avro_datum(&self.schema, value).map_err(avro_error)?);
                Ok(out)
            }
        }
    }

    /// Whether Avro data of the current schema is read by the schema-specific reader
    /// (false only while `avro_reader` lags behind a schema change; a test fails then).
    pub fn has_fast_reader(&self) -> bool {
        self.fast
    }

    /// Decodes an event from either encoding. Does not validate it.
    pub fn decode(&self, bytes: &[u8]) -> Result<DossierEvent, Rejection> {
        self.decode_with(bytes, self.fast)
    }

    /// Decodes as [`Codec::decode`] does, but Avro data of every schema version through
    /// apache-avro's generic `Value` tree: the reference the fast reader is checked against,
    /// several times slower.
    pub fn decode_generic(&self, bytes: &[u8]) -> Result<DossierEvent, Rejection> {
        self.decode_with(bytes, false)
    }

    fn decode_with(&self, bytes: &[u8], fast: bool) -> Result<DossierEvent, Rejection> {
        if bytes.starts_with(&SINGLE_OBJECT_MARKER) {
            return self.decode_avro(&bytes[2..], fast);
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => decode_json(bytes),
            Some(_) => Err(Rejection::new(
                RejectKind::Undecodable,
                "",
                "payload is neither a JSON object nor Avro single-object encoding",
            )),
            None => Err(Rejection::new(RejectKind::Undecodable, "", "empty payload")),
        }
    }

    fn decode_avro(&self, rest: &[u8], fast: bool) -> Result<DossierEvent, Rejection> {
        let undecodable = |detail: String| Rejection::new(RejectKind::Undecodable, "", detail);
        if rest.len() < 8 {
            return Err(undecodable(
                "avro payload shorter than its schema fingerprint".into(),
            ));
        }
        let (fp, mut datum) = rest.split_at(8);
        let fp: [u8; 8] = fp.try_into().expect("8 bytes");
        if fast && fp == self.fingerprint {
            return avro_reader::read_event(datum);
        }
        let writer = self.writers.get(&fp).ok_or_else(|| {
            undecodable(format!(
                "avro writer schema with fingerprint {} is not known",
                hex(&fp)
            ))
        })?;
        // Data written with the current schema needs no resolution (the costly step).
        let reader_schema = (fp != self.fingerprint).then_some(&self.schema);
        let value = apache_avro::from_avro_datum(writer, &mut datum, reader_schema)
            .map_err(|e| undecodable(format!("avro datum: {e}")))?;
        apache_avro::from_value::<DossierEvent>(&value)
            .map_err(|e| Rejection::new(RejectKind::Format, "", format!("avro value: {e}")))
    }
}

impl Default for Codec {
    fn default() -> Self {
        Codec::new()
    }
}

/// Decodes one JSON object, naming the failing field.
pub fn decode_json(bytes: &[u8]) -> Result<DossierEvent, Rejection> {
    // Straight into the event; only a failure pays for tracking the path, by reading the
    // bytes again (the same deserializer fails the same way).
    match serde_json::from_slice(bytes) {
        Ok(event) => Ok(event),
        Err(_) => json_rejection(bytes),
    }
}

#[cold]
fn json_rejection(bytes: &[u8]) -> Result<DossierEvent, Rejection> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let parent = if path == "." { String::new() } else { path };
        // serde names a missing field only in its message: "missing field `x` at ...".
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(f, _)| f);
        let (kind, field) = if inner.is_syntax() || inner.is_eof() {
            (RejectKind::Undecodable, parent)
        } else if let Some(name) = missing {
            let field = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            };
            (RejectKind::Missing, field)
        } else {
            (RejectKind::Format, parent)
        };
        Rejection::new(kind, field, message)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
