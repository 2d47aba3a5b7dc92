//! Idempotency keys: a retried request with the same `Idempotency-Key` (per agency) gets the
//! first answer again and publishes nothing.
//!
//! Bounded: at most `capacity` keys, each kept `ttl` after its answer (the oldest go first
//! when full). Only final answers are stored (2xx, and 403/422 for a single record, which a
//! retry would get again anyway); a 503 or 429 is not, so the retry is carried out.
//! Durable when given a journal file: every stored answer is appended (one JSON line) before
//! it is sent, and the file is read back at start, so a restarted gateway still recognises
//! the keys of its window. The journal is rewritten with the live keys once it holds twice
//! as many lines as there are keys.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: carry it out, then [`Store::finish`] or [`Store::abort`].
    Fresh,
    /// Seen with the same body: answer this again.
    Replay(Stored),
    /// Seen with another body: refuse (422).
    Mismatch,
    /// The first request with this key is still being carried out (409).
    InProgress,
}

#[derive(Debug, Clone)]
enum Entry {
    InFlight {
        body_hash: String,
    },
    Done {
        body_hash: String,
        answer: Stored,
        at: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct Line {
    agency: String,
    key: String,
    body_hash: String,
    at: u64,
    answer: Stored,
}

struct Inner {
    map: HashMap<(String, String), Entry>,
    /// Keys in the order stored, with their time (stale rows are skipped when popped).
    order: VecDeque<((String, String), u64)>,
    journal_lines: usize,
}

/// The store.
pub struct Store {
    inner: Mutex<Inner>,
    ttl: Duration,
    capacity: usize,
    journal: Option<PathBuf>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Store {
    /// An in-memory store, or one journaled to `journal` (read back now).
    pub fn new(ttl: Duration, capacity: usize, journal: Option<PathBuf>) -> std::io::Result<Store> {
        let store = Store {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                journal_lines: 0,
            }),
            ttl,
            capacity: capacity.max(1),
            journal,
        };
        if let Some(path) = &store.journal {
            match std::fs::File::open(path) {
                Ok(file) => {
                    let mut inner = store.inner.lock().expect("not poisoned");
                    for line in std::io::BufReader::new(file).lines() {
                        let line = line?;
                        // A line cut short by a crash is skipped: its answer was never sent.
                        let Ok(l) = serde_json::from_str::<Line>(&line) else {
                            continue;
                        };
                        inner.journal_lines += 1;
                        let key = (l.agency, l.key);
                        inner.order.push_back((key.clone(), l.at));
                        inner.map.insert(
                            key,
                            Entry::Done {
                                body_hash: l.body_hash,
                                answer: l.answer,
                                at: l.at,
                            },
                        );
                    }
                    store.evict(&mut inner, now_secs());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(store)
    }

    fn evict(&self, inner: &mut Inner, now: u64) {
        let ttl = self.ttl.as_secs();
        while let Some((key, at)) = inner.order.front().cloned() {
            let expired = now.saturating_sub(at) >= ttl;
            if !expired && inner.map.len() <= self.capacity {
                break;
            }
            inner.order.pop_front();
            if let Some(Entry::Done { at: stored, .. }) = inner.map.get(&key) {
                if *stored == at {
                    inner.map.remove(&key);
                }
            }
        }
    }

    /// Starts a request with `key` whose body hashes to `body_hash`.
    pub fn begin(&self, agency: &str, key: &str, body_hash: &str) -> Begin {
        let mut inner = self.inner.lock().expect("not poisoned");
        self.evict(&mut inner, now_secs());
        let k = (agency.to_string(), key.to_string());
        match inner.map.get(&k) {
            Some(Entry::InFlight { .. }) => Begin::InProgress,
            Some(Entry::Done {
                body_hash: h,
                answer,
                ..
            }) => {
                if h == body_hash {
                    Begin::Replay(answer.clone())
                } else {
                    Begin::Mismatch
                }
            }
            None => {
                inner.map.insert(
                    k,
                    Entry::InFlight {
                        body_hash: body_hash.to_string(),
                    },
                );
                Begin::Fresh
            }
        }
    }

    /// Stores the final answer of a [`Begin::Fresh`] request (journaled first, if durable).
    pub fn finish(&self, agency: &str, key: &str, answer: Stored) -> std::io::Result<()> {
        let mut inner = self.inner.lock().expect("not poisoned");
        let k = (agency.to_string(), key.to_string());
        let body_hash = match inner.map.get(&k) {
            Some(Entry::InFlight { body_hash }) => body_hash.clone(),
            _ => return Ok(()),
        };
        let at = now_secs();
        if let Some(path) = &self.journal {
            let line = serde_json::to_string(&Line {
                agency: agency.to_string(),
                key: key.to_string(),
                body_hash: body_hash.clone(),
                at,
                answer: answer.clone(),
            })
            .expect("serialisable");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(format!("{line}\n").as_bytes())?;
            inner.journal_lines += 1;
        }
        inner.map.insert(
            k.clone(),
            Entry::Done {
                body_hash,
                answer,
                at,
            },
        );
        inner.order.push_back((k, at));
        self.evict(&mut inner, at);
        if self.journal.is_some() && inner.journal_lines > 2 * inner.map.len() + 1000 {
            self.compact(&mut inner)?;
        }
        Ok(())
    }

    /// Forgets a [`Begin::Fresh`] request that has no final answer (so a retry runs).
    pub fn abort(&self, agency: &str, key: &str) {
        let mut inner = self.inner.lock().expect("not poisoned");
        let k = (agency.to_string(), key.to_string());
        if matches!(inner.map.get(&k), Some(Entry::InFlight { .. })) {
            inner.map.remove(&k);
        }
    }

    /// Keys held (answered or in flight).
    pub fn len(&self) -> usize {
        self.inner.lock().expect("not poisoned").map.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn compact(&self, inner: &mut Inner) -> std::io::Result<()> {
        let Some(path) = &self.journal else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        let mut lines = 0;
        for (key, at) in &inner.order {
            if let Some(Entry::Done {
                body_hash,
                answer,
                at: stored,
            }) = inner.map.get(key)
            {
                if stored == at {
                    let line = Line {
                        agency: key.0.clone(),
                        key: key.1.clone(),
                        body_hash: body_hash.clone(),
                        at: *at,
                        answer: answer.clone(),
                    };
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string(&line).expect("serialisable")
                    )?;
                    lines += 1;
                }
            }
        }
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, path)?;
        inner.journal_lines = lines;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(n: u16) -> Stored {
        Stored {
            status: n,
            body: format!("{{\"n\":{n}}}"),
        }
    }

    #[test]
    fn a_retry_is_answered_again_and_another_body_refused() {
        let s = Store::new(Duration::from_secs(60), 10, None).unwrap();
        assert_eq!(s.begin("a", "k1", "h1"), Begin::Fresh);
        assert_eq!(s.begin("a", "k1", "h1"), Begin::InProgress);
        s.finish("a", "k1", answer(200)).unwrap();
        assert_eq!(s.begin("a", "k1", "h1"), Begin::Replay(answer(200)));
        assert_eq!(s.begin("a", "k1", "h2"), Begin::Mismatch);
        // Keys are per agency.
        assert_eq!(s.begin("b", "k1", "h1"), Begin::Fresh);
        s.abort("b", "k1");
        assert_eq!(s.begin("b", "k1", "h1"), Begin::Fresh);
    }

    #[test]
    fn bounded_by_capacity_and_ttl() {
        let s = Store::new(Duration::from_secs(60), 3, None).unwrap();
        for i in 0..5 {
            let k = format!("k{i}");
            assert_eq!(s.begin("a", &k, "h"), Begin::Fresh);
            s.finish("a", &k, answer(200)).unwrap();
        }
        assert!(s.len() <= 3, "{}", s.len());
        assert_eq!(s.begin("a", "k0", "h"), Begin::Fresh, "oldest evicted");
        let expired = Store::new(Duration::ZERO, 10, None).unwrap();
        expired.begin("a", "k", "h");
        expired.finish("a", "k", answer(200)).unwrap();
        assert_eq!(expired.begin("a", "k", "h"), Begin::Fresh);
    }

    #[test]
    fn the_journal_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("motcua-idem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.jsonl");
        let _ = std::fs::remove_file(&path);
        {
            let s = Store::new(Duration::from_secs(600), 10, Some(path.clone())).unwrap();
            s.begin("a", "k", "h");
            s.finish("a", "k", answer(200)).unwrap();
            s.begin("a", "open", "h");
        }
        let s = Store::new(Duration::from_secs(600), 10, Some(path.clone())).unwrap();
        assert_eq!(s.begin("a", "k", "h"), Begin::Replay(answer(200)));
        assert_eq!(
            s.begin("a", "open", "h"),
            Begin::Fresh,
            "unanswered keys are not kept"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
