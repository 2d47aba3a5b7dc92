#!/usr/bin/env bash
# Compose only: the ClickHouse config reads its secrets from environment variables
# (from_env); Docker secrets are files. Export each file's content under its variable, then
# run the image's own entrypoint. (Kubernetes sets the variables from Secrets directly.)
set -euo pipefail
secrets="${SECRETS_DIR:-/run/secrets}"
load() {
  [[ -s "${secrets}/$2" ]] || { echo "entrypoint.sh: secret ${secrets}/$2 is missing" >&2; exit 1; }
  export "$1=$(tr -d '\r\n' <"${secrets}/$2")"
}
load CLICKHOUSE_PROCESSOR_PASSWORD clickhouse-processor-password
load CLICKHOUSE_ADMIN_PASSWORD clickhouse-admin-password
load CLICKHOUSE_READER_PASSWORD clickhouse-reader-password
load CLICKHOUSE_INTERSERVER_PASSWORD clickhouse-interserver-password
load CLICKHOUSE_CLUSTER_SECRET clickhouse-cluster-secret
# the image's entrypoint must not create a default user of its own
export CLICKHOUSE_SKIP_USER_SETUP=1
exec /entrypoint.sh "$@"
