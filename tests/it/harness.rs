//! Services a test owns and may break: a private tansu broker it can kill and restart
//! without disturbing the shared stack the other tests use.

use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
fn free_port() -> u16 {
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
    /// Starts a broker and waits until its port is open.
    pub fn start() -> PrivateTansu {
        let bin = tansu_bin();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "tansu-{}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("tansu data directory");
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

impl Drop for PrivateTansu {
    fn drop(&mut self) {
        self.kill9();
    }
}
