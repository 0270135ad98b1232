//! In progress: replaced by its implementation.
use crate::checker::{CheckOutput, Checker, Workspace};
/// In progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenApiChecker;
impl Checker for OpenApiChecker {
    fn id(&self) -> &'static str {
        "openapi"
    }
    fn check(&self, _ws: &Workspace<'_>) -> CheckOutput {
        CheckOutput::default()
    }
}
