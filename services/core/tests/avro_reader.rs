//! The schema-specific Avro reader (`Codec::decode`) gives exactly what apache-avro's
//! generic path (`Codec::decode_generic`) gives: over a simulated province's events, over
//! arbitrary events that stretch every field, and over corrupted datums, where it must
//! reject rather than panic and must never accept what apache-avro reads differently.

use motcua_core::codec::{Codec, Encoding};
use motcua_core::event::*;
use motcua_core::{samples, RejectKind};
use proptest::prelude::*;

fn codec() -> &'static Codec {
    static CODEC: std::sync::OnceLock<Codec> = std::sync::OnceLock::new();
    CODEC.get_or_init(Codec::new)
}

fn assert_same_three_ways(e: &DossierEvent) {
    let codec = codec();
    let avro = codec.encode(e, Encoding::Avro).expect("encodes");
    let fast = codec.decode(&avro).expect("fast reader decodes");
    let generic = codec.decode_generic(&avro).expect("apache-avro decodes");
    assert_eq!(fast, generic, "fast and generic differ on {}", e.event_id);
    assert_eq!(&fast, e, "avro round trip of {}", e.event_id);
    let json = codec.encode(e, Encoding::Json).expect("encodes");
    assert_eq!(&codec.decode(&json).expect("json decodes"), e);
}

#[test]
fn the_fast_reader_is_in_use() {
    assert!(
        codec().has_fast_reader(),
        "avro_reader.rs was written for another schema than schemas/dossier_event.avsc"
    );
}

#[test]
fn simulated_events_decode_the_same_both_ways() {
    let mut kinds = std::collections::BTreeSet::new();
    for seed in [1, 2] {
        let config = motcua_sim::SimConfig {
            seed,
            days: 30,
            dossiers_per_day: 100,
            ..Default::default()
        };
        for e in motcua_sim::Simulator::new(config)
            .expect("valid config")
            .take(6_000)
        {
            kinds.insert(e.kind);
            assert_same_three_ways(&e);
        }
    }
    assert!(kinds.len() >= 9, "the stream covers most kinds: {kinds:?}");
}

#[test]
fn every_truncation_of_every_sample_is_rejected() {
    let codec = codec();
    for e in samples::all_kinds() {
        let avro = codec.encode(&e, Encoding::Avro).unwrap();
        for len in 10..avro.len() {
            let r = codec
                .decode(&avro[..len])
                .expect_err("a truncated datum does not decode");
            assert_eq!(r.kind, RejectKind::Undecodable, "{len}: {r}");
            assert!(
                !r.field.is_empty(),
                "{len}: the rejection names a field: {r}"
            );
        }
    }
}

// Strategies are boxed: the nested tuples of unboxed ones overflow the test thread's stack
// in debug builds.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9.\\-]{1,20}",
        // Vietnamese, other scripts and long strings (multi-byte lengths).
        "\\PC{0,80}",
        "[ạ-ỹ ]{60,200}",
    ]
    .boxed()
}

fn int() -> BoxedStrategy<i32> {
    prop_oneof![-70i32..70, any::<i32>()].boxed()
}

