//! The partition operator: pure and synchronous. One operator owns one partition number of
//! the four co-partitioned input topics, so it sees every event of its dossiers. It takes
//! input records one by one and hands back what to write; it never touches Kafka,
//! ClickHouse or the wall clock (the shell passes `now` and the watermark in, and hands it
//! the checkpointed state it loaded), so it is tested without any of them.
//!
//! State: the dossiers that can still change (open ones, and ended ones for `retention`
//! of event time after their end) live in memory; older ended ones are *evicted*: only a
//! hash of their code stays, and the shell loads them back from the checkpoint when an
//! event names them ([`PartitionOperator::missing`], [`PartitionOperator::reinstate`]).
//! Every changed dossier is checkpointed in the batch that changed it.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use motcua_core::codec::Codec;
use motcua_core::deadline::Clock;
use motcua_core::event::{DossierEvent, FeedbackCategory, StepOutcome, Timestamp};
use motcua_core::fold::{self, stable_hash, Applied, Classification, DossierState};
use motcua_core::period::{Period, PeriodKind};
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::validate::{validate, RejectKind, Rejection};
use motcua_runtime::store::{
    AggregateRow, CheckpointRow, EventRow, PeriodRow, StateRow, StepRow, StoredEvent,
};

use crate::aggregate::{self, Aggregates, Contribution};

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
        /// Raw event row (boxed: it dwarfs the other variants).
        row: Box<EventRow>,
        /// Whether the same event had been folded before.
        duplicate: bool,
        /// Kind label, for metrics.
        kind: &'static str,
    },
    /// An invalid record: dead-letter it with the reason.
    Rejected(Rejection),
    /// A valid event under an id already folded with other content, and its content hash
    /// is the larger: dead-letter it, and still write its raw row, so the raw log holds both
    /// versions whichever was read first.
    Conflicting {
        /// Raw event row.
        row: Box<EventRow>,
        /// Reason `conflict`.
        rejection: Rejection,
    },
    /// A record this group already dead-lettered (re-read after a restart): nothing to do.
    AlreadyDeadLettered,
}

/// A dead letter the operator found while refolding a dossier: an event accepted earlier
/// that lost an id conflict to one read later. Its bytes are the stored (pseudonymised)
/// event, its coordinates those of its first arrival.
#[derive(Debug, Clone)]
pub struct Superseded {
    /// Where it was read.
    pub record: InputRecord,
    /// Why it no longer counts.
    pub rejection: Rejection,
}

/// What every operator of a processor shares.
pub struct Shared {
    /// Decoder.
    pub codec: Codec,
    /// Calendar, catalogue, policy.
    pub clock: Clock,
    /// Pseudonyms for personal data.
    pub pseudonymizer: Pseudonymizer,
    /// How long (event time) an ended dossier stays in memory after its end.
    pub retention: chrono::Duration,
    /// Consumer group, written into the checkpoint rows.
    pub group: String,
}

impl Shared {
    /// Operator settings with a fresh codec.
    pub fn new(
        clock: Clock,
        pseudonymizer: Pseudonymizer,
        retention: chrono::Duration,
        group: String,
    ) -> Arc<Self> {
        Arc::new(Shared {
            codec: Codec::new(),
            clock,
            pseudonymizer,
            retention,
            group,
        })
    }
}

/// A dossier held in memory.
#[derive(Debug, Clone)]
struct Entry {
    state: DossierState,
    /// The furthest date through which closed-period rows were written (it never moves
    /// back: rows past a new, earlier bound are rewritten, as out of scope where the dossier
    /// is not in them). Checkpointed with the state, so a restart or a new owner knows which
    /// rows exist and recomputes the contributions the cells hold.
    period_upto: Option<NaiveDate>,
    /// The end used for eviction, as last drained.
    ended_at: Option<Timestamp>,
    /// What the dossier's closed-period rows put in the aggregate cells.
    closed: Vec<Contribution>,
    /// What the rest of it (end day, open count, running periods, steps) put in them.
    live: Vec<Contribution>,
    /// When its live contributions change by themselves (its due time, while open).
    timer: Option<i64>,
}

impl Entry {
    fn new() -> Self {
        Entry {
            state: DossierState::default(),
            period_upto: None,
            ended_at: None,
            closed: Vec::new(),
            live: Vec::new(),
            timer: None,
        }
    }
}

/// Folds one partition's events into per-dossier state.
pub struct PartitionOperator {
    partition: i32,
    shared: Arc<Shared>,
    entries: HashMap<String, Entry>,
    /// Hashes of the codes of evicted dossiers (their state is in the checkpoint only).
    evicted: HashSet<u64>,
    /// Ended dossiers by end time, for eviction.
    ended: BTreeSet<(i64, String)>,
    dirty: HashSet<String>,
    /// Dossiers to refold from their stored events (an id conflict won by a later read).
    rebuild: HashSet<String>,
    /// Dossiers whose period rows must be recomputed (a month closed over them).
    period_dirty: HashSet<String>,
    /// Latest event time seen per input topic of this partition.
    partition_time: HashMap<String, Timestamp>,
    /// `(topic, offset)` of the records this group already dead-lettered.
    /// Keyed by a hash of the topic name: looked up for every record, allocated for none.
    dead_lettered: HashSet<(u64, i64)>,
    /// Dossiers with events but neither a receipt nor a refusal at the counter.
    awaiting: usize,
    /// The watermark's month at the last drain: a new month closes periods.
    watermark_month: Option<NaiveDate>,
    /// The figures of this partition's dossiers.
    agg: Aggregates,
    /// Open dossiers by the due time at which their contributions change.
    timers: BTreeSet<(i64, String)>,
    /// Dossiers whose live contributions must be recomputed (a timer fired, a period began,
    /// or they were loaded back).
    live_dirty: HashSet<String>,
}

