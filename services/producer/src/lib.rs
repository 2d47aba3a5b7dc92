//! motcua-producer: the library an agency system embeds to publish dossier events.
//!
//! It validates every event with the same rules the processor applies (so a bad record is
//! refused at the source, with the field named), encodes it (Avro single-object or JSON),
//! and publishes it keyed by dossier code to the topic of its kind, through an idempotent
//! producer (`acks=all`, `enable.idempotence=true`): a retry after a network error cannot
//! write the event twice, and the order of a dossier's events on a partition is kept.
//!
//! ```no_run
//! # async fn demo() -> Result<(), motcua_producer::SendError> {
//! use motcua_core::{samples, Encoding};
//! use motcua_core::topics::TopicNames;
//! use motcua_producer::{EventProducer, KafkaSettings};
//!
//! let producer = EventProducer::new(&KafkaSettings::new("127.0.0.1:19092"), TopicNames::default(), Encoding::Avro)?;
//! let receipt = samples::received();
//! let (partition, offset) = producer.send(&receipt).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use motcua_core::codec::{Codec, Encoding};
use motcua_core::topics::TopicNames;
use motcua_core::{validate, DossierEvent, Rejection};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

/// Message header naming the encoding (`application/json` or Avro single-object).
pub const HEADER_CONTENT_TYPE: &str = "content-type";

/// Connection settings shared by every Kafka client of motcua.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub brokers: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, ...), applied last.
    pub extra: Vec<(String, String)>,
}

