//! The Rust types and `schemas/*.avsc` agree, and schema changes stay backward compatible.

use apache_avro::schema::{Name, ResolvedSchema};
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema;

type Names<'a> = std::collections::HashMap<Name, &'a Schema>;
use motcua_core::codec::{Codec, Encoding, CURRENT_SCHEMA, PREVIOUS_SCHEMAS};
use motcua_core::event::EventKind;
use motcua_core::samples;

#[test]
fn every_kind_round_trips_through_avro_and_json() {
    let codec = Codec::new();
    let mut events = samples::all_kinds();
    events.push(samples::sipas_response());
    events.extend(samples::schema_v4());
    let mut kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    kinds.sort_by_key(|k| EventKind::ALL.iter().position(|x| x == k));
    kinds.dedup();
    assert_eq!(
        kinds.len(),
        EventKind::ALL.len(),
        "samples cover every kind"
    );
    for e in &events {
        motcua_core::validate(e)
            .unwrap_or_else(|r| panic!("sample {} is invalid: {r}", e.event_id));
        for enc in [Encoding::Avro, Encoding::Json] {
            let bytes = codec
                .encode(e, enc)
                .unwrap_or_else(|r| panic!("{:?} encode {}: {r}", enc, e.kind));
            let back = codec
                .decode(&bytes)
                .unwrap_or_else(|r| panic!("{:?} decode {}: {r}", enc, e.kind));
            assert_eq!(&back, e, "{enc:?} round trip of {}", e.kind);
        }
    }
}

/// Field names of a record schema, recursively, as `path.name` strings.
fn schema_paths(schema: &Schema, names: &Names, prefix: &str, out: &mut Vec<String>) {
    match schema {
        Schema::Ref { name } => schema_paths(names[name], names, prefix, out),
        Schema::Record(r) => {
            for f in &r.fields {
                let path = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                out.push(path.clone());
                schema_paths(&f.schema, names, &path, out);
            }
        }
        Schema::Union(u) => {
            for v in u.variants() {
                schema_paths(v, names, prefix, out);
            }
        }
        Schema::Array(a) => schema_paths(&a.items, names, prefix, out),
        _ => {}
    }
}

fn json_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                json_paths(v, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                json_paths(v, prefix, out);
            }
        }
        _ => {}
    }
}

#[test]
fn rust_fields_and_schema_fields_are_the_same_set() {
    // The samples set every optional field, so their JSON shows every Rust field.
    let mut rust = Vec::new();
    for e in samples::all_kinds()
        .into_iter()
        .chain([samples::sipas_response()])
        .chain(samples::schema_v4())
    {
        json_paths(&serde_json::to_value(&e).unwrap(), "", &mut rust);
    }
    let mut avro = Vec::new();
    let schema = Schema::parse_str(CURRENT_SCHEMA).unwrap();
    let resolved = ResolvedSchema::try_from(&schema).unwrap();
    schema_paths(&schema, resolved.get_names(), "", &mut avro);
    rust.sort();
    rust.dedup();
    avro.sort();
    avro.dedup();
    assert_eq!(
        rust, avro,
        "the Rust types and schemas/dossier_event.avsc name different fields"
    );
}

#[test]
fn current_schema_reads_data_written_with_every_previous_version() {
    let current = Schema::parse_str(CURRENT_SCHEMA).unwrap();
    assert!(
        !PREVIOUS_SCHEMAS.is_empty(),
        "keep at least the previous version as a fixture"
    );
    for (version, text) in PREVIOUS_SCHEMAS {
        let old = Schema::parse_str(text).unwrap();
        SchemaCompatibility::can_read(&old, &current)
            .unwrap_or_else(|e| panic!("current schema cannot read {version} data: {e}"));
        // And real data written with the old schema decodes through the codec.
        let codec = Codec::new();
        for e in samples::all_kinds() {
            let value = apache_avro::to_value(&e).unwrap().resolve(&old).unwrap();
            let mut bytes = vec![0xC3, 0x01];
            bytes.extend(old.fingerprint::<apache_avro::rabin::Rabin>().bytes);
            bytes.extend(apache_avro::to_avro_datum(&old, value).unwrap());
            // Fields added after `version` read as their defaults.
            let mut expected = e.clone();
            if *version == "v1" {
                if let Some(h) = expected.handover.as_mut() {
                    h.allotted = None;
                }
            }
            assert_eq!(
                codec.decode(&bytes).unwrap(),
                expected,
                "{version} datum of {}",
                e.kind
            );
        }
    }
}

