//! An independent expectation of the on-time figures, computed straight from the events
//! with the rules of domain.md §5, written without the fold's code or data structures:
//! it sorts each dossier's (deduplicated) events by time and reads the rules off them.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{FixedOffset, NaiveDate};
use motcua_core::event::{DossierEvent, EventKind, RefusalStage, Timestamp};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
}

impl Counts {
    pub fn counted(&self) -> u64 {
        self.early + self.on_time + self.late
    }
}

fn vn_date(t: Timestamp) -> NaiveDate {
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .date_naive()
}

/// Expected (agency, Vietnam date of the end) -> counts.
pub fn expected(events: &[DossierEvent]) -> BTreeMap<(String, NaiveDate), Counts> {
    let mut seen = HashSet::new();
    let mut by_dossier: HashMap<&str, Vec<&DossierEvent>> = HashMap::new();
    for e in events {
        if seen.insert(e.event_id.as_str()) {
            by_dossier
                .entry(e.dossier_code.as_str())
                .or_default()
                .push(e);
        }
    }
    let mut out: BTreeMap<(String, NaiveDate), Counts> = BTreeMap::new();
    for (_, mut evs) in by_dossier {
        evs.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        let Some(receipt) = evs.iter().find(|e| e.kind == EventKind::Received) else {
            continue;
        };
        let appointment = receipt.received.as_ref().unwrap().appointment_at;
        let first = |k: EventKind| evs.iter().find(|e| e.kind == k).map(|e| e.occurred_at);
        let refused_in_processing = evs
            .iter()
            .find(|e| {
                e.kind == EventKind::Refused
                    && e.refused.as_ref().unwrap().stage == RefusalStage::DuringProcessing
            })
            .map(|e| e.occurred_at);
        let stop_or_refusal = [first(EventKind::ProcessingStopped), refused_in_processing]
            .into_iter()
            .flatten()
            .min();
        let mut end = first(EventKind::ResultReady)
            .or(first(EventKind::ResultReturned))
            .or(stop_or_refusal)
            .or(first(EventKind::Withdrawn));

        let requests: Vec<(&str, Timestamp)> = evs
            .iter()
            .filter(|e| e.kind == EventKind::SupplementRequested)
            .map(|e| {
                (
                    e.supplement_requested.as_ref().unwrap().request_no.as_str(),
                    e.occurred_at,
                )
            })
            .collect();
        let mut waited = chrono::Duration::zero();
        for (no, asked) in &requests {
            let answer = evs.iter().find(|e| {
                e.kind == EventKind::SupplementReceived
                    && e.supplement_received.as_ref().unwrap().request_no == *no
                    && e.occurred_at >= *asked
            });
            match answer {
                Some(a) => waited += a.occurred_at - *asked,
                // Still waiting: the clock stopped at the request.
                None => end = Some(end.map_or(*asked, |t| t.min(*asked))),
            }
        }
        let Some(end) = end else { continue };
        let effective = end - waited;
        let apologised = evs.iter().any(|e| e.kind == EventKind::Apology);
        let c = out
            .entry((receipt.agency_code.clone(), vn_date(end)))
            .or_default();
        if requests.len() > 1 || apologised || effective > appointment {
            c.late += 1;
        } else if vn_date(effective) < vn_date(appointment) {
            c.early += 1;
        } else {
            c.on_time += 1;
        }
    }
    out
}

/// The on-time rate as the views compute it.
pub fn rate(c: &Counts) -> f64 {
    ((c.early + c.on_time) as f64 * 10000.0 / c.counted() as f64).round() / 100.0
}
