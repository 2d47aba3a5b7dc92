#!/usr/bin/env bash
# motcua beside a peer: the same on-time job in Quix Streams (quix_ontime.py), the same JSON
# topics, the same run, with the broker's ceiling (a bare consumer) read before and after.
#
#   bash benches/peers/run.sh                         # 300 000 events
#   MOTCUA_PEER_EVENTS=1000000 bash benches/peers/run.sh
#   MOTCUA_PEER_PROCESS_ARGS="--assign all" bash benches/peers/run.sh   # flags for motcua process
#   MOTCUA_PEER_QUIX_CHANGELOG=1 bash benches/peers/run.sh              # Quix state with changelogs
#
# Steps: create fresh topics (4 partitions, explicit retention.ms: Quix reads it back through
# DescribeConfigs and fails without it on tansu) and a fresh database; simulate N events
# (`motcua simulate`) and publish them as JSON (`motcua publish --format json`); count what
# the topics hold (tansu's memory engine loses some acknowledged records: the count, not
# what was sent, is the input); bare consumer; `motcua process --stop-at-end`; the Quix job;
# bare consumer again. Each job is timed from its process start to its exit (start-up and
# consumer-group join included for both: tansu 0.6 takes ~3 s to join a group) with
# /usr/bin/time, which also gives CPU seconds and peak RSS.
#
# Needs the local stack (bash deploy/local/up.sh) and a release build
# (cargo build --release -p motcua-cli). Installs quixstreams into a venv under
# $MOTCUA_HOME/peers-venv the first time (benches/peers/requirements.txt). Figures go into
# docs/PERFORMANCE.md, never into a timed test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/../.."
source deploy/local/env.sh
BIN="${MOTCUA_BIN_RELEASE:-target/release/motcua}"
[[ -x "${BIN}" ]] || { echo "build it first: cargo build --release -p motcua-cli" >&2; exit 1; }

EVENTS="${MOTCUA_PEER_EVENTS:-300000}"
PER_DAY="${MOTCUA_PEER_DOSSIERS_PER_DAY:-4000}"
RUN="$(date +%Y%m%d%H%M%S)"
export MOTCUA_TOPIC_PREFIX="motcua-peer-${RUN}"
export MOTCUA_CLICKHOUSE_DATABASE="motcua_peer_${RUN}"
export MOTCUA_GROUP="peer-bench-${RUN}"
export MOTCUA_METRICS_ADDR="127.0.0.1:0"
export MOTCUA_LOG="${MOTCUA_LOG:-warn}"
WORK="${MOTCUA_HOME}/bench/peers-${RUN}"
mkdir -p "${WORK}"

VENV="${MOTCUA_HOME}/peers-venv"
if ! "${VENV}/bin/python" -c 'import quixstreams, confluent_kafka' 2>/dev/null; then
  echo "installing quixstreams into ${VENV}"
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install -q -r "${HERE}/requirements.txt"
fi
PY="${VENV}/bin/python"
TOPICS=("${MOTCUA_TOPIC_PREFIX}.receipts" "${MOTCUA_TOPIC_PREFIX}.processing" "${MOTCUA_TOPIC_PREFIX}.returns" "${MOTCUA_TOPIC_PREFIX}.surveys")

# `timed LOG CMD...`: runs CMD with stdout to LOG.out, stderr to LOG, and /usr/bin/time's
# "wall user sys maxrss_kib" to LOG.time.
timed() {
  local log="$1"; shift
  /usr/bin/time -f '%e %U %S %M' -o "${log}.time" "$@" >"${log}.out" 2>"${log}"
}
field() { "${PY}" -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }

echo "== peers: ${EVENTS} JSON events, topics ${MOTCUA_TOPIC_PREFIX}.*, logs ${WORK}"
"${BIN}" topics --partitions 4 >/dev/null
"${BIN}" migrate >/dev/null
# ~3.6 events per dossier per calendar day; 1.5x margin, cut at EVENTS.
DAYS=$(( EVENTS * 10 / (36 * PER_DAY) * 3 / 2 + 3 ))
"${BIN}" simulate --start 2026-01-05 --days "${DAYS}" --dossiers-per-day "${PER_DAY}" --out - 2>"${WORK}/simulate.log" \
  | head -n "${EVENTS}" >"${WORK}/events.jsonl" || true
