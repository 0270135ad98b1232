//! The spec's "Error Escalation Protocol" as an explicit state machine.
//!
//! - Level 1, self-recovery: retry with exponential backoff and jitter, the failure in the next
//!   brief, up to `max_retries`.
//! - Level 2, peer consultation: the peer the failure calls for (performance →
//!   `backend-architect`, database design → `database-optimizer`, API contract →
//!   `api-architect`) is consulted; its answer joins the next attempt's brief.
//! - Level 3, coordinator review: the task is reassigned to the next best specialist with the
//!   history of its attempts.
//! - Level 4, strategic escalation: the task and its dependents are parked and the escalation
//!   goes to `tech-lead-orchestrator` until someone decides.
//!
//! The spec's "When to Escalate" triggers jump straight to the level the policy sets for them
//! (defaults: security, breaking changes, architecture and timeline → 4; performance, database
//! design and API contracts → 2; cross-service conflicts → 3). A merge conflict with the run's
//! integration branch starts at level 1: the task is sent back with the conflicting hunks.

use crate::config::EscalationConfig;
use crate::executor::FailureCategory;
use coord_core::{Roster, TaskKind};
use std::collections::BTreeMap;

/// A failed attempt, as the policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What went wrong.
    pub error: String,
    /// Its category.
    pub category: FailureCategory,
    /// Whether the same specialist trying again can help.
    pub retryable: bool,
    /// Park it for a person (level 4) at once: no specialist can fix it (the LLM judge gave no
    /// usable verdict).
    pub park: bool,
}

/// What to do next with a failed task.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Level 1: try again after `delay_ms`, with the failure as feedback.
    Retry {
        /// Backoff.
        delay_ms: u64,
    },
    /// Level 2: ask `peer`, then try again with its answer.
    Consult {
        /// The peer.
        peer: String,
    },
    /// Level 3: give the task to `to`, with its history.
    Reassign {
        /// The next best specialist.
        to: String,
    },
    /// Level 4: park the task and its dependents; raise it to the tech lead.
    Park,
}

impl Step {
    /// The level of the step.
    pub fn level(&self) -> i64 {
        match self {
            Step::Retry { .. } => 1,
            Step::Consult { .. } => 2,
            Step::Reassign { .. } => 3,
            Step::Park => 4,
        }
    }
}

/// The escalation policy.
#[derive(Debug, Clone)]
pub struct Policy {
    max_retries: i64,
    backoff_base_ms: u64,
    backoff_max_ms: u64,
    jitter: f64,
    levels: BTreeMap<FailureCategory, i64>,
}

/// The spec's defaults for its "When to Escalate" triggers.
fn default_level(category: FailureCategory) -> i64 {
    match category {
        FailureCategory::General | FailureCategory::MergeConflict => 1,
        FailureCategory::Performance | FailureCategory::Database | FailureCategory::ApiContract => 2,
        FailureCategory::CrossService => 3,
        FailureCategory::Security
        | FailureCategory::BreakingChange
        | FailureCategory::Architecture
        | FailureCategory::Timeline => 4,
    }
}

impl Policy {
    /// The policy of `[escalation]`.
    pub fn new(config: &EscalationConfig) -> Policy {
        let levels = config
            .levels
            .iter()
            .filter_map(|(k, v)| k.parse::<FailureCategory>().ok().map(|c| (c, (*v).clamp(1, 4))))
            .collect();
        Policy {
            max_retries: config.max_retries.max(0),
            backoff_base_ms: config.backoff_base_ms,
            backoff_max_ms: config.backoff_max_ms.max(config.backoff_base_ms),
            jitter: config.jitter.clamp(0.0, 1.0),
            levels,
        }
    }

    /// The level a category jumps to.
    pub fn level_for(&self, category: FailureCategory) -> i64 {
        self.levels.get(&category).copied().unwrap_or_else(|| default_level(category))
    }

    /// Backoff before retry number `n` (1-based): `base * 2^(n-1)`, capped, spread by jitter.
    /// `salt` makes the spread differ between tasks without a random number generator.
    pub fn backoff(&self, n: i64, salt: u64) -> u64 {
        let exp = (n.max(1) - 1).min(30) as u32;
        let raw = self.backoff_base_ms.saturating_mul(1u64 << exp).min(self.backoff_max_ms);
        // splitmix64 of the salt, mapped to [-1, 1).
        let mut z = salt.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        (raw as f64 * (1.0 + self.jitter * unit)).max(0.0) as u64
    }

    /// Decides the next step for a task at `level` (0 = never escalated) with `failures` at
    /// that level, assigned to `specialist`, after `failure`. `tried` are the specialists the
    /// task has had.
    #[allow(clippy::too_many_arguments)]
    pub fn next_step(
        &self,
        level: i64,
        failures: i64,
        failure: &Failure,
        specialist: &str,
        kind: TaskKind,
        tried: &[String],
        roster: &Roster,
        salt: u64,
    ) -> Step {
        let jump = self.level_for(failure.category);
        if jump >= 4 {
            return Step::Park;
        }
        let mut at = level.max(1);
        if jump > at {
            at = jump;
        } else if level <= 1 && failure.retryable && (level == 0 || failures < self.max_retries) {
            let n = if level == 0 { 1 } else { failures + 1 };
            return Step::Retry { delay_ms: self.backoff(n, salt) };
        } else {
            // This level is used up: go one further.
            at = level.max(1) + 1;
        }
        if !failure.retryable && at < 3 {
            at = 3; // the same specialist cannot fix it; someone else might
        }
        if at == 2 {
            if level < 2 {
                return Step::Consult { peer: peer_for(failure.category, kind, specialist) };
            }
            at = 3;
        }
        if at == 3
            && level < 3
            && let Some(to) = next_best(kind, specialist, tried, roster)
        {
            return Step::Reassign { to };
        }
        Step::Park
    }
}

