//! Adopting the gate on a legacy repository: fingerprints that survive moved code, a baseline
//! file of accepted findings (`coord gate --write-baseline FILE`, then `--baseline FILE`), and
//! inline suppression (`coord:allow <rule-id> <reason>` on the line or the line above).

use crate::checker::SourceFile;
use crate::finding::{Finding, Note};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The fingerprint of a finding: sha256 of rule, file and the finding's line text with
/// whitespace collapsed (for file- and repository-level findings, the message), plus the
/// occurrence number among identical (rule, file, text) triples, so two identical lines stay
/// two findings. Hex, first 32 characters.
pub fn fingerprint(f: &Finding, line_text: Option<&str>, occurrence: usize) -> String {
    let text = match line_text {
        Some(t) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        None => f.message.clone(),
    };
    let mut h = Sha256::new();
    for part in [f.rule.as_str(), f.file.as_str(), text.as_str(), &occurrence.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Sets the fingerprint of every finding, reading line text from `files` (by relative path).
pub fn set_fingerprints(findings: &mut [Finding], files: &HashMap<&str, &SourceFile>) {
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for f in findings.iter_mut() {
        let text = files.get(f.file.as_str()).and_then(|s| line_text(&s.text, f.line)).map(str::to_string);
        let key = (f.rule.clone(), f.file.clone(), text.clone().unwrap_or_else(|| f.message.clone()));
        let n = seen.entry(key).or_insert(0);
        f.fingerprint = fingerprint(f, text.as_deref(), *n);
        *n += 1;
    }
}

fn line_text(text: &str, line: usize) -> Option<&str> {
    if line == 0 {
        return None;
    }
    text.lines().nth(line - 1)
}

/// Removes findings suppressed inline: `coord:allow <rule-id or category> <reason>` on the
/// finding's line or the line above. A suppression without a reason does not count and is
/// noted. Returns how many findings were suppressed.
pub fn apply_inline(findings: &mut Vec<Finding>, files: &HashMap<&str, &SourceFile>, notes: &mut Vec<Note>) -> usize {
    let before = findings.len();
    let mut noted = BTreeSet::new();
    findings.retain(|f| {
        let Some(src) = files.get(f.file.as_str()) else { return true };
        let category = f.rule.split('/').next().unwrap_or("");
        for l in [f.line, f.line.saturating_sub(1)] {
            let Some(text) = line_text(&src.text, l) else { continue };
            let Some(pos) = text.find("coord:allow ") else { continue };
            let mut words = text[pos + "coord:allow ".len()..].split_whitespace();
            let Some(id) = words.next() else { continue };
            if id != f.rule && id != category {
                continue;
            }
            let reason: Vec<&str> = words.take_while(|w| !w.starts_with("*/") && !w.starts_with("-->")).collect();
            if reason.is_empty() {
                if noted.insert((f.file.clone(), l)) {
                    notes.push(Note {
                        file: f.file.clone(),
                        message: format!("line {l}: `coord:allow {id}` has no reason, so it suppresses nothing (write `coord:allow {id} <why>`)"),
                    });
                }
                continue;
            }
            return false;
        }
        true
    });
    before - findings.len()
}

/// A baseline: the fingerprints of accepted findings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version (1).
    pub version: u32,
    /// Accepted findings.
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The fingerprint that matches it.
    pub fingerprint: String,
    /// Its rule (for people reading the file).
    pub rule: String,
    /// Its file, and line when written.
    pub file: String,
    /// The line when written.
    pub line: usize,
}

/// Why a baseline cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Cannot read or write the file.
    #[error("baseline {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        reason: String,
    },
    /// Not a baseline.
    #[error("baseline {path} is not a coord baseline: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl Baseline {
    /// The baseline of these findings.
    pub fn of(findings: &[Finding]) -> Baseline {
        Baseline {
            version: 1,
            findings: findings
                .iter()
                .map(|f| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.clone(),
                    file: f.file.clone(),
                    line: f.line,
                })
                .collect(),
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BaselineError::Io { path: path.display().to_string(), reason: e.to_string() })?;
        let b: Baseline = serde_json::from_str(&text)
            .map_err(|e| BaselineError::Format { path: path.display().to_string(), reason: e.to_string() })?;
        if b.version != 1 {
            return Err(BaselineError::Format {
                path: path.display().to_string(),
                reason: format!("version {} (this coord reads version 1)", b.version),
            });
        }
        Ok(b)
    }

    /// Removes the findings the baseline accepts; returns how many.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> usize {
        let known: BTreeSet<&str> = self.findings.iter().map(|e| e.fingerprint.as_str()).collect();
        let before = findings.len();
        findings.retain(|f| !known.contains(f.fingerprint.as_str()));
        before - findings.len()
    }
}