fn at() -> BoxedStrategy<Timestamp> {
    (
        946_684_800i64..4_102_444_800,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        prop_oneof![
            Just(7 * 3600),
            Just(0),
            (-12i32..=14).prop_map(|h| h * 3600)
        ],
    )
        .prop_map(|(secs, nano, off)| {
            let offset = chrono::FixedOffset::east_opt(off).unwrap();
            chrono::DateTime::from_timestamp(secs, nano)
                .unwrap()
                .with_timezone(&offset)
        })
        .boxed()
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn documents() -> BoxedStrategy<Vec<SubmittedDocument>> {
    // Up to 70 items: counts beyond 63 take two varint bytes.
    prop::collection::vec(
        (text(), pick(DocumentKind::ALL), int())
            .prop_map(|(name, kind, count)| SubmittedDocument { name, kind, count }),
        0..70,
    )
    .boxed()
}

fn time_limit() -> BoxedStrategy<TimeLimit> {
    (int(), pick(TimeUnit::ALL))
        .prop_map(|(amount, unit)| TimeLimit { amount, unit })
        .boxed()
}

fn applicant() -> BoxedStrategy<Applicant> {
    (
        pick(ApplicantKind::ALL),
        text(),
        prop::option::of(pick(IdType::ALL)),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            |(kind, name, id_type, id_number, phone, email, address)| Applicant {
                kind,
                name,
                id_type,
                id_number,
                phone,
                email,
                address,
            },
        )
        .boxed()
}

fn received() -> BoxedStrategy<DossierReceived> {
    (
        (text(), text(), text()),
        (pick(AgencyLevel::ALL), pick(Channel::ALL)),
        applicant(),
        text(),
        documents(),
        int(),
        time_limit(),
        at(),
        pick(Delivery::ALL),
        (prop::option::of(text()), prop::option::of(int())),
        text(),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (procedure_code, procedure_name, field_code),
                (agency_level, channel),
                applicant,
                summary,
                documents,
                sets,
                time_limit,
                appointment_at,
                result_delivery,
                (register_book, register_line),
                receiving_officer,
                (fee_paid, digitised),
            )| DossierReceived {
                procedure_code,
                procedure_name,
                field_code,
                agency_level,
                channel,
                applicant,
                summary,
                documents,
                sets,
                time_limit,
                appointment_at,
                result_delivery,
                register_book,
                register_line,
                receiving_officer,
                fee_paid,
                digitised,
            },
        )
        .boxed()
}

/// Payloads, each present or not independently: the codec does not judge consistency.
#[allow(clippy::type_complexity)]
fn payloads() -> impl Strategy<
    Value = (
        (
            Option<DossierReceived>,
            Option<SupplementRequested>,
            Option<SupplementReceived>,
            Option<Refused>,
        ),
        (Option<Apology>, Option<ProcessingStopped>, Option<Handover>),
        (
            Option<Withdrawn>,
            Option<ResultReady>,
            Option<ResultReturned>,
            Option<Survey>,
        ),
        (Option<SipasResponse>, Option<PortalSync>, Option<Feedback>),
    ),
