#!/usr/bin/env bash
# Starts one ClickHouse Keeper node from the clickhouse/clickhouse-server image (its one
# binary is also the keeper), with keeper.xml beside this script. KEEPER_SERVER_ID defaults
# to the StatefulSet ordinal of $HOSTNAME plus one (Raft ids are 1, 2, 3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${KEEPER_SERVER_ID:-}" ]]; then
  ordinal="${HOSTNAME##*-}"
  [[ "${ordinal}" =~ ^[0-9]+$ ]] || { echo "start.sh: KEEPER_SERVER_ID unset and ${HOSTNAME} ends in no ordinal" >&2; exit 1; }
  export KEEPER_SERVER_ID=$((ordinal + 1))
fi
mkdir -p /var/lib/clickhouse/coordination/log /var/lib/clickhouse/coordination/snapshots
exec clickhouse keeper --config-file="${here}/keeper.xml"
