//! The ClickHouse store: versioned migrations and batched, idempotent inserts.
//!
//! Idempotence comes from the table engines, not from the writer: raw events are keyed by
//! their Kafka coordinates, dossier states by (dossier, version), progress by (group, topic,
//! partition) with the offset as version. Inserting the same batch twice changes no figure
//! read through `FINAL` or the `v_*` views.
//!
//! Everything here works over HTTP with RowBinary against ClickHouse 18.16 as well as modern
//! servers, which is why row validation (it needs `RowBinaryWithNamesAndTypes`) is off.

use clickhouse::{Client, Compression, Row};
use serde::{Deserialize, Serialize};

/// Migrations, in order: (version, name, SQL with `${db}` placeholders).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../deploy/clickhouse/migrations/0001_init.sql"),
    ),
    (
        2,
        "deadlines",
        include_str!("../../../deploy/clickhouse/migrations/0002_deadlines.sql"),
    ),
];

/// Where the store is.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// HTTP endpoint, e.g. `http://127.0.0.1:18123`.
    pub url: String,
    /// Database holding motcua's tables.
    pub database: String,
    /// User, when not `default`.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
}

/// Store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The server did not answer.
    #[error("clickhouse at {url} is not reachable (start the local services with `bash deploy/local/up.sh`)")]
    Unreachable {
        /// Endpoint tried.
        url: String,
        /// Why.
        source: clickhouse::error::Error,
    },
    /// A migration statement failed.
    #[error("migration {version} ({name}) failed on statement starting `{statement}`")]
    Migration {
        /// Migration version.
        version: u32,
        /// Migration name.
        name: &'static str,
        /// First line of the failing statement.
        statement: String,
        /// The server's answer.
        source: clickhouse::error::Error,
    },
    /// Any other ClickHouse error.
    #[error("clickhouse request failed")]
    ClickHouse(#[from] clickhouse::error::Error),
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on motcua's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    server: Client,
    settings: StoreSettings,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.settings.url)
            .field("database", &self.settings.database)
            .finish()
    }
}

/// Splits a migration file into statements, dropping `--` comment lines.
pub fn statements(sql: &str, database: &str) -> Vec<String> {
    let body: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    body.split(";\n")
        .map(|s| s.trim().replace("${db}", database))
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Row, Deserialize)]
struct AppliedVersion {
    version: u32,
}

#[derive(Row, Serialize)]
struct MigrationRow {
    version: u32,
    name: String,
    applied_at: u32,
}

impl Store {
    /// A store for `settings`; nothing is contacted yet.
    pub fn new(settings: StoreSettings) -> Self {
        let mut server = Client::default()
            .with_url(&settings.url)
            .with_compression(Compression::None)
            .with_validation(false);
        if let Some(user) = &settings.user {
            server = server.with_user(user);
        }
        if let Some(password) = &settings.password {
            server = server.with_password(password);
        }
        let client = server.clone().with_database(&settings.database);
        Store {
            client,
            server,
            settings,
        }
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.settings.database
    }

    /// The client bound to the database, for queries.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Checks the server answers.
    pub async fn ping(&self) -> Result<()> {
        self.server
            .query("SELECT 1")
            .fetch_one::<u8>()
            .await
            .map(|_| ())
            .map_err(|source| StoreError::Unreachable {
                url: self.settings.url.clone(),
                source,
            })
    }

    /// Creates the database if needed and applies the migrations not yet applied, in order.
    /// Returns the versions applied by this call.
    pub async fn migrate(&self) -> Result<Vec<u32>> {
        self.ping().await?;
        let db = &self.settings.database;
        self.server
            .query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
            .execute()
            .await?;
        self.server
            .query(&format!(
                "CREATE TABLE IF NOT EXISTS {db}.schema_migrations \
                 (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version"
            ))
            .execute()
            .await?;
        let done: Vec<u32> = self
            .server
            .query(&format!("SELECT version FROM {db}.schema_migrations"))
            .fetch_all::<AppliedVersion>()
            .await?
            .into_iter()
            .map(|r| r.version)
            .collect();
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            for statement in statements(sql, db) {
                self.server
                    .query(&statement)
                    .execute()
                    .await
                    .map_err(|source| StoreError::Migration {
                        version: *version,
                        name,
                        statement: statement.lines().next().unwrap_or_default().to_string(),
                        source,
                    })?;
            }
            let now = chrono::Utc::now().timestamp() as u32;
            self.insert::<MigrationRow>(
                "schema_migrations",
                &[MigrationRow {
                    version: *version,
                    name: name.to_string(),
                    applied_at: now,
                }],
            )
            .await?;
            tracing::info!(version, name, database = %db, "migration applied");
            applied.push(*version);
        }
        Ok(applied)
    }

    /// Drops the whole database (demo runs and tests start clean with it).
    pub async fn drop_database(&self) -> Result<()> {
        self.ping().await?;
        self.server
            .query(&format!(
                "DROP DATABASE IF EXISTS {}",
                self.settings.database
            ))
            .execute()
            .await?;
        Ok(())
    }

    /// Inserts rows in one request. An error aborts the whole request, so a retry
    /// re-sends the whole batch (harmless: the engines deduplicate).
    pub async fn insert<T>(&self, table: &str, rows: &[T::Value<'_>]) -> Result<()>
    where
        T: clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<T>(table).await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }
}

