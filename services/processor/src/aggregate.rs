//! Figures maintained by the processor: absolute counts per reporting cell, for the dossiers
//! of one input partition (docs/ARCHITECTURE.md, "Aggregates").
//!
//! Every dossier *contributes* to a few cells: the day it ended, its agency's open count,
//! each closed period's report it is in (as that report saw it at the period's end), each
//! running period it is in (live), and the month of each of its handover steps. The operator
//! keeps each resident dossier's contributions; when the dossier changes, its old
//! contributions are taken out of their cells and the new ones put in. The cells are written
//! as absolute values, versioned by the partition's write sequence, so a rewrite replaces a
//! cell and never adds to it.
//!
//! Contributions are a function of the dossier's state, its period bound and the watermark
//! the cells were last brought to (`as_of`). So they need not be stored: a restored or
//! reloaded dossier recomputes the contributions that its cells already hold. Between two
//! watermarks only two things change a dossier's contributions without an event: an open
//! dossier's due time passing (a timer), and a new running period (a roll, which recomputes
//! the dossiers it concerns).

use foldhash::HashMap;

use chrono::NaiveDate;
use motcua_core::event::{Satisfaction, Timestamp};
use motcua_core::fold;
use motcua_core::fold::{FeedbackItem, SipasSheet};
use motcua_core::period::{Period, PeriodKind};
use motcua_runtime::store::{AggregateRow, PeriodRow, StateRow, StepRow};
use serde::{Deserialize, Serialize};

/// `dossier_code` prefix of a cell's checkpoint row in `processor_state` (no dossier code
/// starts with a control character: validation refuses them).
pub const CELL_PREFIX: &str = "\u{1}cell\u{1f}";
/// `dossier_code` of the partition's aggregate metadata row in `processor_state`.
pub const META_CODE: &str = "\u{1}meta";

/// What a cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    /// Ended dossiers by the date of their end.
    Day,
    /// Open dossiers now.
    Open,
    /// A period's report as of its end.
    Closed,
    /// A running period, live.
    Running,
    /// Handover steps by month.
    Steps,
    /// Received dossiers by the date of their receipt (Decision 766 indicator 3.3).
    Receipt,
    /// SIPAS answer sheets by the date they were answered and the agency surveyed.
    Sipas,
    /// PAKN items by the date they were answered, or, unanswered and past their due time,
    /// the date the answer was due.
    Feedback,
}

impl Grain {
    fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "DAY",
            Grain::Open => "OPEN",
            Grain::Closed => "CLOSED",
            Grain::Running => "RUNNING",
            Grain::Steps => "STEPS",
            Grain::Receipt => "RECEIPT",
            Grain::Sipas => "SIPAS",
            Grain::Feedback => "FEEDBACK",
        }
    }

    fn parse(s: &str) -> Option<Grain> {
        Some(match s {
            "DAY" => Grain::Day,
            "OPEN" => Grain::Open,
            "CLOSED" => Grain::Closed,
            "RUNNING" => Grain::Running,
            "STEPS" => Grain::Steps,
            "RECEIPT" => Grain::Receipt,
            "SIPAS" => Grain::Sipas,
            "FEEDBACK" => Grain::Feedback,
            _ => return None,
        })
    }
}

/// Which dimensions a cell keeps: each view reads one family, so a cell is as fine as the
/// view it serves and no finer (a cross product of every dimension would have almost a cell
/// per dossier at the day grain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dims {
    /// Agency, its province and level.
    Agency,
    /// Agency, province, level, procedure, its field, and (periods) the legal limit.
    Procedure,
    /// Province, procedure, its field and the legal limit (the province's roll-up per
    /// procedure: a per-agency family would make it a sum over every agency's cells).
    ProvinceProcedure,
    /// Province and field.
    Field,
    /// Province and channel.
    Channel,
    /// Agency and the handover pair (steps).
    Unit,
}

impl Dims {
    fn as_str(self) -> &'static str {
        match self {
            Dims::Agency => "agency",
            Dims::Procedure => "procedure",
            Dims::ProvinceProcedure => "province_procedure",
            Dims::Field => "field",
            Dims::Channel => "channel",
            Dims::Unit => "unit",
        }
    }

    fn parse(s: &str) -> Option<Dims> {
        Some(match s {
            "agency" => Dims::Agency,
            "procedure" => Dims::Procedure,
            "province_procedure" => Dims::ProvinceProcedure,
            "field" => Dims::Field,
            "channel" => Dims::Channel,
            "unit" => Dims::Unit,
            _ => return None,
        })
    }
}

/// The families a dossier's end day is counted in.
const DAY_FAMILIES: [Dims; 3] = [Dims::Agency, Dims::Procedure, Dims::Channel];
/// The families a dossier's reports (closed and running) are counted in.
const PERIOD_FAMILIES: [Dims; 4] = [
    Dims::Agency,
    Dims::Procedure,
    Dims::ProvinceProcedure,
    Dims::Field,
];

/// A dossier's (or a step's) verdict in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Ended early.
    Early,
    /// Ended on time.
    OnTime,
    /// Ended late.
    Late,
    /// Open within its due time.
    Within,
    /// Open past its due time.
    Overdue,
}

impl Verdict {
    fn parse(s: &str) -> Option<Verdict> {
        Some(match s {
            "EARLY" => Verdict::Early,
            "ON_TIME" => Verdict::OnTime,
            "LATE" => Verdict::Late,
            "IN_PROGRESS" => Verdict::Within,
            "OVERDUE_IN_PROGRESS" => Verdict::Overdue,
            _ => return None,
        })
    }

    fn ended(outcome: &str) -> Option<Verdict> {
        Self::parse(outcome)
            .filter(|v| matches!(v, Verdict::Early | Verdict::OnTime | Verdict::Late))
    }
}

/// Interned string.
type Sym = u32;