> {
    let requested = (text(), text(), documents(), text()).prop_map(
        |(request_no, reason, missing_documents, guiding_officer)| SupplementRequested {
            request_no,
            reason,
            missing_documents,
            guiding_officer,
        },
    );
    let supplied = (text(), documents()).prop_map(|(request_no, documents)| SupplementReceived {
        request_no,
        documents,
    });
    let refused = (
        pick(RefusalStage::ALL),
        text(),
        text(),
        prop::option::of(text()),
        prop::option::of(applicant()),
    )
        .prop_map(
            |(stage, reason, officer, procedure_code, applicant)| Refused {
                stage,
                reason,
                officer,
                procedure_code,
                applicant,
            },
        );
    let apology = (at(), at(), text(), text()).prop_map(
        |(original_appointment_at, new_appointment_at, reason, signed_by)| Apology {
            original_appointment_at,
            new_appointment_at,
            reason,
            signed_by,
        },
    );
    let stopped =
        (text(), text()).prop_map(|(reason, signed_by)| ProcessingStopped { reason, signed_by });
    let handover = (
        int(),
        text(),
        text(),
        prop::option::of(pick(StepOutcome::ALL)),
        prop::option::of(time_limit()),
        prop::option::of(text()),
    )
        .prop_map(
            |(step, from_unit, to_unit, step_outcome, allotted, note)| Handover {
                step,
                from_unit,
                to_unit,
                step_outcome,
                allotted,
                note,
            },
        );
    let withdrawn = prop::option::of(text()).prop_map(|reason| Withdrawn { reason });
    let ready = (pick(Decision::ALL), any::<bool>(), prop::option::of(text())).prop_map(
        |(decision, electronic_result, document_number)| ResultReady {
            decision,
            electronic_result,
            document_number,
        },
    );
    let returned = pick(Delivery::ALL).prop_map(|delivery| ResultReturned { delivery });
    let survey = (
        pick(SurveyChannel::ALL),
        pick(Satisfaction::ALL),
        prop::collection::vec(
            (text(), int()).prop_map(|(code, score)| CriterionScore { code, score }),
            0..70,
        ),
        any::<bool>(),
    )
        .prop_map(|(channel, overall, criteria, complaint)| Survey {
            channel,
            overall,
            criteria,
            complaint,
        });
    let sipas = (
        text(),
        pick(SurveyChannel::ALL),
        prop::option::of(text()),
        prop::collection::vec(
            (pick(SipasElement::ALL), text(), int(), int(), int()).prop_map(
                |(element, criterion, assessment, satisfaction, expectation)| SipasAnswer {
                    element,
                    criterion,
                    assessment,
                    satisfaction,
                    expectation,
                },
            ),
            0..30,
        ),
    )
        .prop_map(
            |(campaign, channel, about_dossier, answers)| SipasResponse {
                campaign,
                channel,
                about_dossier,
                answers,
            },
        );
    let portal_sync =
        (text(), any::<bool>(), prop::option::of(text())).prop_map(|(status, accepted, error)| {
            PortalSync {
                status,
                accepted,
                error,
            }
        });
    let feedback = (
        text(),
        pick(FeedbackCategory::ALL),
        pick(FeedbackStage::ALL),
        (at(), at(), prop::option::of(at())),
        prop::option::of(pick(Satisfaction::ALL)),
    )
        .prop_map(
            |(feedback_id, category, stage, (received_at, due_at, answered_at), satisfaction)| {
                Feedback {
                    feedback_id,
                    category,
                    stage,
                    received_at,
                    due_at,
                    answered_at,
                    satisfaction,
                }
            },
        );
    fn of<T: std::fmt::Debug + 'static>(
        s: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<Option<T>> {
        prop::option::of(s).boxed()
    }
    (
        (of(received()), of(requested), of(supplied), of(refused)),
        (of(apology), of(stopped), of(handover)),
        (of(withdrawn), of(ready), of(returned), of(survey)),
        (of(sipas), of(portal_sync), of(feedback)),
    )
}

fn event() -> BoxedStrategy<DossierEvent> {
    (
        (text(), text(), prop::option::of(text()), text()),
        at(),
        pick(&[FormSet::Tt01_2018, FormSet::Tt03_2025]),
        prop::option::of(text()),
        pick(EventKind::ALL),
        payloads(),
    )
        .prop_map(
            |(
                (event_id, dossier_code, national_dossier_code, agency_code),
                occurred_at,
                form_set,
                source_system,
                kind,
                (
                    (received, supplement_requested, supplement_received, refused),
                    (apology, processing_stopped, handover),
                    (withdrawn, result_ready, result_returned, survey),
                    (sipas, portal_sync, feedback),
                ),
            )| DossierEvent {
                event_id,
                dossier_code,
                national_dossier_code,
                agency_code,
                occurred_at,
                form_set,
                source_system,
                kind,
                received,
                supplement_requested,
                supplement_received,
                refused,
                apology,
                processing_stopped,
                handover,
                withdrawn,
                result_ready,
                result_returned,
                survey,
                sipas,
                portal_sync,
                feedback,
            },
        )
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_events_decode_the_same_both_ways(e in event()) {
        assert_same_three_ways(&e);
    }

    /// Whatever the damage, the fast reader returns (no panic), and what it accepts
    /// apache-avro reads the same.
    #[test]
    fn corrupted_datums_are_rejected_or_read_as_apache_avro_reads_them(
        e in event(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let codec = codec();
        let mut avro = codec.encode(&e, Encoding::Avro).unwrap();
        for (at, byte) in damage {
            // Past the 10-byte header: a damaged header is the generic path's business.
            let i = 10 + at.index(avro.len() - 10);
            avro[i] = byte;
        }
        if let Some(cut) = cut {
            avro.truncate(10 + cut.index(avro.len() - 10));
        }
        if let Ok(fast) = codec.decode(&avro) {
            let generic = codec.decode_generic(&avro);
            prop_assert_eq!(Ok(fast), generic);
        }
    }
}