#[test]
fn a_breaking_change_is_detected() {
    // The guard above must be able to fail: a new required field without default breaks.
    let current = Schema::parse_str(CURRENT_SCHEMA).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(CURRENT_SCHEMA).unwrap();
    json["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "new_required", "type": "string"}));
    let broken = Schema::parse_str(&json.to_string()).unwrap();
    assert!(SchemaCompatibility::can_read(&current, &broken).is_err());
}

#[test]
fn schemas_v3_and_v4_leave_the_json_and_content_hash_of_older_kinds_unchanged() {
    // The content hash is FNV-1a over the JSON: stored events of v2 must hash the same.
    for e in samples::all_kinds() {
        let json = serde_json::to_string(&e).unwrap();
        for added in ["sipas", "portal_sync", "feedback", "digitised"] {
            assert!(!json.contains(added), "{added} in {json}");
        }
    }
    // A v4 receipt that records its digitisation says so; one that does not is a v3 receipt.
    let v4 = &samples::schema_v4()[0];
    assert!(serde_json::to_string(v4)
        .unwrap()
        .contains("\"digitised\":true"));
    // And a v3 datum (no v4 fields) decodes to the same event as its JSON.
    let v3 = apache_avro::Schema::parse_str(include_str!(
        "../../../schemas/fixtures/dossier_event.v3.avsc"
    ))
    .unwrap();
    let e = samples::received();
    let mut value = apache_avro::to_value(&e).unwrap();
    if let apache_avro::types::Value::Record(fields) = &mut value {
        fields.push((
            "sipas".into(),
            apache_avro::types::Value::Union(0, Box::new(apache_avro::types::Value::Null)),
        ));
    }
    let mut bytes = vec![0xC3, 0x01];
    bytes.extend_from_slice(&v3.fingerprint::<apache_avro::rabin::Rabin>().bytes);
    bytes.extend(apache_avro::to_avro_datum(&v3, value).unwrap());
    assert_eq!(Codec::new().decode(&bytes).unwrap(), e);
    // And a v2 datum still decodes, to the same event as its JSON.
    let codec = Codec::new();
    let v2 = apache_avro::Schema::parse_str(include_str!(
        "../../../schemas/fixtures/dossier_event.v2.avsc"
    ))
    .unwrap();
    let e = samples::received();
    let mut value = apache_avro::to_value(&e).unwrap();
    if let apache_avro::types::Value::Record(fields) = &mut value {
        fields.retain(|(name, _)| name != "sipas");
    }
    let mut bytes = vec![0xC3, 0x01];
    bytes.extend_from_slice(&v2.fingerprint::<apache_avro::rabin::Rabin>().bytes);
    bytes.extend(apache_avro::to_avro_datum(&v2, value).unwrap());
    assert_eq!(codec.decode(&bytes).unwrap(), e);
}

#[test]
fn the_contracts_avro_example_is_what_the_codec_writes() {
    let contract = include_str!("../../../docs/CONTRACT.md");
    // The RESULT_READY example of section 2.
    let block = contract
        .split("```json")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("\"kind\": \"RESULT_READY\""))
        .expect("a RESULT_READY example in CONTRACT.md");
    let event: motcua_core::DossierEvent = serde_json::from_str(block).expect("the example parses");
    let bytes = Codec::new().encode(&event, Encoding::Avro).unwrap();
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let claim = format!(
        "encodes to {} bytes, beginning\n`{} …`",
        bytes.len(),
        hex(&bytes[..14])
    );
    assert!(
        contract.contains(&claim),
        "CONTRACT.md §3 should say: {claim}"
    );
    let fingerprint = format!(
        "For the current schema (v{}): `{}`",
        PREVIOUS_SCHEMAS.len() + 1,
        hex(&bytes[2..10])
    );
    assert!(
        contract.contains(&fingerprint),
        "CONTRACT.md §3 should say: {fingerprint}"
    );
}

