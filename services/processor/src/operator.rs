//! The dossier operator: pure and synchronous. It takes input records one by one and hands
//! back what to write; it never touches Kafka, ClickHouse or the wall clock (the shell
//! passes `now` in), so it is tested without any of them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate};
use motcua_core::codec::Codec;
use motcua_core::deadline::Clock;
use motcua_core::event::{DossierEvent, StepOutcome, Timestamp};
use motcua_core::fold::{self, Applied, Classification, DossierState};
use motcua_core::period::{Period, PeriodKind};
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::validate::{validate, RejectKind, Rejection};
use motcua_runtime::store::{EventRow, PeriodRow, StateRow, StepRow};

/// One record read from an input topic.
#[derive(Debug, Clone)]
pub struct InputRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key (the dossier code).
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub payload: Option<Vec<u8>>,
}

/// What to do with one record.
#[derive(Debug)]
pub enum Outcome {
    /// A valid event, folded (or recognised as a duplicate); write its raw row.
    Accepted {
        /// Raw event row (boxed: it dwarfs the other variant).
        row: Box<EventRow>,
        /// Whether the id had been folded before.
        duplicate: bool,
        /// Kind label, for metrics.
        kind: &'static str,
    },
    /// An invalid record: dead-letter it with the reason.
    Rejected(Rejection),
}

/// Folds events into per-dossier state and tracks the event-time watermark.
pub struct DossierOperator {
    codec: Codec,
    clock: Clock,
    pseudonymizer: Pseudonymizer,
    states: HashMap<String, DossierState>,
    dirty: HashSet<String>,
    /// Highest event time seen per input partition.
    partition_time: HashMap<(String, i32), Timestamp>,
    /// Non-empty partitions that have neither delivered an event nor been read to their
    /// end yet: until they have, the watermark is unknown (a replay's first batch from one
    /// fast partition must not set it).
    pending: HashSet<(String, i32)>,
    /// Highest watermark published: it never goes back.
    watermark: Option<Timestamp>,
    /// Dossiers with events but neither a receipt nor a refusal at the counter.
    awaiting: usize,
    /// Dossiers whose closed-period rows must be recomputed (a month closed under them).
    period_dirty: HashSet<String>,
    /// Per dossier, the last date up to which closed-period rows were written: rows past a
    /// new, earlier bound are rewritten as out of scope.
    period_bound: HashMap<String, NaiveDate>,
    /// The watermark's month at the last drain: a new month closes periods.
    watermark_month: Option<NaiveDate>,
}

impl DossierOperator {
    /// An empty operator judging deadlines on `clock`.
    pub fn new(pseudonymizer: Pseudonymizer, clock: Clock) -> Self {
        DossierOperator {
            codec: Codec::new(),
            clock,
            pseudonymizer,
            states: HashMap::new(),
            dirty: HashSet::new(),
            partition_time: HashMap::new(),
            pending: HashSet::new(),
            watermark: None,
            awaiting: 0,
            period_dirty: HashSet::new(),
            period_bound: HashMap::new(),
            watermark_month: None,
        }
    }

    /// Declares the partitions that hold data: the watermark waits for each of them.
    pub fn expect_partitions(&mut self, partitions: impl IntoIterator<Item = (String, i32)>) {
        self.pending.extend(partitions);
    }

    /// A partition read to its end: idle partitions do not hold the watermark back.
    pub fn caught_up(&mut self, topic: &str, partition: i32) {
        self.pending.remove(&(topic.to_string(), partition));
    }

