#!/usr/bin/env bash
# Stop the local stack started by up.sh: SIGTERM, then SIGKILL if a service has
# not exited after MOTCUA_STOP_TIMEOUT seconds (default 10). Safe to run when
# nothing is running.
#   --purge   also delete $MOTCUA_HOME/data (topics, tables, metrics history)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"

RUN_DIR="${MOTCUA_HOME}/run"
DATA_DIR="${MOTCUA_HOME}/data"
STOP_TIMEOUT="${MOTCUA_STOP_TIMEOUT:-10}"

say() { printf '[down] %s\n' "$*"; }

purge=0
for arg in "$@"; do
  case "${arg}" in
    --purge) purge=1 ;;
    -h | --help)
      sed -n '2,6p' "$0"
      exit 0
      ;;
    *)
      echo "usage: $0 [--purge]" >&2
      exit 2
      ;;
  esac
done

# A zombie still answers kill -0, hence the state check.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "${state}" && "${state}" != Z ]]
}

stop_service() {
  local name="$1" pf pid cmdline deadline
  pf="${RUN_DIR}/${name}.pid"
  if [[ ! -e "${pf}" ]]; then
    say "${name}: not running"
    return 0
  fi
  pid="$(cat "${pf}" 2>/dev/null || true)"
  # Only signal the pid if it is still our service: after a crash or reboot the
  # number may belong to an unrelated process.
  cmdline=""
  if [[ "${pid}" =~ ^[0-9]+$ ]] && pid_alive "${pid}"; then
    cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null || true)"
  fi
  if [[ "${cmdline}" != *"${name}"* ]]; then
    say "${name}: stale pid file removed (pid ${pid:-?} is not a running ${name})"
    rm -f "${pf}"
    return 0
  fi
  say "${name}: stopping pid ${pid} (SIGTERM)"
  kill -TERM "${pid}" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "${pid}" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "${pid}"; then
    say "${name}: still alive after ${STOP_TIMEOUT}s, SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    while pid_alive "${pid}"; do sleep 0.1; done
  fi
  rm -f "${pf}"
  say "${name}: stopped"
}

# Reverse start order: the demo's processor and the scraper first, the broker last.
for name in motcua prometheus clickhouse tansu; do
  stop_service "${name}"
done

if ((purge)); then
  # Guard against an empty or odd MOTCUA_HOME turning this into rm -rf /data.
  if [[ -n "${MOTCUA_HOME}" && "${DATA_DIR}" == */data && -d "${DATA_DIR}" ]]; then
    say "purging ${DATA_DIR}"
    rm -rf -- "${DATA_DIR}"
  else
    say "nothing to purge at ${DATA_DIR}"
  fi
fi
