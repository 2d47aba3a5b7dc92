"""A short, real run of the processor, so that every metric the pipeline dashboard reads exists
in Prometheus with recent samples.

It works on its own topics and its own scratch database (created, then dropped), never on the
main job's: topics `motcua-grafana-<run>.*`, database `motcua_grafana_<run>`, group
`motcua-grafana-<run>`. The processor serves /metrics at MOTCUA_METRICS_ADDR (the address
Prometheus scrapes, deploy/local/prometheus.yml), so nothing else may hold that port meanwhile.

What happens, and which panels it feeds:
  1. `motcua topics` (2 partitions), `motcua migrate`, `motcua simulate` (4 days, 150
     dossiers a day) and `motcua publish`; a first processor reads it all and stops
     (SIGINT): checkpoints exist.
  2. A second processor starts with the same group: it restores each partition from its
     checkpoint (restore time, the loop's `restore` phase), then follows the topics.
  3. Three malformed records (undecodable, missing field, bad format) are produced raw with
     confluent-kafka, and part of the input is published again: dead letters by reason,
     duplicates.
  4. ClickHouse is reached through a TCP proxy here; it is cut for a few seconds while two
     more days are published: inserts fail and are retried (`motcua_processor_retries_total`
     by table, `motcua_processor_retrying`), then the proxy is restored and the processor
     catches up (lag back to 0).
  5. A short wait for Prometheus to scrape; the panels are then evaluated at that instant.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import requests


# The tables the processor inserts into: the `operation` label of an insert retry
# (services/processor/src/shell.rs, `Rows::table`).
TABLES = ("dossier_events", "dossier_state", "dossier_steps", "dossier_periods", "processor_state",
          "dead_letters", "aggregates", "processor_progress")


def metric_value(body: str, name: str, labels: str = "") -> float | None:
    """Sum of the samples of `name` (optionally those whose label text contains `labels`)."""
    total, seen = 0.0, False
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric = key.split("{", 1)[0]
        if metric == name and labels in key:
            total += float(value)
            seen = True
    return total if seen else None


class FlakyProxy:
    """TCP proxy in front of ClickHouse that can be cut: while cut, every open connection is
    closed and new ones are accepted and closed at once (the client sees a network error)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.closed = False
        self.lock = threading.Lock()
        self.conns: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            with self.lock:
                self.conns.discard(src)
                self.conns.discard(dst)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