    /// Decodes, validates, pseudonymises and folds one record.
    pub fn ingest(&mut self, record: &InputRecord, now: u32) -> Outcome {
        match self.accept(record) {
            Ok(mut event) => {
                self.pseudonymizer.event(&mut event);
                let state = self.states.entry(event.dossier_code.clone()).or_default();
                // A fresh state (version 0) was not counted as awaiting yet.
                let was_awaiting = state.version() > 0 && awaits_receipt(state);
                let duplicate = state.apply(&event) == Applied::Duplicate;
                match (was_awaiting, awaits_receipt(state)) {
                    (false, true) => self.awaiting += 1,
                    (true, false) => self.awaiting -= 1,
                    _ => {}
                }
                if !duplicate {
                    self.dirty.insert(event.dossier_code.clone());
                }
                let tp = (record.topic.clone(), record.partition);
                self.pending.remove(&tp);
                let slot = self.partition_time.entry(tp).or_insert(event.occurred_at);
                if event.occurred_at > *slot {
                    *slot = event.occurred_at;
                }
                Outcome::Accepted {
                    row: Box::new(event_row(&event, record, now)),
                    duplicate,
                    kind: event.kind.as_str(),
                }
            }
            Err(rejection) => Outcome::Rejected(rejection),
        }
    }

    fn accept(&self, record: &InputRecord) -> Result<DossierEvent, Rejection> {
        let payload = record.payload.as_deref().ok_or_else(|| {
            Rejection::new(
                RejectKind::Undecodable,
                "",
                "record has no value (tombstone)",
            )
        })?;
        let event = self.codec.decode(payload)?;
        validate(&event)?;
        // The key decides the partition; a wrong key would put the dossier's events on
        // different partitions of the co-partitioned topics.
        if record.key.as_deref() != Some(event.dossier_code.as_bytes()) {
            let key = record
                .key
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            return Err(Rejection::new(
                RejectKind::Inconsistent,
                "dossier_code",
                format!(
                    "message key `{key}` is not the event's dossier code `{}`",
                    event.dossier_code
                ),
            ));
        }
        Ok(event)
    }

    /// The event-time watermark: the minimum over partitions of the latest event time each
    /// has delivered, once every partition holding data has delivered (or been read to its
    /// end); never decreasing. `None` while unknown.
    pub fn watermark(&mut self) -> Option<Timestamp> {
        if self.pending.is_empty() {
            let now = self.partition_time.values().min().copied();
            self.watermark = self.watermark.max(now);
        }
        self.watermark
    }

    /// State and step rows for the dossiers changed since the last call, and closed-period
    /// rows for those and for the dossiers a newly closed month concerns, by dossier code.
    pub fn drain_dirty(&mut self, now: u32) -> Changed {
        let as_of = self.watermark();
        if let Some(w) = as_of {
            let month = Period::containing(PeriodKind::Month, fold::local_date(w)).start;
            if self.watermark_month.is_none_or(|m| m < month) {
                // Periods closed: every dossier open at the start of the earliest of them,
                // or ended since, may be in their reports. A month closes alone; with the
                // last month of a quarter (or year), the whole quarter (or year) closes.
                let since = self.watermark_month.map_or(NaiveDate::MIN, |last| {
                    PeriodKind::ALL
                        .iter()
                        .map(|k| Period::containing(*k, last))
                        .filter(|p| p.end <= month)
                        .map(|p| p.start)
                        .min()
                        .unwrap_or(last)
                });
                for (code, s) in &self.states {
                    if s.receipt.is_some()
                        && end_bound(&s.classify(Some(w), &self.clock), w) >= since
                    {
                        self.period_dirty.insert(code.clone());
                    }
                }
                self.watermark_month = Some(month);
            }
        }
        let mut codes: Vec<String> = self.dirty.drain().collect();
        codes.sort();
        let mut out = Changed::default();
        for code in &codes {
            let s = &self.states[code];
            let c = s.classify(as_of, &self.clock);
            let row = state_row(code, s, &c, &self.clock, now);
            out.steps.extend(step_rows(&row, &c, now));
            out.states.push(row);
        }
        let Some(w) = as_of else {
            // No watermark yet, so no closed period: the first one marks everything.
            return out;
        };
        let mut period_codes: Vec<String> = self.period_dirty.drain().chain(codes).collect();
        period_codes.sort();
        period_codes.dedup();
        for code in period_codes {
            let s = &self.states[&code];
            let Some(r) = &s.receipt else {
                continue;
            };
            let c = s.classify(Some(w), &self.clock);
            let bound = end_bound(&c, w);
            let upto = self
                .period_bound
                .get(&code)
                .map_or(bound, |b| bound.max(*b));
            self.period_bound.insert(code.clone(), bound);
            let version = s.version();
            let limit = c.deadline.expect("received dossiers have one").legal.limit;
            for v in s.closed_periods(&self.clock, w, upto) {
                out.periods.push(PeriodRow {
                    dossier_code: code.clone(),
                    period_kind: v.period.kind.as_str().to_string(),
                    period: v.period.label(),
                    period_start: days(v.period.start),
                    period_end: days(v.period.end),
                    version,
                    in_scope: v.outcome.is_some() as u8,
                    agency_code: r.agency_code.clone(),
                    province_code: province_of(&r.agency_code),
                    agency_level: r.agency_level.as_str().to_string(),
                    procedure_code: r.procedure_code.clone(),
                    limit_amount: limit.amount,
                    limit_unit: limit.unit.as_str().to_string(),
                    verdict: v
                        .outcome
                        .map(|o| o.as_str().to_string())
                        .unwrap_or_default(),
                    resolution_units: v.resolution.map(round4),
                    updated_at: now,
                });
            }
        }
        out
    }

