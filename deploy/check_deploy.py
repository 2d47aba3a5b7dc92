#!/usr/bin/env python3
"""Check motcua's production deployment (deploy/) as far as it can be checked without Docker,
Kubernetes or a cluster.

    python3 deploy/check_deploy.py [--allow-missing-external] [--skip-chdb] [--k8s-version 1.33.0]
    bash deploy/check_deploy.sh            # the same, installing the Python packages first

Python packages (CI installs them with exactly this line; check_deploy.sh runs it):

    python3 -m pip install --user PyYAML==6.0.3 jsonschema==4.26.0 check-jsonschema==0.39.0 \
        compose-spec==0.2.1 kubernetes-validate==1.37.0 chdb-core==26.9.0

  PyYAML               every YAML file parses (multi-document)
  jsonschema           validator for the two schemas below
  check-jsonschema     ships the Compose Specification's JSON schema (vendor/compose-spec.json)
  compose-spec         a second, independent Compose parser (Rust compose_spec), after
                       interpolation with .env.example as `docker compose` would
  kubernetes-validate  the Kubernetes OpenAPI schemas, offline (strict: unknown fields fail)
  chdb-core            ClickHouse 26.9 in-process, for deploy/clickhouse/cluster/validate.py

What is checked (one `ok` or `FAIL` line each, then `N passed, M failed`; exit 1 on any failure):
  files      every YAML, JSON and XML file under deploy/ parses; shell scripts pass `bash -n`
             (and shellcheck when installed); Python files compile
  compose    deploy/compose/compose.yaml against the Compose Specification schema, raw and
             interpolated, and through compose_spec; images pinned; secrets, volumes, bind
             mounts, depends_on resolve; every secret file is documented
  k8s        every manifest against the Kubernetes schemas (strict); kustomization resources
             and generators exist; every ConfigMap, Secret and key a workload reads is made by
             kustomization.yaml, configmaps.sh or the Secret templates; subPath keys exist
  code       cross-references with the Rust sources: MOTCUA_* variables are ones the code (or a
             deploy script, or the Grafana provisioning) reads; subcommands exist; topic names
             and the consumer group follow services/core/src/topics.rs and the CLI defaults;
             metric names in alert rules and dashboards exist in the code; tables and views the
             dashboards and auditor queries read exist in the migrations; probe paths are
             routes the services serve, on the ports the services listen on; scrape ports and
             job names match what the alert rules select; from_env variables of the ClickHouse
             and Keeper configuration are set wherever those servers run; the migration list
             of services/runtime/src/store.rs matches the files
  clickhouse deploy/clickhouse/cluster: generated DDL up to date, validated on chdb
             (validate.py says exactly what that does and does not cover)

Files other sessions own (deploy/prometheus/alerts.yml, deploy/grafana/...) are read, not
written; `--allow-missing-external` reports them as skipped while they are not merged yet.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
PIP_LINE = ("python3 -m pip install --user PyYAML==6.0.3 jsonschema==4.26.0 check-jsonschema==0.39.0 "
            "compose-spec==0.2.1 kubernetes-validate==1.37.0 chdb-core==26.9.0")

try:
    import yaml
except ImportError:  # pragma: no cover
    print(f"check_deploy.py: PyYAML is missing: {PIP_LINE}", file=sys.stderr)
    sys.exit(2)


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok   {what}")

    def fail(self, what: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {what}: {why}")

    def skip(self, what: str, why: str) -> None:
        self.skipped += 1
        print(f"skip {what}: {why}")

    def expect(self, what: str, problems: list[str]) -> None:
        if problems:
            self.fail(what, "\n       ".join([""] + problems) if len(problems) > 1 else problems[0])
        else:
            self.ok(what)


# --- facts from the code ---------------------------------------------------------------------

class Code:
    """What the Rust sources, the migrations and the scripts define."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        rs = {p: p.read_text(encoding="utf-8") for p in root.glob("services/*/src/**/*.rs")}
        self.rs = rs
        allrs = "\n".join(rs.values())
        self.env_vars = set(re.findall(r'"(MOTCUA_[A-Z0-9_]+)"', allrs))
        self.metrics = set(re.findall(r'"(motcua_[a-z0-9_]+)"', allrs))
        topics = (root / "services/core/src/topics.rs").read_text(encoding="utf-8")
        self.topic_suffixes = re.findall(r'format!\("\{prefix\}\.([a-z-]+)"\)', topics)
        main = (root / "services/cli/src/main.rs").read_text(encoding="utf-8")
        self.main = main
        self.cli_defaults = dict(re.findall(r'env = "(MOTCUA_[A-Z_]+)",\s*default_value(?:_t)? = "?([^")\n]+)"?\)?', main))
        for k, v in re.findall(r'env\s*=\s*"(MOTCUA_[A-Z_]+)",\s*\n?\s*default_value\s*=\s*"([^"]+)"', main):
            self.cli_defaults[k] = v
        block = main[main.index("enum Command {"):]
        block = block[:block.index("\n}\n")]
        self.subcommands = {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower()
                            for v in re.findall(r"^    ([A-Z][A-Za-z]+)\s*[({,]", block, re.M)}
        server = (root / "services/gateway/src/server.rs").read_text(encoding="utf-8")
        self.gateway_get_routes = set(re.findall(r'method: "get",\s*path: "([^"]+)"', server))
        metrics_rs = (root / "services/runtime/src/metrics.rs").read_text(encoding="utf-8")
        self.processor_routes = set(re.findall(r'\.route\(\s*"(/[a-z]+)"', metrics_rs))
        gw_cli = (root / "services/gateway/src/cli.rs").read_text(encoding="utf-8")
        m = re.search(r'env = "MOTCUA_GATEWAY_LISTEN", default_value = "[^"]*:(\d+)"', gw_cli)
        self.gateway_default_port = m.group(1) if m else None
        self.tables, self.views = self._schema_objects()
        store = (root / "services/runtime/src/store.rs").read_text(encoding="utf-8")
        self.store_migrations = [(int(v), n, f) for v, n, f in re.findall(
            r'\(\s*(\d+),\s*"([a-z0-9_]+)",\s*include_str!\("\.\./\.\./\.\./deploy/clickhouse/migrations/([^"]+)"\)', store)]

    def _schema_objects(self) -> tuple[set[str], set[str]]:
        tables, views = set(), set()
        for path in sorted((self.root / "deploy/clickhouse/migrations").glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            tables |= set(re.findall(r"CREATE TABLE IF NOT EXISTS \$\{db\}\.(\w+)", sql))
            views |= set(re.findall(r"CREATE VIEW IF NOT EXISTS \$\{db\}\.(\w+)", sql))
            for old, new in re.findall(r"RENAME TABLE \$\{db\}\.(\w+) TO \$\{db\}\.(\w+)", sql):
                (views if old in views else tables).add(new)
        tables.add("schema_migrations")
        return tables, views


# --- helpers ---------------------------------------------------------------------------------

def rel(root: pathlib.Path, p: pathlib.Path) -> str:
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def yaml_docs(path: pathlib.Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def read_env_file(path: pathlib.Path) -> dict[str, str]:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


_INTERP = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str]):
    """Compose's variable interpolation (${V}, ${V:-d}, ${V-d}, ${V:?e}, ${V?e}, $$)."""
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {interpolate(k, env): interpolate(v, env) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def rep(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3)
        val = env.get(name)
        if op in (":-", "-"):
            return interpolate(arg or "", env) if val is None or (op == ":-" and val == "") else val
        if op in (":?", "?"):
            if val is None or (op == ":?" and val == ""):
                raise ValueError(f"required variable {name} is not set: {arg}")
            return val
        return val or ""

    return _INTERP.sub(rep, value)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def script_vars(text: str) -> tuple[set[str], set[str]]:
    """(variables a shell script reads, those it requires with ${V:?...})."""
    read = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):\?", text))
    return read, required


