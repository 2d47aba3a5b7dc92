#!/usr/bin/env bash
# The main job: start the local services, simulate a province, publish its events to Kafka,
# run the stream processor over them, and print on-time rates per agency read back from
# ClickHouse. Services are left running for a look (deploy/local/down.sh stops them).
# Extra arguments go to `motcua demo` (e.g. --days 10 --dossiers-per-day 5000).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/../.."
bash deploy/local/up.sh
source deploy/local/env.sh
cargo build --release --locked -p motcua-cli
exec target/release/motcua demo "$@"
