//! The simulator: configuration, dossier planning, and the streaming event iterator.
//!
//! Each dossier is *planned* once, at the start of the day it is received: its fate, its
//! appointment and the times of all its steps are drawn then and kept as a compact list of
//! (time, step) pairs. The plan sits in a priority queue (a binary heap for the current hour,
//! buckets for later ones: see `queue`) keyed by the time of its next step; popping it
//! materialises that one event and pushes the plan back for the next step. Held-back
//! (out-of-order) and re-sent (duplicate) events go into the same queue. A day of receipts
//! is generated only when the queue's head passes the generated frontier, so the queue holds
//! the open dossiers and a day's arrivals, never the whole run.
//!
//! Time follows the pipeline's own rules, so that what the simulator *meant* is what the
//! processor *measures*: the Vietnamese civil-service calendar
//! ([`WorkCalendar::vietnam`]: Tết, compensatory and bridge days, worked Saturdays), the
//! statutory limits and due rules of the shipped procedure catalogue, supplement waits that
//! extend the due time by the working time waited (the default `EXTEND` policy), and step
//! due times counted from the previous handover with the step's allotted working hours.
//!
//! Randomness comes from three ChaCha8 streams: one plans dossiers, one decides delivery
//! faults, and each step's text (names, reasons, scores) comes from a generator seeded by
//! the dossier's seed and the step. Changing a fault rate therefore changes which events
//! are late or repeated, not what the dossiers are.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use motcua_core::calendar::{DueRule, WorkCalendar};
use motcua_core::event::{
    AgencyLevel, Apology, Channel, CriterionScore, Decision, Delivery, DocumentKind, DossierEvent,
    DossierReceived, EventKind, Feedback, FeedbackCategory, FeedbackStage, FormSet, Handover,
    PortalSync, ProcessingStopped, RefusalStage, Refused, ResultReady, ResultReturned,
    Satisfaction, SipasAnswer, SipasElement, SipasResponse, StepOutcome, SubmittedDocument,
    SupplementReceived, SupplementRequested, Survey, SurveyChannel, TimeLimit, TimeUnit, Timestamp,
    Withdrawn,
};
use motcua_core::validate::is_agency_code;
use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{catalogue, Procedure};
use crate::names::{self, ApplicantProfile, Locality};
use crate::province::{Agency, AgencyRole, Province};
use crate::queue::DeliveryQueue;

#[cfg(test)]
mod tests;

/// What the simulator generates. Every rate is a probability in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw; the same config gives the same events. Default 42.
    pub seed: u64,
    /// First day of receipts (Vietnam local date). Default 2026-10-05, a Monday.
    pub start: NaiveDate,
    /// Days simulated; nothing at or after `start + days` 00:00 (+07:00) is emitted. Default 5.
    pub days: u32,
    /// Dossiers received on each working day of the Vietnamese civil-service calendar
    /// (worked Saturdays included); days off (weekends, Tết and other holidays) receive a
    /// tenth as many, all online. Default 1000.
    pub dossiers_per_day: u32,
    /// Province code, one upper-case alphanumeric segment. Default "H56".
    pub province: String,
    /// Share of events delivered late, held back 1-48 hours of event time. Default 0.02.
    pub out_of_order_rate: f64,
    /// Share of returned dossiers that get a satisfaction survey. Default 0.35.
    pub survey_rate: f64,
    /// Share of events sent a second time, unchanged (same event id), later. Default 0.005.
    pub duplicate_rate: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            start: NaiveDate::from_ymd_opt(2026, 10, 5).expect("valid date"),
            days: 5,
            dossiers_per_day: 1000,
            province: "H56".to_string(),
            out_of_order_rate: 0.02,
            survey_rate: 0.35,
            duplicate_rate: 0.005,
        }
    }
}

/// Longest run accepted: keeps every step time inside a `u32` of seconds.
const MAX_DAYS: u32 = 36_500;

