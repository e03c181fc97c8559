//! `strait --signal <command>[=<pid or pid file>]` (`-sl`): send a running `strait` the signal
//! nats-server's `--signal` sends a running `nats-server`, then exit.
//!
//! | command | signal | effect in the server |
//! |---|---|---|
//! | `reload` | SIGHUP | reload the `-c` file |
//! | `reopen` | SIGUSR1 | reopen the log file |
//! | `ldm` | SIGUSR2 | lame-duck mode: stop taking clients, close them gradually, exit |
//! | `quit` | SIGINT | clean shutdown |
//! | `term` | SIGTERM | clean shutdown |
//! | `stop` | SIGKILL | killed |
//!
//! Without a pid the one running `strait` process is found through `/proc` (nats-server runs
//! `pgrep nats-server`); a trailing `*` signals every process whose pid starts with the prefix.
//! The signal is sent with `kill(1)`: the workspace forbids `unsafe`, and spawning `kill` is
//! what nats-server does with `pgrep` for discovery anyway.

use std::path::Path;
use std::process::Command as Process;

/// The process name looked for when no pid is given.
pub const PROCESS_NAME: &str = "strait";

/// A `--signal` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// SIGKILL.
    Stop,
    /// SIGINT: clean shutdown.
    Quit,
    /// SIGUSR1: reopen the log file.
    Reopen,
    /// SIGHUP: reload the configuration.
    Reload,
    /// SIGUSR2: lame-duck mode (see `crate::lame_duck`).
    Ldm,
    /// SIGTERM: clean shutdown.
    Term,
}

impl Command {
    /// nats-server's command names.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "stop" => Command::Stop,
            "quit" => Command::Quit,
            "reopen" => Command::Reopen,
            "reload" => Command::Reload,
            "ldm" => Command::Ldm,
            "term" => Command::Term,
            other => return Err(format!("unknown signal {other:?}")),
        })
    }

    /// The signal's name as `kill -s` takes it.
    pub fn signal(self) -> &'static str {
        match self {
            Command::Stop => "KILL",
            Command::Quit => "INT",
            Command::Reopen => "USR1",
            Command::Reload => "HUP",
            Command::Ldm => "USR2",
            Command::Term => "TERM",
        }
    }
}

/// Run `--signal SPEC`: `SPEC` is `command[=pid]`, the pid a number, a number prefix ending in
/// `*`, or a pid file's path. Errors are nats-server's (with `strait` for the process name).
pub fn run(spec: &str) -> Result<(), String> {
    let parts: Vec<&str> = spec.split('=').collect();
    if parts.len() > 2 {
        return Err(format!("invalid signal parameters: [{}]", parts[2..].join(" ")));
    }
    let pid = parts.get(1).map(|p| maybe_read_pid_file(p)).unwrap_or_default();
    let pids = target_pids(&pid, running_pids)?;
    let command = Command::parse(parts[0])?;
    let mut errors = String::new();
    for p in pids {
        if let Err(e) = send(command, p) {
            errors.push_str(&format!("\nsignal {:?} {p}: {e}", parts[0]));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A pid argument that names a readable file is replaced by the file's contents.
fn maybe_read_pid_file(arg: &str) -> String {
    match std::fs::read_to_string(arg) {
        Ok(text) => text.trim().to_owned(),
        Err(_) => arg.to_owned(),
    }
}

/// The pids to signal for `pid` (empty: the single running server), as nats-server's
/// `ProcessSignal` decides.
fn target_pids(
    pid: &str,
    running: impl Fn() -> Result<Vec<u32>, String>,
) -> Result<Vec<u32>, String> {
    let glob = pid.ends_with('*');
    let prefix = pid.trim_end_matches('*');
    if !prefix.is_empty() && prefix.parse::<u32>().is_err() {
        return Err(format!("invalid pid: {prefix}"));
    }
    if !prefix.is_empty() && !glob {
        return Ok(vec![prefix.parse().unwrap_or_default()]);
    }
    let mut pids = running()?;
    if glob {
        pids.retain(|p| p.to_string().starts_with(prefix));
    } else if pids.len() > 1 {
        let list: String = pids.iter().map(|p| format!("\n{p}")).collect();
        return Err(format!("multiple {PROCESS_NAME} processes running:{list}"));
    }
    if pids.is_empty() {
        return Err(format!("no {PROCESS_NAME} processes running"));
    }
    Ok(pids)
}

/// Every other process named `strait`, from `/proc/<pid>/comm`.
fn running_pids() -> Result<Vec<u32>, String> {
    let me = std::process::id();
    let entries = std::fs::read_dir("/proc")
        .map_err(|_| "unable to resolve pid, try providing one".to_owned())?;
    let mut pids: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && is_strait(&Path::new("/proc").join(pid.to_string())))
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

fn is_strait(proc_dir: &Path) -> bool {
    std::fs::read_to_string(proc_dir.join("comm")).is_ok_and(|c| c.trim_end() == PROCESS_NAME)
}

fn send(command: Command, pid: u32) -> Result<(), String> {
    let out = Process::new("kill")
        .arg("-s")
        .arg(command.signal())
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_nats_server_signals() {
        let all = ["stop", "quit", "reopen", "reload", "ldm", "term"];
        let signals: Vec<&str> = all.iter().map(|c| Command::parse(c).unwrap().signal()).collect();
        assert_eq!(signals, ["KILL", "INT", "USR1", "HUP", "USR2", "TERM"]);
        assert_eq!(Command::parse("hup").unwrap_err(), "unknown signal \"hup\"");
    }

    #[test]
    fn pids_resolve_as_nats_server_resolves_them() {
        let none = || Ok(vec![]);
        let two = || Ok(vec![120, 345]);
        assert_eq!(target_pids("42", two), Ok(vec![42]));
        assert_eq!(target_pids("x", two).unwrap_err(), "invalid pid: x");
        assert_eq!(target_pids("", none).unwrap_err(), "no strait processes running");
        assert_eq!(
            target_pids("", two).unwrap_err(),
            "multiple strait processes running:\n120\n345"
        );
        assert_eq!(target_pids("", || Ok(vec![7])), Ok(vec![7]));
        assert_eq!(target_pids("12*", two), Ok(vec![120]));
        assert_eq!(target_pids("9*", two).unwrap_err(), "no strait processes running");
    }

    #[test]
    fn bad_specs_are_refused_before_anything_is_sent() {
        assert_eq!(run("reload=1=2=3").unwrap_err(), "invalid signal parameters: [2 3]");
        assert_eq!(run("reload=abc").unwrap_err(), "invalid pid: abc");
    }

    #[test]
    fn a_pid_file_is_read() {
        let dir = std::env::temp_dir().join(format!("strait-signal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.pid");
        std::fs::write(&file, "4242").unwrap();
        assert_eq!(maybe_read_pid_file(file.to_str().unwrap()), "4242");
        assert_eq!(maybe_read_pid_file("4243"), "4243");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
