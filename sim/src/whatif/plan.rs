//! Change plans (`strait-sim whatif … --step B.conf=new/B.conf --step …`): after formation,
//! each step replaces one server's file and reloads it as SIGHUP does (the daemon's own
//! `Reloader`: the file is read again, changes that need a restart are refused, certificates,
//! keys and CA bundles are read and swapped for new handshakes), then every server restarts
//! at once — a reconnect of every link, with every file as it is then. The probes say which
//! pairs of servers that delivered before the plan deliver after each step; the first step
//! after which some pair does not is the one that would cut the supercluster — e.g. a CA
//! rotation that removes the old CA from a bundle before every certificate is re-issued.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use strait_conf::Options;
use strait_net::cli::Args;
use strait_net::reload::{ReloadSender, Reloader};
use strait_net::setup::Setup;
use strait_net::tls_setup::ServerTls;

use super::{Event, FORMATION, Script, ServerFile, Settings, first_tls_error, in_dir, load, run};

/// Time from one step to the next.
const EVERY: Duration = Duration::from_secs(30);

/// Time from a step's reload to the restart of every server.
const KEEP: Duration = Duration::from_secs(5);

/// The last part of a step's time, where delivery is checked.
const CHECK: Duration = Duration::from_secs(5);

/// One step: replace the file of one server and reload it.
#[derive(Debug)]
pub struct Step {
    /// The server (index into the files).
    pub target: usize,
    /// The new file, read as the daemon reads it.
    pub file: ServerFile,
    /// The argument that names the step (`B.conf=new/B.conf`).
    pub spec: String,
}

impl Step {
    /// Read `TARGET=NEW`: `TARGET` names one of `files` by its path or its file name.
    pub fn parse(files: &[ServerFile], spec: &str, dir: Option<&Path>) -> Result<Step, String> {
        let (target, new) = spec.split_once('=').ok_or(format!("{spec}: expected FILE=NEW"))?;
        let name = Path::new(target).file_name();
        let index = files
            .iter()
            .position(|f| f.path == Path::new(target))
            .or_else(|| files.iter().position(|f| f.path.file_name() == name))
            .ok_or(format!("{spec}: {target} is none of the files"))?;
        let mut loaded = load(&[PathBuf::from(new)], dir)?;
        let mut file = loaded.pop().ok_or(format!("{spec}: {new} did not load"))?;
        // The new file runs on the host of the one it replaces.
        file.host = files[index].host.clone();
        Ok(Step { target: index, file, spec: spec.to_owned() })
    }
}

/// Each host's file as it is now: a step replaces it, a restart reads it.
pub(super) type Current = Rc<RefCell<Vec<(Setup, Options)>>>;

/// Each host's running incarnation: its reload channel and TLS handles.
pub(super) type Running = Rc<RefCell<Vec<Option<(ReloadSender, ServerTls)>>>>;

/// When step `k` (from 0) reloads.
fn step_at(k: usize) -> Duration {
    FORMATION + EVERY * k as u32
}

/// A client that applies `steps` at their times; the outcome of each reload, in order.
pub(super) fn client(
    sim: &mut turmoil::Sim<'_>,
    steps: &[Step],
    current: &Current,
    running: &Running,
) -> Rc<RefCell<Vec<Result<(), String>>>> {
    let results: Rc<RefCell<Vec<Result<(), String>>>> = Rc::default();
    if steps.is_empty() {
        return results;
    }
    let steps: Vec<(usize, PathBuf, Setup, Options)> = steps
        .iter()
        .map(|s| (s.target, s.file.path.clone(), s.file.setup.clone(), s.file.options.clone()))
        .collect();
    let (current, running, out) = (current.clone(), running.clone(), results.clone());
    sim.client("plan", async move {
        for (k, (i, path, setup, options)) in steps.into_iter().enumerate() {
            let now = turmoil::sim_elapsed().unwrap_or_default();
            tokio::time::sleep(step_at(k).saturating_sub(now)).await;
            let before = current.borrow()[i].clone();
            let incarnation = running.borrow()[i].clone();
            let outcome = match incarnation {
                None => Err("the server is not running".to_owned()),
                Some((sender, tls)) => {
                    let s = &before.0;
                    let ports = (
                        s.client.port.unwrap_or(4222),
                        s.gateway.as_ref().map(|g| g.listen.port.unwrap_or(7222)),
                        s.cluster.as_ref().map(|c| c.listen.port.unwrap_or(6222)),
                    );
                    let args = Args { config: Some(path), ..Args::default() };
                    let mut reloader =
                        Reloader::new(args, Some(before.1), ports, sender, None, tls);
                    reloader.reload().await
                }
            };
            out.borrow_mut().push(outcome);
            // The file is replaced on disk whatever the reload said: a restart reads it.
            current.borrow_mut()[i] = (setup, options);
        }
        Ok(())
    });
    results
}

/// What one step did.
#[derive(Debug)]
pub struct StepOutcome {
    /// The step's argument.
    pub spec: String,
    /// The reload's verdict (`Err`: the daemon's refusal).
    pub reload: Result<(), String>,
    /// Pairs (publishing, receiving server names) that delivered before the plan and not
    /// after this step's reconnect.
    pub lost: Vec<(String, String)>,
    /// Of those, the pairs that still delivered between the reload and the reconnect.
    pub kept_until_reconnect: Vec<(String, String)>,
    /// The first TLS error logged by a server of a lost pair after the step.
    pub why: Option<String>,
}

