//! Kafka plumbing: client settings that hold the pipeline's guarantees, topic creation.
//!
//! The client settings themselves ([`KafkaSettings`]) live in `motcua-producer`, so that an
//! agency system embedding the producer gets the same guarantees without the rest.

use std::time::Duration;

use motcua_core::topics::TopicNames;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

pub use motcua_producer::KafkaSettings;

/// Creates the four input topics with `partitions` each (co-partitioned) and the dead-letter
/// topic. Topics that exist already are left alone, unless their partition count differs,
/// which is an error: co-partitioning would be broken.
pub async fn create_topics(
    settings: &KafkaSettings,
    names: &TopicNames,
    partitions: i32,
) -> Result<Vec<String>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = settings.client().create()?;
    let all: Vec<&str> = names
        .inputs()
        .into_iter()
        .chain([names.dead_letter.as_str()])
        .collect();
    // Explicit retention: some clients (Quix Streams) read it back through DescribeConfigs.
    let new: Vec<NewTopic> = all
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)).set("retention.ms", "-1"))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut created = Vec::new();
    for result in admin.create_topics(&new, &opts).await? {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                tracing::error!(topic = %name, ?code, "topic creation failed");
                return Err(KafkaError::AdminOp(code));
            }
        }
    }
    let counts = partition_counts(settings, &all, Duration::from_secs(10))?;
    for (topic, count) in all.iter().zip(counts) {
        if *topic != names.dead_letter && count != partitions as usize {
            tracing::error!(
                topic,
                count,
                expected = partitions,
                "topic exists with another partition count"
            );
            return Err(KafkaError::AdminOpCreation(format!(
                "topic {topic} has {count} partitions, expected {partitions}: input topics must be co-partitioned"
            )));
        }
    }
    Ok(created)
}

/// Partition count of each topic, in order. Blocking: call from a blocking context or at
/// start-up.
pub fn partition_counts(
    settings: &KafkaSettings,
    topics: &[&str],
    timeout: Duration,
) -> Result<Vec<usize>, KafkaError> {
    let consumer: BaseConsumer = settings.client().create()?;
    topics
        .iter()
        .map(|t| {
            let md = consumer.fetch_metadata(Some(t), timeout)?;
            let topic = md
                .topics()
                .first()
                .filter(|m| m.error().is_none() && !m.partitions().is_empty())
                .ok_or_else(|| {
                    KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition)
                })?;
            Ok(topic.partitions().len())
        })
        .collect()
}