/// Every problem found in a [`SimConfig`], listed together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid simulator configuration: {}", problems.join("; "))]
pub struct ConfigError {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl SimConfig {
    /// Checks the configuration, listing every problem rather than the first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if !is_agency_code(&self.province) || self.province.contains('.') {
            problems.push(format!(
                "province `{}` must be one upper-case alphanumeric segment like H56",
                self.province
            ));
        }
        for (name, rate) in [
            ("out_of_order_rate", self.out_of_order_rate),
            ("survey_rate", self.survey_rate),
            ("duplicate_rate", self.duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                problems.push(format!(
                    "{name} {rate} is not a probability between 0 and 1"
                ));
            }
        }
        if self.days > MAX_DAYS {
            problems.push(format!(
                "days {} exceeds the maximum of {MAX_DAYS}",
                self.days
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// What the plans intended, counted when each dossier is planned (whether or not its later
/// events fall before the horizon). Useful to compare with what the pipeline measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlannedOutcomes {
    /// Finished on a date before the legal due date (the due time extended by supplement
    /// waits), well ahead of it.
    pub early: u64,
    /// Finished by the legal due time, on its date or the working day before.
    pub near_appointment: u64,
    /// Finished after the legal due time.
    pub late: u64,
    /// Late dossiers that got a form 04 with a new appointment.
    pub apologised: u64,
    /// Withdrawn by the applicant.
    pub withdrawn: u64,
    /// Refused during processing.
    pub refused_in_processing: u64,
    /// Processing stopped (2025 form 05).
    pub stopped: u64,
    /// Exactly one supplement request.
    pub supplement_once: u64,
    /// Two supplement requests (late by rule).
    pub supplement_twice: u64,
    /// Supplement requests never answered.
    pub supplement_unanswered: u64,
    /// Appointments deliberately set off the legal due time: one or two working days later,
    /// or (less often) one earlier.
    pub appointment_shifted: u64,
}

/// Counters of a run so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// Days of receipts generated.
    pub days_generated: u32,
    /// Dossiers generated, including those refused at receipt.
    pub dossiers: u64,
    /// Dossiers refused at the counter (no form 01).
    pub refused_at_receipt: u64,
    /// Events emitted, duplicates included.
    pub events: u64,
    /// Distinct events emitted, by kind (duplicates are counted only in `duplicates`).
    pub events_by_kind: BTreeMap<EventKind, u64>,
    /// Re-sent copies emitted.
    pub duplicates: u64,
    /// Events emitted after being held back (read after later events).
    pub out_of_order: u64,
    /// Dossiers with steps still to come.
    pub open_dossiers: u64,
    /// Queue entries now (open dossiers, held-back and re-sent events).
    pub pending: usize,
    /// Largest queue size seen: the memory proxy.
    pub max_pending: usize,
    /// What the plans intended.
    pub planned: PlannedOutcomes,
}

/// Which unit of the dossier's agency a handover names.
type UnitRef = u8;
/// The one-stop desk receiving and returning the agency's dossiers.
const ONE_STOP: UnitRef = 0;
/// The unit whose head signs.
const LEADERSHIP: UnitRef = 1;
/// `SPECIALIST + i` is `agency.units[i]`.
const SPECIALIST: UnitRef = 2;

/// One planned step, kept compact (8 bytes of payload) because open dossiers are many.
#[derive(Debug, Clone, Copy)]
enum What {
    Received,
    RefusedAtReceipt,
    Handover {
        step: u8,
        from: UnitRef,
        to: UnitRef,
        /// Working hours allotted to the giving unit's step.
        allotted: u16,
        outcome: Option<StepOutcome>,
    },
    SupplementRequested(u8),
    SupplementReceived(u8),
    Apology,
    Withdrawn,
    RefusedDuring,
    Stopped,
    ResultReady {
        approved: bool,
        electronic: bool,
    },
    ResultReturned,
    /// A rating; `orphan`: sent under a code no dossier has (a mistyped code, another
    /// system's dossier), so the join never finds its dossier.
    Survey {
        channel: SurveyChannel,
        orphan: bool,
    },
    /// A SIPAS answer sheet from the applicant, under its own code; `named`: it names the
    /// dossier.
    Sipas {
        named: bool,
    },
    /// The agency system's sync of the dossier to the national portal; `accepted`: the
    /// portal took it.
    PortalSynced {
        accepted: bool,
    },
    /// Feedback or a complaint (PAKN) about the dossier: its receipt (`answered` false) or
    /// its answer. `received`: seconds after the run's start; due `due_days` later;
    /// `category`: index in [`FeedbackCategory::ALL`].
    Feedback {
        answered: bool,
        received: u32,
        due_days: u8,
        category: u8,
    },
}

#[derive(Debug, Clone, Copy)]
struct Step {
    /// Seconds after the start of the run (local midnight of `start`).
    at: u32,
    what: What,
}

/// A dossier's whole life, drawn at receipt.
#[derive(Debug)]
struct Plan {
    /// Seeds the text of each step.
    seed: u64,
    code: Box<str>,
    national: Option<Box<str>>,
    agency: u16,
    procedure: u16,
    channel: Channel,
    delivery: Delivery,
    appointment: u32,
    new_appointment: u32,
    register_line: u32,
    /// Late (or twice supplemented): surveys are less happy.
    late: bool,
    steps: Vec<Step>,
    next: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redelivery {
    Delayed,
    Duplicate,
}

#[derive(Debug)]
enum Item {
    Dossier(Box<Plan>),
    Event(Box<DossierEvent>, Redelivery),
}

/// The fate drawn for a received dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Early,
    Near,
    Late,
    Withdrawn,
    Refused,
    Stopped,
}

/// A receipt before it gets its code.
struct Arrival {
    at: NaiveDateTime,
    agency: u16,
    procedure: u16,
    channel: Channel,
}

/// Shares of receipts by level: communes take the bulk (certifications, civil status).
const LEVEL_SHARES: [(AgencyLevel, f64); 3] = [
    (AgencyLevel::Commune, 0.52),
    (AgencyLevel::District, 0.28),
    (AgencyLevel::Province, 0.20),
];
/// Channel mix on working days; days off (weekends, holidays) are all online.
const ONLINE_SHARE: f64 = 0.33;
const POSTAL_SHARE: f64 = 0.05;
const REFUSED_AT_RECEIPT: f64 = 0.01;
const WITHDRAWN: f64 = 0.01;
const REFUSED_DURING: f64 = 0.005;
const STOPPED: f64 = 0.005;
/// Share drawn early; short procedures (due the day they start) cannot finish on an earlier
/// date, so fewer end up early than drawn.
const EARLY: f64 = 0.19;
const SUPPLEMENT_TWICE: f64 = 0.01;
const SUPPLEMENT_ONCE: f64 = 0.08;
const SUPPLEMENT_UNANSWERED: f64 = 0.08;
/// Share of deliberately wrong appointments (an audit finding)...
const APPOINTMENT_SHIFT: f64 = 0.025;
/// ... of which this share is earlier than the legal due time, the rest later.
const APPOINTMENT_EARLIER: f64 = 0.3;
const APOLOGY_SHARE: f64 = 0.5;
/// Late share by level before the agency's factor: departments run longer, riskier procedures.
fn base_late(level: AgencyLevel) -> f64 {
    match level {
        AgencyLevel::Province | AgencyLevel::Ministry => 0.14,
        AgencyLevel::District => 0.11,
        AgencyLevel::Commune => 0.09,
    }
}

/// Start of the morning session, seconds after midnight: the calendar's default hours
/// (07:00-11:30, 13:30-17:00), which the counter slots below follow.
const MORNING_START: u32 = 7 * 3600;
/// End of the afternoon session (17:00).
const AFTERNOON_END: u32 = 17 * 3600;
/// One working day of working time (8 hours).
const WORKING_DAY_SECS: i64 = 8 * 3600;
/// Share of handovers that say how the step went (some systems leave it blank).
const STEP_OUTCOME_REPORTED: f64 = 0.92;
/// Share of late steps self-reported as on time (an audit finding).
const LATE_STEP_MISREPORTED: f64 = 0.03;

/// Chance that a step of a dossier of this fate runs over its allotment, before the
/// holding unit's pace: a dossier that ends late has slow steps, one that ends early rarely.
fn base_over(fate: Fate) -> f64 {
    match fate {
        Fate::Early => 0.02,
        Fate::Near | Fate::Withdrawn | Fate::Refused | Fate::Stopped => 0.05,
        Fate::Late => 0.35,
    }
}

/// Half-hour counter slots from 07:00 and their weights: busiest 08:00-10:00, lunch closed.
const COUNTER_SLOTS: [(u32, u32); 16] = [
    (7 * 60, 6),
    (7 * 60 + 30, 10),
    (8 * 60, 14),
    (8 * 60 + 30, 14),
    (9 * 60, 13),
    (9 * 60 + 30, 11),
    (10 * 60, 9),
    (10 * 60 + 30, 6),
    (11 * 60, 4),
    (13 * 60 + 30, 7),
    (14 * 60, 9),
    (14 * 60 + 30, 9),
    (15 * 60, 8),
    (15 * 60 + 30, 7),
    (16 * 60, 5),
    (16 * 60 + 30, 3),
];
/// Online submissions by hour on working days: office hours, and evenings at home.
const ONLINE_HOURS_WEEKDAY: [u32; 24] = [
    2, 1, 1, 1, 1, 2, 4, 8, 12, 13, 12, 9, 5, 7, 10, 10, 9, 7, 5, 6, 7, 6, 4, 3,
];
/// Online submissions by hour on days off: flatter, later.
const ONLINE_HOURS_DAY_OFF: [u32; 24] = [
    2, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 7, 6, 7, 8, 8, 8, 7, 8, 9, 8, 6, 4,
];

const SUPPLEMENT_REASONS: &[&str] = &[
    "Thành phần hồ sơ còn thiếu so với quy định",
    "Thông tin trong tờ khai không khớp với giấy tờ tùy thân",
    "Bản vẽ, sơ đồ chưa đúng quy cách",
    "Thiếu chữ ký, con dấu của người đề nghị",
    "Giấy tờ kèm theo đã hết hiệu lực",
    "Bản sao chưa được chứng thực theo quy định",
];
const REFUSAL_AT_RECEIPT_REASONS: &[&str] = &[
    "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan",
    "Yêu cầu không thuộc phạm vi thủ tục hành chính",
    "Người nộp hồ sơ không đủ điều kiện theo quy định",
    "Hồ sơ đã được giải quyết trước đó",
];
const REFUSAL_DURING_REASONS: &[&str] = &[
    "Kết quả xác minh cho thấy hồ sơ không đủ điều kiện giải quyết",
    "Thửa đất đang có tranh chấp",
    "Giấy tờ trong hồ sơ có dấu hiệu giả mạo",
    "Nội dung đề nghị không phù hợp với quy hoạch",
];
const APOLOGY_REASONS: &[&str] = &[
    "Hồ sơ cần xác minh thêm tại cơ quan liên quan",
    "Chờ ý kiến phối hợp của cơ quan liên quan",
    "Số lượng hồ sơ tăng đột biến",
    "Sự cố hệ thống phần mềm một cửa điện tử",
    "Cán bộ thụ lý nghỉ ốm đột xuất",
];
const STOP_REASONS: &[&str] = &[
    "Người yêu cầu đề nghị dừng giải quyết hồ sơ",
    "Cơ quan có thẩm quyền yêu cầu tạm dừng để xác minh",
    "Đối tượng của thủ tục không còn tồn tại",
    "Quá thời hạn bổ sung hồ sơ mà người yêu cầu không bổ sung",
];
const WITHDRAWAL_REASONS: &[&str] = &[
    "Công dân xin rút hồ sơ để điều chỉnh thông tin",
    "Không còn nhu cầu giải quyết",
    "Nộp nhầm thủ tục",
];
/// Survey criteria codes: five SIPAS elements, three criteria each (kept as data).
const CRITERIA: [&str; 15] = [
    "SIPAS.1.1",
    "SIPAS.1.2",
    "SIPAS.1.3",
    "SIPAS.2.1",
    "SIPAS.2.2",
    "SIPAS.2.3",
    "SIPAS.3.1",
    "SIPAS.3.2",
    "SIPAS.3.3",
    "SIPAS.4.1",
    "SIPAS.4.2",
    "SIPAS.4.3",
    "SIPAS.5.1",
    "SIPAS.5.2",
    "SIPAS.5.3",
];
const SOURCE_SYSTEM: &str = "motcua-sim";

fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..hi)
    }
}

fn at_secs(date: NaiveDate, secs: u32) -> NaiveDateTime {
    date.and_time(
        NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).expect("seconds within a day"),
    )
}

fn pick<'a, R: Rng + ?Sized>(rng: &mut R, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).expect("reason lists are not empty")
}

/// Decides from a dossier code, without a random draw, whether its applicant answers the
/// SIPAS survey, when, and whether the sheet names the dossier.
fn sipas_hash(code: &str) -> u64 {
    motcua_core::fold::stable_hash(code.as_bytes())
}

/// The code of a SIPAS answer sheet: the dossier's with `SP` before its sequence (a code of
/// the survey office's own numbering, never a dossier's).
fn sipas_code(code: &str) -> String {
    match code.rsplit_once('-') {
        Some((head, seq)) => format!("{head}-SP{seq}"),
        None => format!("{code}-SP0000"),
    }
}

/// The code of a rating sent under no dossier's code: the dossier's own with one more digit,
/// longer than any sequence the simulator numbers in a day (so no dossier has it).
fn orphan_code(code: &str) -> String {
    format!("{code}9")
}

/// Seconds from `base` to `t`, saturating: step times past `u32` are beyond any horizon.
fn offset(base: NaiveDateTime, t: NaiveDateTime) -> u32 {
    u32::try_from((t - base).num_seconds().max(0)).unwrap_or(u32::MAX)
}

/// Why the national portal refuses a sync.
const PORTAL_SYNC_ERRORS: &[&str] = &[
    "Mã thủ tục hành chính chưa được công bố trên Cổng",
    "Thiếu thông tin chủ hồ sơ",
    "Hết thời gian chờ kết nối",
];

/// Salt of the applicant's generator, shared by form 01 and a refusal at the counter.
const APPLICANT_SALT: u64 = 20_000;

/// A generator for the text of one step of one dossier.
fn step_rng(seed: u64, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ salt.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Salt of the generator shared by a supplement request and its answer (same documents).
fn supplement_salt(no: u8) -> u64 {
    10_000 + u64::from(no)
}

/// Piecewise map from processing time (working seconds, supplements excluded) to real time:
/// each answered supplement starts a new segment at the working instant processing resumed.
struct Timeline<'a> {
    cal: &'a WorkCalendar,
    segments: Vec<(i64, NaiveDateTime)>,
}

