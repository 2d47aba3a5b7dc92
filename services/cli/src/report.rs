//! The on-time and deadline report, read back from ClickHouse's auditor views.

use clickhouse::Row;
use motcua_core::indicators::Scoring;
use motcua_runtime::store::Store;
use serde::Deserialize;

#[derive(Debug, Row, Deserialize)]
struct AgencyLine {
    agency_code: String,
    agency_level: String,
    counted: u64,
    early: u64,
    on_time: u64,
    late: u64,
    rate: f64,
}

/// Dossiers whose dates lie in a year with no announced calendar (`off_calendar`).
#[derive(Debug, Row, Deserialize)]
struct Provisional {
    dossiers: u64,
}

#[derive(Debug, Row, Deserialize)]
struct Totals {
    dossiers: u64,
    counted: u64,
    open: u64,
    overdue: u64,
    awaiting_receipt: u64,
    not_counted: u64,
}

/// What a ClickHouse error says is missing, when it says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `Code: 81`, UNKNOWN_DATABASE: the database was never created.
    Database,
    /// `Code: 60`, UNKNOWN_TABLE: the database exists but is not migrated.
    Table,
}

/// Recognises ClickHouse's UNKNOWN_DATABASE (`Code: 81`) and UNKNOWN_TABLE (`Code: 60`) in
/// an error's text, as 18.16 (`Code: 81, e.displayText() = ...`) and modern servers
/// (`Code: 81. DB::Exception: ...`) write it.
pub fn missing(error: &clickhouse::error::Error) -> Option<Missing> {
    missing_in(&error.to_string())
}

