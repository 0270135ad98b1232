//! The spec's two coordination workflows, as machine-checked steps. So far: step 3 of
//! "Database Change Coordination" — every migration replayed up, down and up again on a scratch
//! database with schema snapshots compared ([`replay`]) — and step 5 of "API Contract
//! Coordination" — requests generated from the spec sent to a running service, answers checked
//! against it ([`contract_test`]). The API contract diff lives in `coord_gates::contract`.

pub mod contract_test;
pub mod data_loss;
pub mod deploy;
pub mod publish;
pub mod query_stats;
pub mod replay;
pub mod service;
pub mod statements;

pub use contract_test::{ContractReport, contract_test};
pub use replay::{ReplayFinding, ReplayReport, replay_sqlite};
