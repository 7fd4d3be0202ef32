//! A progress line on stderr for long runs: redrawn in place on a terminal, a line every
//! 10% otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress of `total` items.
pub struct Progress {
    total: usize,
    start: Instant,
    last: Instant,
    last_decile: usize,
    tty: bool,
    enabled: bool,
    unit: &'static str,
}

impl Progress {
    /// Shown only for at least `min` items.
    pub fn new(total: usize, min: usize) -> Self {
        let now = Instant::now();
        Progress {
            total,
            start: now,
            last: now,
            last_decile: 0,
            tty: std::io::stderr().is_terminal(),
            enabled: total >= min,
            unit: "images",
        }
    }

    /// Progress of the `total` steps of a training epoch: on a terminal only (logs get the
    /// per-epoch lines).
    pub fn steps(total: usize) -> Self {
        let mut p = Progress::new(total, 2);
        p.enabled &= p.tty;
        p.unit = "steps";
        p
    }

    /// Reports `done` items finished.
    pub fn update(&mut self, done: usize) {
        if !self.enabled {
            return;
        }
        let decile = done * 10 / self.total.max(1);
        let now = Instant::now();
        let due = if self.tty {
            now - self.last >= Duration::from_millis(100) || done == self.total
        } else {
            decile > self.last_decile
        };
        if !due {
            return;
        }
        self.last = now;
        self.last_decile = decile;
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let width = 30;
        let filled = done * width / self.total.max(1);
        let line = format!(
            "[{}{}] {done}/{} {}, {:.1}/s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total,
            self.unit,
            done as f64 / secs
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r{line}")
        } else {
            writeln!(err, "{line}")
        };
        if self.tty && done == self.total {
            let _ = writeln!(err);
        }
    }
}