    /// Number of dossiers in state.
    pub fn dossiers(&self) -> usize {
        self.states.len()
    }

    /// Dossiers held without a receipt (kept up to date by `ingest`, not recounted: the
    /// gauge is read every batch and a scan would grow with the whole state).
    pub fn awaiting_receipt(&self) -> usize {
        self.awaiting
    }

    /// A dossier's state.
    pub fn state(&self, dossier_code: &str) -> Option<&DossierState> {
        self.states.get(dossier_code)
    }
}

/// The rows to write for the dossiers changed in a batch.
#[derive(Debug, Default)]
pub struct Changed {
    /// One `dossier_state` row per changed dossier.
    pub states: Vec<StateRow>,
    /// Every judged step of those dossiers (`dossier_steps`).
    pub steps: Vec<StepRow>,
    /// Their closed-period verdicts (`dossier_periods`).
    pub periods: Vec<PeriodRow>,
}

impl Changed {
    /// State rows of dossiers whose dates lie outside the calendar data.
    pub fn off_calendar(&self) -> u64 {
        self.states.iter().map(|r| u64::from(r.off_calendar)).sum()
    }
}

/// The last date a dossier can be in a period's report: its end (classified as of the
/// watermark), or the watermark's date while it is open.
fn end_bound(c: &Classification, watermark: Timestamp) -> NaiveDate {
    c.end
        .map_or(fold::local_date(watermark), |e| fold::local_date(e.at))
}

