//! Bad records go to the dead-letter topic with the reason in headers, are counted, and do
//! not stop the pipeline or cost a valid neighbour.

use std::collections::HashMap;
use std::time::Duration;

use motcua_core::codec::{Codec, Encoding};
use motcua_core::samples;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::common::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_records_are_dead_lettered_with_their_reason_and_valid_ones_still_land() {
    let env = Env::new("dlq").await;
    let codec = Codec::new();
    let valid = samples::all_kinds();
    let mut bad_phone = samples::received();
    bad_phone.event_id = "bad-phone".into();
    bad_phone.received.as_mut().unwrap().applicant.phone = Some("12".into());
    let mut bad_code = samples::received();
    bad_code.event_id = "bad-code".into();
    bad_code.dossier_code = "H56-1".into();

    // (key, payload, expected reason header, expected field header)
    let bad: Vec<(String, Vec<u8>, &str, &str)> = vec![
        (
            samples::DOSSIER.into(),
            b"<xml/>".to_vec(),
            "undecodable",
            "",
        ),
        (
            samples::DOSSIER.into(),
            codec.encode(&bad_phone, Encoding::Json).unwrap(),
            "bad_format",
            "received.applicant.phone",
        ),
        (
            samples::DOSSIER.into(),
            codec.encode(&bad_phone, Encoding::Avro).unwrap(),
            "bad_format",
            "received.applicant.phone",
        ),
        (
            "H56-1".into(),
            codec.encode(&bad_code, Encoding::Json).unwrap(),
            "bad_format",
            "dossier_code",
        ),
        (
            "wrong-key".into(),
            codec.encode(&samples::received(), Encoding::Json).unwrap(),
            "inconsistent",
            "dossier_code",
        ),
        (
            samples::DOSSIER.into(),
            br#"{"event_id":"e1"}"#.to_vec(),
            "missing_field",
            "",
        ),
    ];
    let raw: FutureProducer = env.kafka.producer().create().unwrap();
    // Interleave: valid, bad, valid, bad... on the same partition (same key).
    for (i, e) in valid.iter().enumerate() {
        let payload = codec.encode(e, Encoding::Avro).unwrap();
        raw.send(
            FutureRecord::to(env.topics.for_event(e))
                .key(&e.dossier_code)
                .payload(&payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        if let Some((key, payload, _, _)) = bad.get(i) {
            raw.send(
                FutureRecord::to(&env.topics.receipts)
                    .key(key)
                    .payload(payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        }
    }

    let (summary, metrics) = env.process("dlq").await;
    assert_eq!(summary.rejected, bad.len() as u64);
    assert_eq!(
        summary.accepted,
        valid.len() as u64,
        "no valid neighbour lost"
    );
    let rendered = metrics.render();
    assert!(
        rendered.contains(r#"motcua_processor_events_rejected_total{reason="bad_format"} 3"#),
        "{rendered}"
    );
    assert_eq!(
        env.count("SELECT count() FROM dossier_events FINAL").await,
        valid.len() as u64
    );

    // Read the dead-letter topic back.
    let got: HashMap<Vec<u8>, (String, String, String)> = env
        .dead_letters(bad.len())
        .await
        .into_iter()
        .map(|l| (l.payload, (l.reason, l.field, l.source_topic)))
        .collect();
    assert_eq!(
        got.len(),
        bad.len(),
        "every bad record is on the dead-letter topic, payload intact"
    );
    for (_, payload, reason, field) in &bad {
        let (r, f, topic) = &got[payload];
        assert_eq!(r, reason);
        if !field.is_empty() {
            assert_eq!(f, field);
        }
        assert_eq!(topic, &env.topics.receipts);
    }
}