pub_start=$(date +%s.%N)
"${BIN}" publish "${WORK}/events.jsonl" --format json >"${WORK}/publish.log" 2>&1
pub_end=$(date +%s.%N)
rm -f "${WORK}/events.jsonl"
HELD=$("${PY}" "${HERE}/bare_consumer.py" --brokers "${MOTCUA_BROKERS}" --count-only "${TOPICS[@]}" | field records)
echo "   $(grep -o "published [0-9]* events" "${WORK}/publish.log" | head -1) in $(echo "${pub_end} - ${pub_start}" | bc) s; the topics hold ${HELD} records"

timed "${WORK}/bare1" "${PY}" "${HERE}/bare_consumer.py" --brokers "${MOTCUA_BROKERS}" "${TOPICS[@]}"
# shellcheck disable=SC2086 # the extra flags are meant to split
timed "${WORK}/motcua" "${BIN}" process --stop-at-end ${MOTCUA_PEER_PROCESS_ARGS:-}
QUIX_FLAGS=()
[[ "${MOTCUA_PEER_QUIX_CHANGELOG:-0}" == 1 ]] && QUIX_FLAGS+=(--changelog)
timed "${WORK}/quix" "${PY}" "${HERE}/quix_ontime.py" --brokers "${MOTCUA_BROKERS}" \
  --topic-prefix "${MOTCUA_TOPIC_PREFIX}" --expect "${HELD}" --group "quix-${RUN}" \
  --state-dir "${WORK}/quix-state" "${QUIX_FLAGS[@]}"
timed "${WORK}/bare2" "${PY}" "${HERE}/bare_consumer.py" --brokers "${MOTCUA_BROKERS}" "${TOPICS[@]}"

read -r M_WALL M_USER M_SYS M_RSS <"${WORK}/motcua.time"
read -r Q_WALL Q_USER Q_SYS Q_RSS <"${WORK}/quix.time"
M_DONE=$(grep -o '^processed [0-9]*' "${WORK}/motcua.out" | awk '{print $2}')
Q_DONE=$(field records <"${WORK}/quix.out")
B1=$(field per_second <"${WORK}/bare1.out")
B2=$(field per_second <"${WORK}/bare2.out")
M_RATE=$(echo "scale=1; ${M_DONE} / ${M_WALL}" | bc)
Q_RATE=$(echo "scale=1; ${Q_DONE} / ${Q_WALL}" | bc)

echo
echo "== peers summary: ${HELD} JSON records on 4 topics x 4 partitions, same run (rates: records / wall time from process start to exit)"
printf '  %-44s %10s records %8.1f s %10.0f records/s  %6.1f CPU s  peak RSS %5d MiB\n' \
  "motcua process --stop-at-end" "${M_DONE}" "${M_WALL}" "${M_RATE}" "$(echo "${M_USER} + ${M_SYS}" | bc)" $((M_RSS / 1024))
printf '  %-44s %10s records %8.1f s %10.0f records/s  %6.1f CPU s  peak RSS %5d MiB\n' \
  "quix streams on-time job" "${Q_DONE}" "${Q_WALL}" "${Q_RATE}" "$(echo "${Q_USER} + ${Q_SYS}" | bc)" $((Q_RSS / 1024))
printf '  %-44s %10.0f records/s before, %.0f after\n' "bare consumer (confluent-kafka, no processing)" "${B1}" "${B2}"
echo "  motcua / quix = $(echo "scale=2; ${M_RATE} / ${Q_RATE}" | bc)"
echo "  motcua's own line: $(grep '^processed' "${WORK}/motcua.out")"
echo "  quix's own line:   $(cat "${WORK}/quix.out")"
echo "  logs: ${WORK}"