impl KafkaSettings {
    /// Settings for `brokers` with no extras.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings {
            brokers: brokers.into(),
            extra: Vec::new(),
        }
    }

    /// The same settings with a bound on how long a produced event may wait for the broker's
    /// acknowledgement, retries included (librdkafka `message.timeout.ms`; the producer's
    /// default is 60 s). A broker outage shorter than this is waited out; past it the event
    /// fails with `MessageTimedOut`. Set as an extra, so it replaces an operator's value for
    /// the same property but never touches the enforced idempotence settings. A producer
    /// property: consumers built from these settings log that they ignore it.
    pub fn with_message_timeout(mut self, timeout: Duration) -> Self {
        // librdkafka takes a positive i32 of milliseconds; `delivery.timeout.ms` is its alias.
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        self.extra
            .retain(|(k, _)| k != "message.timeout.ms" && k != "delivery.timeout.ms");
        self.extra
            .push(("message.timeout.ms".into(), ms.to_string()));
        self
    }

    /// Bootstrap servers, then `tunable` defaults, then the extras, then `enforced`: an
    /// operator's extras can tune a client but not undo a setting the guarantees rest on.
    fn build(&self, tunable: &[(&str, &str)], enforced: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in tunable {
            c.set(*k, *v);
        }
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        for (k, v) in enforced {
            c.set(*k, *v);
        }
        c
    }

    /// Bootstrap servers plus the extras: the base of every other client (admin, probes).
    pub fn client(&self) -> ClientConfig {
        self.build(&[], &[])
    }

    /// An idempotent producer. `murmur2_random` is the Java client's partitioner, so every
    /// client language puts a dossier on the same partition number of every topic
    /// (co-partitioning).
    pub fn producer(&self) -> ClientConfig {
        self.build(
            &[
                ("linger.ms", "20"),
                ("batch.num.messages", "10000"),
                ("queue.buffering.max.messages", "200000"),
                ("message.timeout.ms", "60000"),
            ],
            &[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("partitioner", "murmur2_random"),
            ],
        )
    }

    /// A consumer in `group` that never stores offsets by itself: the caller stores them once
    /// the batch's output is acknowledged.
    pub fn consumer(&self, group: &str) -> ClientConfig {
        self.build(
            &[
                ("auto.commit.interval.ms", "1000"),
                ("auto.offset.reset", "earliest"),
                ("session.timeout.ms", "6000"),
                ("heartbeat.interval.ms", "1000"),
                ("fetch.wait.max.ms", "100"),
            ],
            &[
                ("group.id", group),
                ("enable.auto.commit", "true"),
                ("enable.auto.offset.store", "false"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_tune_clients_but_cannot_undo_the_guarantees() {
        let mut settings = KafkaSettings::new("127.0.0.1:1");
        settings.extra = vec![
            ("linger.ms".into(), "5".into()),
            ("acks".into(), "1".into()),
            ("enable.auto.offset.store".into(), "true".into()),
        ];
        let p = settings.producer();
        assert_eq!(p.get("linger.ms"), Some("5"));
        assert_eq!(p.get("acks"), Some("all"));
        let c = settings.consumer("g");
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(c.get("group.id"), Some("g"));
    }

    #[test]
    fn message_timeout_replaces_an_extra_and_keeps_the_guarantees() {
        let mut settings = KafkaSettings::new("127.0.0.1:1");
        settings.extra = vec![
            ("delivery.timeout.ms".into(), "1000".into()),
            ("enable.idempotence".into(), "false".into()),
        ];
        let p = settings
            .with_message_timeout(Duration::from_secs(300))
            .producer();
        assert_eq!(p.get("message.timeout.ms"), Some("300000"));
        assert_eq!(p.get("delivery.timeout.ms"), None);
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("acks"), Some("all"));
        let default = KafkaSettings::new("127.0.0.1:1").producer();
        assert_eq!(default.get("message.timeout.ms"), Some("60000"));
    }
}

/// Why an event was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The event failed validation; nothing was sent.
    #[error("event `{event_id}` rejected")]
    Invalid {
        /// The event's id.
        event_id: String,
        /// What is wrong.
        #[source]
        rejection: Rejection,
    },
    /// The broker did not acknowledge the event.
    #[error("kafka did not acknowledge the event")]
    Kafka(#[from] KafkaError),
}

/// Publishes validated dossier events.
#[derive(Clone)]
pub struct EventProducer {
    producer: FutureProducer,
    codec: Arc<Codec>,
    topics: TopicNames,
    encoding: Encoding,
}

impl EventProducer {
    /// A producer writing `encoding` to `topics`.
    pub fn new(
        settings: &KafkaSettings,
        topics: TopicNames,
        encoding: Encoding,
    ) -> Result<Self, KafkaError> {
        let producer: FutureProducer = settings.producer().create()?;
        Ok(EventProducer {
            producer,
            codec: Arc::new(Codec::new()),
            topics,
            encoding,
        })
    }

    /// Validates and encodes without sending: `(topic, payload)`.
    pub fn prepare(&self, event: &DossierEvent) -> Result<(&str, Vec<u8>), Rejection> {
        validate(event)?;
        let payload = self.codec.encode(event, self.encoding)?;
        Ok((self.topics.for_event(event), payload))
    }

    /// Queues an event and returns the future of its acknowledgement. Waits (without
    /// dropping anything) while the local queue is full.
    pub async fn enqueue(&self, event: &DossierEvent) -> Result<DeliveryFuture, SendError> {
        let (topic, payload) = self
            .prepare(event)
            .map_err(|rejection| SendError::Invalid {
                event_id: event.event_id.clone(),
                rejection,
            })?;
        // One header only: the payload is self-describing (its first bytes tell JSON from
        // Avro) and carries id and kind; every header is a row the broker must store.
        let headers = OwnedHeaders::new().insert(Header {
            key: HEADER_CONTENT_TYPE,
            value: Some(self.encoding.content_type()),
        });
        let mut record = FutureRecord::to(topic)
            .key(event.dossier_code.as_str())
            .payload(&payload)
            .headers(headers);
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(SendError::Kafka(e)),
            }
        }
    }

    /// Sends one event and waits for its acknowledgement: `(partition, offset)`.
    pub async fn send(&self, event: &DossierEvent) -> Result<(i32, i64), SendError> {
        let delivery = self.enqueue(event).await?;
        match delivery.await {
            Ok(Ok(d)) => Ok((d.partition, d.offset)),
            Ok(Err((e, _))) => Err(SendError::Kafka(e)),
            Err(_) => Err(SendError::Kafka(KafkaError::Canceled)),
        }
    }

    /// Waits until every queued event is acknowledged or `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }

    /// The topics written to.
    pub fn topics(&self) -> &TopicNames {
        &self.topics
    }
}