def xml_from_env(path: pathlib.Path) -> set[str]:
    return {e.get("from_env") for e in ET.parse(path).iter() if e.get("from_env")}


def port_of(addr: str) -> str | None:
    m = re.search(r":(\d+)$", addr or "")
    return m.group(1) if m else None


def all_strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in all_strings(k) + all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in all_strings(v)]
    return []


def json_strings(node, keys: tuple[str, ...]) -> list[str]:
    """Every string value under one of `keys`, anywhere in a parsed JSON document."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, str):
                out.append(v)
            else:
                out.extend(json_strings(v, keys))
    elif isinstance(node, list):
        for v in node:
            out.extend(json_strings(v, keys))
    return out


def metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(motcua_[a-z0-9_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


# --- checks ----------------------------------------------------------------------------------

def check_files(root: pathlib.Path, r: Report) -> None:
    deploy = root / "deploy"
    probs = []
    n = 0
    for p in sorted(list(deploy.rglob("*.yaml")) + list(deploy.rglob("*.yml"))):
        n += 1
        try:
            yaml_docs(p)
        except yaml.YAMLError as e:
            probs.append(f"{rel(root, p)}: {e}")
    r.expect(f"files: {n} YAML files parse", probs)
    probs, n = [], 0
    for p in sorted(deploy.rglob("*.json")):
        n += 1
        try:
            json.loads(p.read_text(encoding="utf-8"))
        except ValueError as e:
            probs.append(f"{rel(root, p)}: {e}")
    r.expect(f"files: {n} JSON files parse", probs)
    probs, n = [], 0
    for p in sorted(deploy.rglob("*.xml")):
        n += 1
        try:
            ET.parse(p)
        except ET.ParseError as e:
            probs.append(f"{rel(root, p)}: {e}")
    r.expect(f"files: {n} XML files parse", probs)
    mine = [deploy / "compose", deploy / "k8s", deploy / "clickhouse" / "cluster"]
    scripts = sorted({p for d in mine for p in d.rglob("*.sh")} | {deploy / "check_deploy.sh"})
    probs = []
    for p in scripts:
        shell = "sh" if p.read_text(encoding="utf-8").startswith("#!/bin/sh") else "bash"
        res = subprocess.run([shell, "-n", str(p)], capture_output=True, text=True)
        if res.returncode:
            probs.append(f"{rel(root, p)}: {res.stderr.strip()}")
    r.expect(f"files: {len(scripts)} shell scripts pass {'bash/sh'} -n", probs)
    if shutil.which("shellcheck"):
        res = subprocess.run(["shellcheck", "-S", "warning", *map(str, scripts)], capture_output=True, text=True)
        r.expect(f"files: shellcheck on {len(scripts)} scripts", [res.stdout.strip()] if res.returncode else [])
    else:
        r.skip("files: shellcheck", "not installed (apt-get install shellcheck)")
    probs = []
    pys = sorted({p for d in mine for p in d.rglob("*.py")} | {deploy / "check_deploy.py"})
    for p in pys:
        try:
            compile(p.read_text(encoding="utf-8"), str(p), "exec")
        except SyntaxError as e:
            probs.append(f"{rel(root, p)}: {e}")
    r.expect(f"files: {len(pys)} Python files compile", probs)


def check_compose(root: pathlib.Path, code: Code, r: Report, allow_missing: bool) -> dict:
    cdir = root / "deploy" / "compose"
    path = cdir / "compose.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        import importlib.resources as res
        import jsonschema
        schema = json.loads((res.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
        validator = jsonschema.Draft202012Validator(schema)
        errs = [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in validator.iter_errors(raw)]
        r.expect("compose: compose.yaml matches the Compose Specification schema (as written)", errs[:20])
    except ImportError as e:
        r.fail("compose: schema", f"{e}; {PIP_LINE}")
        validator = None
    env = read_env_file(cdir / ".env.example")
    env.setdefault("KAFKA_CLUSTER_ID", "")
    if not env["KAFKA_CLUSTER_ID"]:
        env["KAFKA_CLUSTER_ID"] = "q1Sh-9_ISia_zwGINzRvyQ"  # stand-in for the operator's id
    try:
        doc = interpolate(raw, env)
    except ValueError as e:
        r.fail("compose: interpolation with .env.example", str(e))
        return raw
    if validator is not None:
        errs = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
        r.expect("compose: interpolated with .env.example, still matches the schema", errs[:20])
    try:
        from compose_spec import PyCompose
        plain = {k: v for k, v in doc.items() if not k.startswith("x-")}
        PyCompose.from_json(json.dumps(plain))
        r.ok("compose: compose_spec (Rust) parses the interpolated file")
    except ImportError as e:
        r.fail("compose: compose_spec", f"{e}; {PIP_LINE}")
    except ValueError as e:
        r.fail("compose: compose_spec (Rust) parses the interpolated file", str(e))

    services = doc.get("services", {})
    probs = []
    for name, s in services.items():
        image = s.get("image", "")
        if "build" not in s and (":" not in image.split("/")[-1] or image.endswith(":latest")):
            probs.append(f"{name}: image `{image}` has no pinned tag")
    r.expect(f"compose: {len(services)} services, every image pinned", probs)

    secrets = doc.get("secrets", {})
    readme = (cdir / "secrets" / "README.md").read_text(encoding="utf-8")
    probs = []
    for name, s in services.items():
        for sec in s.get("secrets", []):
            src = sec["source"] if isinstance(sec, dict) else sec
            if src not in secrets:
                probs.append(f"{name}: secret {src} is not defined")
    for sname, sdef in secrets.items():
        f = sdef.get("file", "")
        if not f.startswith("./secrets/"):
            probs.append(f"secret {sname}: file {f} is not under ./secrets/")
        if f"`{pathlib.Path(f).name}`" not in readme:
            probs.append(f"secret {sname}: {pathlib.Path(f).name} is not documented in secrets/README.md")
        if "environment" in sdef:
            probs.append(f"secret {sname}: taken from an environment variable")
    r.expect(f"compose: {len(secrets)} secrets are files under secrets/, defined and documented", probs)

    probs = []
    leaks = re.compile(r"(PASSWORD|SECRET|KEY)$")
    for name, s in services.items():
        for k, v in env_of(s).items():
            if leaks.search(k) and v and not v.startswith("/"):
                probs.append(f"{name}: {k} has a literal value")
    r.expect("compose: no password, secret or key as a literal environment value", probs)

    volumes = set(doc.get("volumes", {}))
    probs, externals = [], []
    for name, s in services.items():
        for dep in s.get("depends_on", {}) or {}:
            if dep not in services:
                probs.append(f"{name}: depends_on unknown service {dep}")
        for v in s.get("volumes", []):
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith((".", "/")):
                p = (cdir / src).resolve()
                if not p.exists():
                    if allow_missing and rel(root, p).startswith(("deploy/prometheus", "deploy/grafana")):
                        externals.append(rel(root, p))
                    else:
                        probs.append(f"{name}: bind mount {src} ({rel(root, p)}) does not exist")
            elif src and src not in volumes:
                probs.append(f"{name}: volume {src} is not declared")
    r.expect("compose: depends_on, named volumes and bind-mount sources resolve", probs)
    if externals:
        r.skip("compose: mounts owned by other sessions", f"not merged yet: {', '.join(sorted(set(externals)))}")
    return doc


def k8s_objects(root: pathlib.Path) -> list[tuple[str, dict]]:
    out = []
    kdir = root / "deploy" / "k8s"
    for p in sorted(kdir.rglob("*.yaml")):
        if p.name == "kustomization.yaml":
            continue
        for d in yaml_docs(p):
            out.append((rel(root, p), d))
    return out


def pod_specs(objs: list[tuple[str, dict]]):
    for f, o in objs:
        kind = o.get("kind")
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            yield f, o, o["spec"]["template"]
        elif kind == "Job":
            yield f, o, o["spec"]["template"]


def configmaps_sh(root: pathlib.Path) -> dict[str, set[str] | None]:
    """ConfigMap name -> keys (None: whole directory, keys are its file names)."""
    text = (root / "deploy/k8s/configmaps.sh").read_text(encoding="utf-8")
    out: dict[str, set[str] | None] = {}
    for m in re.finditer(r"apply_cm (\S+)((?: \\\n\s*--from-file=\S+| --from-file=\S+)+)", text):
        keys: set[str] | None = set()
        for f in re.findall(r"--from-file=(\S+)", m.group(2)):
            if "=" in f:
                keys.add(f.split("=", 1)[0])
            else:
                keys = None
        out[m.group(1)] = keys
    if "apply_cm clickhouse-cluster-schema" in text:
        out["clickhouse-cluster-schema"] = {"apply.py"} | {p.name for p in (root / "deploy/clickhouse/cluster/sql").glob("*.sql")}
    for name in re.findall(r"create configmap (\S+) --from-literal=([a-z-]+)=", text):
        out[name[0]] = {name[1]}
    return out


def configmaps_sh_paths(root: pathlib.Path) -> list[str]:
    text = (root / "deploy/k8s/configmaps.sh").read_text(encoding="utf-8")
    paths = []
    for f in re.findall(r'--from-file=(?:[\w.-]+=)?"([^"]+)"', text):
        f = f.replace("${c}", "${repo}/deploy/compose/config")
        if "$(basename" in f or "${f}" in f:
            continue
        paths.append(f.replace("${repo}/", ""))
    return paths


def check_k8s(root: pathlib.Path, code: Code, r: Report, version: str, allow_missing: bool) -> list:
    kdir = root / "deploy" / "k8s"
    objs = k8s_objects(root)
    try:
        import kubernetes_validate as kv
        probs = []
        for f, o in objs:
            try:
                kv.validate(o, version, strict=True)
            except kv.ValidationError as e:
                probs.append(f"{f} {o.get('kind')}/{o.get('metadata', {}).get('name')}: "
                             f"{'/'.join(map(str, e.path))}: {e.message[:300]}")
        # the validator must reject what it should: an unknown field
        bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"portz": []}}
        try:
            kv.validate(bad, version, strict=True)
            probs.append("kubernetes-validate accepted an unknown field: strict mode is not working")
        except kv.ValidationError:
            pass
        r.expect(f"k8s: {len(objs)} objects valid against the Kubernetes {version} schemas (strict)", probs)
    except ImportError as e:
        r.fail("k8s: schemas", f"{e}; {PIP_LINE}")

    kust = yaml.safe_load((kdir / "kustomization.yaml").read_text(encoding="utf-8"))
    probs = []
    for res in kust.get("resources", []):
        if not (kdir / res).exists():
            probs.append(f"resource {res} does not exist")
    generated: dict[str, set[str] | None] = {}
    for g in kust.get("configMapGenerator", []):
        keys = set()
        for f in g.get("files", []):
            key, _, src = f.partition("=")
            src = src or key
            if not (kdir / src).exists():
                probs.append(f"configMapGenerator {g['name']}: {src} does not exist")
            keys.add(pathlib.Path(key).name)
        generated[g["name"]] = keys
    listed = {f for f, _ in objs if not f.startswith("deploy/k8s/secrets/")}
    for f in listed:
        if pathlib.Path(f).name not in kust.get("resources", []):
            probs.append(f"{f} is not in kustomization.yaml resources")
    r.expect("k8s: kustomization resources and generator files exist, every manifest listed", probs)

    cms = configmaps_sh(root)
    cms.update(generated)
    probs, externals = [], []
    for p in configmaps_sh_paths(root):
        if not (root / p).exists():
            if allow_missing and p.startswith(("deploy/prometheus", "deploy/grafana")):
                externals.append(p)
            else:
                probs.append(f"configmaps.sh reads {p}, which does not exist")
    r.expect(f"k8s: configmaps.sh makes {len(cms) - len(generated)} ConfigMaps from files that exist", probs)
    if externals:
        r.skip("k8s: configmaps.sh sources owned by other sessions", f"not merged yet: {', '.join(externals)}")

    secrets = {}
    for f, o in objs:
        if o.get("kind") == "Secret":
            secrets[o["metadata"]["name"]] = set(o.get("stringData", {})) | set(o.get("data", {}))
            nonempty = [k for k, v in {**o.get("stringData", {}), **o.get("data", {})}.items() if v]
            if nonempty:
                probs.append(f"{f}: Secret {o['metadata']['name']} template holds values for {nonempty}")
    probs = []
    for f, o, tpl in pod_specs(objs):
        spec = tpl["spec"]
        who = f"{o['kind']}/{o['metadata']['name']}"
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    s = ref["secretKeyRef"]
                    if s["key"] not in secrets.get(s["name"], set()):
                        probs.append(f"{who}: env {e['name']} reads Secret {s['name']} key {s['key']}, not in the templates")
                if "configMapKeyRef" in ref:
                    s = ref["configMapKeyRef"]
                    if s["name"] not in cms or (cms[s["name"]] is not None and s["key"] not in cms[s["name"]]):
                        probs.append(f"{who}: env {e['name']} reads ConfigMap {s['name']} key {s['key']}, which nothing makes")
            for m in c.get("volumeMounts", []):
                v = vols.get(m["name"])
                if v is None:
                    if m["name"] not in {t["metadata"]["name"] for t in o["spec"].get("volumeClaimTemplates", [])}:
                        probs.append(f"{who}: mount {m['name']} has no volume")
                    continue
                if "configMap" in v:
                    name = v["configMap"]["name"]
                    if name not in cms:
                        probs.append(f"{who}: ConfigMap {name} is made by neither kustomization.yaml nor configmaps.sh")
                    elif m.get("subPath") and cms[name] is not None and m["subPath"] not in cms[name]:
                        probs.append(f"{who}: subPath {m['subPath']} is not a key of ConfigMap {name}")
                if "secret" in v:
                    name = v["secret"]["secretName"]
                    for item in v["secret"].get("items", []):
                        if item["key"] not in secrets.get(name, set()):
                            probs.append(f"{who}: Secret {name} has no key {item['key']} in the templates")
    r.expect("k8s: every ConfigMap, Secret and key a workload reads is made or templated", probs)
    return objs


def check_code(root: pathlib.Path, code: Code, compose: dict, objs: list, r: Report, allow_missing: bool) -> None:
    deploy = root / "deploy"
    cdir = deploy / "compose"
    services = compose.get("services", {})
    containers = []  # (where, name, env dict, command list, container dict)
    for name, s in services.items():
        cmd = s.get("command") or []
        containers.append((f"compose {name}", name, env_of(s), cmd if isinstance(cmd, list) else [cmd], s))
    for f, o, tpl in pod_specs(objs):
        for c in tpl["spec"].get("initContainers", []) + tpl["spec"].get("containers", []):
            env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
            containers.append((f"k8s {o['metadata']['name']}/{c['name']}", c["name"], env,
                               (c.get("command") or []) + (c.get("args") or []), c))

    # environment variables
    scripts = [p for p in (deploy / "compose").rglob("*.sh")] + [deploy / "k8s" / "configmaps.sh",
                                                                 deploy / "clickhouse" / "cluster" / "apply.py"]
    script_read = set()
    for p in scripts:
        script_read |= script_vars(p.read_text(encoding="utf-8"))[0]
        script_read |= set(re.findall(r'"(MOTCUA_[A-Z_]+)"', p.read_text(encoding="utf-8")))
    prov_dir = deploy / "grafana" / "provisioning"
    grafana_vars = set()
    for p in prov_dir.rglob("*.y*ml") if prov_dir.exists() else []:
        for value in all_strings(yaml_docs(p)):  # values only: comments may show ${VAR} as prose
            grafana_vars |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", value))
    known = code.env_vars | script_read | grafana_vars
    probs = []
    for where, name, env, _, _ in containers:
        if name == "grafana" and not prov_dir.exists():
            continue  # its variables are the provisioning's, not merged yet (reported below)
        # Kubernetes expands $(VAR) in another variable's value: such a VAR is read there
        expanded = {v for value in env.values() for v in re.findall(r"\$\(([A-Z0-9_]+)\)", value)}
        for k in env:
            if k.startswith("MOTCUA_") and k not in known and k not in expanded:
                probs.append(f"{where}: {k} is read by no code, script or provisioning file")
    r.expect(f"code: every MOTCUA_* variable set is read somewhere ({len(code.env_vars)} in the Rust sources)", probs)

    # subcommands
    probs = []
    for where, _, env, cmd, c in containers:
        image = c.get("image", "")
        if "motcua" not in image.split("/")[-1].split(":")[0]:
            continue
        entry = c.get("entrypoint") or c.get("command") or ["motcua"]
        entry = entry if isinstance(entry, list) else [entry]
        subs = []
        if entry[0] in ("motcua", "motcua-entrypoint") or (c.get("args") and not c.get("command")):
            first = (c.get("args") or cmd or [""])[0]
            subs.append(first)
        subs += re.findall(r"\bmotcua(?:-entrypoint)? ([a-z][a-z-]+)", " ".join(map(str, cmd)))
        for sub in subs:
            if sub not in code.subcommands:
                probs.append(f"{where}: `motcua {sub}` is not a subcommand ({sorted(code.subcommands)})")
    r.expect("code: every motcua subcommand run exists in services/cli/src/main.rs", probs)

    # topics, group, database
    setup = (cdir / "config/kafka/setup.sh").read_text(encoding="utf-8")
    made = re.findall(r'"\$\{prefix\}\.([a-z-]+)"', setup)
    probs = []
    if sorted(set(made)) != sorted(code.topic_suffixes):
        probs.append(f"setup.sh makes {sorted(set(made))}, topics.rs names {sorted(code.topic_suffixes)}")
    group_default = code.cli_defaults.get("MOTCUA_GROUP")
    prefix_default = code.cli_defaults.get("MOTCUA_TOPIC_PREFIX")
    db_default = code.cli_defaults.get("MOTCUA_CLICKHOUSE_DATABASE")
    for where, _, env, _, _ in containers:
        if env.get("MOTCUA_GROUP") not in (None, group_default):
            probs.append(f"{where}: MOTCUA_GROUP {env['MOTCUA_GROUP']}, the ACLs are for {group_default}*")
        if env.get("MOTCUA_TOPIC_PREFIX") not in (None, prefix_default, "${MOTCUA_TOPIC_PREFIX:-motcua}", "motcua"):
            probs.append(f"{where}: MOTCUA_TOPIC_PREFIX {env['MOTCUA_TOPIC_PREFIX']}")
        if env.get("MOTCUA_CLICKHOUSE_DATABASE") not in (None, db_default):
            probs.append(f"{where}: database {env['MOTCUA_CLICKHOUSE_DATABASE']}, the grants are for {db_default}")
    if '"{}-replay-{}"' not in code.main:
        probs.append("main.rs no longer names replay groups <group>-replay-<time>: check the prefixed group ACL")
    users = (cdir / "config/clickhouse/users.d/motcua.xml").read_text(encoding="utf-8")
    if f"ON {db_default}.*" not in users:
        probs.append(f"users.xml grants nothing on {db_default}.*")
    r.expect(f"code: topics {prefix_default}.{{{','.join(code.topic_suffixes)}}}, group {group_default}, "
             f"database {db_default} agree with topics.rs and the CLI defaults", probs)

    # migrations
    files = [(int(p.name[:4]), p.name[5:-4], p.name) for p in sorted((deploy / "clickhouse/migrations").glob("*.sql"))]
    cluster = [p.name for p in sorted((deploy / "clickhouse/cluster/sql").glob("*.sql"))]
    probs = []
    if code.store_migrations != files:
        probs.append(f"store.rs MIGRATIONS {code.store_migrations} != files {files}")
    if cluster != ["0000_bootstrap.sql"] + [f for _, _, f in files]:
        probs.append(f"cluster sql {cluster} does not mirror the migrations")
    if "(applied now: {:?})" not in code.main:
        probs.append("`motcua migrate` no longer prints `(applied now: [...])`: the schema jobs' guard reads it")
    r.expect(f"code: {len(files)} migrations in store.rs, the migrations directory and the cluster DDL", probs)

    # probes and ports
    proc_port = port_of(next((env.get("MOTCUA_METRICS_ADDR", "") for _, n, env, _, _ in containers
                              if env.get("MOTCUA_METRICS_ADDR")), ""))
    gw_port = port_of(next((env.get("MOTCUA_GATEWAY_LISTEN", "") for _, n, env, _, _ in containers
                            if env.get("MOTCUA_GATEWAY_LISTEN")), ""))
    known_routes = {proc_port: code.processor_routes, gw_port: code.gateway_get_routes,
                    "8123": {"/ping", "/replicas_status"}, "9182": {"/ready"},
                    "9090": {"/-/ready", "/-/healthy"}, "3000": {"/api/health"}}
    probs = []
    for where, _, env, _, c in containers:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            h = c.get(probe, {}).get("httpGet")
            if h:
                port = str(h["port"])
                if h["path"] not in known_routes.get(port, set()):
                    probs.append(f"{where}: {probe} GET {h['path']} on {port}: not a route served there "
                                 f"({sorted(known_routes.get(port, []))})")
        hc = " ".join(map(str, (c.get("healthcheck") or {}).get("test", [])))
        for port, path in re.findall(r"/dev/tcp/127\.0\.0\.1/(\d+).*?GET (/\S+) HTTP", hc):
            if path not in known_routes.get(port, set()):
                probs.append(f"{where}: healthcheck GET {path} on {port}: not a route served there")
        ann = c.get("annotations")
    for f, o, tpl in pod_specs(objs):
        ann = tpl.get("metadata", {}).get("annotations", {})
        if ann.get("prometheus.io/scrape") == "true":
            ports = {str(p["containerPort"]) for c in tpl["spec"]["containers"] for p in c.get("ports", [])}
            if ann.get("prometheus.io/port") not in ports:
                probs.append(f"{o['metadata']['name']}: scrape port {ann.get('prometheus.io/port')} is not a container port {sorted(ports)}")
            path = ann.get("prometheus.io/path")
            port = ann.get("prometheus.io/port")
            if port in (proc_port, gw_port) and path not in known_routes[port]:
                probs.append(f"{o['metadata']['name']}: scrape path {path} is not served on {port}")
    if proc_port != "19100" and proc_port is not None:
        pass
    if gw_port is None:
        probs.append("no service sets MOTCUA_GATEWAY_LISTEN")
    r.expect(f"code: probes and scrape paths are routes the services serve (processor :{proc_port} "
             f"{sorted(code.processor_routes)}, gateway :{gw_port} {sorted(code.gateway_get_routes)})", probs)

    # Prometheus jobs and targets
    probs = []
    prom_compose = yaml.safe_load((cdir / "config/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    jobs_compose = {}
    for sc in prom_compose["scrape_configs"]:
        ports = [str(d["port"]) for d in sc.get("dns_sd_configs", [])]
        ports += [t.rsplit(":", 1)[1] for s in sc.get("static_configs", []) for t in s["targets"]]
        jobs_compose[sc["job_name"]] = ports
    if jobs_compose.get("motcua-processor") != [proc_port]:
        probs.append(f"compose Prometheus scrapes motcua-processor on {jobs_compose.get('motcua-processor')}, it listens on {proc_port}")
    if jobs_compose.get("motcua-gateway") != [gw_port]:
        probs.append(f"compose Prometheus scrapes motcua-gateway on {jobs_compose.get('motcua-gateway')}, it listens on {gw_port}")
    k8s_jobs = {tpl["metadata"]["labels"].get("app.kubernetes.io/name") for _, _, tpl in pod_specs(objs)
                if tpl.get("metadata", {}).get("annotations", {}).get("prometheus.io/scrape") == "true"}
    alerts = deploy / "prometheus" / "alerts.yml"
    if alerts.exists():
        wanted = set(re.findall(r'job\s*=~?\s*"([^"]+)"', alerts.read_text(encoding="utf-8")))
        for job in wanted:
            if job not in jobs_compose:
                probs.append(f"alerts.yml selects job {job}: the compose Prometheus has no such job")
            if job not in k8s_jobs:
                probs.append(f"alerts.yml selects job {job}: no annotated Kubernetes pod is labelled with it")
    for cfg, mount_ok in ((cdir / "config/prometheus/prometheus.yml", "/etc/prometheus/rules/alerts.yml"),
                          (deploy / "k8s/prometheus.yml", "/etc/prometheus/rules/alerts.yml")):
        rf = yaml.safe_load(cfg.read_text(encoding="utf-8")).get("rule_files", [])
        if rf != [mount_ok]:
            probs.append(f"{rel(root, cfg)}: rule_files {rf}, the rules are mounted at {mount_ok}")
    if "../prometheus/alerts.yml:/etc/prometheus/rules/alerts.yml:ro" not in services.get("prometheus", {}).get("volumes", []):
        probs.append("compose prometheus does not mount ../prometheus/alerts.yml at /etc/prometheus/rules/alerts.yml")
    r.expect(f"code: Prometheus jobs {sorted(jobs_compose)} scrape the services' ports; alert rules' jobs exist "
             f"in compose and Kubernetes", probs)

    # metrics named in deploy/
    probs, seen = [], set()
    sources = [alerts] if alerts.exists() else []
    sources += sorted((deploy / "grafana" / "dashboards").glob("*.json")) if (deploy / "grafana" / "dashboards").exists() else []
    sources += [deploy / "README.md"] if (deploy / "README.md").exists() else []
    subsystems = {m.split("_")[1] for m in code.metrics}
    for p in sources:
        for name in metric_names(p.read_text(encoding="utf-8")):
            if p.suffix == ".md" and name.split("_")[1] not in subsystems | {"x"} or name.count("_") < 2:
                continue  # prose: `motcua_admin` is a user name, not a metric
            seen.add(name)
            if name not in code.metrics:
                probs.append(f"{rel(root, p)}: metric {name} is defined nowhere in services/*/src")
    if not sources:
        r.skip("code: metric names", "no alert rules or dashboards merged yet")
    else:
        r.expect(f"code: {len(seen)} metric names used in {len(sources)} deploy files exist in the code", sorted(set(probs)))

    # tables and views read by dashboards and auditor queries
    objects = code.tables | code.views
    probs, n = [], 0
    sql_sources = [deploy / "clickhouse" / "auditor_queries.sql"]
    sql_sources += sorted((deploy / "grafana" / "dashboards").glob("*.json")) if (deploy / "grafana" / "dashboards").exists() else []
    for p in sql_sources:
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            text = "\n".join(json_strings(json.loads(text), ("rawSql", "sql", "queryText")))
        for name in re.findall(r"\b(?:FROM|JOIN)\s+(?:\$\{db\}\.|motcua\.)?([a-z_][a-z0-9_]*)\b", text, re.I):
            if name.lower() in ("numbers", "system", "select") or name.startswith("_"):
                continue
            n += 1
            if name not in objects:
                probs.append(f"{rel(root, p)}: reads {name}, which no migration creates")
    r.expect(f"code: {n} table/view references in auditor queries and dashboards exist in the migrations", sorted(set(probs)))

    # Grafana provisioning variables and dashboard path
    probs = []
    grafana_targets = [(w, env, c) for w, n, env, _, c in containers if n == "grafana"]
    if not prov_dir.exists():
        if allow_missing:
            r.skip("code: Grafana provisioning variables", "deploy/grafana/provisioning not merged yet")
        else:
            r.fail("code: Grafana provisioning", "deploy/grafana/provisioning does not exist")
    else:
        for where, env, c in grafana_targets:
            secret_env = {e["name"] for e in c.get("env", []) if "valueFrom" in e} if isinstance(c.get("env"), list) else set()
            missing = sorted(v for v in grafana_vars if v not in env and v not in secret_env
                             and not (where.startswith("compose") and v == "MOTCUA_CLICKHOUSE_PASSWORD"))
            if missing:
                probs.append(f"{where}: provisioning reads {missing}, not set")
            dash = env.get("MOTCUA_GRAFANA_DASHBOARDS")
            mounts = [m.get("mountPath") for m in c.get("volumeMounts", [])] if "volumeMounts" in c else \
                [v.split(":")[1] for v in c.get("volumes", []) if isinstance(v, str) and v.startswith("../grafana/dashboards")]
            if dash not in mounts:
                probs.append(f"{where}: MOTCUA_GRAFANA_DASHBOARDS={dash}, dashboards mounted at {mounts}")
        r.expect(f"code: Grafana gets every variable its provisioning reads ({sorted(grafana_vars)}) and the "
                 "dashboards where the provider looks", probs)

    # from_env of ClickHouse / Keeper configs, required script variables
    probs = []
    ch_vars = xml_from_env(cdir / "config/clickhouse/config.d/motcua.xml") | \
        xml_from_env(cdir / "config/clickhouse/users.d/motcua.xml")
    keeper_vars = xml_from_env(cdir / "config/keeper/keeper.xml") - {"KEEPER_SERVER_ID"}
    entry = (cdir / "config/clickhouse/entrypoint.sh").read_text(encoding="utf-8")
    from_files = set(re.findall(r"^load (\w+) ", entry, re.M))
    kafka_required = script_vars((cdir / "config/kafka/start.sh").read_text(encoding="utf-8"))[1]
    for where, name, env, cmd, c in containers:
        img = c.get("image", "")
        words = " ".join(map(str, (c.get("entrypoint") or []) + list(cmd)))
        secret_env = {e["name"] for e in c.get("env", []) if "valueFrom" in e} if isinstance(c.get("env"), list) else set()
        have = set(env) | secret_env
        if "clickhouse-server" in img and "keeper" not in words:
            extra = from_files if where.startswith("compose") else set()
            missing = sorted(ch_vars - have - extra)
            if missing:
                probs.append(f"{where}: ClickHouse config reads {missing} (from_env), not set")
        if "keeper" in words:
            missing = sorted(keeper_vars - have)
            if missing:
                probs.append(f"{where}: Keeper config reads {missing}, not set")
        if "start.sh" in words and "kafka" in img:
            missing = sorted(kafka_required - have)
            if missing:
                probs.append(f"{where}: start.sh requires {missing}, not set")
    r.expect(f"code: ClickHouse ({len(ch_vars)}), Keeper ({len(keeper_vars)}) and Kafka start variables are set "
             "wherever those servers run", probs)

    # Kafka ports: the brokers' listeners and what the clients use
    props = (cdir / "config/kafka/server.properties").read_text(encoding="utf-8")
    listeners = dict(re.findall(r"(\w+)://:(\d+)", re.search(r"^listeners=(.*)$", props, re.M).group(1)))
    probs = []
    for where, _, env, _, _ in containers:
        for var in ("MOTCUA_BROKERS", "KAFKA_BOOTSTRAP"):
            for hp in filter(None, env.get(var, "").split(",")):
                if port_of(hp) != listeners.get("CLIENT"):
                    probs.append(f"{where}: {var} {hp} is not on the CLIENT listener :{listeners.get('CLIENT')}")
        voters = env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
        for v in filter(None, voters.split(",")):
            if port_of(v) != listeners.get("CONTROLLER"):
                probs.append(f"{where}: voter {v} is not on the CONTROLLER listener :{listeners.get('CONTROLLER')}")
        ch = env.get("MOTCUA_CLICKHOUSE_URL")
        if ch and port_of(ch.rstrip("/")) != "8123":
            probs.append(f"{where}: MOTCUA_CLICKHOUSE_URL {ch} is not ClickHouse's http_port 8123")
    http_port = ET.parse(cdir / "config/clickhouse/config.d/motcua.xml").getroot().findtext("http_port")
    if http_port != "8123":
        probs.append(f"ClickHouse http_port is {http_port}")
    r.expect(f"code: clients use the brokers' CLIENT listener :{listeners.get('CLIENT')}, voters the CONTROLLER "
             f"listener :{listeners.get('CONTROLLER')}, ClickHouse URLs its http_port", probs)


_CHDB_PROBE = r"""
import json, os, sys, tempfile
from chdb import session
cfg, queries = sys.argv[1], json.loads(sys.argv[2])
try:
    s = session.Session(f"{tempfile.mkdtemp()}?config-file={cfg}")