impl PartitionOperator {
    /// An empty operator for input partition `partition`.
    pub fn new(partition: i32, shared: Arc<Shared>) -> Self {
        PartitionOperator {
            partition,
            shared,
            entries: HashMap::new(),
            evicted: HashSet::new(),
            ended: BTreeSet::new(),
            dirty: HashSet::new(),
            rebuild: HashSet::new(),
            period_dirty: HashSet::new(),
            partition_time: HashMap::new(),
            dead_lettered: HashSet::new(),
            awaiting: 0,
            watermark_month: None,
            agg: Aggregates::default(),
            timers: BTreeSet::new(),
            live_dirty: HashSet::new(),
        }
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Loads a checkpoint: resident dossiers, the codes of evicted ones, the records already
    /// dead-lettered. Rows that do not parse are an internal error: the checkpoint is ours.
    pub fn restore(
        &mut self,
        resident: Vec<CheckpointRow>,
        evicted: &[String],
        dead_lettered: Vec<(String, u64)>,
    ) -> Result<(), String> {
        let (cells, resident): (Vec<CheckpointRow>, Vec<CheckpointRow>) = resident
            .into_iter()
            .partition(|r| r.dossier_code.starts_with('\u{1}'));
        let meta = cells
            .iter()
            .find(|r| r.dossier_code == aggregate::META_CODE);
        let cell_states: Vec<&str> = cells
            .iter()
            .filter(|r| r.dossier_code.starts_with(aggregate::CELL_PREFIX))
            .map(|r| r.state.as_str())
            .collect();
        self.agg
            .restore(meta.map(|m| m.state.as_str()), &cell_states)?;
        self.reinstate(resident)?;
        self.evicted
            .extend(evicted.iter().map(|c| stable_hash(c.as_bytes())));
        self.dead_lettered.extend(
            dead_lettered
                .into_iter()
                .map(|(t, o)| (stable_hash(t.as_bytes()), o as i64)),
        );
        Ok(())
    }

    /// Puts checkpointed dossiers back in memory.
    pub fn reinstate(&mut self, rows: Vec<CheckpointRow>) -> Result<(), String> {
        for row in rows {
            let state: DossierState = serde_json::from_str(&row.state).map_err(|e| {
                format!(
                    "checkpoint of dossier {} does not parse: {e}",
                    row.dossier_code
                )
            })?;
            self.evicted
                .remove(&stable_hash(row.dossier_code.as_bytes()));
            if awaits_receipt(&state) {
                self.awaiting += 1;
            }
            let ended_at = row.ended_at.map(from_secs);
            if let Some(t) = ended_at {
                self.ended.insert((t.timestamp(), row.dossier_code.clone()));
            }
            let mut entry = Entry {
                state,
                period_upto: row.period_upto.map(from_days),
                ended_at,
                ..Entry::new()
            };
            // Its cells already hold its contributions: recompute them, without adding.
            recount(
                &self.shared,
                &mut self.agg,
                &mut self.timers,
                &row.dossier_code,
                &mut entry,
                Recount::Loaded,
                None,
                0,
            );
            self.entries.insert(row.dossier_code, entry);
        }
        Ok(())
    }

    /// The codes among these records' keys whose dossiers are evicted: load them with
    /// [`reinstate`](Self::reinstate) before ingesting the records.
    pub fn missing<'a>(&self, records: impl IntoIterator<Item = &'a InputRecord>) -> Vec<String> {
        let mut out: Vec<String> = records
            .into_iter()
            .filter_map(|r| r.key.as_deref())
            .filter(|k| self.evicted.contains(&stable_hash(k)))
            .filter_map(|k| std::str::from_utf8(k).ok())
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Decodes, validates, pseudonymises and folds one record.
    pub fn ingest(&mut self, record: &InputRecord, now: u32) -> Outcome {
        if self
            .dead_lettered
            .contains(&(stable_hash(record.topic.as_bytes()), record.offset))
        {
            return Outcome::AlreadyDeadLettered;
        }
        let mut event = match self.accept(record) {
            Ok(e) => e,
            Err(rejection) => return Outcome::Rejected(rejection),
        };
        self.shared.pseudonymizer.event(&mut event);
        let row = event_row(&event, record, now);
        let code = event.dossier_code.clone();
        let entry = self.entries.entry(code.clone()).or_insert_with(Entry::new);
        // A fresh state (version 0) was not counted as awaiting yet.
        let was_awaiting = entry.state.version() > 0 && awaits_receipt(&entry.state);
        let applied = entry.state.apply_with_content(&event, row.content_hash);
        let fresh = entry.state.version() == 0;
        match (was_awaiting, awaits_receipt(&entry.state) && !fresh) {
            (false, true) => self.awaiting += 1,
            (true, false) => self.awaiting -= 1,
            _ => {}
        }
        let outcome = match applied {
            Applied::New => {
                self.dirty.insert(code);
                false
            }
            Applied::Duplicate => true,
            Applied::Conflict {
                newcomer_wins: true,
            } => {
                // The newcomer is the version that counts: its raw row is written, then the
                // shell refolds the dossier from the stored events.
                self.rebuild.insert(code);
                false
            }
            Applied::Conflict {
                newcomer_wins: false,
            } => {
                let rejection = Rejection::new(
                    RejectKind::Conflict,
                    "event_id",
                    format!(
                        "event id `{}` was already used for another event of dossier {code}; \
                         the version with the smaller content hash counts",
                        event.event_id
                    ),
                );
                return Outcome::Conflicting {
                    row: Box::new(row),
                    rejection,
                };
            }
            Applied::Inconsistent => {
                return self.reject_fresh(
                    &code,
                    Rejection::new(
                        RejectKind::Inconsistent,
                        "kind",
                        format!(
                            "{} for dossier {code}, which was refused at the counter: no step can follow a refusal at receipt",
                            event.kind.as_str()
                        ),
                    ),
                );
            }
        };
        match self.partition_time.get_mut(record.topic.as_str()) {
            Some(slot) if event.occurred_at > *slot => *slot = event.occurred_at,
            Some(_) => {}
            None => {
                self.partition_time
                    .insert(record.topic.clone(), event.occurred_at);
            }
        }
        Outcome::Accepted {
            row: Box::new(row),
            duplicate: outcome,
            kind: event.kind.as_str(),
        }
    }

    /// A rejection; an entry created for it alone is removed again.
    fn reject_fresh(&mut self, code: &str, rejection: Rejection) -> Outcome {
        if self
            .entries
            .get(code)
            .is_some_and(|e| e.state.version() == 0)
        {
            self.entries.remove(code);
        }
        Outcome::Rejected(rejection)
    }

    /// Records that a dead letter was published for this record (after the broker
    /// acknowledged it), so a re-read does not send it again.
    pub fn dead_lettered(&mut self, topic: &str, offset: i64) {
        self.dead_lettered
            .insert((stable_hash(topic.as_bytes()), offset));
    }

    fn accept(&self, record: &InputRecord) -> Result<DossierEvent, Rejection> {
        let payload = record.payload.as_deref().ok_or_else(|| {
            Rejection::new(
                RejectKind::Undecodable,
                "",
                "record has no value (tombstone)",
            )
        })?;
        let event = self.shared.codec.decode(payload)?;
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

    /// Dossiers that must be refolded from their stored events, sorted.
    pub fn take_rebuilds(&mut self) -> Vec<String> {
        let mut v: Vec<String> = self.rebuild.drain().collect();
        v.sort();
        v
    }

    /// Refolds a dossier from every stored version of its events: per event id the version
    /// with the smallest content hash counts; the others are returned as dead letters
    /// (unless already sent). The result does not depend on the order events were read.
    pub fn rebuild(
        &mut self,
        code: &str,
        stored: Vec<StoredEvent>,
    ) -> Result<Vec<Superseded>, String> {
        let mut by_id: HashMap<String, Vec<(StoredEvent, DossierEvent)>> = HashMap::new();
        for s in stored {
            let e: DossierEvent = serde_json::from_str(&s.payload)
                .map_err(|e| format!("stored event of dossier {code} does not parse: {e}"))?;
            by_id.entry(e.event_id.clone()).or_default().push((s, e));
        }
        let mut state = DossierState::default();
        let mut losers = Vec::new();
        let mut ids: Vec<String> = by_id.keys().cloned().collect();
        ids.sort();
        for id in ids {
            let mut versions = by_id.remove(&id).unwrap_or_default();
            versions.sort_by_key(|(s, _)| s.content_hash);
            let mut it = versions.into_iter();
            if let Some((s, e)) = it.next() {
                state.apply_with_content(&e, s.content_hash);
            }
            for (s, e) in it {
                if self
                    .dead_lettered
                    .contains(&(stable_hash(s.kafka_topic.as_bytes()), s.kafka_offset as i64))
                {
                    continue;
                }
                losers.push(Superseded {
                    record: InputRecord {
                        topic: s.kafka_topic,
                        partition: s.kafka_partition as i32,
                        offset: s.kafka_offset as i64,
                        key: Some(code.as_bytes().to_vec()),
                        payload: Some(s.payload.into_bytes()),
                    },
                    rejection: Rejection::new(
                        RejectKind::Conflict,
                        "event_id",
                        format!(
                            "event id `{}` was also used for another event of dossier {code}, read later, \
                             whose content hash is smaller: that one counts",
                            e.event_id
                        ),
                    ),
                });
            }
        }
        let entry = self
            .entries
            .entry(code.to_string())
            .or_insert_with(Entry::new);
        let was_awaiting = entry.state.version() > 0 && awaits_receipt(&entry.state);
        state.revisions = entry.state.revisions + 1;
        entry.state = state;
        match (was_awaiting, awaits_receipt(&entry.state)) {
            (false, true) => self.awaiting += 1,
            (true, false) => self.awaiting -= 1,
            _ => {}
        }
        self.dirty.insert(code.to_string());
        Ok(losers)
    }

    /// Latest event time delivered per topic of this partition.
    pub fn partition_times(&self) -> impl Iterator<Item = (&str, Timestamp)> + '_ {
        self.partition_time.iter().map(|(t, ts)| (t.as_str(), *ts))
    }

    /// Seeds the partition times from a checkpoint's progress rows (a restored operator has
    /// read up to there).
    pub fn seed_partition_time(&mut self, topic: &str, at: Timestamp) {
        let slot = self.partition_time.entry(topic.to_string()).or_insert(at);
        if at > *slot {
            *slot = at;
        }
    }

    /// State, step, period and checkpoint rows for the dossiers changed since the last call,
    /// and period rows for the open dossiers a newly closed month concerns. `as_of` is the
    /// processor's watermark. State rows never depend on it (an open dossier's stored
    /// outcome is `IN_PROGRESS`; views judge overdue against the published watermark), so the
    /// same input writes the same rows whatever the batch boundaries.
    pub fn drain(&mut self, as_of: Option<Timestamp>, now: u32) -> Changed {
        if let Some(w) = as_of {
            let month = Period::containing(PeriodKind::Month, fold::local_date(w)).start;
            if self.watermark_month.is_none_or(|m| m < month) {
                // A month closed: the open dossiers are in its report as open; the ended
                // ones had their rows written when they ended.
                for (code, e) in &self.entries {
                    if e.state.receipt.is_some() && e.ended_at.is_none() {
                        self.period_dirty.insert(code.clone());
                    }
                }
                self.watermark_month = Some(month);
            }
        }
        // The cells move to the new watermark: a period that began running takes the open
        // dossiers and those ended since its start; a due time passed flips a dossier to
        // overdue.
        let mut live: HashSet<String> = std::mem::take(&mut self.live_dirty);
        if let Some(began) = self.agg.roll(as_of) {
            let since = fold::vietnam_instant(began.and_time(chrono::NaiveTime::MIN)).timestamp();
            for (code, e) in &self.entries {
                if e.ended_at.is_none_or(|t| t.timestamp() >= since) {
                    live.insert(code.clone());
                }
            }
        }
        if let Some(w) = as_of.map(|t| t.timestamp()) {
            while self.timers.first().is_some_and(|(due, _)| *due < w) {
                let (_, code) = self.timers.pop_first().expect("not empty");
                if let Some(e) = self.entries.get_mut(&code) {
                    e.timer = None;
                }
                live.insert(code);
            }
        }
        let mut codes: Vec<String> = self.dirty.drain().collect();
        codes.sort();
        let mut period_codes: Vec<String> = self
            .period_dirty
            .drain()
            .chain(codes.iter().cloned())
            .collect();
        period_codes.sort();
        period_codes.dedup();
        let mut out = Changed::default();
        // Each dossier is classified once here; a changed one's recount below reuses it (its
        // state does not change in between).
        let mut classified: HashMap<&str, Classification> = HashMap::new();
        for code in &period_codes {
            let e = self.entries.get_mut(code).expect("held");
            if e.state.receipt.is_none() {
                continue;
            }
            let c = classified
                .entry(code.as_str())
                .or_insert_with(|| e.state.classify(None, &self.shared.clock));
            // The last date the dossier can be in a report: its end, or while open the
            // watermark's date (unknown without one: its rows wait for the first month).
            let bound = match (c.end, as_of) {
                (Some(end), _) => fold::local_date(end.at),
                (None, Some(w)) => fold::local_date(w),
                (None, None) => continue,
            };
            // Rows through the furthest bound written before are rewritten too (as out of
            // scope when the dossier ended before them), and that bound is kept: the cells
            // hold what the rows through it contribute, and a restore recomputes exactly
            // those. (The bound moves back when a dossier ends before a date its rows were
            // written through, or when a new owner's watermark starts below its
            // checkpoint's.)
            let upto = e.period_upto.map_or(bound, |b| bound.max(b));
            let rows = period_rows(code, &e.state, c, &self.shared.clock, upto, now);
            let (field, channel) = e
                .state
                .receipt
                .as_ref()
                .map(|r| (r.field_code.as_str(), r.channel.as_str()))
                .unwrap_or_default();
            let closed = self.agg.closed(&rows, field, channel);
            self.agg.replace(&e.closed, &closed);
            e.closed = closed;
            out.periods.extend(rows);
            e.period_upto = Some(upto);
        }
        for code in &codes {
            let e = self.entries.get_mut(code).expect("dirty dossiers are held");
            let Recounted { row, steps, ended } = recount(
                &self.shared,
                &mut self.agg,
                &mut self.timers,
                code,
                e,
                Recount::Live,
                classified.remove(code.as_str()),
                now,
            );
            if e.ended_at != ended {
                if let Some(t) = e.ended_at {
                    self.ended.remove(&(t.timestamp(), code.clone()));
                }
                if let Some(t) = ended {
                    self.ended.insert((t.timestamp(), code.clone()));
                }
                e.ended_at = ended;
            }
            if !sipas_only(&e.state) {
                out.steps.extend(steps);
                out.states.push(row);
            }
            live.remove(code);
        }
        let mut live: Vec<String> = live.into_iter().collect();
        live.sort();
        for code in &live {
            if let Some(e) = self.entries.get_mut(code) {
                recount(
                    &self.shared,
                    &mut self.agg,
                    &mut self.timers,
                    code,
                    e,
                    Recount::Live,
                    None,
                    now,
                );
            }
        }
        // Checkpoint every dossier whose state or period bound changed.
        let mut changed: Vec<&String> = codes.iter().chain(period_codes.iter()).collect();
        changed.sort();
        changed.dedup();
        let checkpoint = |dossier_code, version, state| CheckpointRow {
            consumer_group: self.shared.group.clone(),
            kafka_partition: self.partition as u32,
            dossier_code,
            version,
            ended_at: None,
            period_upto: None,
            state,
            updated_at: now,
        };
        for code in changed {
            let e = &self.entries[code];
            out.checkpoints.push(CheckpointRow {
                ended_at: e.ended_at.map(secs),
                period_upto: e.period_upto.map(days),
                ..checkpoint(code.clone(), e.state.version(), to_json(&e.state, 2048))
            });
        }
        // The changed cells, and their checkpoint in the same insert as the dossiers'.
        out.aggregates = self
            .agg
            .emit(&self.shared.group, self.partition as u32, now);
        if !out.aggregates.is_empty() {
            for row in &out.aggregates {
                out.checkpoints.push(checkpoint(
                    Aggregates::checkpoint_code(row),
                    row.version,
                    serde_json::to_string(row).expect("cells serialise"),
                ));
            }
            let (seq, meta) = self.agg.meta();
            out.checkpoints
                .push(checkpoint(aggregate::META_CODE.to_string(), seq, meta));
        }
        out
    }

    /// Open dossiers past their due time at the watermark, per agency level.
    pub fn overdue_by_level(&self) -> std::collections::HashMap<&str, i64> {
        self.agg.overdue_by_level()
    }

    /// A self-check for tests (`MOTCUA_VERIFY_CELLS`): with every dossier of the partition in
    /// memory, the cells must hold exactly the sum of the dossiers' contributions. Returns
    /// the cells that do not (nothing when some dossiers are evicted: it cannot tell).
    pub fn verify_cells(&self) -> Vec<String> {
        if !self.evicted.is_empty() {
            return Vec::new();
        }
        self.agg.disagreements(
            self.entries
                .values()
                .flat_map(|e| e.live.iter().chain(&e.closed)),
            5,
        )
    }

    /// Drops from memory the dossiers that ended (or, still awaiting their receipt, last
    /// changed) more than `retention` (event time) before `as_of`; their checkpoint stays.
    /// Call after [`drain`](Self::drain) (a dirty dossier is never evicted before its
    /// checkpoint row exists).
    pub fn evict(&mut self, as_of: Option<Timestamp>) -> Evicted {
        let mut out = Evicted::default();
        let Some(w) = as_of else { return out };
        let cutoff = (w - self.shared.retention).timestamp();
        while let Some((t, code)) = self.ended.first().cloned() {
            if t >= cutoff || self.dirty.contains(&code) || self.rebuild.contains(&code) {
                break;
            }
            self.ended.pop_first();
            if let Some(e) = self.entries.remove(&code) {
                if awaits_receipt(&e.state) {
                    self.awaiting -= 1;
                    out.unmatched_ratings += u64::from(e.state.surveys);
                }
                self.evicted.insert(stable_hash(code.as_bytes()));
                out.dossiers += 1;
            }
        }
        out
    }

    /// Dossiers in memory.
    pub fn dossiers(&self) -> usize {
        self.entries.len()
    }

    /// Dossiers evicted (in the checkpoint only).
    pub fn evicted(&self) -> usize {
        self.evicted.len()
    }

    /// Dossiers held without a receipt.
    pub fn awaiting_receipt(&self) -> usize {
        self.awaiting
    }

    /// A dossier's state, if in memory.
    pub fn state(&self, dossier_code: &str) -> Option<&DossierState> {
        self.entries.get(dossier_code).map(|e| &e.state)
    }
}

/// What one [`PartitionOperator::evict`] took out of memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Dossiers evicted.
    pub dossiers: usize,
    /// Ratings (surveys) held by the evicted dossiers that never got their receipt: their
    /// dossier did not arrive within the retention window (`v_unmatched_ratings` lists them).
    pub unmatched_ratings: u64,
}