/// The peer a failure calls for (the spec's level 2 list); for an ordinary failure, the peer
/// that knows the kind of work.
pub fn peer_for(category: FailureCategory, kind: TaskKind, specialist: &str) -> String {
    let peer = match category {
        FailureCategory::Performance => "backend-architect",
        FailureCategory::Database => "database-optimizer",
        FailureCategory::ApiContract => "api-architect",
        _ => match kind {
            TaskKind::SchemaDesign | TaskKind::DataAccess | TaskKind::Optimization | TaskKind::DatabaseOperations => {
                "database-optimizer"
            }
            TaskKind::ApiDesign => "api-architect",
            _ => "backend-architect",
        },
    };
    // A specialist never consults itself: the architect's own failures go to the tech lead.
    if peer != specialist {
        peer.to_string()
    } else if specialist != "backend-architect" {
        "backend-architect".to_string()
    } else {
        "tech-lead-orchestrator".to_string()
    }
}

/// The next best specialist for a kind of work, skipping the current one and those tried.
pub fn next_best(kind: TaskKind, current: &str, tried: &[String], roster: &Roster) -> Option<String> {
    let candidates: &[&str] = match kind {
        TaskKind::ApiDesign => &["api-architect", "graphql-architect", "backend-architect"],
        TaskKind::SchemaDesign | TaskKind::DataAccess | TaskKind::Optimization => {
            &["database-optimizer", "database-admin", "backend-architect"]
        }
        TaskKind::DatabaseOperations => &["database-admin", "database-optimizer", "backend-architect"],
        TaskKind::SecurityAudit | TaskKind::PerformanceTest | TaskKind::Architecture => {
            &["backend-architect", "api-architect", "database-optimizer"]
        }
        _ => &["backend-architect", "nodejs-expert", "python-pro", "java-expert"],
    };
    candidates.iter().map(|c| c.to_string()).find(|c| c != current && !tried.contains(c) && roster.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(&EscalationConfig::default())
    }

    fn fail(category: FailureCategory, retryable: bool) -> Failure {
        Failure { error: "boom".into(), category, retryable, park: false }
    }

    #[test]
    fn general_failures_climb_one_level_at_a_time() {
        let p = policy();
        let roster = coord_agents_roster();
        let f = fail(FailureCategory::General, true);
        let step = |level, failures| {
            p.next_step(level, failures, &f, "nodejs-expert", TaskKind::Implementation, &[], &roster, 7)
        };
        assert!(matches!(step(0, 0), Step::Retry { .. }));
        assert!(matches!(step(1, 1), Step::Retry { .. }), "second retry");
        assert_eq!(step(1, 2), Step::Consult { peer: "backend-architect".into() }, "max_retries = 2 used up");
        assert_eq!(step(2, 1), Step::Reassign { to: "backend-architect".into() });
        assert_eq!(step(3, 1), Step::Park);
    }

    #[test]
    fn triggers_jump_to_their_level() {
        let p = policy();
        let roster = coord_agents_roster();
        let step = |c, level| {
            p.next_step(level, 0, &fail(c, true), "nodejs-expert", TaskKind::Implementation, &[], &roster, 1)
        };
        assert_eq!(step(FailureCategory::Security, 0), Step::Park);
        assert_eq!(step(FailureCategory::BreakingChange, 0), Step::Park);
        assert_eq!(step(FailureCategory::Performance, 0), Step::Consult { peer: "backend-architect".into() });
        assert_eq!(step(FailureCategory::Database, 0), Step::Consult { peer: "database-optimizer".into() });
        assert_eq!(step(FailureCategory::ApiContract, 0), Step::Consult { peer: "api-architect".into() });
        assert_eq!(step(FailureCategory::CrossService, 0), Step::Reassign { to: "backend-architect".into() });
    }

    #[test]
    fn unfixable_failures_skip_to_reassignment_and_policy_is_configurable() {
        let mut config = EscalationConfig::default();
        config.levels.insert("performance".into(), 4);
        let p = Policy::new(&config);
        let roster = coord_agents_roster();
        let s = p.next_step(
            0,
            0,
            &fail(FailureCategory::General, false),
            "database-optimizer",
            TaskKind::SchemaDesign,
            &[],
            &roster,
            1,
        );
        assert_eq!(s, Step::Reassign { to: "database-admin".into() });
        let s = p.next_step(
            0,
            0,
            &fail(FailureCategory::Performance, true),
            "nodejs-expert",
            TaskKind::Implementation,
            &[],
            &roster,
            1,
        );
        assert_eq!(s, Step::Park);
        let tried = vec!["backend-architect".to_string(), "python-pro".to_string(), "java-expert".to_string()];
        let s = p.next_step(
            2,
            1,
            &fail(FailureCategory::General, true),
            "nodejs-expert",
            TaskKind::Implementation,
            &tried,
            &roster,
            1,
        );
        assert_eq!(s, Step::Park, "nobody left to reassign to");
    }

    #[test]
    fn backoff_grows_and_stays_within_jitter() {
        let p = policy();
        for n in 1..8 {
            let raw = (1000u64 << (n - 1)).min(60_000) as f64;
            for salt in 0..50 {
                let d = p.backoff(n, salt) as f64;
                assert!(d >= raw * 0.8 - 1.0 && d <= raw * 1.2 + 1.0, "n={n} d={d}");
            }
        }
    }

    fn coord_agents_roster() -> Roster {
        coord_agents::builtin_roster()
    }
}
