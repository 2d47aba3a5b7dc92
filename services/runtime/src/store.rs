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
    (
        3,
        "state",
        include_str!("../../../deploy/clickhouse/migrations/0003_state.sql"),
    ),
    (
        4,
        "aggregates",
        include_str!("../../../deploy/clickhouse/migrations/0004_aggregates.sql"),
    ),
    (
        5,
        "satisfaction",
        include_str!("../../../deploy/clickhouse/migrations/0005_satisfaction.sql"),
    ),
    (
        6,
        "scorecard",
        include_str!("../../../deploy/clickhouse/migrations/0006_scorecard.sql"),
    ),
    (
        7,
        "indices",
        include_str!("../../../deploy/clickhouse/migrations/0007_indices.sql"),
    ),
    (
        8,
        "feedback",
        include_str!("../../../deploy/clickhouse/migrations/0008_feedback.sql"),
    ),
];

/// The schema version this build writes: a processor refuses to run on an older database.
pub fn schema_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

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
    /// The database is missing or older than this build: the processor does not run DDL.
    #[error("clickhouse database `{database}` {found}: run `motcua migrate` (with the same MOTCUA_CLICKHOUSE_* settings) first")]
    Schema {
        /// Database name.
        database: String,
        /// What was found, e.g. "does not exist" or "is at schema version 2, this build needs 3".
        found: String,
    },
    /// A request took longer than the configured timeout (a frozen or overloaded server).
    #[error("clickhouse did not answer within {seconds} s")]
    TimedOut {
        /// The timeout, seconds.
        seconds: u64,
    },
    /// Any other ClickHouse error.
    #[error("clickhouse request failed")]
    ClickHouse(#[from] clickhouse::error::Error),
}

impl StoreError {
    /// ClickHouse's numeric error code, when the server sent one (`Code: 60. DB::Exception...`).
    pub fn server_code(&self) -> Option<u32> {
        let text = match self {
            StoreError::ClickHouse(clickhouse::error::Error::BadResponse(t)) => t,
            StoreError::Migration {
                source: clickhouse::error::Error::BadResponse(t),
                ..
            } => t,
            _ => return None,
        };
        server_code(text)
    }

    /// Whether retrying can help: network faults, timeouts and server-side load can pass; a
    /// missing table or column, a type mismatch, a syntax or permission error cannot, and
    /// retrying them would stall the pipeline in silence.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } | StoreError::TimedOut { .. } => true,
            StoreError::Schema { .. } | StoreError::Migration { .. } => false,
            StoreError::ClickHouse(e) => match e {
                clickhouse::error::Error::Network(_) | clickhouse::error::Error::TimedOut => true,
                clickhouse::error::Error::BadResponse(_) => self
                    .server_code()
                    .is_none_or(|c| !PERMANENT_CODES.contains(&c)),
                _ => false,
            },
        }
    }
}

/// ClickHouse error codes no retry can fix: unknown column / table / database, type and
/// structure mismatches, syntax errors, bad credentials or missing grants.
const PERMANENT_CODES: &[u32] = &[
    16,  // NO_SUCH_COLUMN_IN_TABLE
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA
    47,  // UNKNOWN_IDENTIFIER
    53,  // TYPE_MISMATCH
    60,  // UNKNOWN_TABLE
    62,  // SYNTAX_ERROR
    81,  // UNKNOWN_DATABASE
    164, // READONLY
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    497, // ACCESS_DENIED
    516, // AUTHENTICATION_FAILED
];

