#!/usr/bin/env bash
# The dashboards' checks: the checked-in JSON is what the generator writes, and every panel's
# query returns data from the real services (deploy/grafana/test_dashboards.py), the preview
# loads in headless Chromium. Needs the local stack up with the main job's data in ClickHouse
# (bash deploy/local/demo.sh first) and target/release/motcua (built by the demo).
# Extra arguments go to pytest (e.g. -k clickhouse, -x).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
# shellcheck source=/dev/null
source "${ROOT}/deploy/local/env.sh"
bash "${HERE}/install.sh"
python3 "${HERE}/generate.py" --check
cd "${ROOT}"
exec python3 -m pytest -p no:cacheprovider -q "${HERE}/test_dashboards.py" "$@"
