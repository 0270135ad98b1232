//! Steps 4–6 of the spec's database change coordination: a deployment note for
//! `database-admin` (the migrations in order, each statement's lock and rewrite risk under
//! PostgreSQL's locking rules, and a duration class), the rollout strategy the kind of change
//! calls for (expand/contract, canary or blue-green), and what to watch after deploying.

use coord_gates::SourceFile;
use coord_gates::migrations::{Tool, find_migrations, parse_sql};
use serde::Serialize;
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, ObjectType, Statement, TableConstraint};

/// One statement's deployment risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRisk {
    /// The migration file.
    pub file: String,
    /// The statement, shortened.
    pub statement: String,
    /// The lock it takes on existing tables (PostgreSQL): none, SHARE, SHARE ROW EXCLUSIVE or
    /// ACCESS EXCLUSIVE.
    pub lock: String,
    /// `instant`, or `proportional to table size` (rewrites, scans, index builds).
    pub duration: String,
    /// What to do about it.
    pub advice: String,
}

/// The deployment note.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentNote {
    /// Migrations in the order they apply.
    pub order: Vec<String>,
    /// Statement by statement.
    pub steps: Vec<StepRisk>,
    /// `expand/contract`, `canary` or `blue-green`.
    pub rollout: String,
    /// Why that rollout.
    pub rollout_reason: String,
    /// Queries and thresholds to watch after deploying.
    pub monitoring: Vec<String>,
    /// Migrations that are code (ORM) and were not analysed.
    pub not_analysed: Vec<String>,
}

fn short(st: &Statement) -> String {
    let s = st.to_string();
    if s.len() > 100 { format!("{}…", &s[..s.char_indices().nth(99).map_or(s.len(), |(i, _)| i)]) } else { s }
}

fn risk(file: &str, st: &Statement, created: &[String]) -> Option<StepRisk> {
    let step = |lock: &str, duration: &str, advice: &str| StepRisk {
        file: file.into(),
        statement: short(st),
        lock: lock.into(),
        duration: duration.into(),
        advice: advice.into(),
    };
    const GROWS: &str = "proportional to table size";
    match st {
        Statement::CreateTable(_) => Some(step("none", "instant", "new table: no lock on existing data")),
        Statement::CreateIndex(ci) => {
            let table = ci.table_name.to_string().to_ascii_lowercase();
            if created.contains(&table) {
                Some(step("none (new table)", "instant", "index on a table created in this deploy"))
            } else if ci.concurrently {
                Some(step(
                    "none (CONCURRENTLY)",
                    GROWS,
                    "builds without blocking writes; cannot run inside a transaction",
                ))
            } else {
                Some(step("SHARE (blocks writes)", GROWS, "use CREATE INDEX CONCURRENTLY to keep writes flowing"))
            }
        }
        Statement::AlterTable(at) => {
            let table = at.name.to_string().to_ascii_lowercase();
            let new = created.contains(&table);
            let mut worst: Option<StepRisk> = None;
            for op in &at.operations {
                let r = match op {
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        let not_null = column_def.options.iter().any(|o| matches!(o.option, ColumnOption::NotNull));
                        let default = column_def.options.iter().any(|o| matches!(o.option, ColumnOption::Default(_)));
                        if not_null && !default && !new {
                            step(
                                "ACCESS EXCLUSIVE",
                                "fails on a table with rows",
                                "add it nullable, backfill in batches, then SET NOT NULL",
                            )
                        } else {
                            step(
                                "ACCESS EXCLUSIVE (brief)",
                                "instant",
                                "metadata only since PostgreSQL 11 (constant default); set lock_timeout",
                            )
                        }
                    }
                    AlterTableOperation::AlterColumn { op: AlterColumnOperation::SetDataType { .. }, .. } => step(
                        "ACCESS EXCLUSIVE",
                        GROWS,
                        "rewrites the table under an exclusive lock: add a new column, backfill, switch",
                    ),
                    AlterTableOperation::AlterColumn { op: AlterColumnOperation::SetNotNull, .. } => step(
                        "ACCESS EXCLUSIVE",
                        GROWS,
                        "scans the table: add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
                    ),
                    AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::ForeignKey(_),
                        not_valid,
                        ..
                    } if !*not_valid => step(
                        "SHARE ROW EXCLUSIVE on both tables",
                        GROWS,
                        "add it NOT VALID, then VALIDATE CONSTRAINT in a later step",
                    ),
                    AlterTableOperation::DropColumn { .. } => step(
                        "ACCESS EXCLUSIVE (brief)",
                        "instant",
                        "destructive: deploy code that no longer reads it first",
                    ),
                    AlterTableOperation::RenameColumn { .. } | AlterTableOperation::RenameTable { .. } => {
                        step("ACCESS EXCLUSIVE (brief)", "instant", "breaks code using the old name: expand/contract")
                    }
                    _ => step("ACCESS EXCLUSIVE (brief)", "instant", "set lock_timeout so a blocked ALTER fails fast"),
                };
                let rank =
                    |r: &StepRisk| (r.duration != "instant") as u8 * 2 + r.lock.starts_with("ACCESS EXCLUSIVE") as u8;
                if worst.as_ref().is_none_or(|w| rank(&r) > rank(w)) {
                    worst = Some(r);
                }
            }
            worst
        }
        Statement::Drop { object_type: ObjectType::Table, .. } => {
            Some(step("ACCESS EXCLUSIVE (brief)", "instant", "destructive: back up and drop in a later release"))
        }
        Statement::Update(_) | Statement::Delete(_) => {
            Some(step("row locks", GROWS, "backfill in batches outside the migration"))
        }
        Statement::Truncate(_) => Some(step("ACCESS EXCLUSIVE", "instant", "destructive")),
        _ => None,
    }
}