/// A raw event row (`dossier_events`).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct EventRow {
    /// Dossier code.
    pub dossier_code: String,
    /// Event id.
    pub event_id: String,
    /// National code, empty when absent.
    pub national_dossier_code: String,
    /// Emitting unit.
    pub agency_code: String,
    /// Event kind.
    pub kind: String,
    /// Form set.
    pub form_set: String,
    /// Event time, Unix seconds.
    pub occurred_at: u32,
    /// The offset the sender wrote, minutes east of UTC.
    pub occurred_offset_minutes: i16,
    /// Procedure (receipts, refusals at the counter), else empty.
    pub procedure_code: String,
    /// The whole event as JSON, personal data pseudonymised.
    pub payload: String,
    /// Source topic.
    pub kafka_topic: String,
    /// Source partition.
    pub kafka_partition: u32,
    /// Source offset.
    pub kafka_offset: u64,
    /// When the processor wrote it, Unix seconds.
    pub ingested_at: u32,
}

/// A dossier state row (`dossier_state`).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct StateRow {
    /// Dossier code.
    pub dossier_code: String,
    /// Distinct events folded.
    pub version: u32,
    /// Receiving unit (from form 01, else from the dossier code).
    pub agency_code: String,
    /// First segment of the agency code.
    pub province_code: String,
    /// Level of the receiving unit, empty before the receipt.
    pub agency_level: String,
    /// Procedure.
    pub procedure_code: String,
    /// Field.
    pub field_code: String,
    /// Channel.
    pub channel: String,
    /// Form sets seen.
    pub form_sets: String,
    /// Applicant kind.
    pub applicant_kind: String,
    /// Applicant pseudonym.
    pub applicant_ref: String,
    /// Status code 1-10.
    pub status: u8,
    /// Classification.
    pub outcome: String,
    /// How processing ended, empty while open.
    pub end_kind: String,
    /// Receipt time.
    pub received_at: Option<u32>,
    /// Appointment.
    pub appointment_at: Option<u32>,
    /// End of processing.
    pub end_at: Option<u32>,
    /// End less supplement waiting.
    pub effective_end_at: Option<u32>,
    /// Vietnam date of the end, days since 1970-01-01.
    pub end_date: Option<u16>,
    /// Supplement waiting, seconds.
    pub waiting_seconds: u32,
    /// Statutory limit amount.
    pub time_limit_amount: i32,
    /// Statutory limit unit.
    pub time_limit_unit: String,
    /// Form 02 count.
    pub supplement_requests: u16,
    /// Form 04 issued.
    pub apologised: u8,
    /// Handover rows.
    pub handovers: u16,
    /// Electronic result.
    pub electronic_result: u8,
    /// Surveys.
    pub surveys: u16,
    /// Any survey dissatisfied.
    pub dissatisfied: u8,
    /// Any complaint.
    pub complaint: u8,
    /// Latest event time.
    pub last_event_at: u32,
    /// When written.
    pub updated_at: u32,
    /// Legal due time (catalogue limit, or form 01's, on the calendar). Migration 2.
    pub legal_due_at: Option<u32>,
    /// Legal limit amount.
    pub legal_limit_amount: i32,
    /// Legal limit unit.
    pub legal_limit_unit: String,
    /// `CATALOGUE` or `FORM_01`.
    pub legal_limit_source: String,
    /// `MATCHES`, `LATER_THAN_LEGAL` or `EARLIER_THAN_LEGAL`.
    pub appointment_check: String,
    /// Appointment − legal due time, minutes.
    pub appointment_gap_minutes: i64,
    /// Effective due time: the appointment moved by supplement waits under the policy.
    pub due_at: Option<u32>,
    /// Supplement waits measured like the limit, seconds.
    pub paused_seconds: u32,
    /// `EXTEND` or `RESTART`.
    pub pause_policy: String,
    /// New appointment of a form 04.
    pub reappointed_at: Option<u32>,
    /// Decision 766 indicator 2.2: resolution time in the limit's unit.
    pub resolution_units: Option<f64>,
    /// Steps judged late.
    pub late_steps: u16,
    /// 1 when the receipt or a due time lies in a year the calendar has no data for
    /// (weekends only were skipped there).
    pub off_calendar: u8,
}