/// How much of a dossier's contributions to recompute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recount {
    /// Loaded back: everything, taken as what the cells already hold.
    Loaded,
    /// Only the live part (a new state, a timer, a new running period), applied; the
    /// closed-period part is applied where the period rows are written.
    Live,
}

/// Recomputes a dossier's contributions to the cells and its timer; `classified` is its
/// state's classification when the caller has just made it.
#[allow(clippy::too_many_arguments)]
fn recount(
    shared: &Shared,
    agg: &mut Aggregates,
    timers: &mut BTreeSet<(i64, String)>,
    code: &str,
    e: &mut Entry,
    how: Recount,
    classified: Option<Classification>,
    now: u32,
) -> Recounted {
    let clock = &shared.clock;
    let c = classified.unwrap_or_else(|| e.state.classify(None, clock));
    let row = state_row(code, &e.state, &c, clock, now);
    let steps: Vec<StepRow> = step_rows(&row, &c, now).collect();
    let apply = how != Recount::Loaded;
    let mut periods = Vec::new();
    if how != Recount::Live {
        if let Some(upto) = e.period_upto {
            periods = period_rows(code, &e.state, &c, clock, upto, now);
        }
        let new = agg.closed(&periods, &row.field_code, &row.channel);
        if apply {
            agg.replace(&e.closed, &new);
        }
        e.closed = new;
    }
    let (live, timer) = agg.live(&row, &steps, e.state.sipas.as_ref(), &e.state.feedback);
    if apply {
        agg.replace(&e.live, &live);
    }
    e.live = live;
    if e.timer != timer {
        if let Some(t) = e.timer {
            timers.remove(&(t, code.to_string()));
        }
        if let Some(t) = timer {
            timers.insert((t, code.to_string()));
        }
        e.timer = timer;
    }
    Recounted {
        ended: ended_at(&e.state, &c),
        row,
        steps,
    }
}