fn missing_in(text: &str) -> Option<Missing> {
    text.match_indices("Code: ").find_map(|(at, tag)| {
        let digits: String = text[at + tag.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        match digits.as_str() {
            "81" => Some(Missing::Database),
            "60" => Some(Missing::Table),
            _ => None,
        }
    })
}

/// One line saying what is missing and what to run, in place of the raw exception; any
/// other error is returned as it is.
fn explain(store: &Store, error: anyhow::Error) -> anyhow::Error {
    let db = store.database();
    let clickhouse = error.downcast_ref::<clickhouse::error::Error>();
    if let Some(clickhouse::error::Error::Network(_)) = clickhouse {
        return anyhow::anyhow!(
            "clickhouse at {} is not reachable: start the local services with `bash deploy/local/up.sh`, \
             or point MOTCUA_CLICKHOUSE_URL at a running server",
            store.url()
        );
    }
    match clickhouse.and_then(missing) {
        Some(Missing::Database) => anyhow::anyhow!(
            "database `{db}` does not exist: run `motcua migrate` and `motcua process` to fill it, \
             or `motcua demo` and then read its database with `--database {db}_demo`"
        ),
        Some(Missing::Table) => anyhow::anyhow!(
            "database `{db}` lacks motcua's tables or views: run `motcua migrate` (then `motcua process` to fill them)"
        ),
        None => error,
    }
}

/// Prints on-time rates per agency over every day in the store, and the province totals.
pub async fn print(store: &Store) -> anyhow::Result<()> {
    print_rates(store).await.map_err(|e| explain(store, e))
}

async fn print_rates(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    let lines: Vec<AgencyLine> = client
        .query(
            "SELECT agency_code, agency_level, sum(counted) AS counted_total, sum(early) AS early_total, \
             sum(on_time) AS on_time_total, sum(late) AS late_total, \
             round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS rate \
             FROM v_ontime_agency_daily GROUP BY agency_code, agency_level ORDER BY agency_code",
        )
        .fetch_all()
        .await?;
    let totals: Totals = client
        .query(
            "SELECT count() AS dossiers, \
             countIf(outcome IN ('EARLY', 'ON_TIME', 'LATE')) AS counted, \
             countIf(outcome IN ('IN_PROGRESS', 'OVERDUE_IN_PROGRESS')) AS open, \
             (SELECT countIf(overdue) FROM v_open_dossiers) AS overdue, \
             countIf(outcome = 'AWAITING_RECEIPT') AS awaiting_receipt, \
             countIf(outcome = 'NOT_COUNTED') AS not_counted \
             FROM v_dossiers",
        )
        .fetch_one()
        .await?;
    println!();
    println!("On-time rates per agency (Decision 766 indicator 2.1), read from ClickHouse {}.v_ontime_agency_daily", store.database());
    println!(
        "{:<14} {:<9} {:>8} {:>7} {:>8} {:>6} {:>9}",
        "agency", "level", "counted", "early", "on time", "late", "on-time %"
    );
    let (mut c, mut e, mut o, mut l) = (0, 0, 0, 0);
    for r in &lines {
        println!(
            "{:<14} {:<9} {:>8} {:>7} {:>8} {:>6} {:>9.2}",
            r.agency_code, r.agency_level, r.counted, r.early, r.on_time, r.late, r.rate
        );
        (c, e, o, l) = (c + r.counted, e + r.early, o + r.on_time, l + r.late);
    }
    let rate = if c > 0 {
        format!(
            "{:.2}",
            ((e + o) as f64 * 10000.0 / c as f64).round() / 100.0
        )
    } else {
        "N/A".into()
    };
    println!(
        "{:<14} {:<9} {:>8} {:>7} {:>8} {:>6} {:>9}",
        "ALL", "", c, e, o, l, rate
    );
    println!();
    println!(
        "dossiers: {} tracked, {} ended and counted, {} open ({} overdue at the watermark), \
         {} awaiting their receipt, {} refused at the counter (not counted)",
        totals.dossiers,
        totals.counted,
        totals.open,
        totals.overdue,
        totals.awaiting_receipt,
        totals.not_counted
    );
    Ok(())
}

#[derive(Debug, Row, Deserialize)]
struct ProgressLine {
    period: String,
    label: String,
    counted: u64,
    early: u64,
    on_time: u64,
    late: u64,
    open_within: u64,
    open_overdue: u64,
    rate: f64,
}

#[derive(Debug, Row, Deserialize)]
struct ResolutionLine {
    procedure_code: String,
    limit_amount: i32,
    limit_unit: String,
    resolved: u64,
    average: Option<f64>,
}

#[derive(Debug, Row, Deserialize)]
struct SatisfactionLine {
    label: String,
    ended: u64,
    rated_total: u64,
    satisfied_share: Option<f64>,
    on_time_share: Option<f64>,
    late_share: Option<f64>,
    complaint_count: u64,
}

#[derive(Debug, Row, Deserialize)]
struct GroupFiveLine {
    period: String,
    agency_code: String,
    counted: u64,
    unsatisfied: u64,
    rated: u64,
    share: f64,
    score: f64,
}

#[derive(Debug, Row, Deserialize)]
struct StepLine {
    from_unit: String,
    steps: u64,
    late: u64,
    rate: f64,
    avg_taken_hours: f64,
    mismatches: u64,
}

#[derive(Debug, Row, Deserialize)]
struct OverdueLine {
    agency_code: String,
    open_dossiers: u64,
    overdue_dossiers: u64,
}

#[derive(Debug, Row, Deserialize)]
struct Findings {
    later: u64,
    earlier: u64,
    max_gap_minutes: i64,
}

/// Prints the deadline figures: Decision 766 indicators 2.1 (with points) and 2.2, step
/// on-time rates per unit, appointment findings and overdue dossiers per agency.
/// Ratings joined to their dossiers, per province and channel over everything served, and
/// Decision 766 group 5 for the agencies that score lowest in the latest year.
async fn satisfaction(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    // Shares from the summed counts, as the views compute them per day.
    let by_channel: Vec<SatisfactionLine> = client
        .query(
            "SELECT label, ended, rated_total, \
             if(rated_total = 0, NULL, round(100 * happy / rated_total, 2)) AS satisfied_share, \
             if(timely = 0, NULL, round(100 * happy_timely / timely, 2)) AS on_time_share, \
             if(tardy = 0, NULL, round(100 * happy_tardy / tardy, 2)) AS late_share, \
             complaint_count FROM (SELECT concat(province_code, ' ', channel) AS label, \
             sum(counted) AS ended, sum(rated) AS rated_total, \
             sum(very_satisfied) + sum(satisfied) AS happy, sum(rated_on_time) AS timely, \
             sum(satisfied_on_time) AS happy_timely, sum(rated_late) AS tardy, \
             sum(satisfied_late) AS happy_tardy, sum(complaints) AS complaint_count \
             FROM v_satisfaction_channel_daily GROUP BY label) ORDER BY label",
        )
        .fetch_all()
        .await?;
    println!();
    println!(
        "Satisfaction, ratings joined to their dossiers (standing rating per ended dossier; v_satisfaction_*), province by channel:"
    );
    println!(
        "{:<16} {:>8} {:>7} {:>11} {:>10} {:>9} {:>10}",
        "", "ended", "rated", "satisfied %", "on time %", "late %", "complaints"
    );
    let pct = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
    for r in &by_channel {
        println!(
            "{:<16} {:>8} {:>7} {:>11} {:>10} {:>9} {:>10}",
            r.label,
            r.ended,
            r.rated_total,
            pct(r.satisfied_share),
            pct(r.on_time_share),
            pct(r.late_share),
            r.complaint_count
        );
    }
    let lowest: Vec<GroupFiveLine> = client
        .query(
            "SELECT period, agency_code, counted, unsatisfied, rated, \
             indicator_5_percent AS share, indicator_5_points AS score \
             FROM v_766_satisfaction_agency WHERE period_kind = 'YEAR' \
             AND period = (SELECT max(period) FROM v_766_satisfaction_agency WHERE period_kind = 'YEAR') \
             ORDER BY share, agency_code LIMIT 8",
        )
        .fetch_all()
        .await?;
    println!();
    println!(
        "Decision 766 group 5, satisfaction with dossier handling ((ended - rated dissatisfied, with a complaint, or late) / ended; 6 points, full at 90 %), lowest agencies:"
    );
    for r in &lowest {
        println!(
            "  {:<22} {:<6} {:>6} ended {:>5} against {:>5} rated {:>7.2} % {:>5.2} points",
            r.agency_code, r.period, r.counted, r.unsatisfied, r.rated, r.share, r.score
        );
    }
    if lowest.is_empty() {
        println!("  none");
    }
    Ok(())
}

/// The latest year's rows of `{view}_province`, one per province, then the five lowest
/// agencies of `{view}_agency` by `order` among those meeting `enough` (SQL); and how many of
/// the rows are provinces.
async fn provinces_then_lowest<T>(
    client: &clickhouse::Client,
    view: &str,
    columns: &str,
    enough: &str,
    order: &str,
) -> anyhow::Result<(Vec<T>, usize)>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    let latest = format!("(SELECT max(period) FROM {view}_province WHERE period_kind = 'YEAR')");
    let mut lines: Vec<T> = client
        .query(&format!(
            "SELECT province_code AS subject, {columns} FROM {view}_province \
             WHERE period_kind = 'YEAR' AND period = {latest} ORDER BY subject"
        ))
        .fetch_all()
        .await?;
    let provinces = lines.len();
    lines.extend(
        client
            .query(&format!(
                "SELECT agency_code AS subject, {columns} FROM {view}_agency \
                 WHERE period_kind = 'YEAR' AND period = {latest} AND {enough} \
                 ORDER BY {order}, subject LIMIT 5"
            ))
            .fetch_all::<T>()
            .await?,
    );
    Ok((lines, provinces))
}

