//! Log lines in nats-server's form: `[PID] 2026/11/25 04:21:32.123456 [INF] message`, so
//! operators' habits and greps keep working.
//!
//! [`LogControl`] installs the subscriber and changes it while the server runs: level
//! (`debug`, `trace`), `logtime` and the log file follow a reload; SIGUSR1 reopens the file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

/// Formats events as nats-server does (UTC timestamps with microseconds, unless `logtime` is
/// off).
#[derive(Debug, Clone)]
pub struct NatsFormat {
    logtime: Arc<AtomicBool>,
}

impl Default for NatsFormat {
    fn default() -> Self {
        Self { logtime: Arc::new(AtomicBool::new(true)) }
    }
}

impl<S, N> FormatEvent<S, N> for NatsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "ERR",
            Level::WARN => "WRN",
            Level::INFO => "INF",
            Level::DEBUG => "DBG",
            Level::TRACE => "TRC",
        };
        write!(writer, "[{}] ", std::process::id())?;
        if self.logtime.load(Ordering::Relaxed) {
            write!(writer, "{} ", Timestamp(SystemTime::now()))?;
        }
        write!(writer, "[{level}] ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// What the log looks like; every field can change on reload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `[DBG]` lines (`debug`, `-D`).
    pub debug: bool,
    /// `[TRC]` lines (`trace`, `-V`).
    pub trace: bool,
    /// Timestamps (`logtime`, default true).
    pub logtime: bool,
    /// Append to this file instead of stderr (`log_file`, `-l`).
    pub log_file: Option<String>,
}

impl LogSettings {
    fn level(&self) -> LevelFilter {
        if self.trace {
            LevelFilter::TRACE
        } else if self.debug {
            LevelFilter::DEBUG
        } else {
            LevelFilter::INFO
        }
    }
}

/// Where log lines go: stderr or an open file.
#[derive(Debug)]
enum Sink {
    Stderr,
    File { path: String, file: File },
}

/// A writer whose destination can be swapped while the subscriber runs.
#[derive(Clone, Debug)]
struct LogTarget(Arc<Mutex<Sink>>);

impl LogTarget {
    fn sink(&self) -> MutexGuard<'_, Sink> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One log line being written, holding the target so lines never interleave.
#[derive(Debug)]
pub struct SinkWriter<'a>(MutexGuard<'a, Sink>);

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().write(buf),
            Sink::File { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().flush(),
            Sink::File { file, .. } => file.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogTarget {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter(self.sink())
    }
}

fn open_log(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open log file {path}: {e}"))
}

/// The installed subscriber's controls.
#[derive(Clone, Debug)]
pub struct LogControl {
    level: reload::Handle<LevelFilter, Registry>,
    target: LogTarget,
    logtime: Arc<AtomicBool>,
    settings: Arc<Mutex<LogSettings>>,
}

impl LogControl {
    /// Install the global subscriber with `settings` (once per process).
    pub fn init(settings: &LogSettings) -> Result<Self, String> {
        let sink = match &settings.log_file {
            Some(path) => Sink::File { path: path.clone(), file: open_log(path)? },
            None => Sink::Stderr,
        };
        let target = LogTarget(Arc::new(Mutex::new(sink)));
        let format = NatsFormat { logtime: Arc::new(AtomicBool::new(settings.logtime)) };
        let logtime = format.logtime.clone();
        let (filter, level) = reload::Layer::new(settings.level());
        let layer =
            tracing_subscriber::fmt::layer().event_format(format).with_writer(target.clone());
        tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init()
            .map_err(|e| format!("cannot install the logger: {e}"))?;
        Ok(Self { level, target, logtime, settings: Arc::new(Mutex::new(settings.clone())) })
    }

    /// Switch to `new` settings. A log file that cannot be opened leaves the old destination
    /// in place and is reported.
    pub fn apply(&self, new: &LogSettings) -> Result<(), String> {
        let mut current = self.settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.log_file != new.log_file {
            let sink = match &new.log_file {
                Some(path) => Sink::File { path: path.clone(), file: open_log(path)? },
                None => Sink::Stderr,
            };
            *self.target.sink() = sink;
        }
        self.logtime.store(new.logtime, Ordering::Relaxed);
        self.level.reload(new.level()).map_err(|e| format!("cannot change the log level: {e}"))?;
        *current = new.clone();
        Ok(())
    }

    /// Reopen the log file (after rotation). `Ok(false)` when logging to stderr.
    pub fn reopen(&self) -> Result<bool, String> {
        let mut sink = self.target.sink();
        let Sink::File { path, file } = &mut *sink else {
            return Ok(false);
        };
        *file = open_log(path)?;
        Ok(true)
    }
}

/// `YYYY/MM/DD HH:MM:SS.micros` in UTC.
struct Timestamp(SystemTime);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        write!(
            f,
            "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}.{:06}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            since.subsec_micros()
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        let t = UNIX_EPOCH + Duration::from_micros(1_795_580_492_123_456);
        assert_eq!(Timestamp(t).to_string(), "2026/11/25 04:21:32.123456");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