class PipelineRun:
    def __init__(self, motcua: pathlib.Path, workdir: pathlib.Path, env: dict[str, str], log=print) -> None:
        self.motcua = motcua
        self.workdir = workdir
        self.env = env
        self.log = log
        run = time.strftime("%Y%m%d%H%M%S") + f"_{os.getpid()}"
        self.prefix = f"motcua-grafana-{run}"
        self.database = f"motcua_grafana_{run}"
        self.group = f"motcua-grafana-{run}"
        self.metrics_addr = env["MOTCUA_METRICS_ADDR"]
        self.clickhouse_url = env["MOTCUA_CLICKHOUSE_URL"].rstrip("/")
        self.prometheus_url = env["MOTCUA_PROMETHEUS_URL"].rstrip("/")
        self.proc: subprocess.Popen | None = None
        self.proxy: FlakyProxy | None = None
        self.created_database = False
        self.started_at = 0.0
        self.events: list[str] = []

    # -- helpers ------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300) -> str:
        cmd = [str(self.motcua), *args]
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        return r.stdout

    def common(self) -> list[str]:
        return ["--topic-prefix", self.prefix, "--database", self.database]

    def metrics(self) -> str:
        try:
            return requests.get(f"http://{self.metrics_addr}/metrics", timeout=2).text
        except requests.RequestException:
            return ""

    def wait(self, what: str, check, timeout: float = 120, every: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"processor exited ({self.proc.returncode}) while waiting for {what}; "
                                   f"log: {self.workdir / 'processor.log'}")
            value = check()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def note(self, text: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        self.log(f"[pipeline] {text}")

    def port_free(self) -> bool:
        host, port = self.metrics_addr.rsplit(":", 1)
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex((host, int(port))) != 0

    # -- processor ----------------------------------------------------------------------

    def start_processor(self, clickhouse_url: str) -> None:
        log = open(self.workdir / "processor.log", "a", encoding="utf-8")
        cmd = [str(self.motcua), "process", *self.common(), "--group", self.group, "--assign", "all",
               "--clickhouse-url", clickhouse_url, "--metrics-addr", self.metrics_addr,
               "--retention-days", "2", "--clickhouse-timeout-secs", "5", "--batch-max-wait-ms", "300"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.wait("the processor's /metrics", lambda: metric_value(self.metrics(), "motcua_processor_partitions_owned"))

    def stop_processor(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def caught_up(self, consumed_at_least: float) -> bool:
        body = self.metrics()
        consumed = metric_value(body, "motcua_processor_events_consumed_total") or 0
        lag = metric_value(body, "motcua_processor_consumer_lag_messages")
        return consumed >= consumed_at_least and lag == 0

    def insert_retried(self) -> bool:
        """An insert into one of the processor's tables was retried (the label is the table)."""
        body = self.metrics()
        return any((metric_value(body, "motcua_processor_retries_total", f'operation="{t}"') or 0) >= 1 for t in TABLES)

    def scraped(self) -> bool:
        """Prometheus holds a sample of this run's processor newer than its start."""
        q = f'motcua_processor_partitions_owned{{instance="{self.metrics_addr}"}}'
        r = requests.get(self.prometheus_url + "/api/v1/query", params={"query": f"timestamp({q})"}, timeout=5).json()
        return any(float(s["value"][1]) > self.started_at for s in r.get("data", {}).get("result", []))

    # -- the run ------------------------------------------------------------------------

    def produce_bad_records(self, sample_line: str) -> None:
        from confluent_kafka import Producer

        good = json.loads(sample_line)
        no_offset = dict(good, event_id=good["event_id"] + "/bad-time", occurred_at=good["occurred_at"][:19])
        records = [
            (b"H56-260817-9001", b"\x00\x01 not an event"),  # undecodable
            (b"H56-260817-9002", json.dumps({"event_id": "x", "dossier_code": "H56-260817-9002", "kind": "RECEIVED"}).encode()),
            (good["dossier_code"].encode(), json.dumps(no_offset).encode()),  # bad_format: time without offset
        ]
        p = Producer({"bootstrap.servers": self.env["MOTCUA_BROKERS"], "enable.idempotence": True, "acks": "all",
                      "partitioner": "murmur2_random"})
        for key, value in records:
            p.produce(f"{self.prefix}.receipts", key=key, value=value)
        left = p.flush(30)
        if left:
            raise RuntimeError(f"{left} malformed records not acknowledged by the broker")

    def run(self) -> float:
        """Runs steps 1-5; returns the instant to evaluate the panels at (Unix seconds)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.wait(f"{self.metrics_addr} to be free (another processor serves metrics there)", self.port_free, timeout=180, every=2)
        self.started_at = time.time()
        self.cli("topics", *self.common(), "--partitions", "2")
        self.cli("migrate", *self.common())
        self.created_database = True
        first, second = self.workdir / "events-1.jsonl", self.workdir / "events-2.jsonl"
        self.cli("simulate", "--days", "4", "--dossiers-per-day", "150", "--seed", "11", "--out", str(first))
        self.cli("simulate", "--days", "2", "--start", "2026-08-21", "--dossiers-per-day", "150", "--seed", "12",
                 "--out", str(second))
        lines = first.read_text(encoding="utf-8").splitlines()
        self.cli("publish", *self.common(), str(first))
        self.note(f"published {len(lines)} events to {self.prefix}.*")

        self.proxy = FlakyProxy(tuple_of(self.clickhouse_url))
        self.start_processor(self.proxy.url)
        self.wait("the first processor to read everything", lambda: self.caught_up(len(lines)))
        self.stop_processor()
        self.note("first processor caught up and stopped: checkpoints written")

        self.start_processor(self.proxy.url)
        self.wait("the restored partitions", lambda: (metric_value(self.metrics(), "motcua_processor_restore_duration_seconds_count") or 0) >= 2)
        self.note("second processor restored its partitions from the checkpoints")
        self.wait("Prometheus to scrape the processor", self.scraped, timeout=60)

        dup = self.workdir / "events-dup.jsonl"
        dup.write_text("\n".join(lines[:300]) + "\n", encoding="utf-8")
        self.produce_bad_records(next(l for l in lines if '"kind":"RECEIVED"' in l.replace(" ", "")))
        self.cli("publish", *self.common(), str(dup))
        self.wait("the dead letters", lambda: (metric_value(self.metrics(), "motcua_processor_events_rejected_total") or 0) >= 3)
        self.wait("the duplicates", lambda: (metric_value(self.metrics(), "motcua_processor_events_duplicate_total") or 0) >= 300)
        self.note("3 malformed records dead-lettered, 300 events resent (duplicates)")

        self.proxy.cut()
        self.note("ClickHouse proxy cut")
        second_lines = second.read_text(encoding="utf-8").splitlines()
        self.cli("publish", *self.common(), str(second))
        self.wait("ClickHouse inserts to fail and be retried", self.insert_retried, timeout=60)
        time.sleep(2)
        self.proxy.restore()
        self.note("ClickHouse proxy restored")
        consumed = 3 + 300 + len(second_lines)  # by this processor, which resumed after the first's
        self.wait("the processor to catch up after the outage", lambda: self.caught_up(consumed) and
                  metric_value(self.metrics(), "motcua_processor_retrying") == 0, timeout=120)
        self.note("caught up after the outage")
        time.sleep(8)  # a few scrapes (2 s apart locally) of the final state
        return time.time()

    def close(self) -> None:
        self.stop_processor()
        if self.proxy is not None:
            self.proxy.close()
        if self.created_database:
            requests.post(self.clickhouse_url + "/", data=f"DROP DATABASE IF EXISTS {self.database}", timeout=60)


def tuple_of(url: str) -> tuple[str, int]:
    u = urllib.parse.urlparse(url)
    return u.hostname or "127.0.0.1", u.port or 8123