/// The note for deploying the newest `pending` migrations among `files` (the older ones are
/// taken as already applied: their tables exist and hold data).
pub fn deployment_note(files: &[SourceFile], pending: usize) -> DeploymentNote {
    let all = find_migrations(files);
    let migrations = &all[all.len().saturating_sub(pending.max(1))..];
    let mut steps = Vec::new();
    let mut order = Vec::new();
    let mut not_analysed = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for m in migrations {
        order.push(m.up.0.clone());
        if !matches!(m.tool, Tool::Sql | Tool::Flyway | Tool::Prisma) {
            not_analysed.push(m.up.0.clone());
            continue;
        }
        let Ok(statements) = parse_sql(&m.up.1) else {
            not_analysed.push(format!("{} (SQL not understood)", m.up.0));
            continue;
        };
        for st in &statements {
            if let Statement::CreateTable(ct) = st {
                created.push(ct.name.to_string().to_ascii_lowercase());
            }
            if let Some(r) = risk(&m.up.0, st, &created) {
                steps.push(r);
            }
        }
    }
    let breaking = steps.iter().any(|s| {
        s.advice.contains("expand/contract") || s.advice.starts_with("destructive") || s.advice.contains("rewrites")
    });
    let only_new_tables = !steps.is_empty() && steps.iter().all(|s| s.lock.starts_with("none"));
    let (rollout, rollout_reason) = if breaking {
        (
            "expand/contract",
            "the change removes, renames or rewrites what running code uses: add the new shape, move readers and writers, then remove the old in a later release",
        )
    } else if only_new_tables {
        (
            "blue-green",
            "only new tables: deploy the schema, switch traffic to the new version, keep the old version ready to switch back",
        )
    } else {
        (
            "canary",
            "additive changes that old and new code both tolerate: roll the new code out to a small share of traffic first while the locks above are watched",
        )
    };
    let mut monitoring = vec![
        "sessions waiting on locks: SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' (alert above 5 for 1 min)".to_string(),
        "error rate of the service: 5xx below 1% of requests".into(),
        "p95 latency of the affected endpoints within the SLA (200 ms unless stated)".into(),
        "replication lag below 10 s while migrations run".into(),
    ];
    if steps.iter().any(|s| {
        s.statement.to_ascii_uppercase().starts_with("CREATE INDEX")
            || s.statement.to_ascii_uppercase().starts_with("CREATE UNIQUE INDEX")
    }) {
        monitoring.push("new indexes are used: pg_stat_user_indexes.idx_scan grows after deploy".into());
    }
    if steps.iter().any(|s| s.duration != "instant") {
        monitoring.push("long-running statements: pg_stat_activity where state = 'active' and now() - query_start > interval '1 minute'".into());
    }
    DeploymentNote {
        order,
        steps,
        rollout: rollout.into(),
        rollout_reason: rollout_reason.into(),
        monitoring,
        not_analysed,
    }
}

impl DeploymentNote {
    /// The note as markdown for `@database-admin`. `planned` is the rollout the plan chose from
    /// the objective; the statements' own rollout wins when they call for expand/contract.
    pub fn markdown(&self, planned: Option<(&str, &str)>) -> String {
        let (rollout, reason) = match planned {
            Some((strategy, why)) if self.rollout != "expand/contract" => (strategy, why),
            _ => (self.rollout.as_str(), self.rollout_reason.as_str()),
        };
        let mut md = String::from("# Deployment note for @database-admin\n\n");
        md.push_str("Written by the backend coordinator after the migrations passed the replica test.\n\n## Order\n\n");
        if self.order.is_empty() {
            md.push_str("No migrations.\n");
        }
        for (i, f) in self.order.iter().enumerate() {
            md.push_str(&format!("{}. `{f}`\n", i + 1));
        }
        md.push_str("\n## Risk by statement\n\n| statement | lock | duration | advice |\n|---|---|---|---|\n");
        for s in &self.steps {
            let statement = s.statement.replace('|', "\\|");
            md.push_str(&format!("| `{statement}` | {} | {} | {} |\n", s.lock, s.duration, s.advice));
        }
        for n in &self.not_analysed {
            md.push_str(&format!("| {n} | ? | ? | not analysed (ORM code): review by hand |\n"));
        }
        md.push_str(&format!("\n## Rollout\n\n**{rollout}**: {reason}\n"));
        if let Some((strategy, _)) = planned
            && strategy != rollout
        {
            md.push_str(&format!(
                "\n(The plan chose {strategy} from the objective; the statements call for {rollout}.)\n"
            ));
        }
        md.push_str("\n## Monitor after deploy\n\n");
        for m in &self.monitoring {
            md.push_str(&format!("- {m}\n"));
        }
        md
    }
}
