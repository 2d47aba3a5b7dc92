use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use motcua_core::event::{Channel, DossierEvent, EventKind, FormSet, RefusalStage};
use motcua_core::fold::{local_date, DossierState, Outcome};
use motcua_core::validate;

use super::*;

fn run(config: SimConfig) -> (Vec<DossierEvent>, SimStats) {
    let mut sim = Simulator::new(config).expect("valid config");
    let events: Vec<DossierEvent> = sim.by_ref().collect();
    (events, sim.stats())
}

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        days: 7,
        dossiers_per_day: 300,
        ..SimConfig::default()
    }
}

/// A long enough run for every kind of event to appear.
fn month() -> SimConfig {
    SimConfig {
        seed: 11,
        days: 30,
        dossiers_per_day: 150,
        ..SimConfig::default()
    }
}

fn naive_local(e: &DossierEvent) -> NaiveDateTime {
    e.occurred_at.naive_local()
}

#[test]
fn same_seed_same_bytes_other_seed_other_events() {
    let (a, _) = run(small(1));
    let (b, _) = run(small(1));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let bytes_a = serde_json::to_vec(&a).expect("events serialise");
    let bytes_b = serde_json::to_vec(&b).expect("events serialise");
    assert_eq!(bytes_a, bytes_b);
    let (c, _) = run(small(2));
    assert_ne!(a, c);
}

#[test]
fn every_event_validates_and_every_kind_appears() {
    let mut kinds = HashSet::new();
    let mut dossiers = 0;
    for config in [SimConfig::default(), month()] {
        let (events, stats) = run(config);
        dossiers += stats.dossiers;
        for e in &events {
            if let Err(err) = validate(e) {
                panic!("invalid event {}: {err}\n{e:#?}", e.event_id);
            }
            kinds.insert(e.kind);
        }
    }
    assert!(dossiers > 8_000, "{dossiers}");
    for kind in EventKind::ALL {
        assert!(kinds.contains(kind), "no {kind} event generated");
    }
}

#[test]
fn counter_arrivals_fall_in_working_hours_on_weekdays() {
    let (events, _) = run(SimConfig {
        days: 14,
        dossiers_per_day: 400,
        ..SimConfig::default()
    });
    let cal = WorkCalendar::default();
    let mut counter = 0;
    let mut online_off_hours = 0;
    for e in events.iter().filter(|e| e.kind == EventKind::Received) {
        let r = e.received.as_ref().expect("payload");
        assert_eq!(e.occurred_at.offset().local_minus_utc(), 7 * 3600);
        let t = naive_local(e);
        match r.channel {
            Channel::InPerson | Channel::Postal => {
                counter += 1;
                assert!(
                    cal.is_working_instant(t),
                    "counter receipt at {t} ({})",
                    t.weekday()
                );
            }
            Channel::Online => online_off_hours += usize::from(!cal.is_working_instant(t)),
        }
    }
    assert!(counter > 2_000, "{counter}");
    // Online dossiers come in the evenings and at weekends too.
    assert!(online_off_hours > 300, "{online_off_hours}");
}

#[test]
fn appointments_follow_the_legal_limit_give_or_take_a_working_day() {
    let (events, _) = run(SimConfig {
        days: 10,
        ..SimConfig::default()
    });
    let cal = WorkCalendar::default();
    let (mut legal, mut shifted, mut total) = (0, 0, 0);
    for e in events.iter().filter(|e| e.kind == EventKind::Received) {
        let r = e.received.as_ref().expect("payload");
        assert!(r.appointment_at > e.occurred_at);
        let due = cal.due(naive_local(e), r.time_limit);
        let appointment = r.appointment_at.naive_local();
        total += 1;
        if appointment == due {
            legal += 1;
        } else {
            assert!(
                appointment == cal.add_working_secs(due, WORKING_DAY_SECS)
                    || appointment == cal.sub_working_secs(due, WORKING_DAY_SECS),
                "appointment {appointment} vs legal {due} for {}",
                e.dossier_code
            );
            shifted += 1;
        }
    }
    let share = f64::from(shifted) / f64::from(total);
    assert!(
        legal > 0 && (0.01..0.05).contains(&share),
        "shifted share {share}"
    );
}