/// The `Code: N` of a ClickHouse exception text.
pub fn server_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on motcua's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    server: Client,
    /// For the requests the client cannot make ([`insert_whole`](Self::insert_whole)).
    http: reqwest::Client,
    settings: StoreSettings,
    /// Longest one request may take before it counts as failed (and is retried).
    timeout: std::time::Duration,
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
            http: reqwest::Client::new(),
            settings,
            timeout: std::time::Duration::from_secs(60),
        }
    }

    /// The same store with requests cut off after `timeout` (default 60 s): a frozen server
    /// must surface as an error that is logged and retried, not as a silent hang.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn timed<T>(&self, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.timeout, f)
            .await
            .unwrap_or(Err(StoreError::TimedOut {
                seconds: self.timeout.as_secs(),
            }))
    }

    /// The HTTP endpoint.
    pub fn url(&self) -> &str {
        &self.settings.url
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

    /// Checks that the database exists at this build's schema version, without changing
    /// anything: the processor needs no DDL rights, and a wrong database name must say so
    /// instead of silently creating an empty one.
    pub async fn check_schema(&self) -> Result<()> {
        self.ping().await?;
        let db = &self.settings.database;
        let exists: u8 = self
            .server
            .query("SELECT toUInt8(count()) FROM system.databases WHERE name = ?")
            .bind(db.as_str())
            .fetch_one()
            .await?;
        let schema = |found: String| StoreError::Schema {
            database: db.clone(),
            found,
        };
        if exists == 0 {
            return Err(schema("does not exist".into()));
        }
        let version: u32 = self
            .server
            .query(&format!(
                "SELECT toUInt32(max(version)) FROM {db}.schema_migrations"
            ))
            .fetch_one()
            .await
            .map_err(|_| schema("has no motcua schema".into()))?;
        if version < schema_version() {
            return Err(schema(format!(
                "is at schema version {version}, this build needs {}",
                schema_version()
            )));
        }
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
        self.timed(async {
            let mut insert = self.client.insert::<T>(table).await?;
            for row in rows {
                insert.write(row).await?;
            }
            insert.end().await?;
            Ok(())
        })
        .await
    }

    /// Inserts rows so that they land all or none, even when this process dies in the
    /// middle of the request.
    ///
    /// [`insert`](Self::insert) streams its rows, and ClickHouse (18.16 at least) takes a
    /// body that stops early, from a client killed mid-request, for a complete one: it
    /// commits the rows that arrived. A batch's checkpoint must not land in part (a restore
    /// would pair dossier states of one batch with cells of the batch before). So these rows
    /// travel as the external table `_data` of an `INSERT ... SELECT` in a multipart body,
    /// which the server reads whole before running the query: a body cut short has no
    /// closing boundary, and the request fails without inserting anything. The server then
    /// writes the rows as one block (one part, below 1 048 576 rows and 256 MiB).
    pub async fn insert_whole<T: WholeRow>(&self, table: &str, rows: &[T]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let columns = T::STRUCTURE
            .split(',')
            .filter_map(|c| c.split_whitespace().next())
            .collect::<Vec<_>>()
            .join(", ");
        let query = format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM _data");
        let boundary = multipart_boundary();
        let mut body = Vec::with_capacity(256 + rows.len() * 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"_data\"; filename=\"_data\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        for row in rows {
            row.encode(&mut body);
        }
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut request = self
            .http
            .post(&self.settings.url)
            .query(&[
                ("database", self.settings.database.as_str()),
                ("query", query.as_str()),
                ("_data_structure", T::STRUCTURE),
                ("_data_format", "RowBinary"),
            ])
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(user) = &self.settings.user {
            request = request.basic_auth(user, self.settings.password.as_deref());
        }
        self.timed(async {
            let network = |e: reqwest::Error| clickhouse::error::Error::Network(Box::new(e));
            let response = request.send().await.map_err(network)?;
            let status = response.status();
            let text = response.text().await.map_err(network)?;
            if status.is_success() {
                Ok(())
            } else {
                Err(clickhouse::error::Error::BadResponse(format!("{status}: {text}")).into())
            }
        })
        .await
    }

    /// The checkpointed dossiers of one input partition that a new owner keeps in memory:
    /// open ones and those ended at or after `ended_since` (Unix seconds). The others are
    /// returned as code hashes only ([`motcua_core::fold::stable_hash`] of the code), to be
    /// loaded when an event names them.
    pub async fn load_partition(
        &self,
        group: &str,
        partition: u32,
        ended_since: u32,
    ) -> Result<(Vec<CheckpointRow>, Vec<String>)> {
        self.timed(async {
            let resident: Vec<CheckpointRow> = self
                .client
                .query(
                    "SELECT ?fields FROM processor_state FINAL \
                     WHERE consumer_group = ? AND kafka_partition = ? \
                     AND (ended_at IS NULL OR assumeNotNull(ended_at) >= toDateTime(?))",
                )
                .bind(group)
                .bind(partition)
                .bind(ended_since)
                .fetch_all()
                .await?;
            let evicted: Vec<String> = self
                .client
                .query(
                    "SELECT dossier_code FROM processor_state FINAL \
                     WHERE consumer_group = ? AND kafka_partition = ? \
                     AND ended_at IS NOT NULL AND assumeNotNull(ended_at) < toDateTime(?)",
                )
                .bind(group)
                .bind(partition)
                .bind(ended_since)
                .fetch_all()
                .await?;
            Ok((resident, evicted))
        })
        .await
    }

    /// The checkpointed state of some dossiers of one partition, in requests of at most
    /// 2 000 codes (a query must stay under the server's `max_query_size`, 256 KiB).
    pub async fn load_dossiers(
        &self,
        group: &str,
        partition: u32,
        codes: &[String],
    ) -> Result<Vec<CheckpointRow>> {
        let mut out = Vec::new();
        for chunk in codes.chunks(2_000) {
            // An explicit tuple: `IN (...)` uses the primary key on every server version.
            let list = chunk
                .iter()
                .map(|c| format!("'{}'", c.replace('\\', "\\\\").replace('\'', "\\'")))
                .collect::<Vec<_>>()
                .join(",");
            let rows: Vec<CheckpointRow> = self
                .timed(async {
                    Ok(self
                        .client
                        .query(&format!(
                            "SELECT ?fields FROM processor_state FINAL \
                             WHERE consumer_group = ? AND kafka_partition = ? AND dossier_code IN ({list})"
                        ))
                        .bind(group)
                        .bind(partition)
                        .fetch_all()
                        .await?)
                })
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The watermark a group last published (Unix seconds; 0 when none): a restored
    /// processor never publishes a lower one.
    pub async fn last_watermark(&self, group: &str) -> Result<u32> {
        self.timed(async {
            Ok(self
                .client
                .query(
                    "SELECT toUInt32(max(watermark)) FROM processor_progress FINAL \
                     WHERE consumer_group = ?",
                )
                .bind(group)
                .fetch_one()
                .await?)
        })
        .await
    }

    /// Per input topic, the latest event time recorded for partition number `partition`
    /// (Unix seconds).
    pub async fn partition_times(&self, group: &str, partition: u32) -> Result<Vec<(String, u32)>> {
        self.timed(async {
            Ok(self
                .client
                .query(
                    "SELECT kafka_topic, toUInt32(partition_time) FROM processor_progress FINAL \
                     WHERE consumer_group = ? AND kafka_partition = ?",
                )
                .bind(group)
                .bind(partition)
                .fetch_all()
                .await?)
        })
        .await
    }

    /// The source coordinates `(topic, offset)` of the dead letters a group already
    /// published for one input partition.
    pub async fn dead_lettered(&self, group: &str, partition: u32) -> Result<Vec<(String, u64)>> {
        self.timed(async {
            Ok(self
                .client
                .query(
                    "SELECT source_topic, source_offset FROM dead_letters FINAL \
                     WHERE consumer_group = ? AND source_partition = ?",
                )
                .bind(group)
                .bind(partition)
                .fetch_all()
                .await?)
        })
        .await
    }

    /// Every stored version of a dossier's events: `(content hash, payload JSON, topic,
    /// partition, offset)`, to refold it after a conflict.
    pub async fn dossier_events(&self, dossier_code: &str) -> Result<Vec<StoredEvent>> {
        self.timed(async {
            Ok(self
                .client
                .query(
                    "SELECT content_hash, payload, kafka_topic, kafka_partition, kafka_offset \
                     FROM dossier_events FINAL WHERE dossier_code = ? ORDER BY event_id, content_hash",
                )
                .bind(dossier_code)
                .fetch_all()
                .await?)
        })
        .await
    }
}

/// A raw event row (`dossier_events`).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct EventRow {
    /// Dossier code.
    pub dossier_code: String,
    /// Event id.
    pub event_id: String,
    /// FNV-1a of the event's JSON: one row per distinct content under an id.
    pub content_hash: u64,
    /// `u64::MAX - kafka_offset`: the engine's version, so the earliest arrival's
    /// coordinates are the ones kept.
    pub first_arrival: u64,
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
    /// 1 when the receipt or a due time lies in a year whose announcement is not loaded
    /// (counted on the provisional calendar, docs/CALENDAR.md §7).
    pub off_calendar: u8,
    /// The rating that stands (the latest survey's overall answer, `VERY_SATISFIED` …
    /// `VERY_DISSATISFIED`), empty when none (migration 5).
    #[serde(default)]
    pub rating: String,
    /// 1 when the receipt says the components were digitised (migration 8).
    #[serde(default)]
    pub digitised: u8,
    /// 1 once the national portal accepted a sync of the dossier (migration 8).
    #[serde(default)]
    pub synced: u8,
    /// Feedback and complaint (PAKN) items about the dossier (migration 8).
    #[serde(default)]
    pub feedback_items: u16,
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
    /// Latest event time on this partition up to `next_offset`, Unix seconds. Migration 3.
    pub partition_time: u32,
    /// 1 while the processor re-reads history on this partition (after a restore, a replay,
    /// an outage): figures are being rebuilt.
    pub catching_up: u8,
}

/// One stored version of an event (see [`Store::dossier_events`]).
#[derive(Debug, Clone, Row, Deserialize, PartialEq)]
pub struct StoredEvent {
    /// Content hash.
    pub content_hash: u64,
    /// The pseudonymised event as JSON.
    pub payload: String,
    /// Where it was first read.
    pub kafka_topic: String,
    /// Partition.
    pub kafka_partition: u32,
    /// Offset.
    pub kafka_offset: u64,
}

/// A dossier's checkpointed state (`processor_state`, migration 3).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct CheckpointRow {
    /// Consumer group whose state this is.
    pub consumer_group: String,
    /// Input partition number (of all four co-partitioned topics).
    pub kafka_partition: u32,
    /// Dossier code.
    pub dossier_code: String,
    /// The state's version: only grows.
    pub version: u32,
    /// End of processing, when ended (decides whether a restore loads it eagerly).
    pub ended_at: Option<u32>,
    /// Last date through which period rows were written, days since 1970-01-01.
    pub period_upto: Option<u16>,
    /// The state as JSON.
    pub state: String,
    /// When written.
    pub updated_at: u32,
}

