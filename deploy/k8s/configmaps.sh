#!/usr/bin/env bash
# Creates (or updates) the ConfigMaps whose files live elsewhere in the repository, so that
# each file has one copy: the Kafka and ClickHouse configuration shared with deploy/compose,
# the cluster schema (deploy/clickhouse/cluster), the alert rules (deploy/prometheus) and
# Grafana's provisioning and dashboards (deploy/grafana). Run it before `kubectl apply -k
# deploy/k8s`, and again after any of those files changes (then restart what reads them).
#
#   KAFKA_CLUSTER_ID=<id> deploy/k8s/configmaps.sh [--dry-run]
#
# KAFKA_CLUSTER_ID is needed only the first time (ConfigMap kafka-cluster is never replaced:
# a new id would orphan every broker's data). Make it with
#   kubectl run kafka-id --rm -i --restart=Never --image=apache/kafka:4.1.0 -- /opt/kafka/bin/kafka-storage.sh random-uuid
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ns="${MOTCUA_NAMESPACE:-motcua}"
dry=""
[[ "${1:-}" == "--dry-run" ]] && dry="--dry-run=client"

kubectl get namespace "${ns}" >/dev/null 2>&1 || kubectl create namespace "${ns}" ${dry}

apply_cm() { # NAME --from-file=... ...
  local name="$1"
  shift
  kubectl -n "${ns}" create configmap "${name}" "$@" --dry-run=client -o yaml | kubectl apply ${dry} -f -
}

c="${repo}/deploy/compose/config"
apply_cm kafka-scripts \
  --from-file=start.sh="${c}/kafka/start.sh" \
  --from-file=setup.sh="${c}/kafka/setup.sh" \
  --from-file=server.properties="${c}/kafka/server.properties"
apply_cm keeper-config \
  --from-file=keeper.xml="${c}/keeper/keeper.xml" \
  --from-file=start.sh="${c}/keeper/start.sh"
apply_cm clickhouse-config \
  --from-file=config.xml="${c}/clickhouse/config.d/motcua.xml" \
  --from-file=users.xml="${c}/clickhouse/users.d/motcua.xml"

schema=(--from-file=apply.py="${repo}/deploy/clickhouse/cluster/apply.py")
for f in "${repo}"/deploy/clickhouse/cluster/sql/*.sql; do
  schema+=(--from-file="$(basename "${f}")=${f}")
done
apply_cm clickhouse-cluster-schema "${schema[@]}"

apply_cm prometheus-rules --from-file=alerts.yml="${repo}/deploy/prometheus/alerts.yml"
apply_cm grafana-datasources --from-file="${repo}/deploy/grafana/provisioning/datasources/"
apply_cm grafana-dashboard-providers --from-file="${repo}/deploy/grafana/provisioning/dashboards/"
apply_cm grafana-dashboards --from-file="${repo}/deploy/grafana/dashboards/"

if ! kubectl -n "${ns}" get configmap kafka-cluster >/dev/null 2>&1; then
  : "${KAFKA_CLUSTER_ID:?first run: set KAFKA_CLUSTER_ID (see the top of this script)}"
  kubectl -n "${ns}" create configmap kafka-cluster --from-literal=cluster-id="${KAFKA_CLUSTER_ID}" ${dry}
fi
echo "configmaps.sh: ConfigMaps in namespace ${ns} are up to date"
