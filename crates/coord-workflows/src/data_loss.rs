//! Data-loss statements of migrations and their approvals (the spec's database change
//! coordination: destructive steps are findings, and data-loss steps need a recorded approval).
//!
//! A data-loss statement is what the migrations gate rates `migrations/destructive` at high
//! severity in an up step: a dropped table or column, `TRUNCATE`, `DELETE` without `WHERE`, a
//! column type change. Each migration file is keyed by the SHA-256 of its text, so an approval
//! covers exactly the reviewed content: an edit after the approval needs a new one.
//!
//! Approvals come from two places. In a run they are the tech lead's `approve` decisions,
//! recorded in the run's event log (see `coord-runtime`), because a specialist must not approve
//! its own change. In a repository checked by `coord migrate check` (CI) they are reviewed
//! comments in the migration itself: `-- coord:approve-data-loss <who>: <why>`.

use coord_gates::migrations::MigrationsChecker;
use coord_gates::{Checker, Severity, SourceFile, Workspace};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The comment that approves a migration's data-loss statements in the repository.
pub const APPROVAL_MARKER: &str = "coord:approve-data-loss";

/// One migration file with data-loss statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLoss {
    /// The migration file, relative to the repository.
    pub file: String,
    /// SHA-256 of the file's text, hex.
    pub sha256: String,
    /// `line: what is lost`, one per statement.
    pub statements: Vec<String>,
    /// Who approved it in the file (`coord:approve-data-loss alice: ...`), when someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_in_file: Option<String>,
}

/// SHA-256 of a text, hex.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The approval comment of a file: the text after the marker (`alice: dropping the unused
/// legacy column`), when the file has one.
pub fn approval_in(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let at = l.find(APPROVAL_MARKER)?;
        let rest = l[at + APPROVAL_MARKER.len()..].trim().trim_end_matches("*/").trim();
        Some(if rest.is_empty() { "(no name given)".to_string() } else { rest.to_string() })
    })
}

/// The migration files among `files` whose up steps lose data, with what each loses.
pub fn data_loss(root: &Path, files: &[SourceFile]) -> Vec<DataLoss> {
    let out = MigrationsChecker.check(&Workspace { root, files });
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in out.findings {
        if f.rule == "migrations/destructive" && f.severity >= Severity::High {
            by_file.entry(f.file.clone()).or_default().push(format!("line {}: {}", f.line, f.message));
        }
    }
    by_file
        .into_iter()
        .filter_map(|(file, statements)| {
            let text = &files.iter().find(|f| f.rel == file)?.text;
            Some(DataLoss { sha256: sha256_hex(text), approved_in_file: approval_in(text), file, statements })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, text: &str) -> SourceFile {
        SourceFile { rel: rel.into(), path: Path::new("/virtual").join(rel), text: text.into() }
    }

    #[test]
    fn drops_are_data_loss_and_the_marker_names_the_approver() {
        let files = vec![
            file("migrations/001_users.up.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, legacy TEXT);\n"),
            file("migrations/001_users.down.sql", "DROP TABLE users;\n"),
            file(
                "migrations/002_drop_legacy.up.sql",
                "-- coord:approve-data-loss alice: legacy is unused since v3\nALTER TABLE users DROP COLUMN legacy;\n",
            ),
            file("migrations/002_drop_legacy.down.sql", "ALTER TABLE users ADD COLUMN legacy TEXT;\n"),
            file("migrations/003_truncate.up.sql", "TRUNCATE sessions;\n"),
            file("migrations/003_truncate.down.sql", "SELECT 1;\n"),
        ];
        let loss = data_loss(Path::new("/virtual"), &files);
        let names: Vec<&str> = loss.iter().map(|l| l.file.as_str()).collect();
        assert_eq!(
            names,
            ["migrations/002_drop_legacy.up.sql", "migrations/003_truncate.up.sql"],
            "downs are not up steps"
        );
        assert_eq!(loss[0].approved_in_file.as_deref(), Some("alice: legacy is unused since v3"));
        assert!(loss[0].statements[0].starts_with("line 2:"), "{:?}", loss[0].statements);
        assert_eq!(loss[1].approved_in_file, None);
        assert_eq!(loss[1].sha256, sha256_hex("TRUNCATE sessions;\n"));
        assert_eq!(loss[1].sha256.len(), 64);
    }
}
