//! The gateway's commands, wired into `motcua` as `gateway` and `import-portal`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use motcua_core::codec::Encoding;
use motcua_core::deadline::Catalogue;
use motcua_core::topics::TopicNames;
use motcua_core::validate;
use motcua_producer::{EventProducer, KafkaSettings};
use serde_json::Value;

use crate::config::Access;
use crate::portal::{self, PortalDossier, PortalStep};
use crate::record::{self, RecordError};
use crate::server::{start, Settings};

/// `motcua gateway`.
#[derive(clap::Args, Clone, Debug)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "MOTCUA_GATEWAY_LISTEN", default_value = "127.0.0.1:18080")]
    pub listen: SocketAddr,
    /// Access file (JSON: agencies, SHA-256 of their API keys, scopes, limits, levels);
    /// re-read when it changes or on SIGHUP.
    #[arg(long, env = "MOTCUA_GATEWAY_ACCESS")]
    pub access: PathBuf,
    /// Seconds an event may wait for the broker's acknowledgement before the request is
    /// answered 503.
    #[arg(long, default_value_t = 10)]
    pub produce_timeout_secs: u64,
    /// Most unacknowledged events held over all requests; beyond, 503 at once.
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight_events: usize,
    /// Seconds an idempotency key is remembered after its answer.
    #[arg(long, default_value_t = 86_400)]
    pub idempotency_ttl_secs: u64,
    /// Most idempotency keys remembered.
    #[arg(long, default_value_t = 100_000)]
    pub idempotency_capacity: usize,
    /// Journal of idempotency keys, so that a restart still knows them; default memory only.
    #[arg(long, env = "MOTCUA_GATEWAY_IDEMPOTENCY_FILE")]
    pub idempotency_file: Option<PathBuf>,
    /// Procedure catalogue for portal records' time limits; default: the shipped one.
    #[arg(long, env = "MOTCUA_CATALOGUE")]
    pub catalogue: Option<PathBuf>,
    /// Encoding of published events: `avro` or `json`.
    #[arg(long, default_value = "avro")]
    pub encoding: Encoding,
}

/// `motcua import-portal`.
#[derive(clap::Args, Clone, Debug)]
pub struct ImportArgs {
    /// The exported file: a JSON array of portal records, or one record per line.
    pub file: PathBuf,
    /// What the records are: `dossiers` (HoSo snapshots) or `progress` (QuaTrinhXuLy rows).
    #[arg(long, default_value = "dossiers")]
    pub kind: ImportKind,
    /// The gateway's access file, for its agency `levels` (scopes are not applied here).
    #[arg(long, env = "MOTCUA_GATEWAY_ACCESS")]
    pub access: PathBuf,
    /// Procedure catalogue; default: the shipped one.
    #[arg(long, env = "MOTCUA_CATALOGUE")]
    pub catalogue: Option<PathBuf>,
}

/// Which portal records a file holds.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// Dossier snapshots.
    Dossiers,
    /// Progress rows.
    Progress,
}

fn catalogue(path: Option<&PathBuf>) -> anyhow::Result<Catalogue> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Catalogue::from_json(&text).with_context(|| format!("in {}", p.display()))
        }
        None => Ok(Catalogue::shipped()),
    }
}

/// Runs the gateway until SIGINT/SIGTERM.
pub async fn serve(
    kafka: KafkaSettings,
    topics: TopicNames,
    args: GatewayArgs,
) -> anyhow::Result<()> {
    let mut settings = Settings::new(args.listen, args.access);
    settings.produce_timeout = Duration::from_secs(args.produce_timeout_secs.max(1));
    settings.max_in_flight_events = args.max_in_flight_events.max(1);
    settings.idempotency_ttl = Duration::from_secs(args.idempotency_ttl_secs);
    settings.idempotency_capacity = args.idempotency_capacity;
    settings.idempotency_file = args.idempotency_file;
    settings.catalogue = catalogue(args.catalogue.as_ref())?;
    settings.encoding = args.encoding;
    let token = motcua_runtime::shutdown::on_signals();
    let running = start(settings, kafka, topics, token.clone()).await?;
    eprintln!(
        "gateway listening on http://{} (GET /openapi.json)",
        running.addr
    );
    running.task.await?;
    Ok(())
}

/// Reads the records of an exported file: a JSON array, one object, or JSON lines.
pub fn read_records(text: &str) -> anyhow::Result<Vec<Value>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).context("the file is not a JSON array");
    }
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<Value>();
    for (i, v) in stream.by_ref().enumerate() {
        out.push(v.with_context(|| format!("record {} is not JSON", i + 1))?);
    }
    Ok(out)
}

/// Converts the file's records and publishes their events; prints one line per rejected
/// record and a summary.
pub async fn import(
    kafka: KafkaSettings,
    topics: TopicNames,
    args: ImportArgs,
) -> anyhow::Result<()> {
    let access = Access::load(&args.access).map_err(anyhow::Error::msg)?;
    let catalogue = catalogue(args.catalogue.as_ref())?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let records = read_records(&text)?;
    let level_of = |code: &str| access.level_of(code);
    let ctx = portal::Context {
        catalogue: &catalogue,
        level_of: &level_of,
    };
    let plans: Vec<Result<Vec<motcua_core::DossierEvent>, RecordError>> = match args.kind {
        ImportKind::Dossiers => records
            .into_iter()
            .map(|v| {
                record::decode::<PortalDossier>(v).and_then(|d| portal::dossier_events(&d, &ctx))
            })
            .collect(),
        ImportKind::Progress => {
            let rows: Vec<Result<PortalStep, RecordError>> =
                records.into_iter().map(record::decode).collect();
            portal::progress_events(&rows)
                .into_iter()
                .map(|r| r.map(|e| vec![e]))
                .collect()
        }
    };
    let plans: Vec<_> = plans
        .into_iter()
        .map(|p| {
            p.and_then(|events| {
                for e in &events {
                    validate(e).map_err(|r| {
                        let mut err = RecordError::from(r);
                        err.field = portal::portal_field(&err.field);
                        err
                    })?;
                }
                Ok(events)
            })
        })
        .collect();
    let producer = EventProducer::new(&kafka, topics, Encoding::Avro)?;
    let mut pending = Vec::new();
    let mut rejected: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (i, plan) in plans.iter().enumerate() {
        match plan {
            Ok(events) => {
                for e in events {
                    pending.push(producer.enqueue(e).await?);
                }
            }
            Err(e) => {
                *rejected.entry(e.reason.as_str()).or_default() += 1;
                eprintln!(
                    "record {}: rejected, {} `{}`: {}",
                    i + 1,
                    e.reason.as_str(),
                    e.field,
                    e.detail
                );
            }
        }
    }
    let events = pending.len();
    for p in pending {
        match p.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => anyhow::bail!("the broker did not acknowledge an event: {e}"),
            Err(_) => anyhow::bail!("an event's delivery was cancelled"),
        }
    }
    let accepted = plans.iter().filter(|p| p.is_ok()).count();
    println!(
        "{} records: {accepted} accepted ({events} events published and acknowledged), {} rejected {rejected:?}",
        plans.len(),
        plans.len() - accepted
    );
    Ok(())
}
