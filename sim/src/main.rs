//! `strait-sim`: run simulation seeds.
//!
//! ```text
//! strait-sim --seeds N [--from S] [--jobs J]   sweep N seeds starting at S (default 0) on J
//!                                              threads (default 1), print a summary
//! strait-sim --seed S [--trace]                replay one seed, optionally with tracing output
//!                                              (the standard suite: 5–6 clusters × 3 servers)
//! strait-sim --routes (--seeds N … | --seed S …) the route suite: one cluster of 3–5 servers
//!                                              joined by routes instead of gateways
//! strait-sim --one-server (--seeds N … | --seed S …) the gateway suite: clusters of one
//!                                              server (the standard suite before routes)
//! strait-sim --rotation SUITE|all --seeds N [--from S]   sweep a certificate-rotation suite
//! strait-sim --rotation SUITE --seed S [--trace]         replay one rotation run
//! strait-sim whatif FILE… [--seed S] [--at DATE] [--dir D] [--json] [--trace]
//!                   [--faults | --fault SPEC[@T]…] [--seeds N]
//!                   [--dates | --date D… [--horizon DAYS]] [--step F=NEW…]
//!                                              run configuration files: which routes and
//!                                              gateway links form, and why not; what each
//!                                              crash and partition, and random combinations
//!                                              of them, do to delivery; what
//!                                              each certificate's dates break; where a
//!                                              plan of reloads would first lose a link
//! ```
//!
//! A run is a pure function of its seed *in a fresh process*: tokio numbers tasks with one
//! counter per process, and the order in which a crashed host's sockets are torn down follows
//! those numbers, so a run that follows another in the same process can differ from its
//! replay (seed 305227 of the route suite failed after 305226 and passed alone). A sweep
//! therefore runs every seed in a child process (`--seed S`), exactly as its replay does; the
//! threads only share the next seed to take and the reports.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use strait_sim::{RunConfig, run};

/// Which seeded suite a run belongs to.
#[derive(Clone, Copy, Debug)]
enum Suite {
    Supercluster,
    Routes,
    OneServer,
}

impl Suite {
    fn config(self, seed: u64) -> RunConfig {
        match self {
            Suite::Supercluster => RunConfig::seeded(seed),
            Suite::Routes => RunConfig::routes(seed),
            Suite::OneServer => RunConfig::one_server_clusters(seed),
        }
    }