#[derive(Debug, Row, Deserialize)]
struct SipasLine {
    subject: String,
    sheets: u64,
    access_percent: Option<f64>,
    procedure_percent: Option<f64>,
    officials_percent: Option<f64>,
    results_percent: Option<f64>,
    feedback_percent: Option<f64>,
    sipas_percent: Option<f64>,
}

/// The SIPAS index of the latest year per province (each element and overall, against the
/// province's target) and the agencies with the lowest.
async fn sipas(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    let columns = "sheets, access_percent, procedure_percent, officials_percent, \
                   results_percent, feedback_percent, sipas_percent";
    let latest = "(SELECT max(period) FROM v_sipas_province WHERE period_kind = 'YEAR')";
    let (lines, provinces): (Vec<SipasLine>, usize) =
        provinces_then_lowest(client, "v_sipas", columns, "sheets >= 5", "sipas_percent").await?;
    let targets: Vec<(String, f64)> = client
        .query(&format!(
            "SELECT province_code, target_percent FROM v_target_findings \
             WHERE metric = 'sipas_percent' AND period_kind = 'YEAR' AND period = {latest}"
        ))
        .fetch_all()
        .await?;
    println!();
    println!(
        "SIPAS index (v_sipas_*), latest year: criteria answered satisfied or very satisfied, per element:"
    );
    println!(
        "  {:<22} {:>7} {:>8} {:>10} {:>10} {:>8} {:>9} {:>8}",
        "", "sheets", "access", "procedure", "officials", "results", "feedback", "overall"
    );
    let pct = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
    for (i, r) in lines.iter().enumerate() {
        if i == provinces {
            println!("  lowest agencies (5 sheets or more):");
        }
        let target = targets
            .iter()
            .find(|(p, _)| *p == r.subject)
            .map(|(_, t)| format!(" (target {t:.0} %)"))
            .unwrap_or_default();
        println!(
            "  {:<22} {:>7} {:>8} {:>10} {:>10} {:>8} {:>9} {:>8}{target}",
            r.subject,
            r.sheets,
            pct(r.access_percent),
            pct(r.procedure_percent),
            pct(r.officials_percent),
            pct(r.results_percent),
            pct(r.feedback_percent),
            pct(r.sipas_percent)
        );
    }
    if lines.is_empty() {
        println!("  no answer sheet yet");
    }
    Ok(())
}

