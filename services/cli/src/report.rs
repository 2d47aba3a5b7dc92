//! The on-time report, read back from ClickHouse's auditor views.

use clickhouse::Row;
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

#[derive(Debug, Row, Deserialize)]
struct Totals {
    dossiers: u64,
    counted: u64,
    open: u64,
    overdue: u64,
    awaiting_receipt: u64,
    not_counted: u64,
}

/// Prints on-time rates per agency over every day in the store, and the province totals.
pub async fn print(store: &Store) -> anyhow::Result<()> {
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