/// The report of a plan.
#[derive(Debug)]
pub struct PlanReport {
    /// Per step, in order.
    pub steps: Vec<StepOutcome>,
    /// The command that replays the plan with tracing.
    pub replay: String,
}

impl PlanReport {
    /// The first step (from 1) after which some pair lost delivery or whose reload was refused.
    pub fn first_broken(&self) -> Option<usize> {
        self.steps.iter().position(|s| !s.lost.is_empty() || s.reload.is_err()).map(|k| k + 1)
    }

    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let pairs = |v: &[(String, String)]| -> Vec<serde_json::Value> {
            v.iter().map(|(a, b)| serde_json::json!({"from": a, "to": b})).collect()
        };
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "step": s.spec,
                    "reload": s.reload.as_ref().err(),
                    "lost": pairs(&s.lost),
                    "kept_until_reconnect": pairs(&s.kept_until_reconnect),
                    "why": s.why,
                })
            })
            .collect();
        serde_json::json!({
            "first_broken_step": self.first_broken(),
            "steps": steps,
            "replay": self.replay,
        })
    }
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "change plan, a reload then a reconnect of every link per step:")?;
        let show = |v: &[(String, String)]| {
            v.iter().map(|(a, b)| format!("{a} to {b}")).collect::<Vec<_>>().join(", ")
        };
        for (k, s) in self.steps.iter().enumerate() {
            let reload = match &s.reload {
                Ok(()) => "reloaded".to_owned(),
                Err(e) => format!("reload REFUSED: {e}"),
            };
            match s.lost.is_empty() {
                true => writeln!(f, "  {}. {}: {reload}; every pair delivers", k + 1, s.spec)?,
                false => writeln!(
                    f,
                    "  {}. {}: {reload}; LOST after the reconnect: {}{}",
                    k + 1,
                    s.spec,
                    show(&s.lost),
                    match s.kept_until_reconnect.is_empty() {
                        true => String::new(),
                        false => format!(
                            " (established links kept delivering until it: {})",
                            show(&s.kept_until_reconnect)
                        ),
                    }
                )?,
            }
            if let Some(why) = &s.why {
                writeln!(f, "     {why}")?;
            }
        }
        match self.first_broken() {
            None => writeln!(f, "every step keeps every pair of servers delivering"),
            Some(k) => {
                writeln!(f, "step {k} is the first that would lose a link")?;
                writeln!(f, "  replay: {}", self.replay)
            }
        }
    }
}

/// Run `steps` after formation, one every 30 s of simulated time. The reloads read the new
/// files as the daemon does, relative certificate paths from `settings.dir`.
pub fn run_plan(
    files: &[ServerFile],
    settings: &Settings,
    steps: &[Step],
) -> Result<PlanReport, String> {
    let mut events = Vec::new();
    for k in 0..steps.len() {
        let restart = step_at(k) + KEEP;
        events.extend(files.iter().map(|f| (restart, Event::Crash(f.host.clone()))));
        let back = restart + Duration::from_millis(100);
        events.extend(files.iter().map(|f| (back, Event::Restart(f.host.clone()))));
    }
    let end = step_at(steps.len());
    let simulated = {
        let script = Script { until: end, events: &events, steps };
        in_dir(settings.dir.as_deref(), || run(files, settings, &script))?
    };
    let delivered = |x, y, from, to| simulated.delivered(x, y, (from, to));
    let n = files.len();
    let pairs = (0..n).flat_map(|x| (0..n).map(move |y| (x, y))).filter(|(x, y)| x != y);
    let baseline: Vec<(usize, usize)> =
        pairs.filter(|&(x, y)| delivered(x, y, FORMATION - CHECK, FORMATION)).collect();
    let name = |&(x, y): &(usize, usize)| (files[x].name.clone(), files[y].name.clone());
    let mut outcomes = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let (at, next) = (step_at(k), step_at(k + 1));
        let lost: Vec<(usize, usize)> = baseline
            .iter()
            .copied()
            .filter(|&(x, y)| !delivered(x, y, next - CHECK, next))
            .collect();
        let kept = lost.iter().filter(|&&(x, y)| delivered(x, y, at + KEEP - CHECK, at + KEEP));
        let hosts: Vec<&str> = lost
            .iter()
            .flat_map(|&(x, y)| [files[x].host.as_str(), files[y].host.as_str()])
            .collect();
        let why = (!lost.is_empty()).then(|| first_tls_error(&simulated.logs, at, &hosts));
        outcomes.push(StepOutcome {
            why,
            spec: step.spec.clone(),
            reload: simulated.reloads.get(k).cloned().unwrap_or(Err("not applied".to_owned())),
            lost: lost.iter().map(name).collect(),
            kept_until_reconnect: kept.map(name).collect(),
        });
    }
    let specs: Vec<String> = steps.iter().map(|s| format!("--step {}", s.spec)).collect();
    let replay = settings.command(files, &format!("{} --trace", specs.join(" ")));
    Ok(PlanReport { steps: outcomes, replay })
}