/// What a dossier was judged by when recounted.
struct Recounted {
    row: StateRow,
    steps: Vec<StepRow>,
    ended: Option<Timestamp>,
}

/// A dossier's closed-period rows through the year holding `upto`: an ended dossier gets
/// its month, quarter and year rows when it ends, so closing them later needs no pass over
/// it.
fn period_rows(
    code: &str,
    s: &DossierState,
    c: &Classification,
    clock: &Clock,
    upto: NaiveDate,
    now: u32,
) -> Vec<PeriodRow> {
    let Some(r) = &s.receipt else {
        return Vec::new();
    };
    let horizon = Period::containing(PeriodKind::Year, upto).end_instant();
    let version = s.version();
    let limit = c.deadline.expect("received dossiers have one").legal.limit;
    s.closed_periods(clock, horizon, upto)
        .into_iter()
        .map(|v| PeriodRow {
            dossier_code: code.to_string(),
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
        })
        .collect()
}

/// When a dossier stops changing for the purpose of eviction: the end of processing, the
/// refusal at the counter, or, while it still awaits its receipt (ratings or steps read
/// first), its latest event. A dossier whose receipt has not come within the retention
/// window after that leaves memory like an ended one (its ratings counted as unmatched,
/// its state kept in the checkpoint), and comes back if the receipt is read after all.
fn ended_at(s: &DossierState, c: &Classification) -> Option<Timestamp> {
    // An item still unanswered keeps its dossier until its due time, when it turns overdue
    // (a timer that needs the dossier in memory).
    let pending = s
        .feedback
        .iter()
        .filter(|f| f.answered.is_none())
        .map(|f| f.due_at)
        .max();
    c.end
        .map(|e| pending.map_or(e.at, |p| p.max(e.at)))
        .or(s.refused_at_receipt.filter(|_| s.receipt.is_none()))
        .or(s
            .last_event_at
            .filter(|_| s.receipt.is_none() && s.refused_at_receipt.is_none()))
}