#[derive(Debug, Row, Deserialize)]
struct FeedbackLine {
    subject: String,
    answered: u64,
    answered_late: u64,
    overdue: u64,
    on_time_percent: Option<f64>,
    complaints: u64,
    rated: u64,
    satisfied_percent: Option<f64>,
}

/// The latest year per province: dossiers synced to the national portal (1.4) and digitised
/// at receipt (4.2), and feedback and complaints (PAKN) handled on time, with the agencies
/// slowest to answer.
async fn feedback(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    let year = |view: &str| format!("(SELECT max(period) FROM {view} WHERE period_kind = 'YEAR')");
    let share = |view: &str, column: &str| {
        format!(
            "SELECT province_code, received, {column} FROM {view} \
             WHERE period_kind = 'YEAR' AND period = {} ORDER BY province_code",
            year(view)
        )
    };
    let synced: Vec<(String, u64, u64)> = client
        .query(&share("v_766_sync_province", "synced"))
        .fetch_all()
        .await?;
    let digitised: Vec<(String, u64, u64)> = client
        .query(&share("v_766_digitised_province", "digitised"))
        .fetch_all()
        .await?;
    println!();
    println!(
        "Received in the latest year, synced to the national portal (1.4) and digitised at receipt (4.2):"
    );
    let pct = |n: u64, d: u64| {
        if d > 0 {
            format!("{:.2} %", 100.0 * n as f64 / d as f64)
        } else {
            "N/A".to_string()
        }
    };
    for (province, received, n) in &synced {
        let d = digitised
            .iter()
            .find(|(p, _, _)| p == province)
            .map_or("N/A".to_string(), |(_, r, d)| pct(*d, *r));
        println!(
            "  {province:<22} {received:>7} received  synced {:>8}  digitised {d:>8}",
            pct(*n, *received)
        );
    }
    if synced.is_empty() {
        println!("  nothing received yet");
    }
    let columns = "answered, answered_late, overdue, on_time_percent, complaints, rated, \
                   satisfied_percent";
    let (lines, provinces): (Vec<FeedbackLine>, usize) = provinces_then_lowest(
        client,
        "v_feedback",
        columns,
        "answered + overdue >= 5",
        "on_time_percent",
    )
    .await?;
    println!();
    println!("Feedback and complaints (PAKN, v_feedback_*), latest year: handled on time = answered by the due time / (answered + overdue):");
    println!(
        "  {:<22} {:>8} {:>5} {:>8} {:>8} {:>10} {:>6} {:>10}",
        "", "answered", "late", "overdue", "on time", "complaints", "rated", "satisfied"
    );
    let pct = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
    for (i, r) in lines.iter().enumerate() {
        if i == provinces {
            println!("  slowest agencies (5 items or more):");
        }
        println!(
            "  {:<22} {:>8} {:>5} {:>8} {:>8} {:>10} {:>6} {:>10}",
            r.subject,
            r.answered,
            r.answered_late,
            r.overdue,
            pct(r.on_time_percent),
            r.complaints,
            r.rated,
            pct(r.satisfied_percent)
        );
    }
    if lines.is_empty() {
        println!("  no item answered or overdue yet");
    }
    Ok(())
}

#[derive(Debug, Row, Deserialize)]
struct Circular01Line {
    subject: String,
    counted: u64,
    i1_total_time: f64,
    i2_unit_times: Option<f64>,
    i3_contacts: f64,
    i7_attitude: f64,
    i8_feedback: Option<f64>,
    i9_online: f64,
    points: f64,
    points_computable: u8,
    points_scaled_18: f64,
    grade_scaled: String,
}

#[derive(Debug, Row, Deserialize)]
struct SupplementsLine {
    supplements: u8,
    ended: u64,
    rated_total: u64,
    satisfied_share: Option<f64>,
}

