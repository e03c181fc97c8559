//! Certificate dates (`strait-sim whatif … --dates`): every certificate in the files the
//! `tls {}` blocks name (chains and CA bundles alike) has a `notBefore` and a `notAfter`; for
//! each such date after the start, a run of its own starts shortly before it, lets the links
//! form, passes the date, then restarts every server at once (a reconnect of every link). The
//! probes say which pairs of servers delivered before the date, which kept delivering after
//! it on the links already established (a TLS session is never checked again), and which
//! deliver after the reconnect.
//!
//! So the report says, by date, which pairs the expiry of which file breaks on their next
//! handshake, and whether the established links hide it until a reconnect — the silent
//! failure of a certificate that expires on a running supercluster.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Event, Script, ServerFile, Settings, dates, first_tls_error, run};

/// How long before a date its run starts (the links form well within it).
const LEAD: Duration = Duration::from_secs(15);

/// How long after the date every server is restarted.
const KEEP: Duration = Duration::from_secs(5);

/// How long after the restart the run goes on (the links form again well within it).
const AFTER: Duration = Duration::from_secs(20);

/// One certificate in a file some `tls {}` block names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Certificate {
    /// The file, as the block names it (relative paths made absolute).
    pub file: String,
    /// Its subject, as x509 prints it.
    pub subject: String,
    /// Valid from (since 1970).
    pub not_before: Duration,
    /// Valid until (since 1970).
    pub not_after: Duration,
    /// The servers whose blocks name the file.
    pub servers: Vec<String>,
}

/// What a date does to delivery between one pair of servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Publishing server (name).
    pub from: String,
    /// Receiving server (name).
    pub to: String,
    /// Delivered before the date, not after the reconnect (else: the other way round).
    pub broken: bool,
    /// Broken, but the links established before the date kept delivering until the reconnect.
    pub silent: bool,
    /// What the servers at both ends logged about TLS after the date.
    pub why: String,
}

/// One date.
#[derive(Debug)]
pub struct DateOutcome {
    /// The date (since 1970).
    pub at: Duration,
    /// What happens on it: `"FILE: SUBJECT expires"` or `"… becomes valid"`, one per
    /// certificate.
    pub events: Vec<String>,
    /// Pairs whose delivery it changes, the broken ones first.
    pub changes: Vec<Change>,
    /// The command that replays its run with tracing.
    pub replay: String,
}

/// Every date after the start.
#[derive(Debug)]
pub struct ExpiryReport {
    /// The start of the question (since 1970).
    pub start: Duration,
    /// In date order.
    pub dates: Vec<DateOutcome>,
}

/// By default, a date that breaks delivery within this long of the start is a finding (every
/// certificate expires some day; one that does within two months needs an operator now).
pub const HORIZON: Duration = Duration::from_secs(60 * 86_400);

impl ExpiryReport {
    /// Whether no date breaks delivery between some pair.
    pub fn unbroken(&self) -> bool {
        !self.dates.iter().any(DateOutcome::breaks)
    }

    /// Whether a date within `horizon` of the start breaks delivery between some pair.
    pub fn breaks_within(&self, horizon: Duration) -> bool {
        self.dates.iter().any(|d| d.breaks() && d.at <= self.start + horizon)
    }
}

impl DateOutcome {
    /// Whether it breaks delivery between some pair.
    pub fn breaks(&self) -> bool {
        self.changes.iter().any(|c| c.broken)
    }
}

impl ExpiryReport {
    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let dates: Vec<serde_json::Value> = self
            .dates
            .iter()
            .map(|d| {
                let changes: Vec<serde_json::Value> = d
                    .changes
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "from": c.from, "to": c.to, "broken": c.broken,
                            "silent_until_reconnect": c.silent, "why": c.why,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "date": dates::format(d.at),
                    "at": d.at.as_secs(),
                    "events": d.events,
                    "changes": changes,
                    "replay": d.replay,
                })
            })
            .collect();
        serde_json::json!({ "unbroken": self.unbroken(), "dates": dates })
    }
}

impl fmt::Display for ExpiryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "certificate dates after {}:", dates::format(self.start))?;
        for d in &self.dates {
            let days = (d.at - self.start).as_secs() / 86_400;
            let soon = if d.breaks() && d.at <= self.start + HORIZON { " SOON" } else { "" };
            let date = dates::format(d.at);
            writeln!(f, "  {date} (in {days} days{soon}): {}", d.events.join("; "))?;
            if d.changes.is_empty() {
                writeln!(f, "    no pair of servers changes")?;
                continue;
            }
            for c in &d.changes {
                let what = match (c.broken, c.silent) {
                    (true, true) => {
                        "breaks on the next handshake; the links established before kept delivering until the reconnect"
                    }
                    (true, false) => "breaks on the next handshake",
                    (false, _) => "delivers from this date (after a reconnect)",
                };
                writeln!(f, "    {} to {}: {what} ({})", c.from, c.to, c.why)?;
            }
            writeln!(f, "    replay: {}", d.replay)?;
        }
        let broken = self.dates.iter().filter(|d| d.breaks()).count();
        writeln!(f, "{} dates, {broken} breaking delivery", self.dates.len())
    }
}