fn from_secs(s: u32) -> Timestamp {
    DateTime::from_timestamp(i64::from(s), 0)
        .expect("u32 seconds are in range")
        .with_timezone(&fold::vietnam())
}

fn from_days(d: u16) -> NaiveDate {
    DateTime::UNIX_EPOCH.date_naive() + chrono::Duration::days(i64::from(d))
}

/// The rows to write for the dossiers changed in a batch.
#[derive(Debug, Default)]
pub struct Changed {
    /// One `dossier_state` row per changed dossier.
    pub states: Vec<StateRow>,
    /// Every judged step of those dossiers (`dossier_steps`).
    pub steps: Vec<StepRow>,
    /// Their period verdicts (`dossier_periods`).
    pub periods: Vec<PeriodRow>,
    /// Their checkpoints (`processor_state`), and the changed cells' checkpoint.
    pub checkpoints: Vec<CheckpointRow>,
    /// The aggregate cells that changed (`aggregates`).
    pub aggregates: Vec<AggregateRow>,
}

impl Changed {
    /// State rows of dossiers whose dates lie outside the calendar data.
    pub fn off_calendar(&self) -> u64 {
        self.states.iter().map(|r| u64::from(r.off_calendar)).sum()
    }
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
    s.receipt.is_none() && s.refused_at_receipt.is_none() && s.sipas.is_none()
}

