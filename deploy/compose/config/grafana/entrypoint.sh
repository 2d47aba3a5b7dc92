#!/bin/sh
# Compose only: deploy/grafana/provisioning/datasources reads the ClickHouse password from
# $MOTCUA_CLICKHOUSE_PASSWORD; Docker secrets are files. Export it, then run Grafana's own
# entrypoint. (Kubernetes sets the variable from a Secret.)
set -eu
f="${SECRETS_DIR:-/run/secrets}/clickhouse-reader-password"
[ -s "$f" ] || { echo "entrypoint.sh: secret $f is missing" >&2; exit 1; }
MOTCUA_CLICKHOUSE_PASSWORD="$(tr -d '\r\n' <"$f")"
export MOTCUA_CLICKHOUSE_PASSWORD
exec /run.sh "$@"
