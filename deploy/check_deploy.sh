#!/usr/bin/env bash
# Installs what deploy/check_deploy.py needs (user site, pinned) and runs it; arguments are
# passed through (e.g. --allow-missing-external, --skip-chdb).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkgs=(PyYAML==6.0.3 jsonschema==4.26.0 check-jsonschema==0.39.0 compose-spec==0.2.1
      kubernetes-validate==1.37.0 chdb-core==26.9.0)
if ! python3 -c 'import yaml, jsonschema, check_jsonschema, compose_spec, kubernetes_validate, chdb' 2>/dev/null; then
  echo "check_deploy.sh: pip install --user ${pkgs[*]}"
  # Debian's own python3 refuses pip (PEP 668) unless told otherwise; a pyenv/venv python takes the plain form
  python3 -m pip install -q --user "${pkgs[@]}" ||
    python3 -m pip install -q --user --break-system-packages "${pkgs[@]}"
fi
exec python3 "${here}/check_deploy.py" "$@"