/// A cell's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    grain: Grain,
    dims: Dims,
    /// Period kind for `Closed`, `Running`, `Steps` (month); `None` for `Day` and `Open`.
    kind: Option<PeriodKind>,
    start: NaiveDate,
    end: NaiveDate,
    agency: Sym,
    province: Sym,
    level: Sym,
    procedure: Sym,
    field: Sym,
    channel: Sym,
    limit_amount: i32,
    limit_unit: Sym,
    from_unit: Sym,
    to_unit: Sym,
}

/// Counts of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    counted: i64,
    early: i64,
    on_time: i64,
    late: i64,
    within: i64,
    overdue: i64,
    resolved: i64,
    resolution_e4: i64,
    taken_seconds: i64,
    mismatches: i64,
    /// Standing ratings, very satisfied first (`DAY` cells).
    ratings: [i64; 5],
    complaints: i64,
    rated_late: i64,
    satisfied_late: i64,
    unsatisfied_766: i64,
    results: i64,
    electronic: i64,
    /// `RECEIPT` cells: received online.
    online: i64,
    /// `DAY` cells, Circular 01/2018 scoring: indicator 2 points (step times) and the
    /// dossiers it was scored for (those with judged steps); indicator 7 points (staff
    /// attitude); ended dossiers received online (indicator 9).
    c01_steps_points: i64,
    c01_steps_scored: i64,
    c01_attitude_points: i64,
    ended_online: i64,
    /// `DAY` cells: Circular 01/2018 indicator 8 points (feedback handled on time).
    c01_feedback_points: i64,
    /// `DAY` cells: ended dossiers with one supplement request, with more; of each, rated,
    /// and rated satisfied or very satisfied (satisfaction by number of supplements).
    supplemented: [i64; 2],
    rated_supplemented: [i64; 2],
    satisfied_supplemented: [i64; 2],
    /// `SIPAS` cells: answer sheets, and per element criteria answered and answered
    /// satisfied or very satisfied.
    sipas_sheets: i64,
    sipas_answered: [i64; 5],
    sipas_satisfied: [i64; 5],
    /// `RECEIPT` cells: digitised at receipt (4.2), synced to the national portal (1.4).
    digitised: i64,
    synced: i64,
    /// `FEEDBACK` cells: answered, of them on time; overdue unanswered; answers rated, of
    /// them satisfied; complaints among the items counted.
    feedback_answered: i64,
    feedback_on_time: i64,
    feedback_overdue: i64,
    feedback_rated: i64,
    feedback_satisfied: i64,
    feedback_complaints: i64,
}

impl Counts {
    fn apply(&mut self, c: &Contribution, sign: i64) {
        if let Some(element) = c.scores.sipas_element() {
            // `extra` packs the element's answered (high half) and satisfied counts.
            self.sipas_answered[element] += sign * (c.extra >> 32);
            self.sipas_satisfied[element] += sign * (c.extra & 0xffff_ffff);
            self.sipas_sheets += sign * i64::from(c.scores.sipas_sheet());
            return;
        }
        if let Some(f) = c.scores.feedback() {
            self.feedback_answered += sign * i64::from(f.answered);
            self.feedback_on_time += sign * i64::from(f.on_time);
            self.feedback_overdue += sign * i64::from(f.overdue);
            self.feedback_rated += sign * i64::from(f.rated);
            self.feedback_satisfied += sign * i64::from(f.satisfied);
            self.feedback_complaints += sign * i64::from(f.complaint);
            return;
        }
        self.counted += sign;
        if let Some(online) = c.online {
            self.online += sign * i64::from(online);
            let (digitised, synced) = c.scores.receipt();
            self.digitised += sign * i64::from(digitised);
            self.synced += sign * i64::from(synced);
            return;
        }
        match c.verdict {
            Verdict::Early => self.early += sign,
            Verdict::OnTime => self.on_time += sign,
            Verdict::Late => self.late += sign,
            Verdict::Within => self.within += sign,
            Verdict::Overdue => self.overdue += sign,
        }
        if c.extra >= 0 {
            if c.step {
                self.taken_seconds += sign * c.extra;
            } else {
                self.resolved += sign;
                self.resolution_e4 += sign * c.extra;
            }
        }
        self.mismatches += sign * i64::from(c.mismatch);
        if let Some(r) = c.rating {
            self.ratings[r as usize] += sign;
            if c.verdict == Verdict::Late {
                self.rated_late += sign;
                // Very satisfied (0) or satisfied (1).
                self.satisfied_late += sign * i64::from(r <= 1);
            }
        }
        self.complaints += sign * i64::from(c.complaint);
        self.unsatisfied_766 += sign * i64::from(c.unsatisfied_766);
        self.results += sign * i64::from(c.result);
        self.electronic += sign * i64::from(c.result && c.electronic);
        let s = c.scores;
        if s.present() {
            if let Some(points) = s.steps() {
                self.c01_steps_points += sign * points;
                self.c01_steps_scored += sign;
            }
            self.c01_attitude_points += sign * s.attitude();
            self.c01_feedback_points += sign * s.feedback_points();
            self.ended_online += sign * i64::from(s.online());
            if let Some(i) = s.supplemented() {
                self.supplemented[i] += sign;
                if let Some(r) = c.rating {
                    self.rated_supplemented[i] += sign;
                    self.satisfied_supplemented[i] += sign * i64::from(r <= 1);
                }
            }
        }
    }
}

/// A dossier's Circular 01/2018 points and supplement count (`DAY` cells only), packed in 16
/// bits so that a contribution stays 24 bytes (state size). Zero is "none".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Scores(u16);

impl Scores {
    const PRESENT: u16 = 1 << 15;
    /// A SIPAS contribution: bits 0-2 the element, bit 3 "counts the sheet".
    const SIPAS: u16 = 1 << 14;
    /// A PAKN item's contribution: bits 0-5 answered, on time, overdue, rated, satisfied,
    /// complaint.
    const FEEDBACK: u16 = 1 << 13;
    /// A receipt's (`RECEIPT` cells): bit 0 digitised, bit 1 synced.
    const RECEIPT: u16 = 1 << 12;

