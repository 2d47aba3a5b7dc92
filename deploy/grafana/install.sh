#!/usr/bin/env bash
# Installs what the dashboard generator, its tests and the preview need, and nothing that is
# already there (safe to run again; the stack setup calls it):
#   - Debian's `chromium`, to load the preview page headless (deploy/grafana/check.sh);
#   - from PyPI, into the user environment: Grafana's foundation SDK (the dashboards are
#     built with it; pinned to the build for Grafana 11.6, whose JSON the checked-in files
#     are) and pytest (the panel tests).
# MOTCUA_SKIP_INSTALL=1 makes it fail instead of installing, like deploy/local/up.sh.
set -euo pipefail

SDK_PIN='grafana-foundation-sdk==1769699379!11.6.0'
say() { printf '[grafana-install] %s\n' "$*"; }
die() {
  printf '[grafana-install] ERROR: %s\n' "$*" >&2
  exit 1
}

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1; then
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "chromium is missing (MOTCUA_SKIP_INSTALL=1)"
  say "apt-get install chromium"
  ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get update -q
  ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi

pip_missing=()
python3 - <<'PY' || pip_missing+=("${SDK_PIN}")
import importlib.metadata as m, sys
sys.exit(0 if m.version("grafana-foundation-sdk") == "1769699379!11.6.0" else 1)
PY
python3 -c 'import pytest' 2>/dev/null || pip_missing+=(pytest)
python3 -c 'import requests' 2>/dev/null || pip_missing+=(requests)
python3 -c 'import yaml' 2>/dev/null || pip_missing+=(pyyaml)
python3 -c 'import confluent_kafka' 2>/dev/null || pip_missing+=(confluent-kafka)
if ! python3 -c 'import chdb' 2>/dev/null; then
  # Modern ClickHouse in-process, to run the dashboards' SQL on a modern engine too (the
  # same package and flags as deploy/local/up.sh).
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "chdb missing (MOTCUA_SKIP_INSTALL=1)"
  say "pip install --user --no-deps chdb-core"
  python3 -m pip install --user -q --no-deps chdb-core
fi
if [[ ${#pip_missing[@]} -gt 0 ]]; then
  [[ "${MOTCUA_SKIP_INSTALL:-0}" == 1 ]] && die "missing Python packages: ${pip_missing[*]} (MOTCUA_SKIP_INSTALL=1)"
  say "pip install --user ${pip_missing[*]}"
  python3 -m pip install --user -q "${pip_missing[@]}"
fi
say "ok: $(chromium --version 2>/dev/null | head -1); grafana-foundation-sdk $(python3 -c 'import importlib.metadata as m; print(m.version("grafana-foundation-sdk"))')"