impl WholeRow for CheckpointRow {
    const STRUCTURE: &'static str = "consumer_group String, kafka_partition UInt32, \
        dossier_code String, version UInt32, ended_at Nullable(DateTime), \
        period_upto Nullable(Date), state String, updated_at DateTime";

    fn encode(&self, out: &mut Vec<u8>) {
        rowbinary::string(out, &self.consumer_group);
        out.extend_from_slice(&self.kafka_partition.to_le_bytes());
        rowbinary::string(out, &self.dossier_code);
        out.extend_from_slice(&self.version.to_le_bytes());
        rowbinary::nullable(out, self.ended_at.map(u32::to_le_bytes));
        rowbinary::nullable(out, self.period_upto.map(u16::to_le_bytes));
        rowbinary::string(out, &self.state);
        out.extend_from_slice(&self.updated_at.to_le_bytes());
    }
}

/// A row [`Store::insert_whole`] sends: its columns as an external table's structure and
/// its values in ClickHouse's RowBinary format, in the same order.
pub trait WholeRow {
    /// `name Type, ...`, the table's columns in the order [`encode`](Self::encode) writes.
    const STRUCTURE: &'static str;
    /// Appends the row in RowBinary.
    fn encode(&self, out: &mut Vec<u8>);
}

/// The few RowBinary encodings the external rows need.
mod rowbinary {
    /// A `String`: its length as an unsigned LEB128, then its bytes.
    pub fn string(out: &mut Vec<u8>, s: &str) {
        let mut n = s.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(s.as_bytes());
    }

