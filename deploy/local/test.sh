#!/usr/bin/env bash
# The whole test suite: starts (installing if needed) tansu, ClickHouse and Prometheus on
# loopback, then runs every test, unit and integration, against them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/../.."
bash deploy/local/up.sh
source deploy/local/env.sh
# Style gates first: they fail fast and cost little next to the tests.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Benchmarks compile and run once each in test mode (timings come from `cargo bench`).
cargo test --workspace --locked --bench fold
# Integration tests talk to the services above; they fail (never skip) if one is missing.
log="$(mktemp)"
cargo test --workspace --locked -- --test-threads 4 2>&1 | tee "${log}"
# One closing line for the whole suite (cargo prints one result line per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "${log}"
rm -f "${log}"