/// The Circular 01/2018 score of the latest year per province and its lowest agencies (the
/// six indicators the events allow), and satisfaction by number of supplement requests.
async fn circular01(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    let columns =
        "counted, i1_total_time, i2_unit_times, i3_contacts, i7_attitude, i8_feedback, i9_online, \
                   points, points_computable, points_scaled_18, grade_scaled";
    let latest = "(SELECT max(period) FROM v_c01_province WHERE period_kind = 'YEAR')";
    let (lines, provinces): (Vec<Circular01Line>, usize) =
        provinces_then_lowest(client, "v_c01", columns, "1", "points_scaled_18").await?;
    println!();
    println!(
        "Circular 01/2018 scoring (v_c01_*), latest year, average points per ended dossier (2 each; \
         4 agencies contacted, 5 one-stop, 6 publicity: not computable from the events):"
    );
    println!(
        "  {:<22} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>12} {:>8} grade (scaled)",
        "", "ended", "1", "2", "3", "7", "8", "9", "points", "of 18"
    );
    let pts = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
    for (i, r) in lines.iter().enumerate() {
        if i == provinces {
            println!("  lowest agencies:");
        }
        println!(
            "  {:<22} {:>7} {:>5.2} {:>5} {:>5.2} {:>5.2} {:>5} {:>5.2} {:>6.2} of {:<2} {:>8.2} {}",
            r.subject,
            r.counted,
            r.i1_total_time,
            pts(r.i2_unit_times),
            r.i3_contacts,
            r.i7_attitude,
            pts(r.i8_feedback),
            r.i9_online,
            r.points,
            r.points_computable,
            r.points_scaled_18,
            r.grade_scaled
        );
    }
    if lines.is_empty() {
        println!("  nothing ended yet");
    }
    let by_supplements: Vec<SupplementsLine> = client
        .query(&format!(
            "SELECT supplements, sum(counted) AS ended, sum(rated) AS rated_total, \
             if(rated_total = 0, NULL, round(100 * sum(satisfied) / rated_total, 2)) AS satisfied_share \
             FROM v_satisfaction_supplements WHERE period_kind = 'YEAR' \
             AND period = {latest} GROUP BY supplements ORDER BY supplements"
        ))
        .fetch_all()
        .await?;
    println!(
        "Satisfaction by number of supplement requests, latest year (v_satisfaction_supplements):"
    );
    for r in &by_supplements {
        let label = match r.supplements {
            0 => "none",
            1 => "one",
            _ => "more than one",
        };
        println!(
            "  {:<14} {:>7} ended {:>6} rated {:>7} satisfied %",
            label,
            r.ended,
            r.rated_total,
            r.satisfied_share
                .map_or("N/A".to_string(), |v| format!("{v:.2}"))
        );
    }
    Ok(())
}

#[derive(Debug, Row, Deserialize)]
struct ScorecardLine {
    province_code: String,
    indicator: String,
    value_percent: Option<f64>,
    points: Option<f64>,
    max_points: f64,
}

#[derive(Debug, Row, Deserialize)]
struct RuleLine {
    indicator: String,
    group_name: String,
    indicator_name: String,
    note: String,
}

#[derive(Debug, Row, Deserialize)]
struct TotalLine {
    agency_code: String,
    points: Option<f64>,
    computable_max: f64,
}

#[derive(Debug, Row, Deserialize)]
struct FindingLine {
    province_code: String,
    metric: String,
    subject: String,
    value_percent: f64,
    target_percent: f64,
}