    /// A `Nullable(T)`: 1 for null, else 0 and the value's bytes.
    pub fn nullable<const N: usize>(out: &mut Vec<u8>, value: Option<[u8; N]>) {
        match value {
            None => out.push(1),
            Some(bytes) => {
                out.push(0);
                out.extend_from_slice(&bytes);
            }
        }
    }
}

/// A boundary no body holds by chance: 128 random bits from the standard library's
/// per-process hash keys, and the time.
fn multipart_boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut a = std::collections::hash_map::RandomState::new().build_hasher();
    a.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let b = std::collections::hash_map::RandomState::new().build_hasher();
    format!("motcua-{:016x}{:016x}", a.finish(), b.finish())
}

/// One aggregate cell (`aggregates`, migration 4): the absolute counts of one input
/// partition's dossiers at one reporting grain, versioned by the partition's write sequence,
/// so the latest version replaces the earlier ones and a replay rewrites the same rows.
/// Columns a grain does not use are empty (`''`, 0, 1970-01-01).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct AggregateRow {
    /// Consumer group whose figures these are.
    pub consumer_group: String,
    /// Input partition number.
    pub kafka_partition: u32,
    /// `DAY` (ended dossiers by end date), `OPEN` (open now), `CLOSED` (a period's report
    /// as of its end), `RUNNING` (a running period, live), `STEPS` (handover steps by month).
    pub grain: String,
    /// Which dimensions the cell keeps (the others are empty): `agency` (agency, province,
    /// level), `procedure` (those and procedure, field, legal limit), `province_procedure`
    /// (province, procedure, field, legal limit), `field` (province, field), `channel`
    /// (province, channel), `unit` (steps: agency, handover pair).
    pub dims: String,
    /// `DAY`, `MONTH`, `QUARTER`, `YEAR`; empty for `OPEN`.
    pub period_kind: String,
    /// `2026-08-31`, `2026-08`, `2026-Q3`, `2026`; empty for `OPEN`.
    pub period: String,
    /// First day, days since 1970-01-01.
    pub period_start: u16,
    /// First day after it.
    pub period_end: u16,
    /// Receiving agency (for `STEPS`, the agency whose process it is).
    pub agency_code: String,
    /// Its province.
    pub province_code: String,
    /// Its level.
    pub agency_level: String,
    /// Procedure.
    pub procedure_code: String,
    /// Field of the procedure.
    pub field_code: String,
    /// Channel the dossier came in by.
    pub channel: String,
    /// Legal limit amount (`CLOSED`, `RUNNING`).
    pub limit_amount: i32,
    /// Legal limit unit.
    pub limit_unit: String,
    /// Unit whose step it was (`STEPS`).
    pub from_unit: String,
    /// Unit the dossier was handed to (`STEPS`).
    pub to_unit: String,
    /// The partition's write sequence when written: only grows.
    pub version: u32,
    /// Dossiers counted (for `STEPS`, steps judged; for `OPEN`, open dossiers).
    pub n_counted: u64,
    /// Of them, early.
    pub n_early: u64,
    /// On time.
    pub n_on_time: u64,
    /// Late.
    pub n_late: u64,
    /// Open within the due time.
    pub n_open_within: u64,
    /// Open past the due time.
    pub n_open_overdue: u64,
    /// Ended with a result inside the period (indicator 2.2's denominator).
    pub n_resolved: u64,
    /// Sum of their resolution times, in ten-thousandths of the procedure's unit.
    pub n_resolution_e4: u64,
    /// Sum of the steps' durations, seconds.
    pub n_taken_seconds: u64,
    /// Steps whose recorded outcome differs from the judged one.
    pub n_mismatches: u64,
    /// When written.
    pub updated_at: u32,
    /// `DAY` cells (migration 5): ended dossiers whose standing rating is very satisfied.
    #[serde(default)]
    pub n_very_satisfied: u64,
    /// Satisfied.
    #[serde(default)]
    pub n_satisfied: u64,
    /// Neutral.
    #[serde(default)]
    pub n_neutral: u64,
    /// Dissatisfied.
    #[serde(default)]
    pub n_dissatisfied: u64,
    /// Very dissatisfied.
    #[serde(default)]
    pub n_very_dissatisfied: u64,
    /// Ended dossiers with a complaint in any survey.
    #[serde(default)]
    pub n_complaints: u64,
    /// Rated dossiers that ended late.
    #[serde(default)]
    pub n_rated_late: u64,
    /// Of them, rated satisfied or very satisfied.
    #[serde(default)]
    pub n_satisfied_late: u64,
    /// Decision 766 group 5: ended dossiers rated dissatisfied (any survey), with a
    /// complaint, or late: the ones subtracted from the satisfied-with-handling share.
    #[serde(default)]
    pub n_766_unsatisfied: u64,
    /// `DAY` cells: ended dossiers with a result (Decision 766 indicator 4.1's denominator).
    #[serde(default)]
    pub n_results: u64,
    /// Of them, with an electronic result.
    #[serde(default)]
    pub n_electronic: u64,
    /// `RECEIPT` cells: received dossiers (in `n_counted`) that came online.
    #[serde(default)]
    pub n_online: u64,
    /// `DAY` cells (migration 7), Circular 01/2018 scoring: indicator 2 points summed (each
    /// unit's time against its allotment, 2/1/0 per dossier).
    #[serde(default)]
    pub n_c01_steps_points: u64,
    /// Ended dossiers indicator 2 was scored for (with judged steps).
    #[serde(default)]
    pub n_c01_steps_scored: u64,
    /// Indicator 7 points summed (staff attitude: complaint 0, early 2, else 1).
    #[serde(default)]
    pub n_c01_attitude_points: u64,
    /// Ended dossiers received online (indicator 9).
    #[serde(default)]
    pub n_ended_online: u64,
    /// Ended dossiers with exactly one supplement request.
    #[serde(default)]
    pub n_supplemented_once: u64,
    /// Ended dossiers with more than one.
    #[serde(default)]
    pub n_supplemented_more: u64,
    /// Of those with one, rated.
    #[serde(default)]
    pub n_rated_supplemented_once: u64,
    /// Of those with more, rated.
    #[serde(default)]
    pub n_rated_supplemented_more: u64,
    /// Of those with one, rated satisfied or very satisfied.
    #[serde(default)]
    pub n_satisfied_supplemented_once: u64,
    /// Of those with more, rated satisfied or very satisfied.
    #[serde(default)]
    pub n_satisfied_supplemented_more: u64,
    /// `SIPAS` cells (migration 7): answer sheets, by the date answered and the agency
    /// surveyed.
    #[serde(default)]
    pub n_sipas_sheets: u64,
    /// Criteria answered, access element.
    #[serde(default)]
    pub n_sipas_answered_access: u64,
    /// Criteria answered, procedure element.
    #[serde(default)]
    pub n_sipas_answered_procedure: u64,
    /// Criteria answered, officials element.
    #[serde(default)]
    pub n_sipas_answered_officials: u64,
    /// Criteria answered, results element.
    #[serde(default)]
    pub n_sipas_answered_results: u64,
    /// Criteria answered, feedback element.
    #[serde(default)]
    pub n_sipas_answered_feedback: u64,
    /// Criteria answered satisfied or very satisfied, access element.
    #[serde(default)]
    pub n_sipas_satisfied_access: u64,
    /// Criteria answered satisfied or very satisfied, procedure element.
    #[serde(default)]
    pub n_sipas_satisfied_procedure: u64,
    /// Criteria answered satisfied or very satisfied, officials element.
    #[serde(default)]
    pub n_sipas_satisfied_officials: u64,
    /// Criteria answered satisfied or very satisfied, results element.
    #[serde(default)]
    pub n_sipas_satisfied_results: u64,
    /// Criteria answered satisfied or very satisfied, feedback element.
    #[serde(default)]
    pub n_sipas_satisfied_feedback: u64,
    /// `DAY` cells: Circular 01/2018 indicator 8 points (feedback handled on time; migration 8).
    #[serde(default)]
    pub n_c01_feedback_points: u64,
    /// `RECEIPT` cells: received dossiers digitised at receipt (Decision 766 4.2; migration 8).
    #[serde(default)]
    pub n_digitised: u64,
    /// `RECEIPT` cells: received dossiers the national portal accepted a sync of (1.4).
    #[serde(default)]
    pub n_synced: u64,
    /// `FEEDBACK` cells (by the day answered, or for an unanswered item the day its answer
    /// was due): PAKN items answered.
    #[serde(default)]
    pub n_feedback_answered: u64,
    /// Of them, answered by their due time.
    #[serde(default)]
    pub n_feedback_on_time: u64,
    /// Items past their due time without an answer (at the cells' watermark).
    #[serde(default)]
    pub n_feedback_overdue: u64,
    /// Answered items whose sender said how satisfied they were with the answer.
    #[serde(default)]
    pub n_feedback_rated: u64,
    /// Of them, satisfied or very satisfied.
    #[serde(default)]
    pub n_feedback_satisfied: u64,
    /// Items (answered or overdue) that are complaints.
    #[serde(default)]
    pub n_feedback_complaints: u64,
}