except Exception as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
out = []
for q in queries:
    try:
        out.append(s.query(q, "TSVRaw").bytes().decode())
    except Exception as e:
        out.append("ERROR " + str(e))
print(json.dumps({"results": out}))
"""


def chdb_probe(cfg: pathlib.Path, env: dict[str, str], queries: list[str]) -> dict:
    """Starts chdb (ClickHouse 26.9) in a child process with `cfg` as its server configuration
    and `env` as its environment (from_env), and runs `queries`."""
    res = subprocess.run([sys.executable, "-c", _CHDB_PROBE, str(cfg), json.dumps(queries)],
                         capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"error": (res.stdout + res.stderr).strip()[-1500:]}
    return json.loads(lines[-1])


def check_clickhouse_config(root: pathlib.Path, compose: dict, r: Report, skip_chdb: bool) -> None:
    """Loads the real ClickHouse configuration into chdb: from_env substitution, the cluster,
    the macros, the users, their grants and profiles, and the removal of `default`."""
    if skip_chdb:
        r.skip("clickhouse: configuration loaded by ClickHouse (chdb)", "--skip-chdb")
        return
    cfgdir = root / "deploy/compose/config/clickhouse"
    env = env_of(compose["services"]["clickhouse-1"])
    entry = (cfgdir / "entrypoint.sh").read_text(encoding="utf-8")
    for var in re.findall(r"^load (\w+) ", entry, re.M):
        env[var] = f"check-{var.lower()}"
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        # the image's users.xml in miniature: a `default` user and profile for motcua's to merge into
        (tmp / "users.d").mkdir()
        (tmp / "users.xml").write_text(
            "<clickhouse><profiles><default/></profiles><users><default><password></password>"
            "<networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota>"
            "<access_management>1</access_management></default>"
            "</users><quotas><default/></quotas></clickhouse>", encoding="utf-8")
        users = (cfgdir / "users.d/motcua.xml").read_text(encoding="utf-8")
        server = (cfgdir / "config.d/motcua.xml").read_text(encoding="utf-8").replace(
            "</clickhouse>", f"<user_directories><users_xml><path>{tmp / 'users.xml'}</path></users_xml>"
                             "</user_directories></clickhouse>")
        (tmp / "config.xml").write_text(server, encoding="utf-8")
        # 1. as shipped: `default` is gone (chdb itself connects as `default` and is refused)
        (tmp / "users.d/motcua.xml").write_text(users, encoding="utf-8")
        out = chdb_probe(tmp / "config.xml", env, ["SELECT 1"])
        removed = "no user with such name" in out.get("error", "")
        # 2. with `default` kept, to look at the rest
        (tmp / "users.d/motcua.xml").write_text(users.replace('<default remove="remove"/>', ""), encoding="utf-8")
        users_list = sorted(set(re.findall(r"^        <(motcua_\w+)>", users, re.M)))
        queries = ["SELECT cluster, shard_num, replica_num, host_name, port FROM system.clusters "
                   "WHERE cluster = 'motcua' ORDER BY replica_num",
                   "SELECT macro, substitution FROM system.macros ORDER BY macro",
                   "SELECT name FROM system.users ORDER BY name"]
        queries += [f"SHOW GRANTS FOR {u}" for u in users_list]
        queries += ["SELECT profile_name, setting_name, value FROM system.settings_profile_elements "
                    "WHERE profile_name LIKE 'motcua%' ORDER BY profile_name, setting_name"]
        out2 = chdb_probe(tmp / "config.xml", env, queries)
    if "error" in out2:
        r.fail("clickhouse: configuration loaded by ClickHouse (chdb)", out2["error"])
        return
    res = out2["results"]
    probs = [f"query {q[:60]}: {x[:300]}" for q, x in zip(queries, res) if x.startswith("ERROR")]
    if probs:
        r.fail("clickhouse: configuration loaded by ClickHouse (chdb)", "\n       ".join([""] + probs))
        return
    hosts = [line.split("\t")[3] for line in res[0].splitlines()]
    want = [env.get(f"CLICKHOUSE_REPLICA_{i}_HOST") for i in (1, 2, 3)]
    if hosts != want:
        probs.append(f"cluster motcua has replicas {hosts}, expected {want} (one shard)")
    if {l.split("\t")[0] for l in res[0].splitlines()} != {"motcua"} or {l.split("\t")[1] for l in res[0].splitlines()} != {"1"}:
        probs.append(f"cluster motcua is not one shard: {res[0]!r}")
    macros = dict(l.split("\t") for l in res[1].splitlines())
    if macros.get("replica") != env.get("CLICKHOUSE_REPLICA") or "shard" not in macros:
        probs.append(f"macros {macros}")
    present = set(res[2].split())
    if not set(users_list) <= present:
        probs.append(f"users {users_list} not all loaded: {sorted(present)}")
    if not removed:
        probs.append(f"the password-less `default` user is still there: {out.get('error', 'chdb connected as default')[:200]}")
    grants = dict(zip(users_list, res[3:3 + len(users_list)]))
    if "INSERT" not in grants.get("motcua_processor", "") or "ON motcua.*" not in grants.get("motcua_processor", ""):
        probs.append(f"motcua_processor grants: {grants.get('motcua_processor')}")
    if "GRANT CLUSTER ON *.*" not in grants.get("motcua_admin", ""):
        probs.append(f"motcua_admin cannot run ON CLUSTER: {grants.get('motcua_admin', '')[:200]}")
    if "INSERT" in grants.get("motcua_reader", ""):
        probs.append(f"motcua_reader can insert: {grants.get('motcua_reader')}")
    prof = {(a, b): c for a, b, c in (l.split("\t") for l in res[-1].splitlines())}
    for key, value in {("motcua_processor", "insert_quorum"): "2",
                       ("motcua_processor", "select_sequential_consistency"): "1",
                       ("motcua_processor", "insert_quorum_parallel"): "0",
                       ("motcua_processor", "distributed_foreground_insert"): "1",
                       ("motcua_reader", "readonly"): "2"}.items():
        if prof.get(key) != value:
            probs.append(f"profile {key[0]}: {key[1]} = {prof.get(key)}, expected {value}")
    r.expect(f"clickhouse: config.d and users.d loaded by ClickHouse 26.9 (chdb) with compose's environment: "
             f"cluster motcua 1 shard x {len(hosts)} replicas, macros, users {users_list} with their grants "
             f"and profiles, `default` removed", probs)


def check_clickhouse(root: pathlib.Path, r: Report, skip_chdb: bool) -> None:
    cdir = root / "deploy" / "clickhouse" / "cluster"
    res = subprocess.run([sys.executable, str(cdir / "generate.py"), "--check"], capture_output=True, text=True)
    r.expect("clickhouse: generated cluster DDL is up to date (generate.py --check)",
             [] if res.returncode == 0 else [(res.stdout + res.stderr).strip()[-2000:]])
    if skip_chdb:
        r.skip("clickhouse: chdb validation", "--skip-chdb")
        return
    res = subprocess.run([sys.executable, str(cdir / "validate.py")], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        print(f"     {line}")
    r.expect("clickhouse: cluster DDL validated on chdb (validate.py)",
             [] if res.returncode == 0 else [(res.stdout + res.stderr).strip()[-2000:]])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=pathlib.Path, default=HERE.parent, help="repository root")
    ap.add_argument("--allow-missing-external", action="store_true",
                    help="skip, instead of failing on, files of deploy/prometheus and deploy/grafana not present yet")
    ap.add_argument("--skip-chdb", action="store_true", help="do not run the chdb validation of the cluster DDL")
    ap.add_argument("--k8s-version", default="1.33.0", help="Kubernetes schema version (default 1.33.0)")
    args = ap.parse_args()
    root = args.root.resolve()
    r = Report()
    code = Code(root)
    check_files(root, r)
    compose = check_compose(root, code, r, args.allow_missing_external)
    objs = check_k8s(root, code, r, args.k8s_version, args.allow_missing_external)
    check_code(root, code, compose, objs, r, args.allow_missing_external)
    check_clickhouse_config(root, compose, r, args.skip_chdb)
    check_clickhouse(root, r, args.skip_chdb)
    tail = f", {r.skipped} skipped" if r.skipped else ""
    print(f"{r.passed} passed, {r.failed} failed{tail}")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