/// The Decision 766 scorecard of the latest year per province (indicators the events allow,
/// points from the rule table), the agencies with the fewest points, and the figures that
/// miss their province's target.
async fn scorecard(store: &Store) -> anyhow::Result<()> {
    let client = store.client();
    let latest = "(SELECT max(period) FROM v_766_scorecard_province WHERE period_kind = 'YEAR')";
    let lines: Vec<ScorecardLine> = client
        .query(&format!(
            "SELECT province_code, indicator, value_percent, points, max_points \
             FROM v_766_scorecard_province WHERE period_kind = 'YEAR' AND period = {latest} \
             ORDER BY province_code, indicator"
        ))
        .fetch_all()
        .await?;
    let rules: Vec<RuleLine> = client
        .query(
            "SELECT indicator, group_name, indicator_name, note FROM scorecard_indicators FINAL \
             WHERE scheme = '766-2022' ORDER BY indicator",
        )
        .fetch_all()
        .await?;
    let year: String = client
        .query(&format!("SELECT toString({latest})"))
        .fetch_one()
        .await?;
    println!();
    println!(
        "Decision 766 scorecard, {year}, province with its sub-units (v_766_scorecard_*; points from scorecard_indicators):"
    );
    let pct = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2} %"));
    let pts = |v: Option<f64>| v.map_or("N/A".to_string(), |v| format!("{v:.2}"));
    let mut total = (0.0, 0.0);
    for rule in &rules {
        let line = lines.iter().find(|l| l.indicator == rule.indicator);
        match line {
            Some(l) => {
                total.0 += l.points.unwrap_or(0.0);
                total.1 += if l.points.is_some() {
                    l.max_points
                } else {
                    0.0
                };
                println!(
                    "  {:<4} {:<54} {:>9} {:>6} / {:<5} {} ({})",
                    rule.indicator,
                    rule.indicator_name,
                    pct(l.value_percent),
                    pts(l.points),
                    l.max_points,
                    l.province_code,
                    rule.group_name
                );
            }
            None => println!(
                "  {:<4} {:<54} {:>9}  not computable: {}",
                rule.indicator, rule.indicator_name, "N/A", rule.note
            ),
        }
    }
    println!(
        "  total {:.2} of the {:.0} points the events allow scoring (groups 1-5 weigh 18/20/22/22/18 of 100)",
        total.0, total.1
    );
    let lowest: Vec<TotalLine> = client
        .query(&format!(
            "SELECT agency_code, points, computable_max FROM v_766_scorecard_groups_agency \
             WHERE period_kind = 'YEAR' AND period = {latest} AND group_code = 'total' \
             ORDER BY points / computable_max, agency_code LIMIT 5"
        ))
        .fetch_all()
        .await?;
    println!("  fewest points, agencies:");
    for r in &lowest {
        println!(
            "    {:<22} {:>6} of {}",
            r.agency_code,
            pts(r.points),
            r.computable_max
        );
    }
    let missed: Vec<FindingLine> = client
        .query(&format!(
            "SELECT province_code, metric, subject, value_percent, target_percent \
             FROM v_target_findings WHERE period_kind = 'YEAR' AND period = {latest} AND met = 0 \
             ORDER BY metric, value_percent LIMIT 12"
        ))
        .fetch_all()
        .await?;
    println!(
        "Targets missed in {year} (v_target_findings; targets per province and year in `targets`):"
    );
    for r in &missed {
        let what = if r.subject.is_empty() {
            r.metric.clone()
        } else {
            format!("{} {}", r.metric, r.subject)
        };
        println!(
            "  {:<6} {:<28} {:>7.2} % below the target {:.2} %",
            r.province_code, what, r.value_percent, r.target_percent
        );
    }
    if missed.is_empty() {
        println!("  none");
    }
    Ok(())
}

pub async fn print_deadlines(store: &Store, scoring: &Scoring) -> anyhow::Result<()> {
    deadlines(store, scoring)
        .await
        .map_err(|e| explain(store, e))
}

