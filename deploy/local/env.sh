# shellcheck shell=bash
# Local-stack settings for motcua. Source it: `source deploy/local/env.sh`.
# up.sh, down.sh and the tests source it too, so every tool agrees on ports and paths.
# Each value is only a default: anything already set in the environment wins,
# which is how CI or a developer moves the stack elsewhere without editing files.

# Repo root from this file's own location, so sourcing works from any cwd.
_motcua_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOTCUA_REPO_ROOT="$(cd "${_motcua_env_dir}/../.." && pwd)"
unset _motcua_env_dir

# Everything the local stack writes (pids, logs, data) lives under here; it is
# git-ignored state, safe to delete with `down.sh --purge`.
: "${MOTCUA_HOME:=${MOTCUA_REPO_ROOT}/.motcua}"

# Kafka-protocol broker (tansu). Comma-separated bootstrap list; up.sh binds the first.
: "${MOTCUA_BROKERS:=127.0.0.1:19092}"

# ClickHouse 18.16 (Debian package): HTTP interface and native TCP port.
: "${MOTCUA_CLICKHOUSE_URL:=http://127.0.0.1:18123}"
: "${MOTCUA_CLICKHOUSE_TCP_PORT:=19000}"

# Prometheus, and the address where the processor serves /metrics for it to scrape.
# deploy/local/prometheus.yml lists these same two addresses; up.sh rewrites a copy
# of it if you override them.
: "${MOTCUA_PROMETHEUS_URL:=http://127.0.0.1:19090}"
: "${MOTCUA_METRICS_ADDR:=127.0.0.1:19100}"

# Key for pseudonymising citizen identifiers (HMAC). This fixed value is for local
# development and tests ONLY: production must inject its own secret (from a secret
# store, never from this repo), or pseudonyms become reversible by anyone with the source.
: "${MOTCUA_PSEUDONYM_KEY:=motcua-local-dev-key-change-me}"

export MOTCUA_REPO_ROOT MOTCUA_HOME MOTCUA_BROKERS MOTCUA_CLICKHOUSE_URL \
  MOTCUA_CLICKHOUSE_TCP_PORT MOTCUA_PROMETHEUS_URL MOTCUA_METRICS_ADDR \
  MOTCUA_PSEUDONYM_KEY

# Stops the processor a demo leaves running (it holds MOTCUA_METRICS_ADDR): demo.sh calls it
# before starting another, test.sh before the tests bind that port.
stop_demo_processor() {
  local pidfile="${MOTCUA_HOME}/run/motcua.pid" pid
  [[ -s "${pidfile}" ]] || return 0
  pid="$(cat "${pidfile}")"
  if kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "${pidfile}"
}
