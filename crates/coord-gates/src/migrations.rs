//! In progress: replaced by its implementation.
use crate::checker::{CheckOutput, Checker, Workspace};
/// In progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrationsChecker;
impl Checker for MigrationsChecker {
    fn id(&self) -> &'static str {
        "migrations"
    }
    fn check(&self, _ws: &Workspace<'_>) -> CheckOutput {
        CheckOutput::default()
    }
}