async fn deadlines(store: &Store, scoring: &Scoring) -> anyhow::Result<()> {
    let client = store.client();
    let province: Vec<ProgressLine> = client
        .query(
            "SELECT period, province_code AS label, counted, early, on_time, late, \
             open_within, open_overdue, indicator_2_1_percent AS rate FROM v_766_province \
             ORDER BY label, period_kind = 'YEAR', period_kind = 'QUARTER', period",
        )
        .fetch_all()
        .await?;
    let levels: Vec<ProgressLine> = client
        .query(
            "SELECT period, concat(province_code, ' ', agency_level) AS label, counted, \
             early, on_time, late, open_within, open_overdue, indicator_2_1_percent AS rate \
             FROM v_766_level WHERE period_kind = 'YEAR' ORDER BY label, period",
        )
        .fetch_all()
        .await?;
    println!();
    println!(
        "Decision 766 indicator 2.1 (ended in the period, or open at the watermark), province including its sub-units, then by level:"
    );
    println!(
        "{:<16} {:<8} {:>8} {:>7} {:>8} {:>6} {:>8} {:>8} {:>7} {:>7}",
        "",
        "period",
        "counted",
        "early",
        "on time",
        "late",
        "open ok",
        "overdue",
        "2.1 %",
        "points"
    );
    for r in province.iter().chain(&levels) {
        let points = scoring
            .points_2_1(Some(r.rate))
            .map_or("N/A".to_string(), |p| format!("{p:.2}"));
        println!(
            "{:<16} {:<8} {:>8} {:>7} {:>8} {:>6} {:>8} {:>8} {:>7.2} {:>7}",
            r.label,
            r.period,
            r.counted,
            r.early,
            r.on_time,
            r.late,
            r.open_within,
            r.open_overdue,
            r.rate,
            points
        );
    }
    // The latest version of each dossier's row says whether it counted on a provisional
    // year (docs/CALENDAR.md §7).
    let provisional: Provisional = client
        .query(
            "SELECT countIf(off = 1) AS dossiers FROM (SELECT dossier_code, \
             argMax(off_calendar, version) AS off FROM dossier_state GROUP BY dossier_code)",
        )
        .fetch_one()
        .await?;
    if provisional.dossiers > 0 {
        println!(
            "note: {} dossiers have dates in a year with no announced calendar; their working \
             days were counted on the provisional calendar (Labour Code holidays, no swaps), \
             so these figures are provisional until data/calendar/vn/<year>.json is added",
            provisional.dossiers
        );
    }

    let resolution: Vec<ResolutionLine> = client
        .query(
            "SELECT procedure_code, limit_amount, limit_unit, resolved, \
             indicator_2_2_average AS average FROM v_766_resolution_province \
             WHERE period_kind = 'YEAR' ORDER BY resolved DESC, procedure_code LIMIT 8",
        )
        .fetch_all()
        .await?;
    println!();
    println!("Decision 766 indicator 2.2, average resolution time in the procedure's unit (province, year; 8 busiest procedures):");
    for r in &resolution {
        let avg = r.average.map_or("N/A".to_string(), |a| format!("{a:.2}"));
        println!(
            "  {:<26} {:>6} resolved  average {:>7} of {} {}",
            r.procedure_code,
            r.resolved,
            avg,
            r.limit_amount,
            r.limit_unit.to_lowercase().replace('_', " ")
        );
    }

    satisfaction(store).await?;
    circular01(store).await?;
    sipas(store).await?;
    feedback(store).await?;
    scorecard(store).await?;

    let steps: Vec<StepLine> = client
        .query(
            "SELECT from_unit, sum(steps) AS steps_total, sum(late) AS late_total, \
             round(100 * (sum(early) + sum(on_time)) / sum(steps), 2) AS rate, \
             round(sum(avg_taken_hours * steps) / sum(steps), 2) AS avg_taken, \
             sum(self_report_mismatches) AS mismatches \
             FROM v_steps_unit_monthly GROUP BY from_unit HAVING steps_total >= 20 \
             ORDER BY rate, from_unit LIMIT 6",
        )
        .fetch_all()
        .await?;
    println!();
    println!("Where dossiers get stuck: units with the lowest step on-time rate (process-control slip, ≥ 20 steps):");
    for r in &steps {
        println!(
            "  {:<16} {:>6} steps {:>5} late  on time {:>6.2} %  average {:>5.2} h taken  {} self-reported wrongly",
            r.from_unit, r.steps, r.late, r.rate, r.avg_taken_hours, r.mismatches
        );
    }

    let findings: Findings = client
        .query(
            "SELECT countIf(appointment_check = 'LATER_THAN_LEGAL') AS later, \
             countIf(appointment_check = 'EARLIER_THAN_LEGAL') AS earlier, \
             max(abs(appointment_gap_minutes)) AS max_gap FROM v_appointment_findings",
        )
        .fetch_one()
        .await?;
    println!();
    println!(
        "Appointment findings (form 01 appointment ≠ legal due time): {} later than the law allows, {} earlier; largest gap {} min (v_appointment_findings)",
        findings.later, findings.earlier, findings.max_gap_minutes
    );

    let overdue: Vec<OverdueLine> = client
        .query(
            "SELECT agency_code, open_dossiers, overdue_dossiers FROM v_overdue_agency \
             WHERE overdue_dossiers > 0 ORDER BY overdue_dossiers DESC, agency_code LIMIT 5",
        )
        .fetch_all()
        .await?;
    println!("Overdue open dossiers at the watermark, most affected agencies (full list: v_overdue_dossiers):");
    for r in &overdue {
        println!(
            "  {:<16} {:>5} overdue of {:>5} open",
            r.agency_code, r.overdue_dossiers, r.open_dossiers
        );
    }
    if overdue.is_empty() {
        println!("  none");
    }
    Ok(())
}