impl Timeline<'_> {
    fn real(&self, x: i64) -> NaiveDateTime {
        let &(start, real) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _)| x > *start || *start == 0)
            .expect("the first segment starts at zero");
        add_working(self.cal, real, x - start)
    }
}

/// The working instant `secs` working seconds after `t`.
fn add_working(cal: &WorkCalendar, t: NaiveDateTime, secs: i64) -> NaiveDateTime {
    cal.add_working(t, Duration::seconds(secs))
}

/// Working seconds in `[a, b)`.
fn working_secs(cal: &WorkCalendar, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    cal.working_between(a, b).num_seconds()
}

/// The last working day strictly before `d`.
fn prev_working_day(cal: &WorkCalendar, d: NaiveDate) -> NaiveDate {
    let mut n = d;
    loop {
        match n.pred_opt() {
            Some(p) => n = p,
            None => return NaiveDate::MIN,
        }
        if cal.is_working_day(n) {
            return n;
        }
    }
}

/// How much of `[a, b)` counts against a limit in `unit`, as the pipeline's clock measures
/// it: working time for working units, elapsed time for calendar days.
fn measure(cal: &WorkCalendar, unit: TimeUnit, a: NaiveDateTime, b: NaiveDateTime) -> Duration {
    match unit {
        TimeUnit::WorkingDays | TimeUnit::WorkingHours => cal.working_between(a, b),
        TimeUnit::CalendarDays => (b - a).max(Duration::zero()),
    }
}

/// `due` moved later by `by`, as the pipeline's clock extends it (the `EXTEND` policy).
fn extend(cal: &WorkCalendar, unit: TimeUnit, due: NaiveDateTime, by: Duration) -> NaiveDateTime {
    if by <= Duration::zero() {
        return due;
    }
    match unit {
        TimeUnit::WorkingDays | TimeUnit::WorkingHours => cal.reach_working(due, by),
        TimeUnit::CalendarDays => due + by,
    }
}

/// A unit's pace on process-control steps, fixed by its code (so a run's slow units stay
/// slow): most units keep to their allotments, some often run over, a few very often.
fn unit_pace(code: &str) -> f64 {
    // FNV-1a: stable across runs and platforms, unlike the standard hasher.
    let hash = code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    match (hash >> 17) % 100 {
        0..=54 => 0.55,
        55..=84 => 1.2,
        _ => 2.8,
    }
}

/// The (procedure, agency) pairs of one level and their popularity.
struct LevelPairs {
    /// Indices into the catalogue and the province's agencies.
    pairs: Vec<(u16, u16)>,
    /// Procedure weight times agency size.
    index: WeightedIndex<f64>,
}

