//! Quality gates that run real checks.
//!
//! The spec's seven checklists are data ([`checklist`]); each item is decided by a checker of
//! this crate, by an LLM judge, or by a person. Checkers ([`Checker`]) are real analyses of a
//! repository: [`secrets`], AST rules as data ([`ast`]: injection of every kind, SSRF, XSS,
//! weak hashing, JWT misuse...), sensitive data in [`logs`], [`cors`],
//! [`openapi`] lint, database [`migrations`] (parsed with `sqlparser`), N+1 query patterns
//! ([`nplusone`]), [`docs`], and the project's own tests and coverage ([`testing`]).
//! [`run_gates`] walks the tree once ([`walk`]) and runs the selected checkers; [`sarif`]
//! renders a report as SARIF 2.1.0.

pub mod ast;
pub mod baseline;
pub mod checker;
pub mod checklist;
pub mod contract;
pub mod cors;
pub mod docs;
pub mod expect;
pub mod finding;
pub mod logs;
pub mod migrations;
pub mod nplusone;
pub mod openapi;
pub mod peers;
pub mod report;
pub mod sarif;
pub mod secrets;
pub mod testing;
pub mod walk;

pub use checker::{CheckOutput, Checker, SourceFile, Workspace};
pub use finding::{Finding, Note, Severity};
pub use report::{GateConfig, GateError, GateReport, checkers_for, run_gates, run_gates_on};
