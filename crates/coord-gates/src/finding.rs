//! Findings: what a checker reports, with the rule, the place, the fix and the checklist item
//! it serves.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be fixed.
    Medium,
    /// Must be fixed before release.
    High,
    /// Exploitable or data-losing.
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!("unknown severity `{other}` (use low, medium, high or critical)")),
        }
    }
}

/// One problem found by a checker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `secrets/aws-access-key`, `sql-injection/python-fstring`.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Path relative to the scanned root, `/`-separated.
    pub file: String,
    /// 1-based line (0 when the finding concerns the whole file or repository).
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// The checklist item it serves (see [`crate::checklist::ITEMS`]), e.g. `security.sql-injection`.
    pub item: String,
    /// The weakness (`CWE-<n>`), where the rule names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwe: Option<String>,
    /// A fingerprint that survives moved code: the rule, the file and the finding's line with
    /// whitespace normalised (not its number). Set by the runner; baselines match on it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
}

/// Something a checker could not look at (binary, too big, unparsable): not a defect of the
/// code, but the report says so rather than pretending the file was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The file, relative to the root.
    pub file: String,
    /// What happened.
    pub message: String,
}
