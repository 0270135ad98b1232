//! Text output that reads like the spec's examples: the analysis, the task breakdown with
//! assignments, the parallel groups and the critical path.

use coord_core::{Analysis, Plan, StackSource};
use coord_plan::numbers::describe;
use std::collections::BTreeSet;
use std::fmt::Write as _;

fn analysis_text(out: &mut String, a: &Analysis) {
    out.push_str("Analysis\n");
    let facets: Vec<&str> = a.facets.iter().map(|f| f.as_str()).collect();
    let _ =
        writeln!(out, "  Facets:        {}", if facets.is_empty() { "none found".into() } else { facets.join(", ") });
    let framework = a.stack.framework.as_deref().map(|f| format!(", {f}")).unwrap_or_default();
    let why = a.stack.evidence.first().cloned().unwrap_or_default();
    let source = match a.stack.source {
        StackSource::Default => "default",
        StackSource::Flag => "--stack",
        StackSource::Objective => "objective",
        StackSource::Repository => "repository",
    };
    let _ = writeln!(
        out,
        "  Stack:         @{} ({}{framework}; {source}: {why})",
        a.stack.specialist,
        a.stack.language.as_str()
    );
    if a.stack.api_style == coord_core::ApiStyle::Graphql {
        out.push_str("  API style:     GraphQL\n");
    }
    let endpoints: Vec<String> = a.endpoints.iter().map(|e| e.display()).collect();
    let implied =
        !a.endpoints.is_empty() && a.endpoints.iter().all(|e| e.source == coord_core::EndpointSource::Implied);
    let _ = writeln!(
        out,
        "  Endpoints:     {}{}",
        if endpoints.is_empty() { "none named".into() } else { endpoints.join(", ") },
        if implied { " (implied)" } else { "" }
    );
    let reqs: Vec<String> = a.requirements.iter().map(describe).collect();
    let _ = writeln!(out, "  Requirements:  {}", if reqs.is_empty() { "none stated".into() } else { reqs.join("; ") });
    let integrations: Vec<String> = a.integrations.iter().map(|i| format!("{} ({})", i.name, i.category)).collect();
    let _ = writeln!(
        out,
        "  Integrations:  {}",
        if integrations.is_empty() { "none".into() } else { integrations.join(", ") }
    );
    if !a.datastores.is_empty() {
        let _ = writeln!(out, "  Data stores:   {}", a.datastores.join(", "));
    }
    if !a.entities.is_empty() {
        let _ = writeln!(out, "  Entities:      {}", a.entities.join(", "));
    }
}

/// The plan as text.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Objective: \"{}\"\n", plan.objective);
    analysis_text(&mut out, &plan.analysis);
    out.push_str("\nTask Breakdown\n\n");
    for t in &plan.tasks {
        let _ = writeln!(out, "Task {}: {}  [{}, {}h]", t.id, t.title, t.priority, t.estimate_hours);
        match &t.assigned_because {
            Some(why) => {
                let _ = writeln!(out, "  → Assign to: @{} ({why})", t.specialist);
            }
            None => {
                let _ = writeln!(out, "  → Assign to: @{}", t.specialist);
            }
        }
        if !t.expected_output.is_empty() {
            let _ = writeln!(out, "  → Output: {}", t.expected_output.join("; "));
        }
        let deps = if t.depends_on.is_empty() { "none".to_string() } else { t.depends_on.join(", ") };
        let _ = writeln!(out, "  → Depends on: {deps}");
        out.push('\n');
    }
    out.push_str("Execution Strategy\n\n");
    for (i, group) in plan.groups.iter().enumerate() {
        let mut after = BTreeSet::new();
        for id in group {
            if let Some(t) = plan.task(id) {
                after.extend(t.depends_on.iter().cloned());
            }
        }
        if after.is_empty() {
            let _ = writeln!(out, "Parallel Group {}:", i + 1);
        } else {
            let after: Vec<String> = after.into_iter().collect();
            let _ = writeln!(out, "Parallel Group {} (after {}):", i + 1, after.join(" & "));
        }
        for id in group {
            if let Some(t) = plan.task(id) {
                let _ = writeln!(out, "- {} ({}) → @{}", t.id, t.title, t.specialist);
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Critical path ({}h): {}", plan.critical_path_hours, plan.critical_path.join(" → "));
    for w in &plan.workflows {
        let name = match w.kind {
            coord_core::WorkflowKind::DatabaseChange => "Database Change Coordination",
            coord_core::WorkflowKind::ApiContract => "API Contract Coordination",
        };
        let _ = writeln!(out, "\n{name}:");
        for (i, stage) in w.stages.iter().enumerate() {
            let task = stage.task.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default();
            let _ = writeln!(out, "{}. {}{task}: {}", i + 1, stage.step, stage.checked_by);
        }
        if let Some(r) = &w.rollout {
            let _ = writeln!(out, "Rollout: {} ({})", r.strategy, r.reason);
        }
        for m in &w.monitoring {
            let _ = writeln!(out, "Monitor: {m}");
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &plan.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

/// A time (unix milliseconds) in UTC: `2026-12-05 05:14:03.250Z` for people, or RFC 3339
/// (`2026-12-05T05:14:03.250Z`) for machines.
pub fn utc_time(ms: i64, rfc3339: bool) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sep = if rfc3339 { 'T' } else { ' ' };
    format!("{year:04}-{month:02}-{day:02}{sep}{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// A duration for people: `850 ms`, `12.4 s`, `3 min 20 s`, `2 h 5 min`.
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..120_000 => format!("{:.1} s", ms as f64 / 1000.0),
        120_000..7_200_000 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

#[cfg(test)]
mod time_tests {
    use super::{duration_ms, utc_time};

    #[test]
    fn durations_read_as_people_say_them() {
        let cases =
            [(0, "0 ms"), (850, "850 ms"), (12_400, "12.4 s"), (200_000, "3 min 20 s"), (7_500_000, "2 h 5 min")];
        for (ms, want) in cases {
            assert_eq!(duration_ms(ms), want);
        }
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(utc_time(0, true), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_time(951_782_400_000, false), "2000-02-29 00:00:00.000Z");
        assert_eq!(utc_time(1_796_444_322_217, true), "2026-12-05T04:18:42.217Z");
        assert_eq!(utc_time(-1, true), "1969-12-31T23:59:59.999Z");
    }
}
