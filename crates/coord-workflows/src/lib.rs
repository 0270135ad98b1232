//! The spec's two coordination workflows, as machine-checked steps. So far: step 3 of
//! "Database Change Coordination" — every migration replayed up, down and up again on a scratch
//! database with schema snapshots compared ([`replay`]). The API contract diff lives in
//! `coord_gates::contract`.

pub mod replay;

pub use replay::{ReplayFinding, ReplayReport, replay_sqlite};