/// A dead letter published and acknowledged (`dead_letters`, migration 3).
#[derive(Debug, Clone, Row, Serialize, Deserialize, PartialEq)]
pub struct DeadLetterRow {
    /// Consumer group of the processor that rejected it.
    pub consumer_group: String,
    /// Where the record was read.
    pub source_topic: String,
    /// Its partition.
    pub source_partition: u32,
    /// Its offset.
    pub source_offset: u64,
    /// Bounded reason (`undecodable`, `missing_field`, `bad_format`, `inconsistent`, `conflict`).
    pub reason: String,
    /// The offending field, empty if none.
    pub field: String,
    /// The full message.
    pub error: String,
    /// Where the dead letter was written.
    pub dead_letter_partition: u32,
    /// Its offset there.
    pub dead_letter_offset: u64,
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
    fn server_errors_are_classified_by_their_code() {
        let bad = |t: &str| StoreError::ClickHouse(clickhouse::error::Error::BadResponse(t.into()));
        let unknown_column =
            bad("Code: 16, e.displayText() = DB::Exception: No such column foo in table");
        assert_eq!(unknown_column.server_code(), Some(16));
        assert!(!unknown_column.is_transient());
        assert!(!bad("Code: 60. DB::Exception: Table x.y doesn't exist").is_transient());
        let too_many_parts = bad("Code: 252, e.displayText() = DB::Exception: Too many parts");
        assert!(too_many_parts.is_transient());
        assert!(bad("502 Bad Gateway").is_transient());
        assert!(StoreError::TimedOut { seconds: 30 }.is_transient());
    }

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
