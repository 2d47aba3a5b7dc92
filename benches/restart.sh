#!/usr/bin/env bash
# Restart time against history size: how long a processor holding N events of history takes
# to be back to live after a restart, beside the time a full replay of that history takes
# (what every start cost before state was checkpointed).
#
#   bash benches/restart.sh                 # ~100 k events
#   MOTCUA_BENCH_DOSSIERS_PER_DAY=1600 MOTCUA_BENCH_DAYS=120 bash benches/restart.sh   # ~1 M
#   MOTCUA_BENCH_DOSSIERS_PER_DAY=4000 MOTCUA_BENCH_DAYS=240 bash benches/restart.sh   # ~5 M
#
# Needs the local stack (bash deploy/local/up.sh) and a release build
# (cargo build --release -p motcua-cli). Prints one summary block at the end; the figures go
# into docs/PERFORMANCE.md and the issue's closing note, never into a timed test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/.."
source deploy/local/env.sh
BIN="${MOTCUA_BIN_RELEASE:-target/release/motcua}"
[[ -x "${BIN}" ]] || { echo "build it first: cargo build --release -p motcua-cli" >&2; exit 1; }

DAYS="${MOTCUA_BENCH_DAYS:-30}"
PER_DAY="${MOTCUA_BENCH_DOSSIERS_PER_DAY:-800}"
RUN="$(date +%Y%m%d%H%M%S)"
# MOTCUA_BENCH_TOPIC_PREFIX reuses the topics of an earlier run (history already published;
# a new database and group process it again).
REUSE="${MOTCUA_BENCH_TOPIC_PREFIX:-}"
export MOTCUA_TOPIC_PREFIX="${REUSE:-motcua-restart-${RUN}}"
export MOTCUA_CLICKHOUSE_DATABASE="motcua_restart_${RUN}"
export MOTCUA_GROUP="restart-bench"
export MOTCUA_METRICS_ADDR="127.0.0.1:0"
export MOTCUA_LOG="${MOTCUA_LOG:-warn,motcua_processor=info}"
WORK="${MOTCUA_HOME}/bench/restart-${RUN}"
mkdir -p "${WORK}"

rss_peak() { grep VmHWM "/proc/$1/status" 2>/dev/null | awk '{print $2}'; }

# Runs `motcua process --stop-at-end`, printing wall seconds and peak RSS (KiB).
timed_process() {
  local log="$1" start end pid peak=0
  start=$(date +%s.%N)
  "${BIN}" process --stop-at-end >"${log}.out" 2>"${log}" &
  pid=$!
  while kill -0 "${pid}" 2>/dev/null; do
    local p
    p="$(rss_peak "${pid}" || true)"
    [[ -n "${p}" && "${p}" -gt "${peak}" ]] && peak="${p}"
    sleep 0.2
  done
  wait "${pid}"
  end=$(date +%s.%N)
  echo "$(echo "${end} - ${start}" | bc) ${peak}"
}

echo "== restart bench: ${DAYS} days x ~${PER_DAY} dossiers/day, topics ${MOTCUA_TOPIC_PREFIX}.*"
"${BIN}" topics --partitions 4 >/dev/null
"${BIN}" migrate >/dev/null
if [[ -n "${REUSE}" ]]; then
  TAIL=0
  EVENTS="(reused)"
  pub_start=0
  pub_end=0
  read -r FIRST FIRST_RSS < <(timed_process "${WORK}/first.log")
else
"${BIN}" simulate --start 2026-01-05 --days "${DAYS}" --dossiers-per-day "${PER_DAY}" --out "${WORK}/events.jsonl" 2>"${WORK}/simulate.log"
EVENTS=$(wc -l <"${WORK}/events.jsonl")
# The last 2 000 events arrive while the processor is down: the restart must restore its
# state and fold them to be live again.
TAIL=2000
head -n $((EVENTS - TAIL)) "${WORK}/events.jsonl" >"${WORK}/history.jsonl"
tail -n "${TAIL}" "${WORK}/events.jsonl" >"${WORK}/tail.jsonl"
pub_start=$(date +%s.%N)
"${BIN}" publish "${WORK}/history.jsonl" --format avro >"${WORK}/publish.log" 2>&1
pub_end=$(date +%s.%N)

read -r FIRST FIRST_RSS < <(timed_process "${WORK}/first.log")
"${BIN}" publish "${WORK}/tail.jsonl" --format avro >>"${WORK}/publish.log" 2>&1
rm -f "${WORK}/events.jsonl" "${WORK}/history.jsonl" "${WORK}/tail.jsonl"
fi
DOSSIERS=$(clickhouse-client --port "${MOTCUA_CLICKHOUSE_TCP_PORT}" -q "SELECT count() FROM ${MOTCUA_CLICKHOUSE_DATABASE}.processor_state FINAL")
read -r RESTART RESTART_RSS < <(timed_process "${WORK}/restart.log")
RESTORED=$(grep -o 'resident=[0-9]*' "${WORK}/restart.log" | awk -F= '{s+=$2} END {print s+0}')
RESTORE_MS=$(grep -o 'elapsed_ms=[0-9]*' "${WORK}/restart.log" | awk -F= '{s+=$2} END {print s+0}')

echo
echo "== restart bench summary (${EVENTS} events, ${DOSSIERS} dossiers checkpointed)"
printf '  publish                           %8.1f s\n' "$(echo "${pub_end} - ${pub_start}" | bc)"
printf '  first run (full history, = a replay, what every start cost before) %8.1f s, peak RSS %d MiB\n' "${FIRST}" $((FIRST_RSS / 1024))
printf '  restart to live (join, restore, fold the %d events that came meanwhile) %8.1f s, peak RSS %d MiB\n' "${TAIL}" "${RESTART}" $((RESTART_RSS / 1024))
printf '  restored %d resident dossiers in %d ms (sum over partitions)\n' "${RESTORED}" "${RESTORE_MS}"
echo "  logs: ${WORK}"