/// The state of a SIPAS answer sheet's code, not of a dossier: in the figures, never in
/// the per-dossier tables.
fn sipas_only(s: &DossierState) -> bool {
    s.sipas.is_some() && s.receipt.is_none() && s.refused_at_receipt.is_none()
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
    let payload = to_json(e, 1024);
    EventRow {
        dossier_code: e.dossier_code.clone(),
        event_id: e.event_id.clone(),
        content_hash: stable_hash(payload.as_bytes()),
        first_arrival: u64::MAX - record.offset.max(0) as u64,
        national_dossier_code: e.national_dossier_code.clone().unwrap_or_default(),
        agency_code: e.agency_code.clone(),
        kind: e.kind.as_str().to_string(),
        form_set: e.form_set.as_str().to_string(),
        occurred_at: secs(e.occurred_at),
        occurred_offset_minutes: (e.occurred_at.offset().local_minus_utc() / 60) as i16,
        procedure_code,
        payload,
        kafka_topic: record.topic.clone(),
        kafka_partition: record.partition as u32,
        kafka_offset: record.offset as u64,
        ingested_at: now,
    }
}

/// JSON into a buffer sized for the usual value (a growing one copies itself several times).
fn to_json<T: serde::Serialize>(value: &T, capacity: usize) -> String {
    let mut buf = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut buf, value).expect("our types serialise");
    // serde_json writes valid UTF-8 only.
    String::from_utf8(buf).expect("serde_json writes UTF-8")
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
        // A complaint in a survey or a PAKN complaint about the dossier.
        complaint: (s.any_complaint
            || s.feedback
                .iter()
                .any(|f| f.category == FeedbackCategory::Complaint)) as u8,
        digitised: r.is_some_and(|r| r.digitised) as u8,
        synced: s.synced_at.is_some() as u8,
        feedback_items: s.feedback.len().min(u16::MAX as usize) as u16,
        rating: s
            .rating
            .map(|(_, _, r)| r.as_str().to_string())
            .unwrap_or_default(),
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

    fn shared() -> Arc<Shared> {
        Shared::new(
            Clock::default(),
            Pseudonymizer::new(b"test-key-0123456789").unwrap(),
            chrono::Duration::days(30),
            "g".into(),
        )
    }

    fn operator() -> PartitionOperator {
        PartitionOperator::new(0, shared())
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

    fn at(e: &DossierEvent, id: &str, t: &str) -> DossierEvent {
        let mut e = e.clone();
        e.event_id = id.into();
        e.occurred_at = samples::ts(t);
        e
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
        let rows = op.drain(None, 0).states;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].version, 1);
        assert_eq!(rows[0].outcome, "IN_PROGRESS");
        assert!(op.drain(None, 0).states.is_empty(), "nothing changed since");
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
        let changed = op.drain(None, 0);
        assert_eq!(changed.steps.len(), 1, "the sample handover is judged");
        rows.extend(changed.states.iter().map(|r| format!("{r:?}")));
        rows.extend(changed.steps.iter().map(|r| format!("{r:?}")));
        rows.extend(
            changed
                .checkpoints
                .iter()
                .filter(|r| !r.dossier_code.starts_with('\u{1}'))
                .map(|r| format!("{r:?}")),
        );
        assert_eq!(rows.len(), samples::all_kinds().len() + 3);
        assert!(!changed.aggregates.is_empty(), "the dossier is counted");
        rows.extend(changed.aggregates.iter().map(|r| format!("{r:?}")));
        rows.extend(changed.checkpoints.iter().map(|r| format!("{r:?}")));
        for clear in samples::CLEAR_PERSONAL_VALUES {
            assert!(
                rows.iter().all(|r| !r.contains(clear)),
                "{clear} reached a row"
            );
        }
    }

    /// Rows of closed months as of `as_of` (the view reads only those).
    fn closed_months(changed: &Changed, code: &str, as_of: &str) -> Vec<(String, u8, String)> {
        let today = days(fold::local_date(samples::ts(as_of)));
        let mut v: Vec<_> = changed
            .periods
            .iter()
            .filter(|p| p.dossier_code == code && p.period_kind == "MONTH")
            .filter(|p| p.period_end <= today)
            .map(|p| (p.period.clone(), p.in_scope, p.verdict.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn closing_a_month_writes_its_report_rows_and_stale_ones_are_cleared() {
        let mut op = operator();
        let mut offset = 0;
        let mut feed = |op: &mut PartitionOperator, e: DossierEvent| {
            offset += 1;
            op.ingest(&record(&e, offset, Encoding::Json), 0);
        };
        let wm = |t: &str| Some(samples::ts(t));
        let receipt = samples::received(); // 8/10/2026, appointment 13/10 17:00
        let done = samples::all_kinds().remove(8);
        let a = receipt.dossier_code.clone();
        feed(&mut op, receipt.clone());
        feed(&mut op, at(&done, "done-nov", "2026-11-05T10:00:00+07:00"));
        // As of 5/11 October is closed, and the dossier was open at its end, overdue
        // since 13/10.
        let nov5 = "2026-11-05T10:00:00+07:00";
        let changed = op.drain(wm(nov5), 0);
        assert_eq!(
            closed_months(&changed, &a, nov5),
            vec![("2026-10".into(), 1, "OVERDUE_IN_PROGRESS".into())]
        );
        // Its November row exists already (written when it ended), for when November closes.
        assert!(changed
            .periods
            .iter()
            .any(|p| p.period == "2026-11" && p.verdict == "LATE"));
        // A result dated 12/10 arrives late: October saw it end early, and November's
        // report no longer holds it.
        feed(&mut op, at(&done, "done-oct", "2026-10-12T10:00:00+07:00"));
        let dec2 = "2026-12-02T09:00:00+07:00";
        let changed = op.drain(wm(dec2), 0);
        assert_eq!(
            closed_months(&changed, &a, dec2),
            vec![
                ("2026-10".into(), 1, "EARLY".into()),
                ("2026-11".into(), 0, String::new()),
            ]
        );
        let mut year: Vec<_> = changed
            .periods
            .iter()
            .filter(|p| p.dossier_code == a && p.period_kind != "MONTH")
            .map(|p| (p.period.as_str(), p.in_scope, p.verdict.as_str()))
            .collect();
        year.sort();
        // Written now, read by the reports once Q4 and 2026 close.
        assert_eq!(year, vec![("2026", 1, "EARLY"), ("2026-Q4", 1, "EARLY")]);
    }

    #[test]
    fn an_open_dossier_gets_a_row_for_every_month_that_closes_over_it() {
        let mut op = operator();
        op.ingest(&record(&samples::received(), 0, Encoding::Json), 0);
        op.drain(Some(samples::ts("2026-10-20T09:00:00+07:00")), 0);
        let changed = op.drain(Some(samples::ts("2026-11-02T09:00:00+07:00")), 0);
        assert_eq!(
            closed_months(&changed, samples::DOSSIER, "2026-11-02T09:00:00+07:00"),
            vec![("2026-10".into(), 1, "OVERDUE_IN_PROGRESS".into())]
        );
        assert!(changed.states.is_empty(), "the state itself did not change");
        let dossiers = changed
            .checkpoints
            .iter()
            .filter(|r| !r.dossier_code.starts_with('\u{1}'))
            .count();
        assert_eq!(dossiers, 1, "its period bound did");
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
        let changed = op.drain(None, 0);
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

    #[test]
    fn steps_after_a_refusal_at_the_counter_are_inconsistent() {
        let mut op = operator();
        let mut refused = samples::all_kinds().remove(5);
        refused.refused.as_mut().unwrap().stage = motcua_core::event::RefusalStage::AtReceipt;
        refused.dossier_code = "H56.50.01-261008-0001".into();
        op.ingest(&record(&refused, 0, Encoding::Json), 0);
        let mut returned = samples::all_kinds().remove(9);
        returned.dossier_code = refused.dossier_code.clone();
        assert!(matches!(
            op.ingest(&record(&returned, 1, Encoding::Json), 0),
            Outcome::Rejected(r) if r.kind == RejectKind::Inconsistent
        ));
        let rows = op.drain(None, 0).states;
        assert_eq!(
            (rows[0].status, rows[0].outcome.as_str()),
            (3, "NOT_COUNTED")
        );
    }

    /// Stored versions of the events folded so far, as the raw table would return them.
    fn stored(records: &[(InputRecord, EventRow)]) -> Vec<StoredEvent> {
        records
            .iter()
            .map(|(r, row)| StoredEvent {
                content_hash: row.content_hash,
                payload: row.payload.clone(),
                kafka_topic: r.topic.clone(),
                kafka_partition: 0,
                kafka_offset: r.offset as u64,
            })
            .collect()
    }

    #[test]
    fn an_id_reused_for_other_content_gives_the_same_state_in_either_order() {
        let receipt = samples::received();
        let mut a = samples::all_kinds().remove(8); // RESULT_READY
        a.event_id = "ready-1".into();
        let mut b = at(&a, "ready-1", "2026-10-09T08:00:00+07:00");
        b.dossier_code = a.dossier_code.clone();
        let run = |first: &DossierEvent, second: &DossierEvent| {
            let mut op = operator();
            let mut kept = Vec::new();
            let mut dead = Vec::new();
            for (i, e) in [&receipt, first, second].into_iter().enumerate() {
                let r = record(e, i as i64, Encoding::Json);
                match op.ingest(&r, 0) {
                    Outcome::Accepted { row, .. } => kept.push((r, *row)),
                    Outcome::Rejected(why) => dead.push((r.offset, why.kind)),
                    Outcome::Conflicting { row, rejection } => {
                        kept.push((r.clone(), *row));
                        dead.push((r.offset, rejection.kind));
                    }
                    Outcome::AlreadyDeadLettered => unreachable!(),
                }
            }
            for code in op.take_rebuilds() {
                for s in op.rebuild(&code, stored(&kept)).unwrap() {
                    dead.push((s.record.offset, s.rejection.kind));
                }
            }
            let state = op.drain(None, 0).states.remove(0);
            (state.end_at, state.version > 0, dead.len(), dead[0].1)
        };
        let ab = run(&a, &b);
        let ba = run(&b, &a);
        assert_eq!(ab.0, ba.0, "the end time does not depend on arrival order");
        assert_eq!((ab.2, ab.3), (1, RejectKind::Conflict));
        assert_eq!((ba.2, ba.3), (1, RejectKind::Conflict));
    }

    #[test]
    fn an_evicted_dossier_comes_back_from_its_checkpoint_and_folds_on() {
        let mut op = operator();
        let receipt = samples::received();
        let done = at(
            &samples::all_kinds().remove(8),
            "done",
            "2026-10-12T10:00:00+07:00",
        );
        op.ingest(&record(&receipt, 0, Encoding::Json), 0);
        op.ingest(&record(&done, 1, Encoding::Json), 0);
        let first = op.drain(Some(samples::ts("2026-10-12T10:00:00+07:00")), 0);
        assert_eq!(
            op.evict(Some(samples::ts("2026-11-01T00:00:00+07:00")))
                .dossiers,
            0,
            "within retention"
        );
        assert_eq!(
            op.evict(Some(samples::ts("2026-12-01T00:00:00+07:00"))),
            Evicted {
                dossiers: 1,
                unmatched_ratings: 0
            }
        );
        assert_eq!((op.dossiers(), op.evicted()), (0, 1));

        // A survey weeks later names it: the shell loads its checkpoint.
        let mut survey = samples::all_kinds().pop().unwrap();
        survey.dossier_code = receipt.dossier_code.clone();
        let r = record(&survey, 2, Encoding::Json);
        let missing = op.missing([&r]);
        assert_eq!(missing, vec![receipt.dossier_code.clone()]);
        op.reinstate(first.checkpoints.clone()).unwrap();
        assert!(op.missing([&r]).is_empty());
        // The replayed result is a duplicate: the checkpoint holds its id.
        assert!(matches!(
            op.ingest(&record(&done, 1, Encoding::Json), 0),
            Outcome::Accepted {
                duplicate: true,
                ..
            }
        ));
        assert!(matches!(
            op.ingest(&r, 0),
            Outcome::Accepted {
                duplicate: false,
                ..
            }
        ));
        let rows = op
            .drain(Some(samples::ts("2026-12-01T00:00:00+07:00")), 0)
            .states;
        assert_eq!((rows[0].version, rows[0].surveys), (3, 1));
    }

    #[test]
    fn records_already_dead_lettered_are_not_sent_again() {
        let mut op = operator();
        let mut bad = record(&samples::received(), 7, Encoding::Json);
        bad.payload = Some(b"nope".to_vec());
        assert!(matches!(op.ingest(&bad, 0), Outcome::Rejected(_)));
        op.dead_lettered("t", 7);
        assert!(matches!(op.ingest(&bad, 0), Outcome::AlreadyDeadLettered));
        let mut other = operator();
        other
            .restore(Vec::new(), &[], vec![("t".into(), 7)])
            .unwrap();
        assert!(matches!(
            other.ingest(&bad, 0),
            Outcome::AlreadyDeadLettered
        ));
    }
}
