#!/usr/bin/env bash
# The main job: start the local services, simulate a province, publish its events to Kafka,
# run the stream processor over them, and print on-time rates per agency read back from
# ClickHouse. Services are left running for a look (deploy/local/down.sh stops them): a
# processor stays on the demo's topics, so Prometheus scrapes a live target, and the
# dashboards (deploy/grafana) have their data.
# Extra arguments go to `motcua demo` (e.g. --days 10 --dossiers-per-day 5000).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${HERE}/../.."
bash deploy/local/up.sh
source deploy/local/env.sh
cargo build --release --locked -p motcua-cli
bin="${PWD}/target/release/motcua"
mkdir -p "${MOTCUA_HOME}/run" "${MOTCUA_HOME}/log"
pidfile="${MOTCUA_HOME}/run/motcua.pid"

# A processor left by an earlier demo holds the metrics port: stop it first.
stop_demo_processor

out="${MOTCUA_HOME}/log/demo.out"
"${bin}" demo "$@" | tee "${out}"

# The demo names its topics and database in its first lines.
prefix="$(sed -n 's/^   topics \(.*\)\.\*  database .*/\1/p' "${out}" | head -1)"
database="$(sed -n 's/^   topics .*  database \([^ ]*\)  metrics .*/\1/p' "${out}" | head -1)"
if [[ -n "${prefix}" && -n "${database}" ]]; then
  MOTCUA_TOPIC_PREFIX="${prefix}" MOTCUA_CLICKHOUSE_DATABASE="${database}" \
    nohup "${bin}" process >"${MOTCUA_HOME}/log/motcua.log" 2>&1 &
  echo $! >"${pidfile}"
  up=""
  for _ in $(seq 1 30); do
    up="$(curl -fsS "${MOTCUA_PROMETHEUS_URL}/api/v1/targets" 2>/dev/null |
      python3 -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; print(",".join(x["health"] for x in t if x["labels"].get("job")=="motcua-processor"))' 2>/dev/null || true)"
    [[ "${up}" == up ]] && break
    sleep 1
  done
  echo
  echo "== left running: a processor on ${prefix}.* (pid $(cat "${pidfile}"), log ${MOTCUA_HOME}/log/motcua.log)"
  echo "   prometheus ${MOTCUA_PROMETHEUS_URL}: target motcua-processor ${up:-not scraped yet}; alert rules deploy/prometheus/alerts.yml"
fi
echo "   dashboards: deploy/grafana/dashboards/{pipeline,business,drilldown}.json (provisioning in deploy/grafana/provisioning; database ${database:-motcua_demo})"
echo "   preview without Grafana: bash deploy/grafana/check.sh writes ${MOTCUA_HOME}/grafana-preview.html"
