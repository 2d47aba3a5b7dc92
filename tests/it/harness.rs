//! Services a test owns and may break, without disturbing the shared stack the other tests
//! use, and the `motcua` binary as a subprocess:
//!
//! - [`PrivateTansu`]: a tansu broker of the test's own (sqlite storage in a fresh directory
//!   under `.motcua/test-tmp/`), killed with SIGKILL and restarted on the same port and data;
//! - [`PrivateClickHouse`]: a ClickHouse 18.16 server of its own, stopped, started, frozen
//!   (SIGSTOP) and thawed (SIGCONT);
//! - [`MotcuaProcess`]: `motcua <args>` with the test's settings in its environment, its
//!   output in a log file, killed with SIGKILL, its resident memory sampled.
//!
//! Signals go through `Child::kill` (SIGKILL) or the `kill` command (no libc or nix
//! dependency). Every helper panics, never skips, when something it needs is missing, and
//! says how to get it. A private service's directory is deleted when it is dropped, unless
//! the test is failing: then it is kept (logs included) and its path printed.

// A toolbox shared by several test files: not every helper is used by each.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Longest a private broker may take to open its port.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The tansu binary: `MOTCUA_TANSU_BIN`, else `tansu` on PATH, else `~/.cargo/bin/tansu`,
/// the first with the sqlite (libsql) engine. Fails, never skips, when there is none.
pub fn tansu_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("MOTCUA_TANSU_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            has_sqlite(&bin),
            "MOTCUA_TANSU_BIN={} is not a tansu binary with the sqlite (libsql) engine",
            bin.display()
        );
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tansu"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let cargo_bin = cargo_home.map(|h| h.join("bin").join("tansu"));
    on_path
        .into_iter()
        .chain(cargo_bin)
        .find(|c| has_sqlite(c))
        .unwrap_or_else(|| {
            panic!(
                "no tansu binary with the sqlite (libsql) engine found (MOTCUA_TANSU_BIN, PATH, \
                 ~/.cargo/bin): run `bash deploy/local/up.sh`, which installs it, or \
                 `cargo install tansu@0.6.0 --locked --features libsql`"
            )
        })
}

/// Whether `bin` runs and lists libsql among its storage engines (`tansu --help` ends with
/// "Storage engines: ..."): a memory-only build would lose everything on restart.
fn has_sqlite(bin: &Path) -> bool {
    if !bin.is_file() {
        return false;
    }
    Command::new(bin)
        .arg("--help")
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&out.stderr).lines())
                .any(|l| l.starts_with("Storage engines:") && l.contains("libsql"))
        })
        .unwrap_or(false)
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A tansu broker of the test's own, with sqlite storage in a fresh directory, on a free
/// port. Killed when dropped.
pub struct PrivateTansu {
    /// The binary run.
    bin: PathBuf,
    /// Its working directory: holds `tansu.db` and `tansu.log`.
    dir: PathBuf,
    /// Its port on 127.0.0.1, kept across restarts so clients reconnect to the same address.
    port: u16,
    /// The running broker, if any.
    child: Option<Child>,
}

impl PrivateTansu {
    /// Starts a broker and waits until its port is open and its header index exists.
    pub fn start() -> PrivateTansu {
        let bin = tansu_bin();
        let dir = fresh_dir("tansu");
        let mut tansu = PrivateTansu {
            bin,
            dir,
            port: free_port(),
            child: None,
        };
        tansu.spawn();
        tansu
    }

