//! Shared by the corpus and differential tests: walking the corpus and reading its headers.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The corpus directories, relative to the crate (tests run with the crate as current
/// directory, which is also what relative TLS paths in the corpus assume).
pub const DIRS: [&str; 4] = ["valid", "invalid", "startup", "differs"];

/// A corpus file and what its header says.
pub struct Case {
    pub path: PathBuf,
    pub dir: &'static str,
    /// `# error: L:C: text` — an error at L:C whose display contains `text`.
    pub error: Option<(u32, u32, String)>,
    /// `# strait: accepts|rejects, nats: accepts|rejects|crashes …` (differs/ only).
    pub strait_accepts: Option<bool>,
    pub nats: Option<String>,
    pub note: String,
}

pub fn corpus() -> Vec<Case> {
    let root = Path::new("tests/corpus");
    let mut out = Vec::new();
    for dir in DIRS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("corpus directory {dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort();
        for path in files {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let mut case = Case {
                path,
                dir,
                error: None,
                strait_accepts: None,
                nats: None,
                note: String::new(),
            };
            for line in text.trim_start_matches('\u{feff}').lines().take(3) {
                if let Some(rest) = line.strip_prefix("# error: ") {
                    let mut parts = rest.splitn(3, ':');
                    let l = parts.next().unwrap().trim().parse().unwrap();
                    let c = parts.next().unwrap().trim().parse().unwrap();
                    case.error = Some((l, c, parts.next().unwrap().trim().to_owned()));
                } else if let Some(rest) = line.strip_prefix("# strait: ") {
                    case.strait_accepts = Some(rest.starts_with("accepts"));
                    let nats = rest.split("nats: ").nth(1).unwrap_or("");
                    case.nats =
                        Some(nats.split(|c: char| !c.is_alphabetic()).next().unwrap().to_owned());
                    case.note = rest.trim_end_matches('\r').to_owned();
                }
            }
            out.push(case);
        }
    }
    assert!(out.len() >= 40, "corpus too small: {} files", out.len());
    out
}