    fn receipt_flags(digitised: bool, synced: bool) -> Self {
        Scores(Self::RECEIPT | u16::from(digitised) | u16::from(synced) << 1)
    }

    /// `(digitised, synced)` of a receipt's contribution, both false for any other.
    fn receipt(self) -> (bool, bool) {
        let r = self.0 & Self::RECEIPT != 0;
        (r && self.0 & 1 == 1, r && self.0 >> 1 & 1 == 1)
    }

    fn feedback_flags(f: FeedbackFlags) -> Self {
        Scores(
            Self::FEEDBACK
                | u16::from(f.answered)
                | u16::from(f.on_time) << 1
                | u16::from(f.overdue) << 2
                | u16::from(f.rated) << 3
                | u16::from(f.satisfied) << 4
                | u16::from(f.complaint) << 5,
        )
    }

    fn feedback(self) -> Option<FeedbackFlags> {
        let bit = |i: u16| self.0 >> i & 1 == 1;
        (self.0 & Self::FEEDBACK != 0).then(|| FeedbackFlags {
            answered: bit(0),
            on_time: bit(1),
            overdue: bit(2),
            rated: bit(3),
            satisfied: bit(4),
            complaint: bit(5),
        })
    }

    fn sipas(element: usize, sheet: bool) -> Self {
        Scores(Self::SIPAS | element as u16 | u16::from(sheet) << 3)
    }

    fn sipas_element(self) -> Option<usize> {
        (self.0 & Self::SIPAS != 0).then_some(usize::from(self.0 & 7))
    }

    fn sipas_sheet(self) -> bool {
        self.0 >> 3 & 1 == 1
    }

    /// `supplements`: distinct supplement requests; `steps`: indicator 2's points, if the
    /// dossier has judged steps; `attitude`: indicator 7's points; `online`: received online;
    /// `feedback`: indicator 8's points.
    fn new(supplements: u16, steps: Option<u8>, attitude: u8, online: bool, feedback: u8) -> Self {
        let (scored, points) = steps.map_or((0, 0), |p| (1, u16::from(p.min(2))));
        Scores(
            Self::PRESENT
                | supplements.min(2)
                | points << 2
                | scored << 4
                | u16::from(attitude.min(2)) << 5
                | u16::from(online) << 7
                | u16::from(feedback.min(2)) << 8,
        )
    }

    fn present(self) -> bool {
        self.0 & (Self::PRESENT | Self::SIPAS | Self::FEEDBACK | Self::RECEIPT) == Self::PRESENT
    }

    /// `None` without a supplement request, `Some(0)` with one, `Some(1)` with more.
    fn supplemented(self) -> Option<usize> {
        match self.0 & 3 {
            0 => None,
            n => Some(usize::from(n - 1)),
        }
    }

    fn steps(self) -> Option<i64> {
        (self.0 >> 4 & 1 == 1).then_some(i64::from(self.0 >> 2 & 3))
    }

    fn attitude(self) -> i64 {
        i64::from(self.0 >> 5 & 3)
    }

    fn online(self) -> bool {
        self.0 >> 7 & 1 == 1
    }

    fn feedback_points(self) -> i64 {
        i64::from(self.0 >> 8 & 3)
    }
}

/// What one PAKN item counts in its `FEEDBACK` cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FeedbackFlags {
    answered: bool,
    on_time: bool,
    overdue: bool,
    rated: bool,
    satisfied: bool,
    complaint: bool,
}

/// Circular 01/2018 indicator 8 for one dossier, feedback handled on time, as this
/// implementation reads it: 2 with no PAKN item about it, 1 when every item was answered by
/// its due time or is not yet due, 0 when one was answered late or is past its due time
/// unanswered at `as_of`.
fn c01_feedback(feedback: &[FeedbackItem], as_of: Option<i64>) -> u8 {
    if feedback.is_empty() {
        return 2;
    }
    let late = feedback.iter().any(|f| match f.answered_on_time() {
        Some(on_time) => !on_time,
        None => as_of.is_some_and(|w| f.due_at.timestamp() < w),
    });
    u8::from(!late)
}

/// Circular 01/2018 indicator 2 for one dossier, each unit's time against its allotment: 2
/// when every judged step ended early, 1 when none was late, 0 when one was; `None` when no
/// step was judged (no allotment on the slip).
fn c01_steps(steps: &[StepRow]) -> Option<u8> {
    let mut judged = steps
        .iter()
        .filter_map(|s| Verdict::parse(&s.outcome))
        .peekable();
    judged.peek()?;
    let mut points = 2;
    for v in judged {
        match v {
            Verdict::Late => return Some(0),
            Verdict::Early => {}
            _ => points = 1,
        }
    }
    Some(points)
}

/// One dossier's (or step's) part in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    cell: u32,
    verdict: Verdict,
    /// A step (its duration in `extra`), not a dossier.
    step: bool,
    /// The step's recorded outcome differs from the judged one.
    mismatch: bool,
    /// Resolution time in ten-thousandths of the unit (dossiers), seconds taken (steps);
    /// negative when none.
    extra: i64,
    /// The standing rating, 0 (very satisfied) to 4 (very dissatisfied) (`DAY` cells only).
    rating: Option<u8>,
    /// A survey carried a complaint (`DAY` cells only).
    complaint: bool,
    /// Rated dissatisfied, with a complaint, or late: Decision 766 group 5 (`DAY` only).
    unsatisfied_766: bool,
    /// Ended with a result (`DAY` only): indicator 4.1's denominator.
    result: bool,
    /// The result was electronic (`DAY` only).
    electronic: bool,
    /// A receipt (`RECEIPT` cells only): counted as received, and whether online. Nothing
    /// else of the contribution is counted.
    online: Option<bool>,
    /// Circular 01/2018 points and supplements (`DAY` only).
    scores: Scores,
}