fn province_of(agency_code: &str) -> String {
    agency_code
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Events seen, but neither a receipt nor a refusal at the counter: held for the receipt.
fn awaits_receipt(s: &DossierState) -> bool {
    s.receipt.is_none() && s.refused_at_receipt.is_none()
}

fn secs(t: Timestamp) -> u32 {
    t.timestamp().clamp(0, u32::MAX as i64) as u32
}

fn days(d: NaiveDate) -> u16 {
    let epoch = DateTime::UNIX_EPOCH.date_naive();
    (d - epoch).num_days().clamp(0, u16::MAX as i64) as u16
}

fn event_row(e: &DossierEvent, record: &InputRecord, now: u32) -> EventRow {
    let procedure_code = e
        .received
        .as_ref()
        .map(|r| r.procedure_code.clone())
        .or_else(|| e.refused.as_ref().and_then(|r| r.procedure_code.clone()))
        .unwrap_or_default();
    EventRow {
        dossier_code: e.dossier_code.clone(),
        event_id: e.event_id.clone(),
        national_dossier_code: e.national_dossier_code.clone().unwrap_or_default(),
        agency_code: e.agency_code.clone(),
        kind: e.kind.as_str().to_string(),
        form_set: e.form_set.as_str().to_string(),
        occurred_at: secs(e.occurred_at),
        occurred_offset_minutes: (e.occurred_at.offset().local_minus_utc() / 60) as i16,
        procedure_code,
        payload: serde_json::to_string(e).expect("events serialise"),
        kafka_topic: record.topic.clone(),
        kafka_partition: record.partition as u32,
        kafka_offset: record.offset as u64,
        ingested_at: now,
    }
}

/// The agency part of a dossier code `{agency}-{yymmdd}-{seq}`.
fn agency_of(dossier_code: &str) -> &str {
    dossier_code.rsplitn(3, '-').nth(2).unwrap_or(dossier_code)
}

fn state_row(
    code: &str,
    s: &DossierState,
    c: &Classification,
    clock: &Clock,
    now: u32,
) -> StateRow {
    let r = s.receipt.as_ref();
    let d = c.deadline.as_ref();
    let off_calendar = d.is_some_and(|d| {
        [d.legal.due_at, d.due_at, d.appointment_at]
            .into_iter()
            .chain(r.map(|r| r.received_at))
            .any(|t| {
                !clock
                    .calendar
                    .covers(chrono::Datelike::year(&fold::local_date(t)))
            })
    });
    let agency_code = r
        .map(|r| r.agency_code.clone())
        .unwrap_or_else(|| agency_of(code).to_string());
    let province_code = province_of(&agency_code);
    let label = |x: Option<&str>| x.unwrap_or_default().to_string();
    StateRow {
        dossier_code: code.to_string(),
        version: s.version(),
        province_code,
        agency_level: label(r.map(|r| r.agency_level.as_str())),
        procedure_code: label(r.map(|r| r.procedure_code.as_str())),
        field_code: label(r.map(|r| r.field_code.as_str())),
        channel: label(r.map(|r| r.channel.as_str())),
        form_sets: s.form_sets.label().to_string(),
        applicant_kind: label(r.map(|r| r.applicant_kind.as_str())),
        applicant_ref: label(r.map(|r| r.applicant_ref.as_str())),
        status: s.status_code(),
        outcome: c.outcome.as_str().to_string(),
        end_kind: label(c.end.map(|e| e.kind.as_str())),
        received_at: r.map(|r| secs(r.received_at)),
        appointment_at: r.map(|r| secs(r.appointment_at)),
        end_at: c.end.map(|e| secs(e.at)),
        effective_end_at: c.end.map(|e| secs(e.at - c.waiting)),
        end_date: c.end.map(|e| days(fold::local_date(e.at))),
        waiting_seconds: c.waiting.num_seconds().clamp(0, u32::MAX as i64) as u32,
        time_limit_amount: r.map(|r| r.time_limit.amount).unwrap_or_default(),
        time_limit_unit: label(r.map(|r| r.time_limit.unit.as_str())),
        supplement_requests: s.supplement_requests.len() as u16,
        apologised: c.apologised as u8,
        handovers: s.handovers.len().min(u16::MAX as usize) as u16,
        electronic_result: s.finished.is_some_and(|f| f.2) as u8,
        surveys: s.surveys.min(u16::MAX as u32) as u16,
        dissatisfied: s.any_dissatisfied as u8,
        complaint: s.any_complaint as u8,
        last_event_at: s.last_event_at.map(secs).unwrap_or_default(),
        updated_at: now,
        agency_code,
        legal_due_at: d.map(|d| secs(d.legal.due_at)),
        legal_limit_amount: d.map(|d| d.legal.limit.amount).unwrap_or_default(),
        legal_limit_unit: label(d.map(|d| d.legal.limit.unit.as_str())),
        legal_limit_source: label(d.map(|d| d.legal.source.as_str())),
        appointment_check: label(d.map(|d| d.legal.check.as_str())),
        appointment_gap_minutes: d.map(|d| d.legal.gap_minutes).unwrap_or_default(),
        due_at: d.map(|d| secs(d.due_at)),
        paused_seconds: d
            .map(|d| d.paused.num_seconds().clamp(0, u32::MAX as i64) as u32)
            .unwrap_or_default(),
        pause_policy: label(d.map(|d| d.policy.as_str())),
        reappointed_at: d.and_then(|d| d.reappointed_at).map(secs),
        resolution_units: c.resolution.map(round4),
        late_steps: c
            .steps
            .iter()
            .filter(|v| v.outcome == Some(StepOutcome::Late))
            .count()
            .min(u16::MAX as usize) as u16,
        off_calendar: off_calendar as u8,
    }
}

fn step_rows<'a>(
    state: &'a StateRow,
    c: &'a Classification,
    now: u32,
) -> impl Iterator<Item = StepRow> + 'a {
    let label = |x: Option<StepOutcome>| x.map(|o| o.as_str().to_string()).unwrap_or_default();
    c.steps.iter().map(move |v| StepRow {
        dossier_code: state.dossier_code.clone(),
        step: v.step,
        version: state.version,
        agency_code: state.agency_code.clone(),
        province_code: state.province_code.clone(),
        agency_level: state.agency_level.clone(),
        procedure_code: state.procedure_code.clone(),
        from_unit: v.from_unit.clone(),
        to_unit: v.to_unit.clone(),
        started_at: secs(v.started_at),
        handed_at: secs(v.handed_at),
        handed_date: days(fold::local_date(v.handed_at)),
        allotted_amount: v.allotted.map(|a| a.amount).unwrap_or_default(),
        allotted_unit: v
            .allotted
            .map(|a| a.unit.as_str().to_string())
            .unwrap_or_default(),
        due_at: v.due_at.map(secs),
        taken_seconds: v.taken.num_seconds().clamp(0, u32::MAX as i64) as u32,
        outcome: label(v.outcome),
        recorded_outcome: label(v.recorded),
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::codec::Encoding;
    use motcua_core::samples;

    fn operator() -> DossierOperator {
        DossierOperator::new(
            Pseudonymizer::new(b"test-key-0123456789").unwrap(),
            Clock::default(),
        )
    }

    fn record(e: &DossierEvent, offset: i64, encoding: Encoding) -> InputRecord {
        InputRecord {
            topic: "t".into(),
            partition: 0,
            offset,
            key: Some(e.dossier_code.as_bytes().to_vec()),
            payload: Some(Codec::new().encode(e, encoding).unwrap()),
        }
    }

    #[test]
    fn folds_valid_records_and_rejects_bad_ones_without_stopping() {
        let mut op = operator();
        let receipt = samples::received();
        let mut bad = record(&receipt, 1, Encoding::Json);
        bad.payload = Some(b"{not json".to_vec());
        let mut wrong_key = record(&receipt, 2, Encoding::Avro);
        wrong_key.key = Some(b"other".to_vec());

        assert!(
            matches!(op.ingest(&bad, 0), Outcome::Rejected(r) if r.kind == RejectKind::Undecodable)
        );
        assert!(
            matches!(op.ingest(&wrong_key, 0), Outcome::Rejected(r) if r.field == "dossier_code")
        );
        assert!(matches!(
            op.ingest(&record(&receipt, 3, Encoding::Avro), 0),
            Outcome::Accepted {
                duplicate: false,
                ..
            }
        ));
        assert!(matches!(
            op.ingest(&record(&receipt, 4, Encoding::Json), 0),
            Outcome::Accepted {
                duplicate: true,
                ..
            }
        ));
        let rows = op.drain_dirty(0).states;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].version, 1);
        assert_eq!(rows[0].outcome, "IN_PROGRESS");
        assert!(op.drain_dirty(0).states.is_empty(), "nothing changed since");
    }

    #[test]
    fn dossiers_awaiting_their_receipt_are_counted_until_it_arrives() {
        let mut op = operator();
        let mut done = samples::all_kinds().remove(8);
        done.dossier_code = samples::DOSSIER.into();
        op.ingest(&record(&done, 0, Encoding::Avro), 0);
        op.ingest(&record(&done, 1, Encoding::Avro), 0);
        assert_eq!(op.awaiting_receipt(), 1);
        op.ingest(&record(&samples::received(), 2, Encoding::Avro), 0);
        assert_eq!(op.awaiting_receipt(), 0);
    }

    #[test]
    fn personal_data_never_reaches_the_rows() {
        let mut op = operator();
        let mut rows = Vec::new();
        for (i, e) in samples::all_kinds().iter().enumerate() {
            if let Outcome::Accepted { row, .. } =
                op.ingest(&record(e, i as i64, Encoding::Avro), 0)
            {
                rows.push(format!("{row:?}"));
            }
        }
        let changed = op.drain_dirty(0);
        assert_eq!(changed.steps.len(), 1, "the sample handover is judged");
        rows.extend(changed.states.iter().map(|r| format!("{r:?}")));
        rows.extend(changed.steps.iter().map(|r| format!("{r:?}")));
        assert_eq!(rows.len(), samples::all_kinds().len() + 2);
        for clear in samples::CLEAR_PERSONAL_VALUES {
            assert!(
                rows.iter().all(|r| !r.contains(clear)),
                "{clear} reached a row"
            );
        }
    }

    #[test]
    fn the_watermark_waits_for_every_partition_is_the_slowest_and_never_goes_back() {
        let mut op = operator();
        op.expect_partitions([
            ("t".to_string(), 0),
            ("t".to_string(), 1),
            ("t".to_string(), 2),
        ]);
        let receipt = samples::received();
        let later = samples::all_kinds().remove(9);
        let mut r = record(&later, 0, Encoding::Avro);
        r.partition = 1;
        op.ingest(&r, 0);
        assert_eq!(
            op.watermark(),
            None,
            "partitions 0 and 2 have not delivered yet"
        );
        op.ingest(&record(&receipt, 0, Encoding::Avro), 0);
        assert_eq!(op.watermark(), None, "partition 2 has not delivered yet");
        op.caught_up("t", 2);
        assert_eq!(
            op.watermark(),
            Some(receipt.occurred_at),
            "the slowest partition sets it"
        );
        // Partition 2 delivers an older event: the watermark does not go back.
        let mut old = samples::all_kinds().remove(1);
        old.occurred_at = receipt.occurred_at - chrono::Duration::days(3);
        let mut r = record(&old, 1, Encoding::Avro);
        r.partition = 2;
        op.ingest(&r, 0);
        assert_eq!(op.watermark(), Some(receipt.occurred_at));
    }

    fn periods(changed: &Changed, code: &str) -> Vec<(String, u8, String)> {
        let mut v: Vec<_> = changed
            .periods
            .iter()
            .filter(|p| p.dossier_code == code && p.period_kind == "MONTH")
            .map(|p| (p.period.clone(), p.in_scope, p.verdict.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn closing_a_month_writes_its_report_rows_and_stale_ones_are_cleared() {
        let mut op = operator();
        let at = |e: &DossierEvent, id: &str, t: &str| {
            let mut e = e.clone();
            e.event_id = id.into();
            e.occurred_at = samples::ts(t);
            e
        };
        let mut offset = 0;
        let mut feed = |op: &mut DossierOperator, e: DossierEvent| {
            offset += 1;
            op.ingest(&record(&e, offset, Encoding::Json), 0);
        };
        let receipt = samples::received(); // 8/10/2026, appointment 13/10 17:00
        let done = samples::all_kinds().remove(8);
        let a = receipt.dossier_code.clone();
        feed(&mut op, receipt.clone());
        feed(&mut op, at(&done, "done-nov", "2026-11-05T10:00:00+07:00"));
        // The watermark is 5/11: October is closed, and the dossier was open at its end,
        // overdue since 13/10.
        assert_eq!(
            periods(&op.drain_dirty(0), &a),
            vec![("2026-10".into(), 1, "OVERDUE_IN_PROGRESS".into())]
        );
        // Another dossier's event on 2/12 moves the watermark into December: November
        // closes, and its report has the first dossier ended in November, late.
        let mut other = at(&receipt, "other", "2026-12-02T09:00:00+07:00");
        other.dossier_code = "H56.50.01-261202-0001".into();
        other.received.as_mut().unwrap().appointment_at = samples::ts("2026-12-07T09:00:00+07:00");
        feed(&mut op, other);
        let changed = op.drain_dirty(0);
        assert_eq!(
            periods(&changed, &a),
            vec![
                ("2026-10".into(), 1, "OVERDUE_IN_PROGRESS".into()),
                ("2026-11".into(), 1, "LATE".into()),
            ]
        );
        // A result dated 12/10 arrives late: October saw it end early, and November's
        // report no longer holds it.
        feed(&mut op, at(&done, "done-oct", "2026-10-12T10:00:00+07:00"));
        let changed = op.drain_dirty(0);
        assert_eq!(
            periods(&changed, &a),
            vec![
                ("2026-10".into(), 1, "EARLY".into()),
                ("2026-11".into(), 0, String::new()),
            ]
        );
        let quarter: Vec<_> = changed
            .periods
            .iter()
            .filter(|p| p.dossier_code == a && p.period_kind == "QUARTER")
            .map(|p| (p.period.as_str(), p.in_scope))
            .collect();
        assert_eq!(quarter, vec![], "2026-Q4 is not closed on 2/12");

        // The year closes on 1/1/2027: the dossier, ended in October, is in 2026's report
        // and in Q4's, though no month of theirs closed with it ended inside it.
        let mut next_year = at(&receipt, "next-year", "2027-01-04T09:00:00+07:00");
        next_year.dossier_code = "H56.50.01-270104-0001".into();
        next_year.received.as_mut().unwrap().appointment_at =
            samples::ts("2027-01-07T09:00:00+07:00");
        feed(&mut op, next_year);
        let changed = op.drain_dirty(0);
        let mut closing: Vec<_> = changed
            .periods
            .iter()
            .filter(|p| p.dossier_code == a && p.period_kind != "MONTH")
            .map(|p| (p.period.as_str(), p.in_scope, p.verdict.as_str()))
            .collect();
        closing.sort();
        assert_eq!(closing, vec![("2026", 1, "EARLY"), ("2026-Q4", 1, "EARLY")]);
    }

    #[test]
    fn dossiers_outside_the_calendar_data_are_flagged() {
        let mut op = operator();
        op.ingest(&record(&samples::received(), 0, Encoding::Json), 0);
        let mut later = samples::received();
        later.event_id = "x/2030".into();
        later.dossier_code = "H56.50.01-300304-0001".into();
        later.occurred_at = samples::ts("2030-03-04T09:00:00+07:00");
        later.received.as_mut().unwrap().appointment_at = samples::ts("2030-03-07T09:00:00+07:00");
        op.ingest(&record(&later, 1, Encoding::Json), 0);
        let changed = op.drain_dirty(0);
        let flags: Vec<_> = changed
            .states
            .iter()
            .map(|r| (r.dossier_code.as_str(), r.off_calendar))
            .collect();
        assert_eq!(
            flags,
            vec![("H56.50.01-261008-0975", 0), ("H56.50.01-300304-0001", 1)]
        );
        assert_eq!(changed.off_calendar(), 1);
    }
}