/// Streams the events of a simulated province; see the crate documentation.
pub struct Simulator {
    config: SimConfig,
    province: Province,
    procedures: Vec<Procedure>,
    /// `Đề nghị ...` summaries, one per procedure, built once.
    summaries: Vec<String>,
    calendar: WorkCalendar,
    /// Local midnight of `start`: step times are seconds after it.
    base: NaiveDateTime,
    vietnam: FixedOffset,
    /// `start + days` in seconds: nothing at or after it is emitted.
    horizon: u64,
    /// 2025-07-01 00:00 local in seconds after `base` (negative when the run starts later).
    form_2025_from: i64,
    plan_rng: ChaCha8Rng,
    delivery_rng: ChaCha8Rng,
    /// Open dossiers, held-back and re-sent events, by delivery time.
    queue: DeliveryQueue<Item>,
    next_day: u32,
    /// Receipts are generated up to here (seconds after `base`).
    frontier: u64,
    /// Per level (as in `LEVEL_SHARES`), what can be asked of whom.
    pairs: Vec<LevelPairs>,
    level_index: WeightedIndex<f64>,
    counter_slots: WeightedIndex<u32>,
    online_weekday: WeightedIndex<u32>,
    online_day_off: WeightedIndex<u32>,
    /// Communes of each agency's area, for applicant addresses.
    communes_of: Vec<Vec<u16>>,
    day_seq: Vec<u32>,
    register_line: Vec<u32>,
    register_year: i32,
    stats: SimStats,
    finished: bool,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.config)
            .field("next_day", &self.next_day)
            .field("pending", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator for `config`, or every problem with it.
    pub fn new(config: SimConfig) -> Result<Simulator, ConfigError> {
        config.validate()?;
        let province = Province::generate(config.seed, &config.province);
        let procedures = catalogue(&config.province);
        let calendar = WorkCalendar::vietnam();
        let base = config.start.and_time(NaiveTime::MIN);
        let vietnam = FixedOffset::east_opt(7 * 3600).expect("valid offset");
        let cutoff = NaiveDate::from_ymd_opt(2025, 7, 1)
            .expect("valid date")
            .and_time(NaiveTime::MIN);

        let mut pairs = Vec::new();
        for (level, _) in LEVEL_SHARES {
            let mut list = Vec::new();
            let mut weights = Vec::new();
            for (pi, p) in procedures
                .iter()
                .enumerate()
                .filter(|(_, p)| p.level == level)
            {
                for (ai, a) in province.agencies.iter().enumerate() {
                    if handles(a, level, &p.field_code) {
                        list.push((pi as u16, ai as u16));
                        weights.push(p.weight * a.size);
                    }
                }
            }
            let index =
                WeightedIndex::new(&weights).expect("every level has procedures and agencies");
            pairs.push(LevelPairs { pairs: list, index });
        }

        let all_communes: Vec<u16> = (0..province.agencies.len())
            .filter(|&i| province.agencies[i].role == AgencyRole::Commune)
            .map(|i| i as u16)
            .collect();
        let communes_of = province
            .agencies
            .iter()
            .enumerate()
            .map(|(i, a)| match a.role {
                AgencyRole::Commune => vec![i as u16],
                AgencyRole::District => all_communes
                    .iter()
                    .copied()
                    .filter(|&c| province.agencies[usize::from(c)].parent == Some(i))
                    .collect(),
                AgencyRole::Department | AgencyRole::OneStopCentre => all_communes.clone(),
            })
            .collect();

        let summaries = procedures
            .iter()
            .map(|p| {
                let mut chars = p.name.chars();
                let first: String = chars
                    .next()
                    .into_iter()
                    .flat_map(char::to_lowercase)
                    .collect();
                format!("Đề nghị {first}{}", chars.as_str())
            })
            .collect();

        let mut plan_rng = ChaCha8Rng::seed_from_u64(config.seed);
        plan_rng.set_stream(2);
        let mut delivery_rng = ChaCha8Rng::seed_from_u64(config.seed);
        delivery_rng.set_stream(3);
        let agencies = province.agencies.len();
        Ok(Simulator {
            horizon: u64::from(config.days) * 86_400,
            form_2025_from: (cutoff - base).num_seconds(),
            summaries,
            calendar,
            base,
            vietnam,
            plan_rng,
            delivery_rng,
            queue: DeliveryQueue::new(),
            next_day: 0,
            frontier: 0,
            pairs,
            level_index: WeightedIndex::new(LEVEL_SHARES.map(|(_, w)| w)).expect("positive shares"),
            counter_slots: WeightedIndex::new(COUNTER_SLOTS.map(|(_, w)| w))
                .expect("positive weights"),
            online_weekday: WeightedIndex::new(ONLINE_HOURS_WEEKDAY).expect("positive weights"),
            online_day_off: WeightedIndex::new(ONLINE_HOURS_DAY_OFF).expect("positive weights"),
            communes_of,
            day_seq: vec![0; agencies],
            register_line: vec![0; agencies],
            register_year: config.start.year(),
            stats: SimStats::default(),
            finished: false,
            province,
            procedures,
            config,
        })
    }

    /// The configuration this simulator runs.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulated province.
    pub fn province(&self) -> &Province {
        &self.province
    }

    /// The procedure catalogue in use.
    pub fn procedures(&self) -> &[Procedure] {
        &self.procedures
    }

    /// The end of the run: no event at or after this instant is emitted.
    pub fn horizon(&self) -> Timestamp {
        self.timestamp(self.horizon)
    }

    /// Counters of the run so far.
    pub fn stats(&self) -> SimStats {
        let mut stats = self.stats.clone();
        stats.pending = self.queue.len();
        stats
    }

    fn timestamp(&self, secs: u64) -> Timestamp {
        let utc = self.base + Duration::seconds(secs as i64) - Duration::hours(7);
        DateTime::from_naive_utc_and_offset(utc, self.vietnam)
    }

    fn push(&mut self, key: u64, item: Item) {
        self.queue.push(key, item);
        self.stats.max_pending = self.stats.max_pending.max(self.queue.len());
    }

    /// Draws one day of receipts, plans each dossier and queues the plans.
    fn generate_day(&mut self) {
        let date = self.config.start + Duration::days(i64::from(self.next_day));
        if date.year() != self.register_year {
            // A new register book each year.
            self.register_year = date.year();
            self.register_line.iter_mut().for_each(|l| *l = 0);
        }
        let working = self.calendar.is_working_day(date);
        let count = if working {
            self.config.dossiers_per_day
        } else {
            self.config.dossiers_per_day / 10
        };
        let mut arrivals = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let rng = &mut self.plan_rng;
            let roll: f64 = rng.gen();
            let channel = if !working || roll < ONLINE_SHARE {
                Channel::Online
            } else if roll < ONLINE_SHARE + POSTAL_SHARE {
                Channel::Postal
            } else {
                Channel::InPerson
            };
            let at = match channel {
                Channel::Online => {
                    let hours = if working {
                        &self.online_weekday
                    } else {
                        &self.online_day_off
                    };
                    let hour = hours.sample(rng) as u32;
                    at_secs(date, hour * 3600 + rng.gen_range(0..60) * 60)
                }
                // Postal dossiers reach the counter with the post, in working hours.
                Channel::InPerson | Channel::Postal => {
                    let (slot, _) = COUNTER_SLOTS[self.counter_slots.sample(rng)];
                    at_secs(date, (slot + rng.gen_range(0..30)) * 60)
                }
            };
            let level = self.level_index.sample(rng);
            let level = &self.pairs[level];
            let (procedure, agency) = level.pairs[level.index.sample(rng)];
            arrivals.push(Arrival {
                at,
                agency,
                procedure,
                channel,
            });
        }
        // Sequence numbers follow the order of receipt within the day.
        arrivals.sort_by_key(|a| a.at);
        self.day_seq.iter_mut().for_each(|s| *s = 0);
        let yymmdd = date.format("%y%m%d").to_string();
        let mut national_seq = 0u32;
        for arrival in arrivals {
            let ai = usize::from(arrival.agency);
            self.day_seq[ai] += 1;
            let code = format!(
                "{}-{yymmdd}-{:04}",
                self.province.agencies[ai].code, self.day_seq[ai]
            );
            let national = self.plan_rng.gen_bool(0.3).then(|| {
                national_seq += 1;
                format!("G22.99-{yymmdd}-{national_seq:06}").into_boxed_str()
            });
            let plan = self.plan(arrival, code.into_boxed_str(), national);
            let first = u64::from(plan.steps[0].at);
            self.stats.dossiers += 1;
            self.stats.open_dossiers += 1;
            self.push(first, Item::Dossier(Box::new(plan)));
        }
        self.next_day += 1;
        self.stats.days_generated = self.next_day;
        self.frontier = u64::from(self.next_day) * 86_400;
    }

    /// Draws the whole life of one dossier.
    fn plan(&mut self, arrival: Arrival, code: Box<str>, national: Option<Box<str>>) -> Plan {
        let cal = &self.calendar;
        let rng = &mut self.plan_rng;
        let agency = &self.province.agencies[usize::from(arrival.agency)];
        let procedure = &self.procedures[usize::from(arrival.procedure)];
        let t0 = arrival.at;
        let seed: u64 = rng.gen();
        let delivery = {
            let r: f64 = rng.gen();
            match arrival.channel {
                Channel::InPerson if r < 0.8 => Delivery::Counter,
                Channel::InPerson => Delivery::Post,
                Channel::Online if r < 0.6 => Delivery::Online,
                Channel::Online if r < 0.8 => Delivery::Post,
                Channel::Online => Delivery::Counter,
                Channel::Postal if r < 0.9 => Delivery::Post,
                Channel::Postal => Delivery::Counter,
            }
        };
        let mut plan = Plan {
            seed,
            code,
            national,
            agency: arrival.agency,
            procedure: arrival.procedure,
            channel: arrival.channel,
            delivery,
            appointment: 0,
            new_appointment: 0,
            register_line: 0,
            late: false,
            steps: Vec::new(),
            next: 0,
        };
        let mut steps: Vec<(NaiveDateTime, What)> = Vec::with_capacity(12);

        if rng.gen_bool(REFUSED_AT_RECEIPT) {
            self.stats.refused_at_receipt += 1;
            plan.steps = vec![Step {
                at: offset(self.base, t0),
                what: What::RefusedAtReceipt,
            }];
            return plan;
        }
        let ai = usize::from(arrival.agency);
        self.register_line[ai] += 1;
        plan.register_line = self.register_line[ai];
        steps.push((t0, What::Received));
        // Synced to the national portal within half an hour of the receipt: nineteen
        // dossiers in twenty; the portal refuses one sync in thirty, and half of those are
        // sent again, and taken, the next day. Decided from the code (no draw), so the rest
        // of the stream is unchanged.
        let hs = sipas_hash(&format!("{}#sync", plan.code));
        if !hs.is_multiple_of(20) {
            let at = t0 + Duration::seconds(60 + (hs >> 8) as i64 % 1800);
            let accepted = !(hs >> 24).is_multiple_of(30);
            steps.push((at, What::PortalSynced { accepted }));
            if !accepted && (hs >> 40).is_multiple_of(2) {
                let again = at + Duration::days(1);
                steps.push((again, What::PortalSynced { accepted: true }));
            }
        }

        // The legal due time, as the processor computes it from the catalogue; counting
        // starts at the next working instant (an online receipt at night: the next morning).
        let limit = procedure.time_limit;
        let t0w = cal.next_working_start(t0);
        let legal = cal.due_local(t0, limit, &procedure.rule);
        let allowed = working_secs(cal, t0w, legal).max(3600);

        // The appointment: the legal due time to the minute, except a few deliberately wrong
        // ones (a real audit finding), more often later (the agency gives itself time) than
        // earlier.
        let mut appointment = legal;
        let shift: f64 = rng.gen();
        if shift < APPOINTMENT_SHIFT {
            // Due times lie in working hours (or at closing), so the same time on the
            // working day before is one working day earlier.
            let earlier = prev_working_day(cal, legal.date()).and_time(legal.time());
            let later_days = if rng.gen_bool(0.7) { 1 } else { 2 };
            appointment = if shift < APPOINTMENT_SHIFT * APPOINTMENT_EARLIER
                && earlier > t0
                && working_secs(cal, t0w, earlier) >= 2 * 3600
            {
                earlier
            } else {
                cal.reach_working(legal, Duration::seconds(later_days * WORKING_DAY_SECS))
            };
            self.stats.planned.appointment_shifted += 1;
        }

        // Fate.
        let p_late = (base_late(agency.level) * agency.late_factor).min(0.6);
        let r: f64 = rng.gen();
        let mut fate = if r < WITHDRAWN {
            Fate::Withdrawn
        } else if r < WITHDRAWN + REFUSED_DURING {
            Fate::Refused
        } else if r < WITHDRAWN + REFUSED_DURING + STOPPED {
            Fate::Stopped
        } else if r < WITHDRAWN + REFUSED_DURING + STOPPED + p_late {
            Fate::Late
        } else if r < WITHDRAWN + REFUSED_DURING + STOPPED + p_late + EARLY {
            Fate::Early
        } else {
            Fate::Near
        };

        // Supplement requests come early in processing (the desk checks the dossier first) and
        // pause the clock: the real timeline stretches by each wait, and so does the due time.
        let requests = {
            let r: f64 = rng.gen();
            if r < SUPPLEMENT_TWICE {
                2
            } else if r < SUPPLEMENT_TWICE + SUPPLEMENT_ONCE {
                1
            } else {
                0
            }
        };
        match requests {
            1 => self.stats.planned.supplement_once += 1,
            2 => self.stats.planned.supplement_twice += 1,
            _ => {}
        }
        let mut timeline = Timeline {
            cal,
            segments: vec![(0, t0w)],
        };
        // Processing time after which nothing happens (an unanswered request).
        let mut cut: Option<i64> = None;
        let mut last_request = 0i64;
        // Answered waits, [request, supplement received].
        let mut waits: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::with_capacity(2);
        for no in 1..=requests {
            let lo = last_request + 60;
            let hi = (allowed as f64 * 0.1 * f64::from(no)) as i64;
            let at = uniform(rng, lo, hi).max(lo);
            last_request = at;
            let asked = timeline.real(at);
            steps.push((asked, What::SupplementRequested(no)));
            if rng.gen_bool(SUPPLEMENT_UNANSWERED) {
                self.stats.planned.supplement_unanswered += 1;
                cut = Some(at);
                break;
            }
            let day = asked.date() + Duration::days(rng.gen_range(1..=10));
            let back = match arrival.channel {
                Channel::Online => at_secs(day, rng.gen_range(6 * 3600..23 * 3600)),
                Channel::InPerson | Channel::Postal => {
                    let day = if cal.is_working_day(day) {
                        day
                    } else {
                        cal.next_working_day(day)
                    };
                    let (slot, _) = COUNTER_SLOTS[self.counter_slots.sample(rng)];
                    at_secs(day, (slot + rng.gen_range(0..30)) * 60)
                }
            };
            steps.push((back, What::SupplementReceived(no)));
            waits.push((asked, back));
            timeline.segments.push((at, cal.next_working_start(back)));
        }

        // The due time the processor will hold the dossier to: the legal one, extended by
        // every closed wait measured in the limit's unit (the EXTEND policy).
        let mut due = legal;
        for &(asked, back) in &waits {
            due = extend(cal, limit.unit, due, measure(cal, limit.unit, asked, back));
        }
        // Processing time (working time after t0w, waits excluded) of a real instant after
        // the last wait; every processing time below `floor` may precede a wait.
        let waited: i64 = waits.iter().map(|&(a, b)| working_secs(cal, a, b)).sum();
        let processing = |t: NaiveDateTime| working_secs(cal, t0w, t) - waited;
        let floor = last_request + 600;
        let p_due = processing(due).max(floor + 600);
        let due_day = due.date();
        let p_day = processing(at_secs(due_day, MORNING_START)).min(p_due);
        let p_prev_day =
            processing(at_secs(prev_working_day(cal, due_day), MORNING_START)).min(p_day);

        // End of processing, in processing time. Near: on the due date (before the due
        // time) or the working day before.
        let near = |rng: &mut ChaCha8Rng| -> i64 {
            let day_lo = p_day.max(floor);
            let prev_lo = p_prev_day.max(floor);
            if day_lo + 60 < p_due && (prev_lo >= day_lo || rng.gen_bool(0.6)) {
                uniform(rng, day_lo, p_due)
            } else if prev_lo < day_lo {
                uniform(rng, prev_lo, day_lo)
            } else {
                uniform(rng, floor.min(p_due - 60), p_due)
            }
        };
        let mut lateness = 0;
        let end = match fate {
            Fate::Early => {
                let x = (p_due as f64 * rng.gen_range(0.15..0.65)) as i64;
                // Early means a date before the due date: short procedures may leave none.
                let cap = p_day.min(p_due) - 60;
                if cap > floor {
                    x.clamp(floor, cap)
                } else {
                    fate = Fate::Near;
                    near(rng)
                }
            }
            Fate::Near => near(rng),
            Fate::Late => {
                // Lateness scales with the limit (a same-day certification is hours late, a
                // land title weeks), with a floor so short procedures still slip a little.
                let r: f64 = rng.gen();
                let factor = if r < 0.45 {
                    rng.gen_range(0.02..0.25)
                } else if r < 0.8 {
                    rng.gen_range(0.25..0.6)
                } else {
                    rng.gen_range(0.6..1.5)
                };
                let min = uniform(rng, 10 * 60, 4 * 3600);
                lateness = ((allowed as f64 * factor) as i64)
                    .max(min)
                    .min(15 * WORKING_DAY_SECS);
                p_due + lateness
            }
            Fate::Withdrawn | Fate::Refused | Fate::Stopped => {
                (p_due as f64 * rng.gen_range(0.1..0.9)) as i64
            }
        }
        .max(floor);
        // What the processor will see, checked against the real instants: a boundary case
        // that lands the other side of the due time counts as what it is.
        if cut.is_none() {
            let real_end = timeline.real(end);
            fate = match fate {
                Fate::Early | Fate::Near | Fate::Late if real_end > due => Fate::Late,
                Fate::Late => Fate::Near,
                Fate::Early if real_end.date() >= due_day => Fate::Near,
                other => other,
            };
        }
        plan.late = fate == Fate::Late || requests > 1;

        // The process-control slip: one-stop -> [leadership assigning ->] specialist
        // [-> co-processing unit] -> leadership [-> specialist issuing] -> one-stop; a
        // commune's same-day certification may go back from the civil servant directly.
        // Weights are each holder's share of the allotted time.
        let units = &agency.units;
        let matching: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].fields.contains(&procedure.field_code))
            .collect();
        let specialist = matching
            .choose(rng)
            .copied()
            .unwrap_or_else(|| rng.gen_range(0..units.len().max(1)));
        let specialist_ref = SPECIALIST + specialist as u8;
        let mut chain: Vec<(UnitRef, f64)> = vec![(ONE_STOP, 0.08)];
        if agency.role == AgencyRole::Department && rng.gen_bool(0.7) {
            chain.push((LEADERSHIP, 0.04));
        }
        chain.push((specialist_ref, 0.55));
        if units.len() > 1 && rng.gen_bool(0.25) {
            let other = (specialist + rng.gen_range(1..units.len())) % units.len();
            chain.push((SPECIALIST + other as u8, 0.15));
        }
        let same_day = limit.unit == TimeUnit::WorkingDays && limit.amount <= 1;
        if !(agency.level == AgencyLevel::Commune && same_day && rng.gen_bool(0.4)) {
            chain.push((LEADERSHIP, 0.12));
            if rng.gen_bool(0.3) {
                chain.push((specialist_ref, 0.05));
            }
        }
        chain.push((ONE_STOP, 0.0));
        let holders = chain.len() - 1;

        // Allotments: the limit in working hours (a calendar-day limit: the working hours up
        // to its legal due time), shared by weight.
        let budget_hours = match limit.unit {
            TimeUnit::WorkingDays => i64::from(limit.amount) * WORKING_DAY_SECS / 3600,
            TimeUnit::WorkingHours => i64::from(limit.amount),
            TimeUnit::CalendarDays => (allowed + 1800) / 3600,
        }
        .max(1) as f64;
        let total_weight: f64 = chain[..holders].iter().map(|c| c.1).sum();
        let allotted: Vec<u16> = chain[..holders]
            .iter()
            .map(|c| {
                (budget_hours * c.1 / total_weight)
                    .round()
                    .clamp(1.0, 3650.0) as u16
            })
            .collect();

        let tail = uniform(rng, 300, 3600).min(end / 10);
        let span = match fate {
            // The slip runs as if the dossier would finish; the withdrawal, refusal or stop
            // at `end` cuts it wherever it has got to.
            Fate::Withdrawn | Fate::Refused | Fate::Stopped => {
                (p_due as f64 * rng.gen_range(0.6..1.0)) as i64
            }
            Fate::Early | Fate::Near | Fate::Late => end - tail,
        }
        .max(holders as i64);
        let durations = step_durations(rng, agency, &chain[..holders], &allotted, fate, span);
        let mut handed_at = Vec::with_capacity(holders);
        let mut acc = 0i64;
        for (i, d) in durations.iter().enumerate() {
            acc = if i + 1 == holders { span } else { acc + d }.max(acc + 1);
            handed_at.push(acc);
        }
        // Terminal fates end at `end`; an unanswered supplement stops everything after it.
        let stop_at = match fate {
            Fate::Withdrawn | Fate::Refused | Fate::Stopped => end,
            _ => i64::MAX,
        }
        .min(cut.unwrap_or(i64::MAX));
        let mut held_from = t0;
        for (i, &at) in handed_at.iter().enumerate() {
            if at >= stop_at {
                break;
            }
            let handed = timeline.real(at);
            // The step's verdict by the processor's rule: due = the allotment counted from
            // the previous row, extended by the waits inside the step.
            let hours = TimeLimit {
                amount: i32::from(allotted[i]),
                unit: TimeUnit::WorkingHours,
            };
            let mut step_due = cal.due_local(held_from, hours, &DueRule::default());
            for &(asked, back) in &waits {
                let (a, b) = (asked.max(held_from), back.min(handed));
                if b > a {
                    step_due = cal.reach_working(step_due, cal.working_between(a, b));
                }
            }
            let truth = if handed > step_due {
                StepOutcome::Late
            } else if handed.date() < step_due.date() {
                StepOutcome::Early
            } else {
                StepOutcome::OnTime
            };
            let reported = if truth == StepOutcome::Late && rng.gen_bool(LATE_STEP_MISREPORTED) {
                StepOutcome::OnTime
            } else {
                truth
            };
            let outcome = rng.gen_bool(STEP_OUTCOME_REPORTED).then_some(reported);
            steps.push((
                handed,
                What::Handover {
                    step: (i + 1) as u8,
                    from: chain[i].0,
                    to: chain[i + 1].0,
                    allotted: allotted[i],
                    outcome,
                },
            ));
            held_from = handed;
        }

        if cut.is_none() {
            match fate {
                Fate::Withdrawn => {
                    self.stats.planned.withdrawn += 1;
                    steps.push((timeline.real(end), What::Withdrawn));
                }
                Fate::Refused | Fate::Stopped => {
                    let at = timeline.real(end);
                    // Form 05 exists only from 1/7/2025; before, the agency refuses instead.
                    let stop = fate == Fate::Stopped
                        && i64::from(offset(self.base, at)) >= self.form_2025_from;
                    if stop {
                        self.stats.planned.stopped += 1;
                        steps.push((at, What::Stopped));
                    } else {
                        self.stats.planned.refused_in_processing += 1;
                        steps.push((at, What::RefusedDuring));
                    }
                }
                Fate::Early | Fate::Near | Fate::Late => {
                    match fate {
                        Fate::Early => self.stats.planned.early += 1,
                        Fate::Near => self.stats.planned.near_appointment += 1,
                        _ => self.stats.planned.late += 1,
                    }
                    if fate == Fate::Late && rng.gen_bool(APOLOGY_SHARE) {
                        self.stats.planned.apologised += 1;
                        // Placed in processing time, so a dossier waiting for a supplement
                        // (clock paused, deadline extended) is not apologised for meanwhile.
                        let before = uniform(rng, 3600, 2 * WORKING_DAY_SECS);
                        let apology = timeline.real((p_due - before).max(60));
                        let needed = (lateness + WORKING_DAY_SECS - 1) / WORKING_DAY_SECS;
                        // Most new dates are kept; some are missed again.
                        let days = if rng.gen_bool(0.8) {
                            needed + rng.gen_range(0..=2)
                        } else {
                            needed - 1
                        };
                        let mut new = timeline.real(p_due + days.max(1) * WORKING_DAY_SECS);
                        // After the appointment written on form 01, even a late one.
                        if new <= appointment {
                            new =
                                cal.reach_working(appointment, Duration::seconds(WORKING_DAY_SECS));
                        }
                        plan.new_appointment = offset(self.base, new);
                        steps.push((apology, What::Apology));
                    }
                    let ready = timeline.real(end);
                    let approved = rng.gen_bool(0.97);
                    let electronic = match delivery {
                        Delivery::Online => rng.gen_bool(0.9),
                        Delivery::Counter | Delivery::Post => rng.gen_bool(0.52),
                    };
                    steps.push((
                        ready,
                        What::ResultReady {
                            approved,
                            electronic,
                        },
                    ));
                    let returned = match delivery {
                        Delivery::Online => ready + Duration::seconds(rng.gen_range(60..7200)),
                        Delivery::Post => {
                            let mut day = ready.date() + Duration::days(rng.gen_range(1..=3));
                            if day.weekday() == chrono::Weekday::Sun {
                                day += Duration::days(1);
                            }
                            at_secs(day, rng.gen_range(8 * 3600..17 * 3600 + 1800))
                        }
                        Delivery::Counter => {
                            let days = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][rng.gen_range(0..10)];
                            let ready_secs =
                                (ready - at_secs(ready.date(), 0)).num_seconds() as u32;
                            if days == 0
                                && cal.is_working_day(ready.date())
                                && ready_secs + 1200 < AFTERNOON_END
                            {
                                let t = ready
                                    + Duration::seconds(
                                        rng.gen_range(600..(AFTERNOON_END - ready_secs).into()),
                                    );
                                cal.next_working_start(t)
                            } else {
                                let mut day = cal.next_working_day(ready.date());
                                for _ in 1..days.max(1) {
                                    day = cal.next_working_day(day);
                                }
                                let (slot, _) = COUNTER_SLOTS[self.counter_slots.sample(rng)];
                                at_secs(day, (slot + rng.gen_range(0..30)) * 60)
                            }
                        }
                    };
                    let returned = returned.max(ready + Duration::seconds(60));
                    steps.push((returned, What::ResultReturned));
                    // About one applicant in twelve answers the SIPAS survey within two
                    // weeks of the return, two in three of them naming the dossier. Decided
                    // from the code (no draw), so the rest of the stream is unchanged.
                    let h = sipas_hash(&plan.code);
                    if h.is_multiple_of(12) {
                        let at = at_secs(
                            returned.date() + Duration::days((h >> 8) as i64 % 14 + 1),
                            (8 * 3600 + (h >> 16) % (12 * 3600)) as u32,
                        );
                        steps.push((
                            at,
                            What::Sipas {
                                named: !(h >> 40).is_multiple_of(3),
                            },
                        ));
                    }
                    // Feedback or a complaint (PAKN) within three weeks of the return:
                    // one applicant in fifty, one in eight of those whose dossier was late.
                    // Answered nine times in ten, one answer in six after its due time.
                    // Decided from the code, as the SIPAS sheets are.
                    let hf = sipas_hash(&format!("{}#pakn", plan.code));
                    if hf.is_multiple_of(if plan.late { 8 } else { 50 }) {
                        let received = at_secs(
                            returned.date() + Duration::days((hf >> 8) as i64 % 21 + 1),
                            (8 * 3600 + (hf >> 16) % (9 * 3600)) as u32,
                        );
                        let category: u8 = match (hf >> 32) % 10 {
                            _ if plan.late && (hf >> 36).is_multiple_of(2) => 2,
                            0..=5 => 0,
                            6..=7 => 1,
                            _ => 2,
                        };
                        // Complaints have 30 days (Law on Complaints), feedback 15.
                        let due_days: u8 = if category == 2 { 30 } else { 15 };
                        let feedback = |answered| What::Feedback {
                            answered,
                            received: offset(self.base, received),
                            due_days,
                            category,
                        };
                        steps.push((received, feedback(false)));
                        if !(hf >> 40).is_multiple_of(10) {
                            let days = if (hf >> 44).is_multiple_of(6) {
                                i64::from(due_days) + (hf >> 48) as i64 % 5 + 1
                            } else {
                                1 + (hf >> 48) as i64 % (i64::from(due_days) - 1)
                            };
                            let at = received + Duration::days(days)
                                - Duration::seconds((hf >> 52) as i64 % 3600);
                            steps.push((at, feedback(true)));
                        }
                    }
                    if rng.gen_bool(self.config.survey_rate) {
                        let r: f64 = rng.gen();
                        let channel = match delivery {
                            Delivery::Counter if r < 0.45 => SurveyChannel::Kiosk,
                            Delivery::Counter if r < 0.6 => SurveyChannel::Paper,
                            Delivery::Counter | Delivery::Post if r < 0.8 => SurveyChannel::Sms,
                            Delivery::Online if r < 0.3 => SurveyChannel::Sms,
                            _ => SurveyChannel::Portal,
                        };
                        let at = match channel {
                            SurveyChannel::Kiosk | SurveyChannel::Paper => {
                                returned + Duration::seconds(rng.gen_range(60..900))
                            }
                            SurveyChannel::Sms | SurveyChannel::Portal => {
                                match rng.gen_range(0..=5) {
                                    0 => returned + Duration::seconds(rng.gen_range(600..6 * 3600)),
                                    d => {
                                        // Some answer weeks later (a reminder SMS, a portal
                                        // visit): about 2 % of ratings, five weeks after the
                                        // return, drawn from values already drawn so the
                                        // rest of the stream is unchanged.
                                        let d = if d == 5 && r > 0.9 { 35 } else { d };
                                        at_secs(
                                            returned.date() + Duration::days(d),
                                            rng.gen_range(6 * 3600..22 * 3600),
                                        )
                                    }
                                }
                            }
                        };
                        // About one portal rating in a hundred names a code motcua never
                        // receives (again from a value already drawn).
                        let orphan = r > 0.99;
                        steps.push((at, What::Survey { channel, orphan }));
                    }
                }
            }
        }

        plan.appointment = offset(self.base, appointment);
        // Stable sort: the receipt stays first, and a step never precedes its cause at equal times.
        steps.sort_by_key(|s| s.0);
        plan.steps = steps
            .into_iter()
            .map(|(at, what)| Step {
                at: offset(self.base, at),
                what,
            })
            .collect();
        plan
    }

    fn unit_code(agency: &Agency, unit: UnitRef) -> &str {
        match unit {
            ONE_STOP => &agency.one_stop,
            LEADERSHIP => &agency.leadership,
            n => agency
                .units
                .get(usize::from(n - SPECIALIST))
                .map_or(&agency.leadership, |u| &u.code),
        }
    }

    /// The applicant of a dossier: drawn from the dossier's seed, so the receipt and a
    /// refusal at the counter name the same person.
    fn applicant(&self, plan: &Plan, rng: &mut ChaCha8Rng) -> motcua_core::event::Applicant {
        let agency = &self.province.agencies[usize::from(plan.agency)];
        let procedure = &self.procedures[usize::from(plan.procedure)];
        let communes = &self.communes_of[usize::from(plan.agency)];
        let commune = communes
            .choose(rng)
            .map(|&c| &self.province.agencies[usize::from(c)]);
        let locality = match commune {
            Some(c) => {
                let district = c.parent.map_or(agency, |d| &self.province.agencies[d]);
                Locality {
                    commune: &c.place,
                    district: &district.place,
                    province: &self.province.name,
                    urban: c.urban,
                }
            }
            None => Locality {
                commune: &agency.place,
                district: &agency.place,
                province: &self.province.name,
                urban: true,
            },
        };
        names::applicant(
            rng,
            ApplicantProfile {
                business_share: procedure.business_share,
                id_prefix: &self.province.id_prefix,
                locality,
            },
        )
    }

    fn missing_documents(&self, plan: &Plan, no: u8) -> Vec<SubmittedDocument> {
        let mut rng = step_rng(plan.seed, supplement_salt(no));
        let docs = &self.procedures[usize::from(plan.procedure)].documents;
        let n = rng.gen_range(1..=docs.len().min(2));
        docs.choose_multiple(&mut rng, n)
            .map(|d| SubmittedDocument {
                name: d.name.clone(),
                kind: if plan.channel == Channel::Online {
                    DocumentKind::Electronic
                } else {
                    d.kind
                },
                count: d.count,
            })
            .collect()
    }

    /// Builds the event of step `index` of `plan`.
    fn materialise(&self, plan: &Plan, index: usize) -> DossierEvent {
        let step = plan.steps[index];
        let agency = &self.province.agencies[usize::from(plan.agency)];
        let procedure = &self.procedures[usize::from(plan.procedure)];
        // The desk officers who receive: the centre's for departments, the agency's own otherwise.
        let desk = if agency.role == AgencyRole::Department {
            self.province.centre()
        } else {
            agency
        };
        let occurred_at = self.timestamp(u64::from(step.at));
        let form_set = if i64::from(step.at) >= self.form_2025_from {
            FormSet::Tt03_2025
        } else {
            FormSet::Tt01_2018
        };
        let kind = match step.what {
            What::Received => EventKind::Received,
            What::RefusedAtReceipt | What::RefusedDuring => EventKind::Refused,
            What::Handover { .. } => EventKind::Handover,
            What::SupplementRequested(_) => EventKind::SupplementRequested,
            What::SupplementReceived(_) => EventKind::SupplementReceived,
            What::Apology => EventKind::Apology,
            What::Withdrawn => EventKind::Withdrawn,
            What::Stopped => EventKind::ProcessingStopped,
            What::ResultReady { .. } => EventKind::ResultReady,
            What::ResultReturned => EventKind::ResultReturned,
            What::Survey { .. } => EventKind::Survey,
            What::Sipas { .. } => EventKind::SipasResponse,
            What::PortalSynced { .. } => EventKind::PortalSynced,
            What::Feedback { .. } => EventKind::Feedback,
        };
        let mut e = DossierEvent::envelope(
            format!("{}/{}", plan.code, index + 1),
            &*plan.code,
            agency.code.as_str(),
            occurred_at,
            form_set,
            kind,
        );
        e.national_dossier_code = plan.national.as_deref().map(str::to_string);
        e.source_system = Some(SOURCE_SYSTEM.to_string());
        let mut rng = step_rng(plan.seed, index as u64);
        match step.what {
            What::Received => {
                let applicant = self.applicant(plan, &mut step_rng(plan.seed, APPLICANT_SALT));
                let electronic = plan.channel == Channel::Online;
                let documents = procedure
                    .documents
                    .iter()
                    .map(|d| SubmittedDocument {
                        name: d.name.clone(),
                        kind: if electronic {
                            DocumentKind::Electronic
                        } else {
                            d.kind
                        },
                        count: d.count,
                    })
                    .collect();
                let year = occurred_at.year();
                e.received = Some(DossierReceived {
                    procedure_code: procedure.code.clone(),
                    procedure_name: procedure.name.clone(),
                    field_code: procedure.field_code.clone(),
                    agency_level: agency.level,
                    channel: plan.channel,
                    applicant,
                    summary: self.summaries[usize::from(plan.procedure)].clone(),
                    documents,
                    sets: if rng.gen_bool(0.08) { 2 } else { 1 },
                    time_limit: procedure.time_limit,
                    appointment_at: self.timestamp(u64::from(plan.appointment)),
                    result_delivery: plan.delivery,
                    register_book: Some(format!("Sổ theo dõi hồ sơ năm {year}")),
                    register_line: Some(plan.register_line as i32),
                    receiving_officer: pick_owned(&mut rng, &desk.officers),
                    fee_paid: procedure.fee.then(|| rng.gen_bool(0.96)),
                    // Online dossiers arrive digitised; at the counter the officer scans
                    // about half (drawn last, so the other fields are as before).
                    digitised: Some(rng.gen_bool(if electronic { 0.97 } else { 0.55 })),
                });
            }
            What::RefusedAtReceipt => {
                let applicant = self.applicant(plan, &mut step_rng(plan.seed, APPLICANT_SALT));
                e.refused = Some(Refused {
                    stage: RefusalStage::AtReceipt,
                    reason: pick(&mut rng, REFUSAL_AT_RECEIPT_REASONS).to_string(),
                    officer: pick_owned(&mut rng, &desk.officers),
                    procedure_code: Some(procedure.code.clone()),
                    applicant: rng.gen_bool(0.85).then_some(applicant),
                });
            }
            What::RefusedDuring => {
                e.refused = Some(Refused {
                    stage: RefusalStage::DuringProcessing,
                    reason: pick(&mut rng, REFUSAL_DURING_REASONS).to_string(),
                    officer: pick_owned(&mut rng, &agency.officers),
                    procedure_code: Some(procedure.code.clone()),
                    applicant: None,
                });
            }
            What::Handover {
                step,
                from,
                to,
                allotted,
                outcome,
            } => {
                let note = match (to, outcome) {
                    (_, Some(StepOutcome::Late)) => "Chậm so với thời gian quy định của bước",
                    (ONE_STOP, _) => "Chuyển trả kết quả cho Bộ phận Một cửa",
                    (LEADERSHIP, _) if from == ONE_STOP => "Chuyển lãnh đạo phân công xử lý",
                    (LEADERSHIP, _) => "Trình lãnh đạo xem xét, ký duyệt",
                    _ if from == LEADERSHIP && step == 2 => "Phân công chuyên viên thụ lý",
                    _ if from == LEADERSHIP => "Chuyển phát hành kết quả",
                    _ if from == ONE_STOP => "Chuyển hồ sơ để thẩm định, xử lý",
                    _ => "Chuyển phối hợp xử lý",
                };
                e.handover = Some(Handover {
                    step: i32::from(step),
                    from_unit: Self::unit_code(agency, from).to_string(),
                    to_unit: Self::unit_code(agency, to).to_string(),
                    step_outcome: outcome,
                    allotted: Some(TimeLimit {
                        amount: i32::from(allotted),
                        unit: TimeUnit::WorkingHours,
                    }),
                    note: Some(note.to_string()),
                });
            }
            What::SupplementRequested(no) => {
                e.supplement_requested = Some(SupplementRequested {
                    request_no: format!("BS{no}-{}", plan.code),
                    reason: pick(&mut rng, SUPPLEMENT_REASONS).to_string(),
                    missing_documents: self.missing_documents(plan, no),
                    guiding_officer: pick_owned(&mut rng, &desk.officers),
                });
            }
            What::SupplementReceived(no) => {
                e.supplement_received = Some(SupplementReceived {
                    request_no: format!("BS{no}-{}", plan.code),
                    documents: self.missing_documents(plan, no),
                });
            }
            What::Apology => {
                e.apology = Some(Apology {
                    original_appointment_at: self.timestamp(u64::from(plan.appointment)),
                    new_appointment_at: self.timestamp(u64::from(plan.new_appointment)),
                    reason: pick(&mut rng, APOLOGY_REASONS).to_string(),
                    signed_by: agency.head.clone(),
                });
            }
            What::Withdrawn => {
                e.withdrawn = Some(Withdrawn {
                    reason: rng
                        .gen_bool(0.7)
                        .then(|| pick(&mut rng, WITHDRAWAL_REASONS).to_string()),
                });
            }
            What::Stopped => {
                e.processing_stopped = Some(ProcessingStopped {
                    reason: pick(&mut rng, STOP_REASONS).to_string(),
                    signed_by: agency.head.clone(),
                });
            }
            What::ResultReady {
                approved,
                electronic,
            } => {
                let number = rng.gen_range(1..10_000);
                e.result_ready = Some(ResultReady {
                    decision: if approved {
                        Decision::Approved
                    } else {
                        Decision::Denied
                    },
                    electronic_result: electronic,
                    document_number: rng.gen_bool(0.85).then(|| {
                        format!(
                            "{number}/{}/{}",
                            occurred_at.year(),
                            procedure.result_symbol
                        )
                    }),
                });
            }
            What::ResultReturned => {
                e.result_returned = Some(ResultReturned {
                    delivery: plan.delivery,
                });
            }
            What::Sipas { named } => {
                e.dossier_code = sipas_code(&plan.code);
                e.event_id = format!("{}/1", e.dossier_code);
                e.national_dossier_code = None;
                // Satisfied or not per criterion: lateness most, then a supplement request,
                // then the unit (the same units as the ratings), results most sensitive to
                // lateness, feedback handling a little lower everywhere.
                let supplemented = plan
                    .steps
                    .iter()
                    .any(|s| matches!(s.what, What::SupplementRequested(_)));
                let mut p: f64 = if plan.late { 0.62 } else { 0.9 };
                if supplemented {
                    p -= 0.08;
                }
                match plan.agency % 8 {
                    0 | 5 => p -= 0.12,
                    3 => p += 0.05,
                    _ => {}
                }
                let mut answers = Vec::new();
                for (i, &element) in SipasElement::ALL.iter().enumerate() {
                    let q: f64 = match element {
                        SipasElement::Results if plan.late => p - 0.1,
                        SipasElement::Feedback => p - 0.05,
                        _ => p,
                    };
                    for k in 1..=rng.gen_range(2..=5) {
                        let satisfaction = if rng.gen_bool(q.clamp(0.05, 0.98)) {
                            rng.gen_range(4..=5)
                        } else {
                            rng.gen_range(1..=3)
                        };
                        answers.push(SipasAnswer {
                            element,
                            criterion: format!("SIPAS.{}.{k}", i + 1),
                            assessment: (satisfaction + rng.gen_range(-1..=1)).clamp(1, 5),
                            satisfaction,
                            expectation: rng.gen_range(4..=5),
                        });
                    }
                }
                e.sipas = Some(SipasResponse {
                    campaign: format!("SIPAS-{}", e.occurred_at.year()),
                    channel: if rng.gen_bool(0.6) {
                        SurveyChannel::Kiosk
                    } else {
                        SurveyChannel::Portal
                    },
                    about_dossier: named.then(|| plan.code.to_string()),
                    answers,
                });
            }
            What::PortalSynced { accepted } => {
                e.portal_sync = Some(PortalSync {
                    status: "2".to_string(),
                    accepted,
                    error: (!accepted).then(|| pick(&mut rng, PORTAL_SYNC_ERRORS).to_string()),
                });
            }
            What::Feedback {
                answered,
                received,
                due_days,
                category,
            } => {
                let received_at = self.timestamp(u64::from(received));
                let due_at = received_at + Duration::days(i64::from(due_days));
                let on_time = occurred_at <= due_at;
                // Satisfied with the answer mostly when it came in time; asked two times in
                // three.
                let satisfaction = (answered && rng.gen_bool(0.67)).then(|| {
                    let p = if on_time { 0.82 } else { 0.4 };
                    if rng.gen_bool(p) {
                        Satisfaction::Satisfied
                    } else {
                        Satisfaction::Dissatisfied
                    }
                });
                e.feedback = Some(Feedback {
                    feedback_id: format!("PAKN-{}", plan.code),
                    category: FeedbackCategory::ALL[usize::from(category)],
                    stage: if answered {
                        FeedbackStage::Answered
                    } else {
                        FeedbackStage::Received
                    },
                    received_at,
                    due_at,
                    answered_at: answered.then_some(occurred_at),
                    satisfaction,
                });
            }
            What::Survey { channel, orphan } => {
                if orphan {
                    e.dossier_code = orphan_code(&plan.code);
                    e.event_id = format!("{}/1", e.dossier_code);
                    e.national_dossier_code = None;
                }
                // Citizens rate what they lived through: lateness most, then having to come
                // back with a supplement, then the unit (some one-stop counters are better
                // run than others, fixed per agency), and online applicants a little
                // happier. One draw whatever the weights, so the rest of the stream is the
                // same as with any other weights.
                let supplemented = plan
                    .steps
                    .iter()
                    .filter(|s| matches!(s.what, What::SupplementRequested(_)))
                    .count();
                let mut weights: [u32; 5] = if plan.late {
                    [12, 33, 25, 18, 12]
                } else {
                    [50, 38, 8, 3, 1]
                };
                if supplemented > 0 {
                    weights = [
                        weights[0] / 2,
                        weights[1],
                        weights[2] + 8,
                        weights[3] + 5,
                        weights[4] + 2,
                    ];
                }
                // A unit's service: one in four counters noticeably worse, one in eight better.
                match plan.agency % 8 {
                    0 | 5 => {
                        weights = [
                            weights[0] / 2,
                            weights[1],
                            weights[2] + 6,
                            weights[3] + 6,
                            weights[4] + 3,
                        ]
                    }
                    3 => weights[0] += 15,
                    _ => {}
                }
                // Online applicants were spared the queues: fewer of them dissatisfied.
                if plan.channel == Channel::Online {
                    weights[0] += 6;
                    weights[3] /= 2;
                    weights[4] /= 2;
                }
                let level = WeightedIndex::new(weights)
                    .expect("positive weights")
                    .sample(&mut rng);
                let overall = Satisfaction::ALL[level];
                let base = 5 - level as i32;
                let codes: Vec<&str> = match rng.gen_range(0..100) {
                    0..=39 => Vec::new(),
                    40..=74 => (0..5)
                        .map(|el| CRITERIA[el * 3 + rng.gen_range(0..3)])
                        .collect(),
                    _ => CRITERIA.to_vec(),
                };
                let criteria = codes
                    .into_iter()
                    .map(|code| {
                        let noise = match rng.gen_range(0..100) {
                            0..=14 => -1,
                            15..=84 => 0,
                            _ => 1,
                        };
                        CriterionScore {
                            code: code.to_string(),
                            score: (base + noise).clamp(1, 5),
                        }
                    })
                    .collect();
                e.survey = Some(Survey {
                    channel,
                    overall,
                    criteria,
                    complaint: rng.gen_bool(if plan.late { 0.06 } else { 0.008 }),
                });
            }
        }
        e
    }

    /// Counts an event on its way out and maybe queues a re-sent copy. Takes a reference:
    /// events are large, and each move is a copy.
    fn note_emitted(&mut self, key: u64, event: &DossierEvent, duplicate: bool) {
        self.stats.events += 1;
        if duplicate {
            self.stats.duplicates += 1;
        } else {
            *self.stats.events_by_kind.entry(event.kind).or_insert(0) += 1;
            if self.delivery_rng.gen_bool(self.config.duplicate_rate) {
                let later = key + self.delivery_rng.gen_range(60..=86_400);
                self.push(
                    later,
                    Item::Event(Box::new(event.clone()), Redelivery::Duplicate),
                );
            }
        }
    }

    /// The horizon is reached (or nothing is left): what remains is never emitted, so let it go.
    fn finish(&mut self) {
        self.finished = true;
        self.queue = DeliveryQueue::new();
    }
}

