#!/usr/bin/env bash
# One-shot setup of motcua's Kafka cluster, run with the official apache/kafka image once the
# brokers are up (compose service `kafka-setup`, Kubernetes Job `kafka-setup`). Safe to run
# again: it (re)sets the service users' passwords (this is how a password is rotated),
# creates what is missing and never changes an existing topic's partition count.
#
#   1. SCRAM-SHA-512 users motcua-processor and motcua-gateway, passwords from their secret
#      files;
#   2. the topics <prefix>.receipts, .processing, .returns, .surveys (the four inputs,
#      co-partitioned: one partition count for all) and .dead-letter, each with replication
#      factor 3, min.insync.replicas=2 and unlimited retention (`motcua replay` rebuilds the
#      figures from the earliest offsets: deleting old records would lose them);
#   3. ACLs: the processor reads the inputs in consumer groups named motcua-processor*
#      (`motcua replay` makes motcua-processor-replay-<time>) and writes the dead-letter
#      topic; the gateway writes the inputs. Nothing else is allowed (the brokers deny what
#      no ACL allows).
#
# Environment: KAFKA_BOOTSTRAP (default kafka-1:9092), MOTCUA_TOPIC_PREFIX (default motcua),
# MOTCUA_PARTITIONS (default 12), MOTCUA_GROUP (default motcua-processor), SECRETS_DIR
# (default /etc/kafka/secrets: kafka-ca.crt, kafka-admin-password, kafka-processor-password,
# kafka-gateway-password).
set -euo pipefail

secrets="${SECRETS_DIR:-/etc/kafka/secrets}"
bootstrap="${KAFKA_BOOTSTRAP:-kafka-1:9092}"
prefix="${MOTCUA_TOPIC_PREFIX:-motcua}"
partitions="${MOTCUA_PARTITIONS:-12}"
group="${MOTCUA_GROUP:-motcua-processor}"
bin=/opt/kafka/bin

die() { echo "setup.sh: $*" >&2; exit 1; }
secret() {
  [[ -s "${secrets}/$1" ]] || die "secret file ${secrets}/$1 is missing or empty"
  local v
  v="$(tr -d '\r\n' <"${secrets}/$1")"
  [[ "${v}" =~ ^[A-Za-z0-9._~+-]+$ ]] || die "$1: use letters, digits and ._~+- only"
  printf '%s' "${v}"
}

umask 077
conf="$(mktemp -d /tmp/kafka-setup.XXXXXX)/admin.properties"
cat >"${conf}" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(secret kafka-admin-password)";
ssl.truststore.type=PEM
ssl.truststore.location=${secrets}/kafka-ca.crt
PROPS

echo "setup.sh: waiting for ${bootstrap}"
for attempt in $(seq 1 60); do
  if "${bin}/kafka-broker-api-versions.sh" --bootstrap-server "${bootstrap}" --command-config "${conf}" >/dev/null 2>&1; then
    break
  fi
  [[ "${attempt}" -lt 60 ]] || die "no broker answered at ${bootstrap} in 5 minutes"
  sleep 5
done

for user in processor gateway; do
  password="$(secret "kafka-${user}-password")"
  "${bin}/kafka-configs.sh" --bootstrap-server "${bootstrap}" --command-config "${conf}" --alter \
    --entity-type users --entity-name "motcua-${user}" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=${password}]" >/dev/null
  echo "setup.sh: user motcua-${user} set"
done

inputs=("${prefix}.receipts" "${prefix}.processing" "${prefix}.returns" "${prefix}.surveys")
for topic in "${inputs[@]}" "${prefix}.dead-letter"; do
  "${bin}/kafka-topics.sh" --bootstrap-server "${bootstrap}" --command-config "${conf}" --create --if-not-exists \
    --topic "${topic}" --partitions "${partitions}" --replication-factor 3 \
    --config min.insync.replicas=2 --config retention.ms=-1 --config unclean.leader.election.enable=false
done
# Co-partitioning: every input topic must have the same count, or a dossier's events land on
# different partition numbers and no processor sees them together.
for topic in "${inputs[@]}"; do
  count="$("${bin}/kafka-topics.sh" --bootstrap-server "${bootstrap}" --command-config "${conf}" --describe --topic "${topic}" |
    grep -c 'Partition: ')"
  [[ "${count}" == "${partitions}" ]] ||
    die "${topic} has ${count} partitions, expected ${partitions}: the input topics must be co-partitioned"
done
echo "setup.sh: topics ${prefix}.{receipts,processing,returns,surveys,dead-letter} with ${partitions} partitions, RF 3, min.insync.replicas 2"

acl() { "${bin}/kafka-acls.sh" --bootstrap-server "${bootstrap}" --command-config "${conf}" --add --force "$@" >/dev/null; }
topic_args=()
for t in "${inputs[@]}"; do topic_args+=(--topic "${t}"); done
acl --allow-principal User:motcua-processor --operation Read --operation Describe "${topic_args[@]}"
acl --allow-principal User:motcua-processor --operation Write --operation Describe --topic "${prefix}.dead-letter"
acl --allow-principal User:motcua-processor --operation Read --operation Describe \
  --group "${group}" --resource-pattern-type prefixed
acl --allow-principal User:motcua-gateway --operation Write --operation Describe "${topic_args[@]}"
echo "setup.sh: ACLs for motcua-processor (read inputs, groups ${group}*, write dead letters) and motcua-gateway (write inputs)"