#[test]
fn dossier_codes_are_unique_and_ids_repeat_only_as_duplicates() {
    let (events, stats) = run(month());
    let mut openings: HashMap<&str, usize> = HashMap::new();
    let mut by_id: HashMap<&str, &DossierEvent> = HashMap::new();
    let mut repeats = 0u64;
    for e in &events {
        assert!(validate::is_dossier_code(&e.dossier_code));
        if let Some(first) = by_id.insert(e.event_id.as_str(), e) {
            assert_eq!(first, e, "a repeated id must be an identical copy");
            repeats += 1;
            continue;
        }
        let opens = e.kind == EventKind::Received
            || e.refused
                .as_ref()
                .is_some_and(|r| r.stage == RefusalStage::AtReceipt);
        if opens {
            *openings.entry(e.dossier_code.as_str()).or_insert(0) += 1;
        }
    }
    assert_eq!(repeats, stats.duplicates);
    assert!(openings.values().all(|&n| n == 1));
    // Delayed receipts may fall past the horizon, but almost every dossier shows its opening.
    assert!(
        openings.len() as u64 * 100 >= stats.dossiers * 98,
        "{} of {}",
        openings.len(),
        stats.dossiers
    );
}

#[test]
fn delivery_is_in_event_time_except_held_back_and_repeated_events() {
    let (events, stats) = run(month());
    let horizon = Simulator::new(month()).expect("valid config").horizon();
    let mut latest = events[0].occurred_at;
    let mut behind = 0u64;
    let mut read_before_earlier = 0;
    let mut seen_max: HashMap<&str, chrono::DateTime<FixedOffset>> = HashMap::new();
    for e in &events {
        assert!(e.occurred_at < horizon);
        if e.occurred_at < latest {
            behind += 1;
        }
        latest = latest.max(e.occurred_at);
        let max = seen_max
            .entry(e.dossier_code.as_str())
            .or_insert(e.occurred_at);
        if e.occurred_at < *max {
            read_before_earlier += 1;
        }
        *max = (*max).max(e.occurred_at);
    }
    assert!(stats.out_of_order > 0 && stats.duplicates > 0);
    assert!(behind <= stats.out_of_order + stats.duplicates);
    assert!(read_before_earlier > 0);
    let total = stats.events as f64;
    assert!((0.01..0.03).contains(&(stats.out_of_order as f64 / total)));
    assert!((0.002..0.01).contains(&(stats.duplicates as f64 / total)));
    // The horizon leaves dossiers open.
    assert!(stats.open_dossiers > 0);
}

#[test]
fn handovers_start_and_end_at_the_one_stop() {
    // No held-back events, so a slip is never cut by the horizon mid-delivery.
    let config = SimConfig {
        out_of_order_rate: 0.0,
        ..month()
    };
    let sim = Simulator::new(config.clone()).expect("valid config");
    let province = sim.province().clone();
    let (events, _) = run(config);
    let mut slips: BTreeMap<&str, Vec<&Handover>> = BTreeMap::new();
    let mut finished = HashSet::new();
    for e in &events {
        if let Some(h) = &e.handover {
            slips.entry(e.dossier_code.as_str()).or_default().push(h);
        }
        if e.kind == EventKind::ResultReady {
            finished.insert(e.dossier_code.as_str());
        }
    }
    let (mut checked, mut incomplete) = (0, 0u32);
    for (code, mut rows) in slips {
        rows.sort_by_key(|h| h.step);
        rows.dedup();
        if rows.iter().enumerate().any(|(i, h)| h.step != i as i32 + 1) {
            incomplete += 1;
            continue;
        }
        let agency_code = code
            .rsplitn(3, '-')
            .nth(2)
            .expect("dossier code has an agency");
        let agency = province.agency(agency_code).expect("known agency");
        assert_eq!(rows[0].from_unit, agency.one_stop);
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].to_unit, pair[1].from_unit,
                "{code}: the slip is a chain"
            );
            assert_ne!(
                pair[1].from_unit, pair[1].to_unit,
                "{code}: a handover changes hands"
            );
        }
        if finished.contains(code) {
            let last = rows.last().expect("non-empty");
            assert_eq!(last.to_unit, agency.one_stop, "{code}");
            assert!((3..=5).contains(&rows.len()), "{code}: {} rows", rows.len());
            checked += 1;
        }
    }
    assert!(checked > 1_000, "{checked}");
    assert_eq!(incomplete, 0, "slips with gaps");
}

#[test]
fn form_set_follows_the_event_date() {
    let config = SimConfig {
        start: NaiveDate::from_ymd_opt(2025, 6, 23).expect("date"),
        days: 21,
        dossiers_per_day: 300,
        ..SimConfig::default()
    };
    let (events, _) = run(config);
    let switch = NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
    let mut sets: HashMap<&str, HashSet<FormSet>> = HashMap::new();
    for e in &events {
        let expected = if local_date(e.occurred_at) < switch {
            FormSet::Tt01_2018
        } else {
            FormSet::Tt03_2025
        };
        assert_eq!(e.form_set, expected, "{}", e.event_id);
        sets.entry(e.dossier_code.as_str())
            .or_default()
            .insert(e.form_set);
        validate(e).expect("valid event");
    }
    assert!(
        sets.values().any(|s| s.len() == 2),
        "some dossier spans the change"
    );
}

