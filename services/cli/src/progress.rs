//! Progress of a long command (simulate, publish, replay, the demo's processing): a bar on a
//! terminal (indicatif), and plain periodic lines otherwise (a CI log, a file, a pipe), so
//! that someone reading a log of a ten-minute run sees it move and knows the rate.
//!
//! The period of the plain lines is `MOTCUA_PROGRESS_SECS` (default 10; 0 prints every
//! update, for tests). The final line is always printed, on a terminal or not.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One command's progress, counted in `unit`s.
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    started: Instant,
    mode: Mode,
}

enum Mode {
    Bar(ProgressBar),
    Lines(Mutex<Lines>),
}

struct Lines {
    out: Box<dyn Write + Send>,
    every: Duration,
    last: Option<Instant>,
    pos: u64,
    total: Option<u64>,
    message: String,
    /// The last line printed (the final one is not printed twice).
    printed: String,
}

impl Progress {
    /// Progress on stderr: a bar if stderr is a terminal, plain lines if not. `total` when
    /// known (a bar with a length, "n / total" lines).
    pub fn stderr(what: &'static str, unit: &'static str, total: Option<u64>) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = match total {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let template = if total.is_some() {
                format!("{what}: {{spinner}} {{elapsed}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}) {{msg}}")
            } else {
                format!("{what}: {{spinner}} {{elapsed}} {{pos}} {unit} ({{per_sec}}) {{msg}}")
            };
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            Progress {
                what,
                unit,
                started: Instant::now(),
                mode: Mode::Bar(bar),
            }
        } else {
            let secs = std::env::var("MOTCUA_PROGRESS_SECS")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(10.0);
            Progress::lines(
                what,
                unit,
                total,
                Box::new(std::io::stderr()),
                Duration::from_secs_f64(secs),
            )
        }
    }

    /// Plain lines to `out`, at most one per `every` (and the final one).
    pub fn lines(
        what: &'static str,
        unit: &'static str,
        total: Option<u64>,
        out: Box<dyn Write + Send>,
        every: Duration,
    ) -> Progress {
        Progress {
            what,
            unit,
            started: Instant::now(),
            mode: Mode::Lines(Mutex::new(Lines {
                out,
                every,
                last: None,
                pos: 0,
                total,
                message: String::new(),
                printed: String::new(),
            })),
        }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        match &self.mode {
            Mode::Bar(bar) => bar.inc(n),
            Mode::Lines(lines) => {
                let mut l = lines.lock().expect("progress lock");
                l.pos += n;
                self.maybe_print(&mut l);
            }
        }
    }

    /// `pos` done in all, of `total` if now known.
    pub fn set(&self, pos: u64, total: Option<u64>) {
        match &self.mode {
            Mode::Bar(bar) => {
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(pos);
            }
            Mode::Lines(lines) => {
                let mut l = lines.lock().expect("progress lock");
                l.pos = pos;
                if total.is_some() {
                    l.total = total;
                }
                self.maybe_print(&mut l);
            }
        }
    }

    /// A note shown after the counts (rejected records, retries...).
    pub fn message(&self, text: String) {
        match &self.mode {
            Mode::Bar(bar) => bar.set_message(text),
            Mode::Lines(lines) => lines.lock().expect("progress lock").message = text,
        }
    }

    /// Stops showing progress without a final line (the command failed and says why).
    pub fn abandon(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    /// The final line: what was done, in how long, at what rate.
    pub fn finish(&self) {
        match &self.mode {
            Mode::Bar(bar) => {
                let pos = bar.position();
                bar.finish_and_clear();
                eprintln!("{}", self.line(pos, bar.length(), &bar.message()));
            }
            Mode::Lines(lines) => {
                let mut l = lines.lock().expect("progress lock");
                let text = self.line(l.pos, l.total, &l.message);
                if text != l.printed {
                    let _ = writeln!(l.out, "{text}");
                    let _ = l.out.flush();
                }
            }
        }
    }

    fn maybe_print(&self, l: &mut Lines) {
        let now = Instant::now();
        if l.last.is_some_and(|t| now.duration_since(t) < l.every) {
            return;
        }
        if l.last.is_none() && now.duration_since(self.started) < l.every {
            return;
        }
        l.last = Some(now);
        let text = self.line(l.pos, l.total, &l.message);
        let _ = writeln!(l.out, "{text}");
        let _ = l.out.flush();
        l.printed = text;
    }

    fn line(&self, pos: u64, total: Option<u64>, message: &str) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { pos as f64 / secs } else { 0.0 };
        let of = match total {
            Some(t) if t > 0 => format!(" of {t} ({:.0} %)", 100.0 * pos as f64 / t as f64),
            Some(t) => format!(" of {t}"),
            None => String::new(),
        };
        let note = if message.is_empty() {
            String::new()
        } else {
            format!(", {message}")
        };
        format!(
            "{}: {pos}{of} {} in {secs:.1} s ({rate:.0}/s){note}",
            self.what, self.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(out: &Shared) -> String {
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn plain_lines_are_periodic_and_the_last_one_always_comes() {
        let out = Shared::default();
        let p = Progress::lines(
            "publish",
            "events",
            Some(4),
            Box::new(out.clone()),
            Duration::ZERO,
        );
        p.inc(1);
        p.message("1 rejected".into());
        p.inc(2);
        p.finish();
        let lines: Vec<String> = text(&out).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("publish: 1 of 4 (25 %) events in "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("publish: 3 of 4 (75 %) events"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with(", 1 rejected"), "{}", lines[2]);

        // A long period: nothing in between, only the final line.
        let out = Shared::default();
        let p = Progress::lines(
            "simulate",
            "events",
            None,
            Box::new(out.clone()),
            Duration::from_secs(3600),
        );
        for _ in 0..1000 {
            p.inc(1);
        }
        p.finish();
        let t = text(&out);
        assert_eq!(t.lines().count(), 1, "{t}");
        assert!(t.starts_with("simulate: 1000 events in "), "{t}");
    }
}
