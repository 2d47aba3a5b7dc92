#!/usr/bin/env bash
# Starts one Apache Kafka node (KRaft, combined broker + controller) for motcua, in the
# official apache/kafka image (used by deploy/compose/compose.yaml and, through a ConfigMap,
# by deploy/k8s/kafka.yaml):
#   1. renders server.properties (beside this script) into a private file, filling in the
#      node id, the advertised host and the keystore password (from its secret file);
#   2. on first start only, formats the storage with the cluster id and the `admin` SCRAM
#      credential (KRaft stores SCRAM credentials in its metadata log: the first one must be
#      there before any client can authenticate);
#   3. execs the broker.
#
# Environment:
#   KAFKA_CLUSTER_ID                 required; one value for the whole cluster, made once with
#                                    `kafka-storage.sh random-uuid` (not a secret)
#   KAFKA_CONTROLLER_QUORUM_VOTERS   required; e.g. 1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093
#   KAFKA_NODE_ID                    default: the StatefulSet ordinal of $HOSTNAME plus one
#   KAFKA_ADVERTISED_HOST            default: `hostname -f`
#   KAFKA_EXTERNAL_ADVERTISED        host:port of the EXTERNAL listener (9094); unset: none
#   SECRETS_DIR                      default /etc/kafka/secrets; holds kafka-broker.p12,
#                                    kafka-ca.crt, kafka-keystore-password, kafka-admin-password
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
secrets="${SECRETS_DIR:-/etc/kafka/secrets}"
data=/var/lib/kafka/data/kraft

die() { echo "start.sh: $*" >&2; exit 1; }
secret() {
  [[ -s "${secrets}/$1" ]] || die "secret file ${secrets}/$1 is missing or empty"
  tr -d '\r\n' <"${secrets}/$1"
}
# sed replacement text: escape \, & and the | delimiter
esc() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

: "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID (kafka-storage.sh random-uuid, once per cluster)}"
: "${KAFKA_CONTROLLER_QUORUM_VOTERS:?set KAFKA_CONTROLLER_QUORUM_VOTERS}"
node_id="${KAFKA_NODE_ID:-}"
if [[ -z "${node_id}" ]]; then
  ordinal="${HOSTNAME##*-}"
  [[ "${ordinal}" =~ ^[0-9]+$ ]] || die "KAFKA_NODE_ID unset and ${HOSTNAME} ends in no ordinal"
  node_id=$((ordinal + 1))
fi
host="${KAFKA_ADVERTISED_HOST:-$(hostname -f)}"
extra_listener="" extra_advertised=""
if [[ -n "${KAFKA_EXTERNAL_ADVERTISED:-}" ]]; then
  extra_listener=",EXTERNAL://:9094"
  extra_advertised=",EXTERNAL://${KAFKA_EXTERNAL_ADVERTISED}"
fi
for f in kafka-broker.p12 kafka-ca.crt; do
  [[ -s "${secrets}/${f}" ]] || die "TLS file ${secrets}/${f} is missing (deploy/README.md, TLS)"
done
keystore_password="$(secret kafka-keystore-password)"
admin_password="$(secret kafka-admin-password)"
[[ "${admin_password}" =~ ^[A-Za-z0-9._~+-]+$ ]] ||
  die "kafka-admin-password: use letters, digits and ._~+- only (it travels inside a SCRAM spec)"

umask 077
run_dir="$(mktemp -d /tmp/kafka-config.XXXXXX)"
props="${run_dir}/server.properties"
sed -e "s|@NODE_ID@|$(esc "${node_id}")|g" \
    -e "s|@VOTERS@|$(esc "${KAFKA_CONTROLLER_QUORUM_VOTERS}")|g" \
    -e "s|@HOST@|$(esc "${host}")|g" \
    -e "s|@EXTRA_LISTENER@|$(esc "${extra_listener}")|g" \
    -e "s|@EXTRA_ADVERTISED@|$(esc "${extra_advertised}")|g" \
    -e "s|@SECRETS_DIR@|$(esc "${secrets}")|g" \
    -e "s|@KEYSTORE_PASSWORD@|$(esc "${keystore_password}")|g" \
    "${here}/server.properties" >"${props}"
if grep -q '@[A-Z_]*@' "${props}"; then
  die "unfilled placeholders in ${props}: $(grep -o '@[A-Z_]*@' "${props}" | sort -u | tr '\n' ' ')"
fi

if [[ ! -f "${data}/meta.properties" ]]; then
  echo "start.sh: formatting ${data} for cluster ${KAFKA_CLUSTER_ID} as node ${node_id}"
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "${KAFKA_CLUSTER_ID}" --config "${props}" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${admin_password}]"
fi
unset keystore_password admin_password
echo "start.sh: node ${node_id} advertised as ${host}"
exec /opt/kafka/bin/kafka-server-start.sh "${props}"