/// How long each holder of a slip keeps the dossier, in processing seconds, summing to
/// `span`. Each step is first drawn over or within its allotment (more often over for a
/// slow unit, and for a dossier that ends late), then given a duration inside a random
/// range on that side of its allotment, all ranges scaled together to fill `span`. When
/// the draws cannot fill `span` (a late dossier with every step on time), steps change
/// side, slowest units first.
fn step_durations(
    rng: &mut ChaCha8Rng,
    agency: &Agency,
    holders: &[(UnitRef, f64)],
    allotted: &[u16],
    fate: Fate,
    span: i64,
) -> Vec<i64> {
    let pace: Vec<f64> = holders
        .iter()
        .map(|&(unit, _)| unit_pace(Simulator::unit_code(agency, unit)) * agency.late_factor.sqrt())
        .collect();
    let secs: Vec<f64> = allotted.iter().map(|&a| f64::from(a) * 3600.0).collect();
    let under = |rng: &mut ChaCha8Rng| (rng.gen_range(0.1..0.5), rng.gen_range(0.85..0.98));
    let over = |rng: &mut ChaCha8Rng| (rng.gen_range(1.03..1.12), rng.gen_range(1.2..2.2));
    let mut is_over: Vec<bool> = pace
        .iter()
        .map(|p| rng.gen_bool((base_over(fate) * p).min(0.9)))
        .collect();
    let mut range: Vec<(f64, f64)> = is_over
        .iter()
        .map(|&o| if o { over(rng) } else { under(rng) })
        .collect();
    let span = span as f64;
    let bounds = |range: &[(f64, f64)]| -> (f64, f64) {
        range
            .iter()
            .zip(&secs)
            .fold((0.0, 0.0), |(lo, hi), (r, s)| (lo + r.0 * s, hi + r.1 * s))
    };
    for _ in 0..holders.len() {
        let (lo, hi) = bounds(&range);
        // The slowest step within its allotment goes over, or the fastest over comes back.
        let flip = if span > hi {
            (0..pace.len())
                .filter(|&i| !is_over[i])
                .max_by(|&a, &b| pace[a].total_cmp(&pace[b]))
        } else if span < lo {
            (0..pace.len())
                .filter(|&i| is_over[i])
                .min_by(|&a, &b| pace[a].total_cmp(&pace[b]))
        } else {
            None
        };
        let Some(i) = flip else { break };
        is_over[i] = !is_over[i];
        range[i] = if is_over[i] { over(rng) } else { under(rng) };
    }
    let (lo, hi) = bounds(&range);
    range
        .iter()
        .zip(&secs)
        .map(|(&(l, u), &s)| {
            let d = if span > hi {
                // Every step over: stretch them all.
                u * s * span / hi
            } else if span < lo {
                // Every step within: shrink them all.
                l * s * span / lo.max(1.0)
            } else {
                let t = if hi > lo {
                    (span - lo) / (hi - lo)
                } else {
                    0.0
                };
                (l + t * (u - l)) * s
            };
            (d as i64).max(1)
        })
        .collect()
}