/// One handover step of a dossier (`dossier_steps`), rewritten with the dossier's version.
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct StepRow {
    /// Dossier code.
    pub dossier_code: String,
    /// Step number.
    pub step: i32,
    /// The dossier's version when written.
    pub version: u32,
    /// Receiving agency of the dossier.
    pub agency_code: String,
    /// Its province.
    pub province_code: String,
    /// Its level.
    pub agency_level: String,
    /// Procedure.
    pub procedure_code: String,
    /// The unit whose step this is.
    pub from_unit: String,
    /// The unit it handed the dossier to.
    pub to_unit: String,
    /// Start of the step.
    pub started_at: u32,
    /// Handover time.
    pub handed_at: u32,
    /// Vietnam date of the handover, days since 1970-01-01.
    pub handed_date: u16,
    /// Allotted amount, 0 without an allotment.
    pub allotted_amount: i32,
    /// Allotted unit, empty without an allotment.
    pub allotted_unit: String,
    /// Step due time.
    pub due_at: Option<u32>,
    /// Time taken (measured like the allotment, less waits), seconds.
    pub taken_seconds: u32,
    /// `EARLY`, `ON_TIME`, `LATE`, or empty without an allotment.
    pub outcome: String,
    /// What the unit wrote on the slip, empty if nothing.
    pub recorded_outcome: String,
    /// When written.
    pub updated_at: u32,
}

/// How a closed period's report saw one dossier (`dossier_periods`), rewritten with the
/// dossier's version.
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct PeriodRow {
    /// Dossier code.
    pub dossier_code: String,
    /// `MONTH`, `QUARTER` or `YEAR`.
    pub period_kind: String,
    /// `2026-08`, `2026-Q3`, `2026`.
    pub period: String,
    /// First day, days since 1970-01-01.
    pub period_start: u16,
    /// First day after it.
    pub period_end: u16,
    /// The dossier's version when written.
    pub version: u32,
    /// 1 when the dossier is in the period's report.
    pub in_scope: u8,
    /// Receiving agency.
    pub agency_code: String,
    /// Its province.
    pub province_code: String,
    /// Its level.
    pub agency_level: String,
    /// Procedure.
    pub procedure_code: String,
    /// Legal limit amount.
    pub limit_amount: i32,
    /// Legal limit unit.
    pub limit_unit: String,
    /// `EARLY`, `ON_TIME`, `LATE`, `IN_PROGRESS`, `OVERDUE_IN_PROGRESS`; empty out of scope.
    pub verdict: String,
    /// Indicator 2.2 when it ended inside the period with a result.
    pub resolution_units: Option<f64>,
    /// When written.
    pub updated_at: u32,
}

/// A progress row (`processor_progress`).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct ProgressRow {
    /// Consumer group of the processor.
    pub consumer_group: String,
    /// Input topic.
    pub kafka_topic: String,
    /// Partition.
    pub kafka_partition: u32,
    /// Next offset to read.
    pub next_offset: u64,
    /// Event-time watermark, Unix seconds.
    pub watermark: u32,
    /// When written.
    pub updated_at: u32,
}

/// One line of the on-time report (`v_ontime_agency_daily`).
#[derive(Debug, Clone, Row, Deserialize, PartialEq)]
pub struct AgencyDayRow {
    /// Day, days since 1970-01-01.
    pub day: u16,
    /// Agency.
    pub agency_code: String,
    /// Level.
    pub agency_level: String,
    /// Dossiers counted.
    pub counted: u64,
    /// Early.
    pub early: u64,
    /// On time.
    pub on_time: u64,
    /// Late.
    pub late: u64,
    /// Rate in percent, 2 decimals.
    pub on_time_rate_percent: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_split_into_statements_with_the_database_substituted() {
        let s = statements(MIGRATIONS[0].2, "it_db");
        assert!(s.len() >= 8, "{}", s.len());
        assert!(s
            .iter()
            .all(|st| !st.contains("${db}") && !st.ends_with(';')));
        assert!(s[0].starts_with("CREATE TABLE IF NOT EXISTS it_db.dossier_events"));
    }
}