    /// The flag that selects it (for a child's command line).
    fn flag(self) -> Option<&'static str> {
        match self {
            Suite::Supercluster => None,
            Suite::Routes => Some("--routes"),
            Suite::OneServer => Some("--one-server"),
        }
    }
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("whatif") {
        return whatif_main(std::env::args().skip(2).collect());
    }
    let mut args = std::env::args().skip(1);
    let mut seeds = None;
    let mut from = 0u64;
    let mut seed = None;
    let mut trace = false;
    let mut jobs = 1u64;
    let mut rotation: Option<String> = None;
    let mut suite = Suite::Supercluster;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            let v = args.next().unwrap_or_default();
            v.parse().unwrap_or_else(|_| usage(&format!("{name} needs a number, got {v:?}")))
        };
        match arg.as_str() {
            "--seeds" => seeds = Some(value("--seeds")),
            "--from" => from = value("--from"),
            "--seed" => seed = Some(value("--seed")),
            "--jobs" => jobs = value("--jobs").max(1),
            "--trace" => trace = true,
            "--routes" => suite = Suite::Routes,
            "--one-server" => suite = Suite::OneServer,
            "--rotation" => rotation = Some(args.next().unwrap_or_default()),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if let Some(suite) = rotation {
        return rotation_main(&suite, seed, seeds, from, trace);
    }
    if trace {
        init_tracing();
    }
    let config = move |seed| suite.config(seed);
    if let Some(seed) = seed {
        let report = run(&RunConfig { trace, ..config(seed) });
        print!("{report}");
        return if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let n = seeds.unwrap_or_else(|| usage("give --seeds N or --seed S"));
    let wall = Instant::now();
    let next = AtomicU64::new(from);
    // (simulated time, failed seeds, seeds done)
    let tally = Mutex::new((Duration::ZERO, Vec::new(), 0u64));
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(n) {
            scope.spawn(|| {
                // Bounded: every iteration takes a fresh seed below from + n.
                loop {
                    let s = next.fetch_add(1, Ordering::Relaxed);
                    if s >= from + n {
                        return;
                    }
                    let (ok, report, simulated) = run_child(s, suite);
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    t.0 += simulated;
                    t.2 += 1;
                    if !ok {
                        print!("{report}");
                        t.1.push(s);
                    }
                    if t.2.is_multiple_of(100) {
                        eprintln!("{} seeds, {} failed, {:?} wall", t.2, t.1.len(), wall.elapsed());
                    }
                }
            });
        }
    });
    let wall = wall.elapsed();
    let (simulated, mut failed, _) = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    failed.sort_unstable();
    println!(
        "seeds {from}..{}: {n} run on {jobs} threads, {} failed {failed:?}; simulated {simulated:.1?} in {wall:.1?} wall ({:.1}x, {:.3} s/seed)",
        from + n,
        failed.len(),
        simulated.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64() / n.max(1) as f64,
    );
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `whatif FILE… [--seed S] [--at DATE] [--dir D] [--json] [--trace] …`: the report on an
/// operator's files; failure when an expected link did not form, a file is refused, or a
/// fault, a combination of faults (`--seeds N`, from seed `--seed S`), a date or a plan
/// step is a finding.
///
/// `--at` is the date simulated time starts at (`YYYY-MM-DD[THH:MM:SS]` UTC or seconds since
/// 1970); without it, the wall clock's date now, read here once: the simulation itself reads
/// no clock, and every replay command names the date.
fn whatif_main(args: Vec<String>) -> ExitCode {
    use strait_sim::whatif::{self, Settings, dates};
    let mut files = Vec::new();
    let mut settings = Settings::seeded(1);
    let mut at = None;
    let mut json = false;
    let mut faults = false;
    let (mut only, mut together) = (Vec::new(), Vec::new());
    let (mut seeds, mut seed_given) = (None, false);
    let (mut all_dates, mut only_dates) = (false, Vec::new());
    let mut steps = Vec::new();
    let mut horizon = whatif::expiry::HORIZON;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value =
            |name: &str| args.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match a.as_str() {
            "--json" => json = true,
            "--trace" => settings.trace = true,
            "--faults" => faults = true,
            "--dates" => all_dates = true,
            "--step" => steps.push(value("--step")),
            "--horizon" => {
                let v = value("--horizon");
                let days: u64 = v
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("--horizon needs days, got {v:?}")));
                horizon = Duration::from_secs(days * 86_400);
            }
            "--date" => {
                let v = value("--date");
                only_dates.push(dates::parse(&v).unwrap_or_else(|| {
                    usage(&format!("--date needs YYYY-MM-DD[THH:MM:SS] or seconds, got {v:?}"))
                }));
            }
            "--fault" => {
                let v = value("--fault");
                match whatif::faults::parse_timed(&v) {
                    Some((fault, None)) => only.push(fault),
                    Some((fault, Some(at))) => together.push((fault, at)),
                    None => usage(&format!(
                        "--fault takes crash:HOST, down:HOST, partition:A:B or oneway:FROM:TO, optionally @SECONDS, got {v:?}"
                    )),
                }
            }
            "--seeds" => {
                let v = value("--seeds");
                seeds = Some(
                    v.parse::<u64>()
                        .unwrap_or_else(|_| usage(&format!("--seeds needs a number, got {v:?}"))),
                );
            }
            "--seed" => {
                let v = value("--seed");
                seed_given = true;
                settings.seed = v
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("--seed needs a number, got {v:?}")));
            }
            "--at" => {
                let v = value("--at");
                at = Some(dates::parse(&v).unwrap_or_else(|| {
                    usage(&format!("--at needs YYYY-MM-DD[THH:MM:SS] or seconds, got {v:?}"))
                }));
            }
            "--dir" => settings.dir = Some(std::path::PathBuf::from(value("--dir"))),
            _ => files.push(std::path::PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        usage("whatif needs configuration files");
    }
    settings.start = at.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Duration::from_secs(now.unwrap_or_default().as_secs())
    });
    let files = match whatif::load(&files, settings.dir.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let report = whatif::formation(&files, &settings);
    let faults = (faults || !only.is_empty() || !together.is_empty())
        .then(|| whatif::faults::run_faults(&files, &settings, &report.links, (&only, &together)));
    // The combinations start at seed 0 unless a seed is given.
    let from = Settings { seed: if seed_given { settings.seed } else { 0 }, ..settings.clone() };
    let combinations = seeds.map(|n| whatif::seeds::run_seeds(&files, &from, &report.links, n));
    let steps: Vec<whatif::plan::Step> = match steps
        .iter()
        .map(|s| whatif::plan::Step::parse(&files, s, settings.dir.as_deref()))
        .collect()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = match steps.is_empty() {
        true => None,
        false => match whatif::plan::run_plan(&files, &settings, &steps) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let expiry = (all_dates || !only_dates.is_empty())
        .then(|| whatif::expiry::run_dates(&files, &settings, &only_dates));
    match json {
        true => {
            let mut j = report.to_json();
            j["faults"] = faults.as_ref().map(|f| f.to_json()).unwrap_or_default();
            j["seeds"] = combinations.as_ref().map(|c| c.to_json()).unwrap_or_default();
            j["dates"] = expiry.as_ref().map(|e| e.to_json()).unwrap_or_default();
            j["plan"] = plan.as_ref().map(|p| p.to_json()).unwrap_or_default();
            println!("{j:#}");
        }
        false => {
            print!("{report}");
            if let Some(f) = &faults {
                print!("{f}");
            }
            if let Some(c) = &combinations {
                print!("{c}");
            }
            if let Some(e) = &expiry {
                print!("{e}");
            }
            if let Some(p) = &plan {
                print!("{p}");
            }
        }
    }
    let healed = faults.as_ref().is_none_or(|f| f.healed())
        && combinations.as_ref().is_none_or(|c| c.healed());
    let unbroken = expiry.as_ref().is_none_or(|e| !e.breaks_within(horizon))
        && plan.as_ref().is_none_or(|p| p.first_broken().is_none());
    if report.healthy() && healed && unbroken { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `--rotation`: the certificate-rotation suites (their runs install their own tracing).
fn rotation_main(
    suite: &str,
    seed: Option<u64>,
    seeds: Option<u64>,
    from: u64,
    trace: bool,
) -> ExitCode {
    use strait_sim::rotation::{self, RotationConfig, Suite};
    let suites: Vec<Suite> = match suite {
        "all" => Suite::ALL.to_vec(),
        name => vec![Suite::parse(name).unwrap_or_else(|| {
            let names: Vec<&str> = Suite::ALL.iter().map(|s| s.name()).collect();
            usage(&format!("--rotation takes all or one of {names:?}, got {name:?}"))
        })],
    };
    if let Some(seed) = seed {
        let mut ok = true;
        for suite in suites {
            let report =
                rotation::run(&RotationConfig { trace, ..RotationConfig::seeded(suite, seed) });
            print!("{report}");
            ok &= report.ok();
        }
        return if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let n = seeds.unwrap_or_else(|| usage("give --seeds N or --seed S"));
    let wall = Instant::now();
    let mut simulated = Duration::ZERO;
    let mut failed = Vec::new();
    let mut done = 0u64;
    for s in from..from + n {
        for &suite in &suites {
            let report = rotation::run(&RotationConfig::seeded(suite, s));
            simulated += report.simulated;
            if !report.ok() {
                print!("{report}");
                failed.push(format!("{suite}:{s}"));
            }
            done += 1;
            if done.is_multiple_of(100) {
                eprintln!("{done} runs, {} failed, {:?} wall", failed.len(), wall.elapsed());
            }
        }
    }
    let wall = wall.elapsed();
    println!(
        "rotation {suite} seeds {from}..{}: {done} runs, {} failed {failed:?}; simulated {simulated:.1?} in {wall:.1?} wall ({:.1}x)",
        from + n,
        failed.len(),
        simulated.as_secs_f64() / wall.as_secs_f64().max(1e-9)
    );
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Run seed `s` in a child process (see the module docs): whether it passed, its report,
/// and the simulated time it covered.
fn run_child(s: u64, suite: Suite) -> (bool, String, Duration) {
    let exe = std::env::current_exe().unwrap_or_else(|e| usage(&format!("own path: {e}")));
    let mut cmd = std::process::Command::new(exe);
    cmd.args(suite.flag());
    let out = match cmd.args(["--seed", &s.to_string()]).output() {
        Ok(out) => out,
        Err(e) => return (false, format!("seed {s}: could not run: {e}\n"), Duration::ZERO),
    };
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report.clone(), simulated_in(&report))
}

/// The simulated time a report names (`…, 31.91s simulated in …`).
fn simulated_in(report: &str) -> Duration {
    report
        .split(" simulated in")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|t| t.strip_suffix('s'))
        .and_then(|t| t.parse::<f64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs_f64)
}

fn usage(err: &str) -> ! {
    if !err.is_empty() {
        eprintln!("error: {err}");
    }
    eprintln!(
        "usage: strait-sim [--rotation SUITE|all | --routes | --one-server] (--seeds N [--from S] [--jobs J] | --seed S [--trace])\n       strait-sim whatif FILE… [--seed S] [--at DATE] [--dir D] [--json] [--trace] [--faults | --fault SPEC[@T]…] [--seeds N] [--dates | --date D…] [--horizon DAYS] [--step F=NEW…]"
    );
    std::process::exit(2)
}

/// Tracing to stderr, stamped with simulated time instead of the wall clock.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    struct SimTime;
    impl FormatTime for SimTime {
        fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
            match turmoil::sim_elapsed() {
                Some(t) => write!(w, "{:>10.3}s", t.as_secs_f64()),
                None => write!(w, "{:>11}", "-"),
            }
        }
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug,turmoil=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(SimTime)
        .with_writer(std::io::stderr)
        .init();
}