fn pick_owned<R: Rng + ?Sized>(rng: &mut R, list: &[String]) -> String {
    list.choose(rng)
        .cloned()
        .unwrap_or_else(|| "Cán bộ một cửa".to_string())
}

/// Whether agency `a` receives procedures of `level` in `field`.
fn handles(a: &Agency, level: AgencyLevel, field: &str) -> bool {
    let role_ok = match level {
        AgencyLevel::Province => a.role == AgencyRole::Department,
        AgencyLevel::District => a.role == AgencyRole::District,
        AgencyLevel::Commune => a.role == AgencyRole::Commune,
        AgencyLevel::Ministry => false,
    };
    role_ok && (a.fields.is_empty() || a.fields.iter().any(|f| f == field))
}

impl Iterator for Simulator {
    type Item = DossierEvent;

    fn next(&mut self) -> Option<DossierEvent> {
        loop {
            if self.finished {
                return None;
            }
            // Generate receipts until the earliest pending delivery lies inside the generated
            // days: a later day's receipts can never precede it.
            while self.next_day < self.config.days
                && self.queue.peek_key().is_none_or(|key| key >= self.frontier)
            {
                self.generate_day();
            }
            match self.queue.peek_key() {
                Some(key) if key < self.horizon => {}
                _ => {
                    self.finish();
                    return None;
                }
            }
            let (key, item) = self.queue.pop().expect("peeked above");
            match item {
                Item::Dossier(mut plan) => {
                    let index = plan.next;
                    let event = self.materialise(&plan, index);
                    plan.next += 1;
                    match plan.steps.get(plan.next) {
                        Some(next) => {
                            let at = u64::from(next.at);
                            self.push(at, Item::Dossier(plan));
                        }
                        None => self.stats.open_dossiers -= 1,
                    }
                    if self.delivery_rng.gen_bool(self.config.out_of_order_rate) {
                        let later = key + self.delivery_rng.gen_range(3600..=48 * 3600);
                        self.push(later, Item::Event(Box::new(event), Redelivery::Delayed));
                        continue;
                    }
                    self.note_emitted(key, &event, false);
                    return Some(event);
                }
                Item::Event(event, how) => {
                    if how == Redelivery::Delayed {
                        self.stats.out_of_order += 1;
                    }
                    self.note_emitted(key, &event, how == Redelivery::Duplicate);
                    return Some(*event);
                }
            }
        }
    }
}