#[test]
fn bad_config_lists_every_problem() {
    let err = Simulator::new(SimConfig {
        province: "h56.x".to_string(),
        survey_rate: 1.5,
        duplicate_rate: -0.1,
        ..SimConfig::default()
    })
    .expect_err("invalid config");
    assert_eq!(err.problems.len(), 3, "{err}");
    assert!(err
        .to_string()
        .starts_with("invalid simulator configuration: "));
}

#[test]
fn zero_rates_give_a_clean_stream() {
    let config = SimConfig {
        out_of_order_rate: 0.0,
        duplicate_rate: 0.0,
        ..small(5)
    };
    let (events, stats) = run(config.clone());
    assert_eq!(stats.duplicates + stats.out_of_order, 0);
    assert!(events
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    // The dossiers themselves do not depend on the fault rates.
    let (faulty, _) = run(small(5));
    let mut a: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let mut b: Vec<&str> = faulty.iter().map(|e| e.event_id.as_str()).collect();
    a.sort_unstable();
    b.sort_unstable();
    b.dedup();
    let common = a.iter().filter(|id| b.binary_search(id).is_ok()).count();
    assert!(common * 100 >= a.len() * 99, "{common} of {}", a.len());
}

/// Measured shares over a run of about 20k dossiers; the bounds are loose on purpose.
#[test]
fn proportions_are_believable() {
    let config = SimConfig {
        seed: 7,
        days: 56,
        dossiers_per_day: 500,
        ..SimConfig::default()
    };
    let start = config.start;
    let (events, stats) = run(config);
    let horizon = events.iter().map(|e| e.occurred_at).max().expect("events");
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;

    let p = stats.planned;
    let received = stats.dossiers - stats.refused_at_receipt;
    eprintln!(
        "dossiers {} (received {received}), events {}, stats {stats:#?}",
        stats.dossiers, stats.events
    );
    assert!(stats.dossiers >= 19_000, "{}", stats.dossiers);
    let refused = share(stats.refused_at_receipt, stats.dossiers);
    assert!(
        (0.005..0.018).contains(&refused),
        "refused at receipt {refused}"
    );
    let ended =
        p.early + p.near_appointment + p.late + p.withdrawn + p.refused_in_processing + p.stopped;
    let checks = [
        ("early", share(p.early, ended), 0.10, 0.20),
        (
            "near appointment",
            share(p.near_appointment, ended),
            0.60,
            0.78,
        ),
        ("late", share(p.late, ended), 0.08, 0.17),
        ("withdrawn", share(p.withdrawn, ended), 0.004, 0.02),
        (
            "refused in processing",
            share(p.refused_in_processing, ended),
            0.001,
            0.012,
        ),
        ("stopped", share(p.stopped, ended), 0.001, 0.012),
        ("apologised / late", share(p.apologised, p.late), 0.4, 0.6),
        (
            "one supplement",
            share(p.supplement_once, received),
            0.06,
            0.10,
        ),
        (
            "two supplements",
            share(p.supplement_twice, received),
            0.004,
            0.02,
        ),
        (
            "appointment shifted",
            share(p.appointment_shifted, received),
            0.015,
            0.045,
        ),
    ];
    for (name, value, lo, hi) in checks {
        eprintln!("planned {name}: {:.2}%", value * 100.0);
        assert!(
            (lo..hi).contains(&value),
            "{name} {value} not in {lo}..{hi}"
        );
    }

    // What the pipeline will measure: fold each dossier, classify dossiers received early
    // enough that their whole life falls before the horizon.
    let mut states: HashMap<&str, DossierState> = HashMap::new();
    let (mut online, mut postal, mut receipts) = (0u64, 0u64, 0u64);
    let (mut electronic, mut ready, mut returned, mut surveys, mut unhappy, mut complaints) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for e in &events {
        states.entry(e.dossier_code.as_str()).or_default().apply(e);
    }
    for e in events.iter() {
        match e.kind {
            EventKind::Received => {
                receipts += 1;
                match e.received.as_ref().expect("payload").channel {
                    Channel::Online => online += 1,
                    Channel::Postal => postal += 1,
                    Channel::InPerson => {}
                }
            }
            EventKind::ResultReady => {
                ready += 1;
                electronic +=
                    u64::from(e.result_ready.as_ref().expect("payload").electronic_result);
            }
            EventKind::ResultReturned => returned += 1,
            EventKind::Survey => {
                let s = e.survey.as_ref().expect("payload");
                surveys += 1;
                unhappy += u64::from(matches!(
                    s.overall,
                    Satisfaction::Dissatisfied | Satisfaction::VeryDissatisfied
                ));
                complaints += u64::from(s.complaint);
            }
            _ => {}
        }
    }
    let measured = [
        ("online", share(online, receipts), 0.30, 0.42),
        ("postal", share(postal, receipts), 0.03, 0.07),
        ("electronic result", share(electronic, ready), 0.5, 0.7),
        ("survey / returned", share(surveys, returned), 0.28, 0.40),
        (
            "dissatisfied / surveys",
            share(unhappy, surveys),
            0.02,
            0.15,
        ),
        (
            "complaint / surveys",
            share(complaints, surveys),
            0.003,
            0.03,
        ),
    ];
    for (name, value, lo, hi) in measured {
        eprintln!("measured {name}: {:.2}%", value * 100.0);
        assert!(
            (lo..hi).contains(&value),
            "{name} {value} not in {lo}..{hi}"
        );
    }

    let cutoff = start + chrono::Duration::days(26);
    let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
    let mut per_agency: HashMap<String, (u64, u64)> = HashMap::new();
    for state in states.values() {
        let Some(receipt) = &state.receipt else {
            continue;
        };
        if local_date(receipt.received_at) >= cutoff {
            continue;
        }
        let outcome = state.classify(Some(horizon)).outcome;
        *outcomes.entry(outcome).or_insert(0) += 1;
        let entry = per_agency
            .entry(receipt.agency_code.clone())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += u64::from(outcome == Outcome::Late);
    }
    let counted: u64 = [Outcome::Early, Outcome::OnTime, Outcome::Late]
        .iter()
        .map(|o| outcomes.get(o).copied().unwrap_or(0))
        .sum();
    for (outcome, n) in &outcomes {
        eprintln!(
            "fold {}: {n} ({:.2}% of early/on-time/late)",
            outcome.as_str(),
            share(*n, counted) * 100.0
        );
    }
    let late = share(outcomes.get(&Outcome::Late).copied().unwrap_or(0), counted);
    assert!((0.08..0.20).contains(&late), "fold late share {late}");
    let early = share(outcomes.get(&Outcome::Early).copied().unwrap_or(0), counted);
    assert!((0.3..0.65).contains(&early), "fold early share {early}");

    // Some agencies are noticeably worse than others.
    let rates: Vec<f64> = per_agency
        .values()
        .filter(|(n, _)| *n >= 150)
        .map(|&(n, l)| share(l, n))
        .collect();
    let worst = rates.iter().copied().fold(0.0, f64::max);
    let best = rates.iter().copied().fold(1.0, f64::min);
    eprintln!(
        "late share by agency (>=150 dossiers): best {best:.3}, worst {worst:.3}, {} agencies",
        rates.len()
    );
    assert!(worst > 2.0 * best.max(0.02), "best {best} worst {worst}");
}

#[test]
fn heap_stays_far_below_the_dossiers_generated() {
    let config = SimConfig {
        seed: 3,
        days: 60,
        dossiers_per_day: 2000,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config).expect("valid config");
    let mut events = 0u64;
    for _ in sim.by_ref() {
        events += 1;
    }
    let stats = sim.stats();
    eprintln!(
        "dossiers {}, events {events}, max pending {}",
        stats.dossiers, stats.max_pending
    );
    assert!(stats.dossiers > 80_000);
    assert!(
        (stats.max_pending as u64) * 4 < stats.dossiers,
        "max pending {} vs dossiers {}",
        stats.max_pending,
        stats.dossiers
    );
}

/// Generation speed; run with `cargo test --release -p motcua-sim -- --ignored --nocapture`.
/// `SIM_DAYS` and `SIM_PER_DAY` override the size (default 20 days of 50,000 dossiers).
#[test]
#[ignore = "timing run, release mode"]
fn generation_speed() {
    let env = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = SimConfig {
        seed: 9,
        days: env("SIM_DAYS", 20),
        dossiers_per_day: env("SIM_PER_DAY", 50_000),
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config).expect("valid config");
    let started = Instant::now();
    let mut events = 0u64;
    let mut bytes = 0usize;
    for e in sim.by_ref() {
        events += 1;
        bytes += e.event_id.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    eprintln!(
        "{events} events ({} dossiers) in {elapsed:.2}s: {:.0} events/s, {:.0} dossiers/s, max pending {} ({bytes} id bytes)",
        stats.dossiers,
        events as f64 / elapsed,
        stats.dossiers as f64 / elapsed,
        stats.max_pending,
    );
    assert!(events > 0);
}