// A resident dossier holds some twenty contributions: keep each one small.
const _: () = assert!(std::mem::size_of::<Contribution>() == 24);

impl Contribution {
    /// A dossier's part in `cell`: its verdict and `extra`, nothing else counted.
    fn dossier(cell: u32, verdict: Verdict, extra: i64) -> Self {
        Contribution {
            cell,
            verdict,
            step: false,
            mismatch: false,
            extra,
            rating: None,
            complaint: false,
            unsatisfied_766: false,
            result: false,
            electronic: false,
            online: None,
            scores: Scores(0),
        }
    }
}

#[derive(Debug)]
struct Cell {
    key: Key,
    counts: Counts,
    /// What the last written row holds.
    written: Counts,
    version: u32,
    /// A running period that has ended: no longer maintained (its report is `Closed`).
    dead: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    seq: u32,
    as_of: Option<i64>,
}

/// The cells of one partition.
#[derive(Debug, Default)]
pub struct Aggregates {
    names: Vec<Box<str>>,
    symbols: HashMap<Box<str>, Sym>,
    index: HashMap<Key, u32>,
    cells: Vec<Cell>,
    /// Cells whose counts may differ from what was written.
    touched: Vec<u32>,
    /// Cells to write again as they are (after a restore: the served table may lag the
    /// checkpoint).
    rewrite: Vec<u32>,
    seq: u32,
    as_of: Option<Timestamp>,
    running: Vec<Period>,
}

impl Key {
    /// A cell of the agency family for one day: `(agency, province, level)`, every other
    /// dimension `empty`.
    fn agency_day(
        grain: Grain,
        day: NaiveDate,
        (agency, province, level): (Sym, Sym, Sym),
        empty: Sym,
    ) -> Key {
        Key {
            grain,
            dims: Dims::Agency,
            kind: None,
            start: day,
            end: day.succ_opt().unwrap_or(day),
            agency,
            province,
            level,
            procedure: empty,
            field: empty,
            channel: empty,
            limit_amount: 0,
            limit_unit: empty,
            from_unit: empty,
            to_unit: empty,
        }
    }

    /// This key with only `dims`' dimensions (`empty` is the empty string's symbol).
    fn project(mut self, dims: Dims, empty: Sym) -> Key {
        self.dims = dims;
        match dims {
            Dims::Agency => {
                self.procedure = empty;
                self.field = empty;
                self.channel = empty;
                self.limit_amount = 0;
                self.limit_unit = empty;
            }
            Dims::Procedure => self.channel = empty,
            Dims::ProvinceProcedure => {
                self.agency = empty;
                self.level = empty;
                self.channel = empty;
            }
            Dims::Field => {
                self.agency = empty;
                self.level = empty;
                self.procedure = empty;
                self.channel = empty;
                self.limit_amount = 0;
                self.limit_unit = empty;
            }
            Dims::Channel => {
                self.agency = empty;
                self.level = empty;
                self.procedure = empty;
                self.field = empty;
                self.limit_amount = 0;
                self.limit_unit = empty;
            }
            Dims::Unit => {}
        }
        self
    }
}

impl Aggregates {
    fn sym(&mut self, s: &str) -> Sym {
        if let Some(&n) = self.symbols.get(s) {
            return n;
        }
        let n = self.names.len() as Sym;
        self.names.push(s.into());
        self.symbols.insert(s.into(), n);
        n
    }

    fn name(&self, s: Sym) -> &str {
        &self.names[s as usize]
    }