/// A way to spoil an answer sheet, the rejection it gets, the field it names.
type Spoiled = (
    &'static str,
    fn(&mut motcua_core::event::SipasResponse),
    motcua_core::RejectKind,
    &'static str,
);

#[test]
fn bad_sipas_sheets_are_rejected_naming_the_field() {
    let cases: [Spoiled; 4] = [
        (
            "no answers",
            |s| s.answers.clear(),
            motcua_core::RejectKind::Missing,
            "sipas.answers",
        ),
        (
            "a score of 6",
            |s| s.answers[1].satisfaction = 6,
            motcua_core::RejectKind::Format,
            "sipas.answers[1].satisfaction",
        ),
        (
            "a blank criterion",
            |s| s.answers[0].criterion = " ".into(),
            motcua_core::RejectKind::Missing,
            "sipas.answers[0].criterion",
        ),
        (
            "a dossier that is no code",
            |s| s.about_dossier = Some("0975".into()),
            motcua_core::RejectKind::Format,
            "sipas.about_dossier",
        ),
    ];
    motcua_core::validate(&samples::sipas_response()).expect("the sample is valid");
    for (what, spoil, kind, field) in cases {
        let mut e = samples::sipas_response();
        spoil(e.sipas.as_mut().unwrap());
        let r = motcua_core::validate(&e).expect_err(what);
        assert_eq!((r.kind, r.field.as_str()), (kind, field), "{what}: {r}");
    }
}

#[test]
fn bad_feedback_and_syncs_are_rejected_naming_the_field() {
    use motcua_core::event::{Feedback, FeedbackStage};
    use motcua_core::RejectKind;
    let v4 = samples::schema_v4();
    for e in &v4 {
        motcua_core::validate(e).unwrap_or_else(|r| panic!("{}: {r}", e.event_id));
    }
    type Spoil = fn(&mut Feedback);
    let cases: [(&str, Spoil, RejectKind, &str); 5] = [
        (
            "no id",
            |f| f.feedback_id = "  ".into(),
            RejectKind::Missing,
            "feedback.feedback_id",
        ),
        (
            "due before received",
            |f| f.due_at = f.received_at,
            RejectKind::Inconsistent,
            "feedback.due_at",
        ),
        (
            "answered without a time",
            |f| f.answered_at = None,
            RejectKind::Missing,
            "feedback.answered_at",
        ),
        (
            "answered before received",
            |f| f.answered_at = Some(f.received_at - chrono::Duration::hours(1)),
            RejectKind::Inconsistent,
            "feedback.answered_at",
        ),
        (
            "received with an answer",
            |f| f.stage = FeedbackStage::Received,
            RejectKind::Inconsistent,
            "feedback.answered_at",
        ),
    ];
    for (what, spoil, kind, field) in cases {
        let mut e = v4[3].clone();
        spoil(e.feedback.as_mut().unwrap());
        let r = motcua_core::validate(&e).expect_err(what);
        assert_eq!((r.kind, r.field.as_str()), (kind, field), "{what}: {r}");
    }
    let mut sync = v4[1].clone();
    sync.portal_sync.as_mut().unwrap().status = String::new();
    let r = motcua_core::validate(&sync).expect_err("a blank status");
    assert_eq!(r.field, "portal_sync.status", "{r}");
}