/// Every certificate of every file the blocks of `files` name (a file that does not read is
/// skipped: loading refused it already).
pub fn certificates(files: &[ServerFile]) -> Vec<Certificate> {
    let mut found: Vec<Certificate> = Vec::new();
    for f in files {
        let mut options = f.options.clone();
        let mut paths = BTreeSet::new();
        for tls in super::tls::blocks_mut(&mut options) {
            paths.extend(tls.cert_file.clone());
            paths.extend(tls.ca_file.clone());
            paths.extend(tls.certs.iter().map(|p| p.cert_file.clone()));
        }
        for path in paths {
            let Ok(pem) = std::fs::read(&path) else { continue };
            for der in CertificateDer::pem_slice_iter(&pem).flatten() {
                let Ok((_, cert)) = X509Certificate::from_der(&der) else { continue };
                let v = cert.validity();
                let secs = |t: i64| Duration::from_secs(u64::try_from(t).unwrap_or(0));
                let c = Certificate {
                    file: path.clone(),
                    subject: cert.subject().to_string(),
                    not_before: secs(v.not_before.timestamp()),
                    not_after: secs(v.not_after.timestamp()),
                    servers: Vec::new(),
                };
                match found.iter_mut().find(|x| (&x.file, &x.subject) == (&c.file, &c.subject)) {
                    Some(x) => x.servers.push(f.name.clone()),
                    None => found.push(Certificate { servers: vec![f.name.clone()], ..c }),
                }
            }
        }
    }
    for c in &mut found {
        c.servers.dedup();
    }
    found.sort();
    found
}

/// The run of every date after `settings.start` (with `only`, of the dates that contain
/// those).
pub fn run_dates(files: &[ServerFile], settings: &Settings, only: &[Duration]) -> ExpiryReport {
    let certs = certificates(files);
    let mut at: Vec<Duration> = certs
        .iter()
        .flat_map(|c| [c.not_before, c.not_after])
        .filter(|t| *t > settings.start)
        .collect();
    at.sort();
    // Dates within a minute of each other (certificates issued together) are one date: the
    // run passes the last of them.
    let mut groups: Vec<(Duration, Duration)> = Vec::new();
    for t in at {
        match groups.last_mut() {
            Some((_, last)) if t - *last <= Duration::from_secs(60) => *last = t,
            _ => groups.push((t, t)),
        }
    }
    groups.retain(|(a, b)| only.is_empty() || only.iter().any(|t| (a..=b).contains(&t)));
    let dates = groups.into_iter().map(|g| one(files, settings, &certs, g)).collect();
    ExpiryReport { start: settings.start, dates }
}

/// The run of the dates from `first` to `at`.
fn one(
    files: &[ServerFile],
    settings: &Settings,
    certs: &[Certificate],
    (first, at): (Duration, Duration),
) -> DateOutcome {
    let mut events = Vec::new();
    for c in certs {
        let used = c.servers.join(", ");
        for (t, what) in [(c.not_after, "expires"), (c.not_before, "becomes valid")] {
            if (first..=at).contains(&t) {
                events.push(format!("{} ({}, used by {used}) {what}", c.file, c.subject));
            }
        }
    }
    let start = at.saturating_sub(LEAD);
    let settings = Settings { start, ..settings.clone() };
    // Relative to the run's start: the date, the restart, the end.
    let (date, restart) = (at - start, at - start + KEEP);
    let end = restart + AFTER;
    let mut plan: Vec<(Duration, Event)> =
        files.iter().map(|f| (restart, Event::Crash(f.host.clone()))).collect();
    let back = restart + Duration::from_millis(100);
    plan.extend(files.iter().map(|f| (back, Event::Restart(f.host.clone()))));
    let simulated = run(files, &settings, &Script { until: end, events: &plan, steps: &[] });
    let delivered = |x, y, from, to| simulated.delivered(x, y, (from, to));
    let second = Duration::from_secs(1);
    let mut changes = Vec::new();
    for x in 0..files.len() {
        for y in (0..files.len()).filter(|&y| y != x) {
            let before = delivered(x, y, date.saturating_sub(KEEP), date);
            let kept = delivered(x, y, date + second, restart);
            let after = delivered(x, y, end - KEEP, end);
            if before == after {
                continue;
            }
            let hosts = [files[x].host.as_str(), files[y].host.as_str()];
            let why = first_tls_error(&simulated.logs, date, &hosts);
            changes.push(Change {
                from: files[x].name.clone(),
                to: files[y].name.clone(),
                broken: before,
                silent: before && kept,
                why,
            });
        }
    }
    changes.sort_by_key(|c| !c.broken);
    let replay = settings.command(files, &format!("--date {} --trace", at.as_secs()));
    DateOutcome { at, events, changes, replay }
}