    fn cell(&mut self, key: Key) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.cells.len() as u32;
        self.cells.push(Cell {
            key,
            counts: Counts::default(),
            written: Counts::default(),
            version: 0,
            dead: false,
        });
        self.index.insert(key, i);
        i
    }

    /// The watermark the cells were last brought to.
    pub fn as_of(&self) -> Option<Timestamp> {
        self.as_of
    }

    /// Number of cells held (live and dead).
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Takes `old` out of its cells and puts `new` in.
    pub fn replace(&mut self, old: &[Contribution], new: &[Contribution]) {
        if old == new {
            return;
        }
        for c in old {
            let cell = &mut self.cells[c.cell as usize];
            if !cell.dead {
                cell.counts.apply(c, -1);
                self.touched.push(c.cell);
            }
        }
        for c in new {
            let cell = &mut self.cells[c.cell as usize];
            debug_assert!(!cell.dead, "contributions go to live cells");
            cell.counts.apply(c, 1);
            self.touched.push(c.cell);
        }
    }

    /// Brings the running periods to `as_of`. Returns the earliest start of a period that
    /// began running (the dossiers ended since then, and every open one, must be
    /// recomputed), or `None` when the running periods did not change.
    pub fn roll(&mut self, as_of: Option<Timestamp>) -> Option<NaiveDate> {
        let w = as_of?;
        if self.as_of.is_some_and(|a| a > w) {
            return None;
        }
        self.as_of = Some(w);
        let day = fold::local_date(w);
        let running: Vec<Period> = PeriodKind::ALL
            .iter()
            .map(|&k| Period::containing(k, day))
            .collect();
        if running == self.running {
            return None;
        }
        let began = running
            .iter()
            .filter(|p| !self.running.contains(p))
            .map(|p| p.start)
            .min();
        for cell in &mut self.cells {
            if cell.key.grain == Grain::Running
                && !running
                    .iter()
                    .any(|p| p.start == cell.key.start && Some(p.kind) == cell.key.kind)
            {
                cell.dead = true;
            }
        }
        self.running = running;
        began
    }

    /// The contributions of a dossier that do not come from its closed-period rows: its end
    /// day, its open count, the running periods, its steps. Also returns the time at which
    /// they change by themselves (an open dossier's due time, while not passed).
    pub fn live(
        &mut self,
        row: &StateRow,
        steps: &[StepRow],
        sipas: Option<&SipasSheet>,
        feedback: &[FeedbackItem],
    ) -> (Vec<Contribution>, Option<i64>) {
        let as_of = self.as_of.map(|t| t.timestamp());
        let mut out = Vec::new();
        let mut timer = None;
        let ended = Verdict::ended(&row.outcome);
        let open = matches!(row.outcome.as_str(), "IN_PROGRESS" | "OVERDUE_IN_PROGRESS");
        // The views' `assumeNotNull(due_at) < as_of`.
        let due = i64::from(row.due_at.unwrap_or(0));
        let overdue = as_of.is_some_and(|w| due < w);
        if open && !overdue {
            timer = Some(due);
        }
        let within = if overdue {
            Verdict::Overdue
        } else {
            Verdict::Within
        };
        let agency = self.sym(&row.agency_code);
        let province = self.sym(&row.province_code);
        let level = self.sym(&row.agency_level);
        let procedure = self.sym(&row.procedure_code);
        let field = self.sym(&row.field_code);
        let channel = self.sym(&row.channel);
        let unit = self.sym(&row.legal_limit_unit);
        let empty = self.sym("");
        let base = Key {
            grain: Grain::Day,
            dims: Dims::Procedure,
            kind: None,
            // Grains without a period: day 0, as the rows store it.
            start: from_days(0),
            end: from_days(0),
            agency,
            province,
            level,
            procedure,
            field,
            channel,
            limit_amount: 0,
            limit_unit: empty,
            from_unit: empty,
            to_unit: empty,
        };
        let resolution = row
            .resolution_units
            .map_or(-1, |r| (r * 10_000.0).round() as i64);
        let dossier = Contribution::dossier;
        if let (Some(v), Some(end)) = (ended, row.end_date) {
            let day = from_days(end);
            let key = Key {
                start: day,
                end: day.succ_opt().unwrap_or(day),
                ..base
            };
            // Schema order: very satisfied (0) to very dissatisfied (4).
            let rating = Satisfaction::ALL
                .iter()
                .position(|r| r.as_str() == row.rating)
                .map(|i| i as u8);
            let complaint = row.complaint == 1;
            let unsatisfied_766 = row.dissatisfied == 1 || complaint || v == Verdict::Late;
            let result = matches!(row.end_kind.as_str(), "FINISHED" | "RETURNED");
            let electronic = row.electronic_result == 1;
            // Circular 01/2018 indicator 7, staff attitude: 0 with a complaint, 2 without
            // one and early, 1 otherwise.
            let attitude = match (complaint, v) {
                (true, _) => 0,
                (false, Verdict::Early) => 2,
                (false, _) => 1,
            };
            let scores = Scores::new(
                row.supplement_requests,
                c01_steps(steps),
                attitude,
                row.channel == "ONLINE",
                c01_feedback(feedback, as_of),
            );
            for dims in DAY_FAMILIES {
                let cell = self.cell(key.project(dims, empty));
                out.push(Contribution {
                    rating,
                    complaint,
                    unsatisfied_766,
                    result,
                    electronic,
                    scores,
                    ..dossier(cell, v, -1)
                });
            }
        }
        // Indicator 3.3: every received dossier, by its receipt date and channel.
        if let Some(at) = row.received_at {
            let day = fold::local_date(
                chrono::DateTime::from_timestamp(i64::from(at), 0)
                    .unwrap_or_default()
                    .fixed_offset(),
            );
            let key = Key {
                grain: Grain::Receipt,
                start: day,
                end: day.succ_opt().unwrap_or(day),
                ..base
            };
            let scores = Scores::receipt_flags(row.digitised == 1, row.synced == 1);
            for dims in [Dims::Agency, Dims::Channel] {
                let cell = self.cell(key.project(dims, empty));
                out.push(Contribution {
                    online: Some(row.channel == "ONLINE"),
                    scores,
                    ..dossier(cell, Verdict::Within, -1)
                });
            }
        }
        if open {
            let key = Key {
                grain: Grain::Open,
                ..base
            };
            let cell = self.cell(key.project(Dims::Agency, empty));
            out.push(dossier(cell, within, -1));
        }
        // v_766_current: received, counted, and open or ended inside the period.
        if row.received_at.is_some() && row.outcome != "NOT_COUNTED" && as_of.is_some() {
            let verdict = ended.unwrap_or(within);
            for p in self.running.clone() {
                if row.end_date.is_some_and(|d| from_days(d) < p.start) {
                    continue;
                }
                let key = Key {
                    grain: Grain::Running,
                    kind: Some(p.kind),
                    start: p.start,
                    end: p.end,
                    limit_amount: row.legal_limit_amount,
                    limit_unit: unit,
                    ..base
                };
                for dims in PERIOD_FAMILIES {
                    let cell = self.cell(key.project(dims, empty));
                    out.push(dossier(cell, verdict, resolution));
                }
            }
        }
        if let Some(sheet) = sipas {
            let day = fold::local_date(sheet.at);
            let agency = self.sym(&sheet.agency_code);
            let province = self.sym(sheet.agency_code.split('.').next().unwrap_or_default());
            let cell = self.cell(Key::agency_day(
                Grain::Sipas,
                day,
                (agency, province, empty),
                empty,
            ));
            let mut first = true;
            for (i, (&answered, &satisfied)) in
                sheet.answered.iter().zip(&sheet.satisfied).enumerate()
            {
                if answered == 0 && !first {
                    continue;
                }
                out.push(Contribution {
                    extra: i64::from(answered) << 32 | i64::from(satisfied),
                    scores: Scores::sipas(i, first),
                    ..dossier(cell, Verdict::Within, -1)
                });
                first = false;
            }
        }
        // PAKN items: counted once answered (on the day of the answer), or once their due
        // time has passed unanswered (on the day it was due); until then, a timer.
        for f in feedback {
            let due = f.due_at.timestamp();
            let (day, flags) = match f.answered {
                Some((at, _, satisfaction)) => {
                    let rated = satisfaction.is_some();
                    let flags = FeedbackFlags {
                        answered: true,
                        on_time: at <= f.due_at,
                        rated,
                        satisfied: matches!(
                            satisfaction,
                            Some(Satisfaction::VerySatisfied | Satisfaction::Satisfied)
                        ),
                        ..FeedbackFlags::default()
                    };
                    (fold::local_date(at), flags)
                }
                None if as_of.is_some_and(|w| due < w) => (
                    fold::local_date(f.due_at),
                    FeedbackFlags {
                        overdue: true,
                        ..FeedbackFlags::default()
                    },
                ),
                None => {
                    timer = Some(timer.map_or(due, |t: i64| t.min(due)));
                    continue;
                }
            };
            let flags = FeedbackFlags {
                complaint: f.category == motcua_core::event::FeedbackCategory::Complaint,
                ..flags
            };
            let cell = self.cell(Key::agency_day(
                Grain::Feedback,
                day,
                (agency, province, level),
                empty,
            ));
            out.push(Contribution {
                scores: Scores::feedback_flags(flags),
                ..dossier(cell, Verdict::Within, -1)
            });
        }
        for s in steps {
            let Some(verdict) = Verdict::parse(&s.outcome) else {
                continue;
            };
            let month = Period::containing(PeriodKind::Month, from_days(s.handed_date));
            let key = Key {
                grain: Grain::Steps,
                dims: Dims::Unit,
                kind: Some(PeriodKind::Month),
                start: month.start,
                end: month.end,
                agency: self.sym(&s.agency_code),
                province: empty,
                level: empty,
                procedure: empty,
                field: empty,
                channel: empty,
                limit_amount: 0,
                limit_unit: empty,
                from_unit: self.sym(&s.from_unit),
                to_unit: self.sym(&s.to_unit),
            };
            let cell = self.cell(key);
            out.push(Contribution {
                step: true,
                mismatch: !s.recorded_outcome.is_empty() && s.recorded_outcome != s.outcome,
                ..Contribution::dossier(cell, verdict, i64::from(s.taken_seconds))
            });
        }
        (out, timer)
    }

    /// The contributions of a dossier's closed-period rows (those in scope).
    pub fn closed(&mut self, rows: &[PeriodRow], field: &str, channel: &str) -> Vec<Contribution> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(verdict) = Verdict::parse(&r.verdict).filter(|_| r.in_scope == 1) else {
                continue;
            };
            let kind = match r.period_kind.as_str() {
                "MONTH" => PeriodKind::Month,
                "QUARTER" => PeriodKind::Quarter,
                _ => PeriodKind::Year,
            };
            let empty = self.sym("");
            let key = Key {
                grain: Grain::Closed,
                dims: Dims::Procedure,
                kind: Some(kind),
                start: from_days(r.period_start),
                end: from_days(r.period_end),
                agency: self.sym(&r.agency_code),
                province: self.sym(&r.province_code),
                level: self.sym(&r.agency_level),
                procedure: self.sym(&r.procedure_code),
                field: self.sym(field),
                channel: self.sym(channel),
                limit_amount: r.limit_amount,
                limit_unit: self.sym(&r.limit_unit),
                from_unit: empty,
                to_unit: empty,
            };
            let extra = r
                .resolution_units
                .map_or(-1, |x| (x * 10_000.0).round() as i64);
            for dims in PERIOD_FAMILIES {
                let cell = self.cell(key.project(dims, empty));
                out.push(Contribution::dossier(cell, verdict, extra));
            }
        }
        out
    }

    /// The cells changed since the last call, as rows (with a new version), plus the cells
    /// to rewrite as they are; and their checkpoint form (the same rows as JSON, plus the
    /// metadata), or nothing when nothing changed.
    pub fn emit(&mut self, group: &str, partition: u32, now: u32) -> Vec<AggregateRow> {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        touched.retain(|&i| {
            let c = &self.cells[i as usize];
            c.counts != c.written
        });
        let mut rewrite = std::mem::take(&mut self.rewrite);
        rewrite.retain(|i| touched.binary_search(i).is_err());
        if touched.is_empty() && rewrite.is_empty() {
            return Vec::new();
        }
        if !touched.is_empty() {
            self.seq += 1;
        }
        let mut out = Vec::with_capacity(touched.len() + rewrite.len());
        for &i in &touched {
            let seq = self.seq;
            let c = &mut self.cells[i as usize];
            c.written = c.counts;
            c.version = seq;
        }
        for i in touched.into_iter().chain(rewrite) {
            out.push(self.row(i, group, partition, now));
        }
        out
    }

    /// Open dossiers past their due time at the cells' watermark, per agency level (the
    /// `OPEN` cells of the agency family).
    pub fn overdue_by_level(&self) -> std::collections::HashMap<&str, i64> {
        let mut out = std::collections::HashMap::new();
        for c in self
            .cells
            .iter()
            .filter(|c| c.key.grain == Grain::Open && c.key.dims == Dims::Agency)
        {
            *out.entry(self.name(c.key.level)).or_default() += c.counts.overdue;
        }
        out
    }

    /// A self-check for tests (`MOTCUA_VERIFY_CELLS`): where the live cells' counts differ
    /// from the sum of `contributions`, one line per cell (at most `limit`).
    pub fn disagreements<'a>(
        &self,
        contributions: impl Iterator<Item = &'a Contribution>,
        limit: usize,
    ) -> Vec<String> {
        let mut expected = vec![Counts::default(); self.cells.len()];
        for c in contributions {
            if !self.cells[c.cell as usize].dead {
                expected[c.cell as usize].apply(c, 1);
            }
        }
        self.cells
            .iter()
            .zip(&expected)
            .filter(|(cell, want)| !cell.dead && cell.counts != **want)
            .take(limit)
            .map(|(cell, want)| {
                format!(
                    "{} {:?} {} agency {} v{}: holds {:?}, contributions sum to {:?}",
                    cell.key.grain.as_str(),
                    cell.key.dims,
                    cell.key.start,
                    self.name(cell.key.agency),
                    cell.version,
                    cell.counts,
                    want
                )
            })
            .collect()
    }

    /// The metadata row's state (sequence and watermark) as JSON.
    pub fn meta(&self) -> (u32, String) {
        let meta = Meta {
            seq: self.seq,
            as_of: self.as_of.map(|t| t.timestamp()),
        };
        (
            self.seq,
            serde_json::to_string(&meta).expect("meta serialises"),
        )
    }

    /// A cell's checkpoint code.
    pub fn checkpoint_code(row: &AggregateRow) -> String {
        format!(
            "{CELL_PREFIX}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            row.grain,
            row.dims,
            row.period_kind,
            row.period_start,
            row.agency_code,
            row.province_code,
            row.agency_level,
            row.procedure_code,
            row.field_code,
            row.channel,
            row.limit_amount,
            row.limit_unit,
            row.from_unit,
            row.to_unit
        )
    }

    fn row(&self, i: u32, group: &str, partition: u32, now: u32) -> AggregateRow {
        let c = &self.cells[i as usize];
        let k = &c.key;
        let n = c.written;
        let u = |x: i64| x.max(0) as u64;
        let (kind, label) = match (k.grain, k.kind) {
            (Grain::Day | Grain::Receipt | Grain::Sipas, _) => {
                ("DAY".to_string(), k.start.to_string())
            }
            (Grain::Open, _) => (String::new(), String::new()),
            (_, Some(kind)) => (
                kind.as_str().to_string(),
                Period::containing(kind, k.start).label(),
            ),
            (_, None) => (String::new(), String::new()),
        };
        AggregateRow {
            consumer_group: group.to_string(),
            kafka_partition: partition,
            grain: k.grain.as_str().to_string(),
            dims: k.dims.as_str().to_string(),
            period_kind: kind,
            period: label,
            period_start: days(k.start),
            period_end: days(k.end),
            agency_code: self.name(k.agency).to_string(),
            province_code: self.name(k.province).to_string(),
            agency_level: self.name(k.level).to_string(),
            procedure_code: self.name(k.procedure).to_string(),
            field_code: self.name(k.field).to_string(),
            channel: self.name(k.channel).to_string(),
            limit_amount: k.limit_amount,
            limit_unit: self.name(k.limit_unit).to_string(),
            from_unit: self.name(k.from_unit).to_string(),
            to_unit: self.name(k.to_unit).to_string(),
            version: c.version,
            n_counted: u(n.counted),
            n_early: u(n.early),
            n_on_time: u(n.on_time),
            n_late: u(n.late),
            n_open_within: u(n.within),
            n_open_overdue: u(n.overdue),
            n_resolved: u(n.resolved),
            n_resolution_e4: u(n.resolution_e4),
            n_taken_seconds: u(n.taken_seconds),
            n_mismatches: u(n.mismatches),
            n_very_satisfied: u(n.ratings[0]),
            n_satisfied: u(n.ratings[1]),
            n_neutral: u(n.ratings[2]),
            n_dissatisfied: u(n.ratings[3]),
            n_very_dissatisfied: u(n.ratings[4]),
            n_complaints: u(n.complaints),
            n_rated_late: u(n.rated_late),
            n_satisfied_late: u(n.satisfied_late),
            n_766_unsatisfied: u(n.unsatisfied_766),
            n_results: u(n.results),
            n_electronic: u(n.electronic),
            n_online: u(n.online),
            n_c01_steps_points: u(n.c01_steps_points),
            n_c01_steps_scored: u(n.c01_steps_scored),
            n_c01_attitude_points: u(n.c01_attitude_points),
            n_ended_online: u(n.ended_online),
            n_c01_feedback_points: u(n.c01_feedback_points),
            n_supplemented_once: u(n.supplemented[0]),
            n_supplemented_more: u(n.supplemented[1]),
            n_rated_supplemented_once: u(n.rated_supplemented[0]),
            n_rated_supplemented_more: u(n.rated_supplemented[1]),
            n_satisfied_supplemented_once: u(n.satisfied_supplemented[0]),
            n_satisfied_supplemented_more: u(n.satisfied_supplemented[1]),
            n_sipas_sheets: u(n.sipas_sheets),
            n_sipas_answered_access: u(n.sipas_answered[0]),
            n_sipas_answered_procedure: u(n.sipas_answered[1]),
            n_sipas_answered_officials: u(n.sipas_answered[2]),
            n_sipas_answered_results: u(n.sipas_answered[3]),
            n_sipas_answered_feedback: u(n.sipas_answered[4]),
            n_sipas_satisfied_access: u(n.sipas_satisfied[0]),
            n_sipas_satisfied_procedure: u(n.sipas_satisfied[1]),
            n_sipas_satisfied_officials: u(n.sipas_satisfied[2]),
            n_sipas_satisfied_results: u(n.sipas_satisfied[3]),
            n_sipas_satisfied_feedback: u(n.sipas_satisfied[4]),
            n_digitised: u(n.digitised),
            n_synced: u(n.synced),
            n_feedback_answered: u(n.feedback_answered),
            n_feedback_on_time: u(n.feedback_on_time),
            n_feedback_overdue: u(n.feedback_overdue),
            n_feedback_rated: u(n.feedback_rated),
            n_feedback_satisfied: u(n.feedback_satisfied),
            n_feedback_complaints: u(n.feedback_complaints),
            updated_at: now,
        }
    }

    /// Loads the checkpointed cells and metadata. Running cells of periods that no longer
    /// run are skipped. Every loaded cell is written again at the next [`emit`](Self::emit)
    /// (the served table may not have the checkpoint's latest rows).
    pub fn restore(&mut self, meta: Option<&str>, cells: &[&str]) -> Result<(), String> {
        if let Some(m) = meta {
            let meta: Meta = serde_json::from_str(m)
                .map_err(|e| format!("aggregate metadata does not parse: {e}"))?;
            self.seq = meta.seq;
            let as_of = meta
                .as_of
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|t| t.with_timezone(&fold::vietnam()));
            self.roll(as_of);
        }
        for json in cells {
            let row: AggregateRow = serde_json::from_str(json)
                .map_err(|e| format!("aggregate cell does not parse: {e}"))?;
            let grain = Grain::parse(&row.grain)
                .ok_or_else(|| format!("aggregate cell of unknown grain `{}`", row.grain))?;
            let kind = match row.period_kind.as_str() {
                "MONTH" => Some(PeriodKind::Month),
                "QUARTER" => Some(PeriodKind::Quarter),
                "YEAR" => Some(PeriodKind::Year),
                _ => None,
            };
            let start = from_days(row.period_start);
            if grain == Grain::Running
                && !self
                    .running
                    .iter()
                    .any(|p| p.start == start && Some(p.kind) == kind)
            {
                continue;
            }
            let dims = Dims::parse(&row.dims)
                .ok_or_else(|| format!("aggregate cell of unknown dimensions `{}`", row.dims))?;
            let key = Key {
                grain,
                dims,
                kind,
                start,
                end: from_days(row.period_end),
                agency: self.sym(&row.agency_code),
                province: self.sym(&row.province_code),
                level: self.sym(&row.agency_level),
                procedure: self.sym(&row.procedure_code),
                field: self.sym(&row.field_code),
                channel: self.sym(&row.channel),
                limit_amount: row.limit_amount,
                limit_unit: self.sym(&row.limit_unit),
                from_unit: self.sym(&row.from_unit),
                to_unit: self.sym(&row.to_unit),
            };
            let i = self.cell(key);
            let n = |x: u64| x as i64;
            let counts = Counts {
                counted: n(row.n_counted),
                early: n(row.n_early),
                on_time: n(row.n_on_time),
                late: n(row.n_late),
                within: n(row.n_open_within),
                overdue: n(row.n_open_overdue),
                resolved: n(row.n_resolved),
                resolution_e4: n(row.n_resolution_e4),
                taken_seconds: n(row.n_taken_seconds),
                mismatches: n(row.n_mismatches),
                ratings: [
                    n(row.n_very_satisfied),
                    n(row.n_satisfied),
                    n(row.n_neutral),
                    n(row.n_dissatisfied),
                    n(row.n_very_dissatisfied),
                ],
                complaints: n(row.n_complaints),
                rated_late: n(row.n_rated_late),
                satisfied_late: n(row.n_satisfied_late),
                unsatisfied_766: n(row.n_766_unsatisfied),
                results: n(row.n_results),
                electronic: n(row.n_electronic),
                online: n(row.n_online),
                c01_steps_points: n(row.n_c01_steps_points),
                c01_steps_scored: n(row.n_c01_steps_scored),
                c01_attitude_points: n(row.n_c01_attitude_points),
                ended_online: n(row.n_ended_online),
                c01_feedback_points: n(row.n_c01_feedback_points),
                supplemented: [n(row.n_supplemented_once), n(row.n_supplemented_more)],
                rated_supplemented: [
                    n(row.n_rated_supplemented_once),
                    n(row.n_rated_supplemented_more),
                ],
                satisfied_supplemented: [
                    n(row.n_satisfied_supplemented_once),
                    n(row.n_satisfied_supplemented_more),
                ],
                sipas_sheets: n(row.n_sipas_sheets),
                sipas_answered: [
                    n(row.n_sipas_answered_access),
                    n(row.n_sipas_answered_procedure),
                    n(row.n_sipas_answered_officials),
                    n(row.n_sipas_answered_results),
                    n(row.n_sipas_answered_feedback),
                ],
                sipas_satisfied: [
                    n(row.n_sipas_satisfied_access),
                    n(row.n_sipas_satisfied_procedure),
                    n(row.n_sipas_satisfied_officials),
                    n(row.n_sipas_satisfied_results),
                    n(row.n_sipas_satisfied_feedback),
                ],
                digitised: n(row.n_digitised),
                synced: n(row.n_synced),
                feedback_answered: n(row.n_feedback_answered),
                feedback_on_time: n(row.n_feedback_on_time),
                feedback_overdue: n(row.n_feedback_overdue),
                feedback_rated: n(row.n_feedback_rated),
                feedback_satisfied: n(row.n_feedback_satisfied),
                feedback_complaints: n(row.n_feedback_complaints),
            };
            let c = &mut self.cells[i as usize];
            c.counts = counts;
            c.written = counts;
            c.version = row.version;
            self.seq = self.seq.max(row.version);
            self.rewrite.push(i);
        }
        if meta.is_some() || !cells.is_empty() {
            // The previous owner may still have one batch's write in flight (it writes a
            // batch while reading the next, and learns of the revocation while reading): start
            // above the sequence that write carries, and re-emit every restored cell at it,
            // so this owner's rows win.
            self.seq += 2;
            for &i in &self.rewrite {
                self.cells[i as usize].version = self.seq;
            }
        }
        Ok(())
    }
}

fn from_days(d: u16) -> NaiveDate {
    chrono::DateTime::UNIX_EPOCH.date_naive() + chrono::Duration::days(i64::from(d))
}

fn days(d: NaiveDate) -> u16 {
    let epoch = chrono::DateTime::UNIX_EPOCH.date_naive();
    (d - epoch).num_days().clamp(0, u16::MAX as i64) as u16
}