#[derive(Debug, Row, Deserialize)]
struct OverdueDossier {
    dossier_code: String,
    agency_code: String,
    procedure_code: String,
    due_at: Option<u32>,
    reappointed_at: Option<u32>,
    hours_overdue: f64,
    as_of: u32,
}

fn vn_time(secs: u32) -> String {
    chrono::DateTime::from_timestamp(i64::from(secs), 0)
        .map(|t| {
            t.with_timezone(&motcua_core::fold::vietnam())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Prints the open dossiers past their due time as of the watermark, most overdue first,
/// for one agency and its sub-units or for all.
pub async fn print_overdue(store: &Store, agency: Option<&str>, limit: u64) -> anyhow::Result<()> {
    overdue(store, agency, limit)
        .await
        .map_err(|e| explain(store, e))
}

async fn overdue(store: &Store, agency: Option<&str>, limit: u64) -> anyhow::Result<()> {
    let agency = agency.unwrap_or_default();
    let rows: Vec<OverdueDossier> = store
        .client()
        .query(
            "SELECT dossier_code, agency_code, procedure_code, due_at, reappointed_at, \
             hours_overdue, as_of FROM v_overdue_dossiers \
             WHERE ? = '' OR agency_code = ? OR startsWith(agency_code, concat(?, '.')) \
             ORDER BY due_at, dossier_code LIMIT ?",
        )
        .bind(agency)
        .bind(agency)
        .bind(agency)
        .bind(limit)
        .fetch_all()
        .await?;
    let Some(first) = rows.first() else {
        println!("no overdue open dossier at the watermark");
        return Ok(());
    };
    println!(
        "Open dossiers past their due time as of the watermark {} (+07:00), most overdue first:",
        vn_time(first.as_of)
    );
    println!(
        "{:<26} {:<14} {:<24} {:<16} {:<16} {:>8}",
        "dossier", "agency", "procedure", "due", "new date (04)", "hours"
    );
    for r in &rows {
        println!(
            "{:<26} {:<14} {:<24} {:<16} {:<16} {:>8.1}",
            r.dossier_code,
            r.agency_code,
            r.procedure_code,
            r.due_at.map(vn_time).unwrap_or_default(),
            r.reappointed_at.map(vn_time).unwrap_or_default(),
            r.hours_overdue
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::error::Error;

    #[test]
    fn recognises_a_missing_database_or_table_from_old_and_new_servers() {
        let cases = [
            // ClickHouse 18.16, as its HTTP interface answers.
            ("Code: 81, e.displayText() = DB::Exception: Database motcua doesn't exist, e.what() = DB::Exception", Some(Missing::Database)),
            ("Code: 60, e.displayText() = DB::Exception: Table motcua.v_dossiers doesn't exist., e.what() = DB::Exception", Some(Missing::Table)),
            // Modern servers.
            ("Code: 81. DB::Exception: Database motcua does not exist. (UNKNOWN_DATABASE) (version 24.8.1)", Some(Missing::Database)),
            ("Code: 60. DB::Exception: Unknown table expression identifier 'v_dossiers'. (UNKNOWN_TABLE)", Some(Missing::Table)),
            // Only the code from the response header, when the body was empty.
            ("Code: 81", Some(Missing::Database)),
            // Other codes, and codes that merely start with the same digits.
            ("Code: 62, e.displayText() = DB::Exception: Syntax error", None),
            ("Code: 810. DB::Exception: something else", None),
            ("Code: 600. DB::Exception: something else", None),
        ];
        for (text, expected) in cases {
            let error = Error::BadResponse(text.to_string());
            assert_eq!(missing(&error), expected, "{text}");
        }
        assert_eq!(missing(&Error::TimedOut), None);
    }

    #[test]
    fn a_missing_database_is_explained_in_one_line() {
        let store = Store::new(motcua_runtime::store::StoreSettings {
            url: "http://127.0.0.1:1".into(),
            database: "motcua".into(),
            user: None,
            password: None,
        });
        let raw = Error::BadResponse(
            "Code: 81, e.displayText() = DB::Exception: Database motcua doesn't exist".into(),
        );
        let explained = explain(&store, raw.into()).to_string();
        assert!(!explained.contains('\n'), "{explained}");
        assert!(!explained.contains("Code: 81"), "{explained}");
        assert!(explained.contains("motcua migrate"), "{explained}");
        assert!(explained.contains("motcua demo"), "{explained}");
        let other = explain(&store, Error::TimedOut.into()).to_string();
        assert_eq!(other, Error::TimedOut.to_string());
    }
}
