#!/usr/bin/env bash
# The whole test suite: starts (installing if needed) tansu, ClickHouse and Prometheus on
# loopback, then runs every test, unit and integration, against them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/../.."
bash deploy/local/up.sh
source deploy/local/env.sh
# The processor a demo leaves running holds the metrics port the tests bind.
stop_demo_processor
# One build, on as little disk as it can: no incremental caches (a clean clone gains
# nothing from them), and Cargo.toml's dev profile keeps debug info to our own line tables.
export CARGO_INCREMENTAL=0
# Style gates first: they fail fast and cost little next to the tests.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Every test binary and the motcua binary, built once with the tests' feature set (a
# `cargo build -p motcua-cli` would resolve other features and build 20 crates again).
cargo test --workspace --locked --no-run
# Benchmarks compile and run once each in test mode (timings come from `cargo bench`).
cargo test --workspace --locked --bench fold
# The fault-injection tests (tests/it/faults.rs) run the motcua binary as a subprocess and
# start private brokers with the tansu up.sh chose.
export MOTCUA_BIN="${PWD}/target/debug/motcua"
[[ -x "${MOTCUA_BIN}" ]] || { echo "test.sh: ${MOTCUA_BIN} was not built by cargo test --no-run" >&2; exit 1; }
if [[ -z "${MOTCUA_TANSU_BIN:-}" && -s "${MOTCUA_HOME}/run/tansu.bin" ]]; then
  MOTCUA_TANSU_BIN="$(<"${MOTCUA_HOME}/run/tansu.bin")"
  export MOTCUA_TANSU_BIN
fi
# Integration tests talk to the services above; they fail (never skip) if one is missing.
# The fault cases kill processes and sample memory: they run afterwards, one at a time.
# Both runs always happen; the script fails if either did.
log="$(mktemp)"
status=0
cargo test --workspace --locked -- --test-threads 4 --skip faults:: 2>&1 | tee "${log}" || status=1
cargo test --workspace --locked --test it faults:: -- --test-threads 1 2>&1 | tee -a "${log}" || status=1
# Operators' checks (they print pytest's and promtool's own lines, counted below): the
# dashboards' panels against the main job's data in ClickHouse and a real processor scraped
# by Prometheus, the preview in headless Chromium.
{ "${MOTCUA_BIN}" demo >/dev/null && bash deploy/grafana/check.sh; } 2>&1 | tee -a "${log}" || status=1
# The alert rules (promtool check and unit tests, every metric they name defined in the code,
# each rule broken on purpose must fail its tests) and the production deployment files
# (schemas, cross-references with the code, the cluster DDL on modern ClickHouse).
bash deploy/prometheus/check.sh 2>&1 | tee -a "${log}" || status=1
bash deploy/check_deploy.sh 2>&1 | tee -a "${log}" || status=1
# One closing line for the whole suite (cargo prints one result line per test binary).
awk '/^test result:/ || /^[0-9]+ (passed|failed)/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "${log}"
rm -f "${log}"
exit "${status}"
