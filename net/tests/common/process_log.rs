//! A server process's stderr: drained line by line on a thread of its own (so the pipe never
//! fills), kept, and waited on with a bound. Strait and nats-server print the same lines, so
//! the suites judge readiness and link events by this log.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::ChildStderr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Upper bound on the lines kept; older ones are dropped (and counted, so marks stay valid).
const KEPT: usize = 100_000;

/// The log of one process incarnation; a restarted process gets a fresh one.
#[derive(Default)]
pub(crate) struct ProcessLog {
    lines: Mutex<Lines>,
    /// Signalled on every new line and at the end of the stream.
    grew: Condvar,
}

#[derive(Default)]
struct Lines {
    /// Lines dropped from the front once [`KEPT`] is exceeded.
    dropped: usize,
    kept: VecDeque<String>,
    /// The process closed its stderr (it exited).
    closed: bool,
}

impl Lines {
    /// The kept lines at index ≥ `from` containing every one of `parts`.
    fn matching<'a>(
        &'a self,
        from: usize,
        parts: &'a [&str],
    ) -> impl Iterator<Item = &'a String> + 'a {
        let start = from.saturating_sub(self.dropped).min(self.kept.len());
        self.kept.range(start..).filter(move |x| parts.iter().all(|p| x.contains(p)))
    }
}

impl ProcessLog {
    /// Reads `stderr` until its end (the process exited) on a new thread.
    pub(crate) fn drain(stderr: ChildStderr) -> Arc<ProcessLog> {
        let log = Arc::new(ProcessLog::default());
        let thread_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut l = thread_log.lines.lock().unwrap();
                if l.kept.len() == KEPT {
                    l.kept.pop_front();
                    l.dropped += 1;
                }
                l.kept.push_back(line);
                thread_log.grew.notify_all();
            }
            thread_log.lines.lock().unwrap().closed = true;
            thread_log.grew.notify_all();
        });
        log
    }

    /// Index of the next line: pass it to [`ProcessLog::wait_all`] to see only later lines.
    pub(crate) fn mark(&self) -> usize {
        let l = self.lines.lock().unwrap();
        l.dropped + l.kept.len()
    }

    /// Waits until a line at index ≥ `from` contains every one of `parts` (in any place).
    pub(crate) fn wait_all(
        &self,
        from: usize,
        parts: &[&str],
        within: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + within;
        let mut l = self.lines.lock().unwrap();
        loop {
            if let Some(line) = l.matching(from, parts).next() {
                return Ok(line.clone());
            }
            if l.closed {
                return Err(format!("process exited before a line with {parts:?}"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no line with {parts:?} within {within:?}"));
            }
            l = self.grew.wait_timeout(l, left).unwrap().0;
        }
    }

    /// Lines at index ≥ `from` containing every one of `parts`.
    pub(crate) fn lines_with(&self, from: usize, parts: &[&str]) -> Vec<String> {
        self.lines.lock().unwrap().matching(from, parts).cloned().collect()
    }

    /// The loopback address in the first line with `what` (`… <what>HOST:PORT`), as the
    /// servers print their listeners (`Listening for client connections on 0.0.0.0:4222`).
    pub(crate) fn listen_addr(&self, what: &str) -> Option<SocketAddr> {
        let l = self.lines.lock().unwrap();
        l.kept.iter().find_map(|line| {
            let rest = line.split(what).nth(1)?;
            let port: u16 = rest.trim().rsplit(':').next()?.parse().ok()?;
            Some(SocketAddr::from(([127, 0, 0, 1], port)))
        })
    }

    /// Every kept line, oldest first.
    pub(crate) fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().kept.iter().cloned().collect()
    }

    /// Waits up to `limit` for the end of the stream; whether it came.
    pub(crate) fn wait_closed(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut l = self.lines.lock().unwrap();
        while !l.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            l = self.grew.wait_timeout(l, left).unwrap().0;
        }
        true
    }

    /// The last `n` lines, indented, for failure messages.
    pub(crate) fn tail(&self, n: usize) -> String {
        let l = self.lines.lock().unwrap();
        let start = l.kept.len().saturating_sub(n);
        l.kept.range(start..).map(|x| format!("    {x}\n")).collect()
    }
}