    /// `127.0.0.1:<port>`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The running broker's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the broker with SIGKILL (no chance to flush or close anything) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    fn log(&self) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))
            .expect("tansu log file")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("tansu.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Runs tansu as `deploy/local/up.sh` does: from its data directory (it resolves the
    /// sqlite URL against its cwd) with its env-var fallbacks for flags cleared.
    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        // Right after a SIGKILL the port can take a moment to be free again: a start that
        // dies at once is retried.
        for attempt in 1..=5 {
            let mut child = Command::new(&self.bin)
                .args([
                    "broker",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &url,
                ])
                .args(["--storage-engine", "sqlite://tansu.db"])
                .current_dir(&self.dir)
                .env_remove("CLUSTER_ID")
                .env_remove("LISTENER_URL")
                .env_remove("ADVERTISED_LISTENER_URL")
                .env_remove("STORAGE_ENGINE")
                .env_remove("SCHEMA_REGISTRY")
                .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(self.log())
                .stderr(self.log())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
            let started = Instant::now();
            loop {
                if let Some(status) = child.try_wait().expect("tansu status") {
                    assert!(
                        attempt < 5,
                        "tansu exited at start ({status}); {}:\n{}",
                        self.dir.join("tansu.log").display(),
                        self.log_tail()
                    );
                    std::thread::sleep(Duration::from_millis(500));
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    self.child = Some(child);
                    self.index_headers();
                    return;
                }
                if started.elapsed() > READY_TIMEOUT {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "tansu did not open {addr} within {READY_TIMEOUT:?}; {}:\n{}",
                        self.dir.join("tansu.log").display(),
                        self.log_tail()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl PrivateTansu {
    /// tansu 0.6.0's sqlite schema has no index on header(topition, offset_id), which its
    /// fetch joins on: without it, fetches stall once a few thousand records carry headers
    /// (deploy/local/up.sh `index_tansu_headers`, same statement).
    fn index_headers(&self) {
        const SCRIPT: &str = r#"
import sqlite3, sys, time
for attempt in range(150):
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
"#;
        let db = self.dir.join("tansu.db");
        let out = Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .arg(&db)
            .output()
            .unwrap_or_else(|e| {
                panic!("python3 is needed to index tansu's sqlite database (apt-get install python3): {e}")
            });
        assert!(
            out.status.success(),
            "could not add the header index to {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateTansu {
    fn drop(&mut self) {
        self.kill9();
        clean_up(&self.dir, "private tansu");
    }
}

// ---------------------------------------------------------------------------------------
// Directories, processes, logs
// ---------------------------------------------------------------------------------------

/// The workspace root (the root package's manifest directory).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory `<workspace>/.motcua/test-tmp/<name>-<pid>-<ms>-<seq>`.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = workspace().join(".motcua/test-tmp").join(format!(
        "{name}-{}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis() % 100_000_000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A test's own directory (logs of its subprocesses), from [`fresh_dir`]; removed when
/// dropped unless the test is failing.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        TestDir(fresh_dir(name))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        clean_up(&self.0, "test directory");
    }
}

/// Removes `dir` unless the thread is panicking (a failing test), in which case it is kept
/// for the post-mortem and its path printed.
fn clean_up(dir: &Path, what: &str) {
    if std::thread::panicking() {
        eprintln!("{what}: kept {} for inspection", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM`...) to `pid` with the `kill` command.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap_or_else(|e| panic!("cannot run `kill` (procps/util-linux): {e}"));
    assert!(status.success(), "kill -{signal} {pid} failed: {status}");
}

/// Fails with the lines of every log in `dir` where a processor found its cells disagreeing
/// with its dossiers (`MOTCUA_VERIFY_CELLS`, checked after every restore and drain): where
/// the figures went wrong, whatever the views show at the end.
pub fn assert_cells_agree(dir: &Path) {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("test directory").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().filter(|l| l.contains("cells disagree")) {
                found.push(format!("{}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a processor's cells disagreed with the contributions of its dossiers (MOTCUA_VERIFY_CELLS):\n{}",
        found.join("\n")
    );
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn log_file(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// Kills (SIGKILL) and reaps a child, if it is still there.
fn kill_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The first executable named `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

// ---------------------------------------------------------------------------------------
// ClickHouse
// ---------------------------------------------------------------------------------------

const CLICKHOUSE_CONFIG: &str = "/etc/clickhouse-server/config.xml";

/// A ClickHouse server of the test's own: the Debian config with every path and port
/// overridden (as deploy/local/up.sh `start_clickhouse`), data in a fresh directory.
/// Killed when dropped.
pub struct PrivateClickHouse {
    dir: PathBuf,
    http: u16,
    tcp: u16,
    interserver: u16,
    child: Option<Child>,
    frozen: bool,
}

impl PrivateClickHouse {
    /// Starts it and waits for `/ping` = `Ok.`.
    pub fn new(name: &str) -> PrivateClickHouse {
        const HOW: &str = "install it with `bash deploy/local/up.sh` (Debian's clickhouse-server \
            18.16: `apt-get install -y clickhouse-server clickhouse-client`)";
        assert!(
            on_path("clickhouse-server").is_some(),
            "clickhouse-server is not on PATH: {HOW}"
        );
        assert!(
            Path::new(CLICKHOUSE_CONFIG).is_file(),
            "{CLICKHOUSE_CONFIG} is missing: {HOW}"
        );
        let dir = fresh_dir(&format!("clickhouse-{name}"));
        for sub in ["tmp", "user_files", "format_schemas", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let mut ch = PrivateClickHouse {
            dir,
            http: free_port(),
            tcp: free_port(),
            interserver: free_port(),
            child: None,
            frozen: false,
        };
        ch.start();
        ch
    }

    /// The HTTP interface, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("log/clickhouse-server.err.log")
    }

    /// Kills the server (SIGKILL): inserts already acknowledged are on disk, the rest is lost
    /// as in a crash.
    pub fn stop(&mut self) {
        kill_child(&mut self.child);
        self.frozen = false;
    }

    /// Starts it (again) on the same ports with the same data and waits for `/ping`.
    pub fn start(&mut self) {
        self.stop();
        let d = |sub: &str| format!("{}/{sub}", self.dir.display());
        let console = self.dir.join("log/console.log");
        let child = Command::new("clickhouse-server")
            .current_dir(&self.dir)
            .arg(format!("--config-file={CLICKHOUSE_CONFIG}"))
            .arg("--")
            .arg(format!("--path={}", d("")))
            .arg(format!("--tmp_path={}", d("tmp/")))
            .arg(format!("--user_files_path={}", d("user_files/")))
            .arg(format!("--format_schema_path={}", d("format_schemas/")))
            .arg("--listen_host=127.0.0.1")
            .arg(format!("--http_port={}", self.http))
            .arg(format!("--tcp_port={}", self.tcp))
            .arg(format!("--interserver_http_port={}", self.interserver))
            .arg(format!("--logger.log={}", d("log/clickhouse-server.log")))
            .arg(format!(
                "--logger.errorlog={}",
                d("log/clickhouse-server.err.log")
            ))
            .stdin(Stdio::null())
            .stdout(log_file(&console))
            .stderr(log_file(&console))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start clickhouse-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        while !self.ping() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "clickhouse-server exited during startup ({status}); {}:\n{}\n{}",
                    self.log().display(),
                    tail(&self.log(), 20),
                    tail(&console, 20)
                );
            }
            assert!(
                Instant::now() < deadline,
                "clickhouse-server: {}/ping not Ok. after 90 s; {}:\n{}",
                self.url(),
                self.log().display(),
                tail(&self.log(), 20)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGSTOP: the server holds its connections open and answers nothing.
    pub fn freeze(&mut self) {
        let pid = self.pid().expect("clickhouse-server is running");
        signal(pid, "STOP");
        self.frozen = true;
    }

    /// SIGCONT after [`freeze`](Self::freeze).
    pub fn thaw(&mut self) {
        let pid = self.pid().expect("clickhouse-server is running");
        signal(pid, "CONT");
        self.frozen = false;
    }

    /// `GET /ping` answers `Ok.`.
    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], self.http)),
            Duration::from_millis(500),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") && answer.trim_end().ends_with("Ok.")
    }
}

impl Drop for PrivateClickHouse {
    fn drop(&mut self) {
        // SIGKILL also ends a stopped process.
        self.stop();
        clean_up(&self.dir, "private ClickHouse");
    }
}

// ---------------------------------------------------------------------------------------
// The motcua binary
// ---------------------------------------------------------------------------------------

/// The motcua binary: `MOTCUA_BIN`, else `<workspace>/target/debug/motcua`.
pub fn motcua_bin() -> PathBuf {
    let bin = std::env::var_os("MOTCUA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/motcua"));
    assert!(
        is_executable(&bin),
        "{} is not there: build it with `cargo build -p motcua-cli` (or set MOTCUA_BIN)",
        bin.display()
    );
    bin
}

/// The settings a `motcua` subprocess gets, as `MOTCUA_*` environment variables.
#[derive(Debug, Clone)]
pub struct MotcuaEnv {
    pub brokers: String,
    pub clickhouse_url: String,
    pub database: String,
    pub topic_prefix: String,
    pub group: String,
    pub pseudonym_key: String,
    /// More variables, applied last.
    pub extra: Vec<(String, String)>,
}

impl MotcuaEnv {
    pub fn with_group(&self, group: &str) -> MotcuaEnv {
        MotcuaEnv {
            group: group.to_string(),
            ..self.clone()
        }
    }

    pub fn with_database(&self, database: &str) -> MotcuaEnv {
        MotcuaEnv {
            database: database.to_string(),
            ..self.clone()
        }
    }
}

/// A running `motcua` subprocess. Killed (SIGKILL) when dropped.
pub struct MotcuaProcess {
    name: String,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl MotcuaProcess {
    /// Spawns `motcua <args>` with `env`'s settings (every other inherited `MOTCUA_*`
    /// variable removed, `MOTCUA_METRICS_ADDR=127.0.0.1:0`, `MOTCUA_LOG` kept or `info`),
    /// stdout and stderr appended to `<dir>/<name>.log`.
    pub fn spawn(name: &str, dir: &Path, env: &MotcuaEnv, args: &[&str]) -> MotcuaProcess {
        let bin = motcua_bin();
        let log = dir.join(format!("{name}.log"));
        writeln!(
            log_file(&log),
            "===== {} motcua {}",
            chrono::Utc::now(),
            args.join(" ")
        )
        .unwrap();
        let mut cmd = Command::new(&bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("MOTCUA_") && k != "MOTCUA_LOG" {
                cmd.env_remove(k);
            }
        }
        if std::env::var_os("MOTCUA_LOG").is_none() {
            cmd.env("MOTCUA_LOG", "info");
        }
        cmd.env("MOTCUA_BROKERS", &env.brokers)
            .env("MOTCUA_CLICKHOUSE_URL", &env.clickhouse_url)
            .env("MOTCUA_CLICKHOUSE_DATABASE", &env.database)
            .env("MOTCUA_TOPIC_PREFIX", &env.topic_prefix)
            .env("MOTCUA_GROUP", &env.group)
            .env("MOTCUA_PSEUDONYM_KEY", &env.pseudonym_key)
            .env("MOTCUA_METRICS_ADDR", "127.0.0.1:0")
            // The processor checks its cells against its dossiers after every restore and
            // batch, and logs "cells disagree" where they do not (see `assert_cells_agree`).
            .env("MOTCUA_VERIFY_CELLS", "1");
        for (k, v) in &env.extra {
            cmd.env(k, v);
        }
        let child = cmd
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        MotcuaProcess {
            name: name.to_string(),
            pid: child.id(),
            child: Some(child),
            log,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        format!(
            "--- {} ({}), last {lines} lines:\n{}",
            self.name,
            self.log.display(),
            tail(&self.log, lines)
        )
    }

    /// Its exit status if it has exited (reaped), `None` while it runs.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(s)) = c.try_wait() {
                    self.status = Some(s);
                    self.child = None;
                }
            }
        }
        self.status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            self.status = c.wait().ok();
        }
    }

    /// SIGTERM (a clean stop: the processor finishes its batch).
    pub fn terminate(&mut self) {
        if self.is_running() {
            signal(self.pid, "TERM");
        }
    }

    /// Waits up to `timeout` for it to exit: `Some(status)`, or `None` if it still runs.
    pub async fn wait_with_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `timeout` for a successful exit; on a failure or a timeout kills it and
    /// panics with `what` and the end of its log.
    pub async fn expect_success(&mut self, timeout: Duration, what: &str) {
        match self.wait_with_timeout(timeout).await {
            Some(s) if s.success() => {}
            Some(s) => panic!("{what}: motcua exited with {s}\n{}", self.log_tail(40)),
            None => {
                self.kill9();
                panic!(
                    "{what}: motcua still running after {timeout:?} (stalled?), killed\n{}",
                    self.log_tail(40)
                );
            }
        }
    }

    /// Resident memory (VmRSS in /proc/<pid>/status) in KiB, `None` once it has exited.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for MotcuaProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
