#!/usr/bin/env bash
# Checks motcua's alert rules, without any running service:
#   1. promtool check rules   alerts.yml parses, every expression is valid PromQL
#   2. promtool check config  deploy/local/prometheus.yml loads the rules (rule_files resolves)
#   3. promtool test rules    the unit tests (alerts_test.yml, alerts_calendar_test.yml)
#   4. check_metrics.py       every motcua_* metric, label and value in the rules exists in the
#                             Rust sources; every alert has severity, summary, description and
#                             a runbook heading in docs/OPERATIONS.md
#   5. mutants.py             the tests fail when a rule is broken (~1 min on 2 cores; skip
#                             with --no-mutants)
# Every step runs even when an earlier one fails; the exit status is 1 if any failed.
# promtool comes from Debian's `prometheus` package (deploy/local/up.sh installs it).
#
# Until the two proposed metrics exist in the code (docs/OPERATIONS.md, "Metrics these
# alerts still need"), step 4 fails and names them; that is expected.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
MUTANTS=1
for arg in "$@"; do
  case "${arg}" in
    --no-mutants) MUTANTS=0 ;;
    -h | --help)
      sed -n '2,16p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      printf 'check.sh: unknown argument %s (try --help)\n' "${arg}" >&2
      exit 2
      ;;
  esac
done

command -v promtool >/dev/null ||
  { printf 'check.sh: promtool not found: apt-get install prometheus (or run deploy/local/up.sh)\n' >&2; exit 1; }
command -v python3 >/dev/null ||
  { printf 'check.sh: python3 not found\n' >&2; exit 1; }

failed=()
step() {
  local name="$1"
  shift
  printf '== %s\n' "${name}"
  if ! "$@"; then
    failed+=("${name}")
  fi
}

cd "${HERE}" || exit 1
step "promtool check rules" promtool check rules alerts.yml
step "promtool check config" promtool check config "${ROOT}/deploy/local/prometheus.yml"
step "promtool test rules" promtool test rules alerts_test.yml alerts_calendar_test.yml
step "metrics exist in the code" python3 check_metrics.py
if ((MUTANTS)); then
  step "tests fail on broken rules" python3 mutants.py
fi

if ((${#failed[@]})); then
  printf '\ncheck.sh: FAILED: %s\n' "$(IFS=,; printf '%s' "${failed[*]}" | sed 's/,/, /g')" >&2
  exit 1
fi
printf '\ncheck.sh: all checks passed\n'
