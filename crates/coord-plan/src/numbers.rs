//! Numeric requirements in objective text: latency ("<200ms", "p95 under 150 ms"), throughput
//! ("2000 rps", "10k requests per second", "1 million orders per day"), sizes ("uploads up to
//! 10 MB"), row counts ("50M rows"), volumes ("10 million users"), concurrency ("5k concurrent
//! connections") and availability ("99.9% uptime").

use coord_core::{Requirement, RequirementKind};
use regex::Regex;
use std::sync::LazyLock;

const NUM: &str = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k|m|b|thousand|million|billion)?";

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file and covered by its tests; a failure here is a
    // programming error caught on the first test run, never a user-facing condition.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("constant regex compiles")
}

static THROUGHPUT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b{NUM}\s*(rps|qps|tps|rpm|req/s|reqs/s|requests?/s(?:ec)?|ops/s|msgs?/s|(?:requests?|reqs|queries|transactions|messages|msgs|events|operations|ops|calls|jobs|writes|reads)\s*(?:per|a|/)\s*(?:second|sec|s|minute|min|hour|hr|day))\b"
    ))
});
static LATENCY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(<=|≤|<)?\s*\b(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(ms|msec|milliseconds?|µs|us|microseconds?|s|secs?|seconds?)\b",
    )
});
static SIZE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b{NUM}\s*(bytes|kb|mb|gb|tb|kib|mib|gib|tib)\b")));
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b{NUM}\s+(?:(concurrent|simultaneous|active|daily|monthly|registered|new|total)\s+)?(rows|records|entries|documents|users|customers|accounts|orders|events|messages|products|items|tenants|devices|transactions|connections|sessions|files|requests)(?:\s+(?:per|a|/)\s*(second|sec|minute|min|hour|day|month))?\b"
    ))
});
static AVAILABILITY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\d{2}(?:\.\d+)?)\s*%\s*(?:uptime|availability|available|sla)|(?:uptime|availability|sla)\s+(?:of\s+)?(\d{2}(?:\.\d+)?)\s*%",
    )
});
static PERCENTILE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bp(\d{2}(?:\.\d+)?)\b|\b(\d{2}(?:\.\d+)?)(?:th|st|nd|rd)\s+percentile|\b(median)\b"));
static COMPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(<=|≤|<|>=|≥|>|\bunder\b|\bbelow\b|\bless than\b|\bwithin\b|\bat most\b|\bmax(?:imum)?\b|\bno more than\b|\bfaster than\b|\bsub-|\bat least\b|\bminimum\b|\bup to\b|\bover\b|\bmore than\b)\s*$",
    )
});
static RECOVERY_WORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(downtime|outage|failover|recovery|rto|rpo|data loss)\b"));
static LATENCY_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(latency|latencies|response times?|respond|responds|p\d{2}|percentile|round[- ]trip)\b")
});

fn scale(word: Option<&str>) -> f64 {
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("k") | Some("thousand") => 1e3,
        Some("m") | Some("million") => 1e6,
        Some("b") | Some("billion") => 1e9,
        _ => 1.0,
    }
}

fn number(digits: &str, suffix: Option<&str>) -> Option<f64> {
    let v: f64 = digits.replace(',', "").parse().ok()?;
    Some(v * scale(suffix))
}

/// The comparator the words before a number imply.
fn comparator(before: &str) -> Option<&'static str> {
    let m = COMPARATOR.captures(before)?;
    let word = m.get(1)?.as_str().to_ascii_lowercase();
    Some(match word.as_str() {
        "<=" | "≤" | "at most" | "max" | "maximum" | "no more than" | "up to" => "<=",
        "<" | "under" | "below" | "less than" | "within" | "faster than" | "sub-" => "<",
        ">=" | "≥" | "at least" | "minimum" => ">=",
        _ => ">",
    })
}

fn window(text: &str, start: usize, end: usize, before: usize, after: usize) -> (&str, &str) {
    let mut b = start.saturating_sub(before);
    while !text.is_char_boundary(b) {
        b -= 1;
    }
    let mut a = (end + after).min(text.len());
    while !text.is_char_boundary(a) {
        a += 1;
    }
    (&text[b..start], &text[end..a])
}

fn percentile(before: &str, after: &str) -> Option<f64> {
    let found = PERCENTILE.captures_iter(before).last().or_else(|| PERCENTILE.captures(after))?;
    if found.get(3).is_some() {
        return Some(50.0);
    }
    found.get(1).or_else(|| found.get(2))?.as_str().parse().ok()
}

fn overlaps(taken: &[(usize, usize)], s: usize, e: usize) -> bool {
    taken.iter().any(|&(a, b)| s < b && a < e)
}

fn per_second(unit: &str) -> f64 {
    let u = unit.to_ascii_lowercase();
    if u.ends_with("day") {
        86_400.0
    } else if u.ends_with("hour") || u.ends_with("hr") {
        3_600.0
    } else if u.ends_with("minute") || u.ends_with("min") || u == "rpm" {
        60.0
    } else if u.ends_with("month") {
        2_592_000.0
    } else {
        1.0
    }
}

/// Every numeric requirement in `text`, in order of appearance.
pub fn extract_requirements(text: &str) -> Vec<Requirement> {
    let mut found: Vec<(usize, Requirement)> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();

    for c in THROUGHPUT.captures_iter(text) {
        let (Some(all), Some(d), Some(unit)) = (c.get(0), c.get(1), c.get(3)) else { continue };
        let Some(v) = number(d.as_str(), c.get(2).map(|m| m.as_str())) else { continue };
        let (before, _) = window(text, all.start(), all.end(), 24, 0);
        taken.push((all.start(), all.end()));
        found.push((
            all.start(),
            Requirement {
                kind: RequirementKind::Throughput,
                value: v / per_second(unit.as_str()),
                unit: "per_second".into(),
                comparator: comparator(before).unwrap_or(">=").into(),
                percentile: None,
                subject: None,
                text: all.as_str().trim().to_string(),
            },
        ));
    }

    for c in COUNT.captures_iter(text) {
        let (Some(all), Some(d), Some(noun)) = (c.get(0), c.get(1), c.get(4)) else { continue };
        if overlaps(&taken, all.start(), all.end()) {
            continue;
        }
        let Some(v) = number(d.as_str(), c.get(2).map(|m| m.as_str())) else { continue };
        let adjective = c.get(3).map(|m| m.as_str().to_ascii_lowercase());
        let noun = noun.as_str().to_ascii_lowercase();
        let (before, _) = window(text, all.start(), all.end(), 24, 0);
        let (kind, value, unit) = if let Some(per) = c.get(5) {
            (RequirementKind::Throughput, v / per_second(per.as_str()), "per_second")
        } else if matches!(adjective.as_deref(), Some("concurrent") | Some("simultaneous")) {
            (RequirementKind::Concurrency, v, "count")
        } else if matches!(noun.as_str(), "rows" | "records" | "entries" | "documents") {
            (RequirementKind::RowCount, v, "count")
        } else {
            (RequirementKind::Volume, v, "count")
        };
        taken.push((all.start(), all.end()));
        found.push((
            all.start(),
            Requirement {
                kind,
                value,
                unit: unit.into(),
                comparator: comparator(before).unwrap_or(">=").into(),
                percentile: None,
                subject: Some(noun),
                text: all.as_str().trim().to_string(),
            },
        ));
    }

    for c in LATENCY.captures_iter(text) {
        let (Some(all), Some(d), Some(unit)) = (c.get(0), c.get(2), c.get(3)) else { continue };
        let start = c.get(1).map_or(d.start(), |m| m.start());
        if overlaps(&taken, start, all.end()) {
            continue;
        }
        let (before, after) = window(text, start, all.end(), 48, 24);
        let cmp = match c.get(1).map(|m| m.as_str()) {
            Some("<=") | Some("≤") => Some("<="),
            Some(_) => Some("<"),
            None => comparator(before),
        };
        let latency_context = LATENCY_WORD.is_match(before) || LATENCY_WORD.is_match(after);
        // "under 30 seconds of downtime" is a recovery time, not a response time.
        if RECOVERY_WORD.is_match(after) || (!latency_context && RECOVERY_WORD.is_match(before)) {
            continue;
        }
        if cmp.is_none() && !latency_context {
            continue; // "a 30 second timeout" is not a latency target
        }
        let Some(v) = number(d.as_str(), None) else { continue };
        let unit_l = unit.as_str().to_ascii_lowercase();
        let ms = if unit_l.starts_with("ms") || unit_l.starts_with("milli") {
            v
        } else if unit_l == "µs" || unit_l == "us" || unit_l.starts_with("micro") {
            v / 1000.0
        } else {
            v * 1000.0
        };
        taken.push((start, all.end()));
        found.push((
            start,
            Requirement {
                kind: RequirementKind::Latency,
                value: ms,
                unit: "ms".into(),
                comparator: cmp.unwrap_or("<=").into(),
                percentile: percentile(before, after),
                subject: None,
                text: text[start..all.end()].trim().to_string(),
            },
        ));
    }

    for c in SIZE.captures_iter(text) {
        let (Some(all), Some(d), Some(unit)) = (c.get(0), c.get(1), c.get(3)) else { continue };
        if overlaps(&taken, all.start(), all.end()) {
            continue;
        }
        let Some(v) = number(d.as_str(), c.get(2).map(|m| m.as_str())) else { continue };
        let factor = match unit.as_str().to_ascii_lowercase().as_str() {
            "kb" | "kib" => 1024f64,
            "mb" | "mib" => 1024f64.powi(2),
            "gb" | "gib" => 1024f64.powi(3),
            "tb" | "tib" => 1024f64.powi(4),
            _ => 1.0,
        };
        let (before, _) = window(text, all.start(), all.end(), 24, 0);
        taken.push((all.start(), all.end()));
        found.push((
            all.start(),
            Requirement {
                kind: RequirementKind::Size,
                value: v * factor,
                unit: "bytes".into(),
                comparator: comparator(before).unwrap_or("=").into(),
                percentile: None,
                subject: None,
                text: all.as_str().trim().to_string(),
            },
        ));
    }

    for c in AVAILABILITY.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        let Some(v) = c.get(1).or_else(|| c.get(2)).and_then(|m| m.as_str().parse::<f64>().ok()) else { continue };
        if overlaps(&taken, all.start(), all.end()) || v > 100.0 {
            continue;
        }
        taken.push((all.start(), all.end()));
        found.push((
            all.start(),
            Requirement {
                kind: RequirementKind::Availability,
                value: v,
                unit: "percent".into(),
                comparator: ">=".into(),
                percentile: None,
                subject: None,
                text: all.as_str().trim().to_string(),
            },
        ));
    }

    found.sort_by_key(|(pos, _)| *pos);
    found.into_iter().map(|(_, r)| r).collect()
}

/// A requirement in words, for briefs and text output ("p95 latency < 150 ms").
pub fn describe(r: &Requirement) -> String {
    let n = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.2}") }
    };
    match r.kind {
        RequirementKind::Latency => match r.percentile {
            Some(p) => format!("p{} latency {} {} ms", n(p), r.comparator, n(r.value)),
            None => format!("latency {} {} ms", r.comparator, n(r.value)),
        },
        RequirementKind::Throughput => match &r.subject {
            Some(s) => format!("throughput {} {} {s}/s", r.comparator, n(r.value)),
            None => format!("throughput {} {} requests/s", r.comparator, n(r.value)),
        },
        RequirementKind::Size => format!("size {} {} bytes ({})", r.comparator, n(r.value), r.text),
        RequirementKind::RowCount => format!("data volume {} {} rows", r.comparator, n(r.value)),
        RequirementKind::Volume => {
            format!("volume {} {} {}", r.comparator, n(r.value), r.subject.as_deref().unwrap_or("items"))
        }
        RequirementKind::Concurrency => {
            format!("concurrency {} {} {}", r.comparator, n(r.value), r.subject.as_deref().unwrap_or("connections"))
        }
        RequirementKind::Availability => format!("availability >= {}%", n(r.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Requirement {
        let all = extract_requirements(text);
        assert_eq!(all.len(), 1, "{text}: {all:?}");
        all.into_iter().next().unwrap()
    }

    #[test]
    fn latencies() {
        let r = one("Search must respond in <200ms");
        assert_eq!((r.kind, r.value, r.comparator.as_str()), (RequirementKind::Latency, 200.0, "<"));
        let r = one("keep p95 under 150 ms for checkout");
        assert_eq!((r.value, r.percentile), (150.0, Some(95.0)));
        let r = one("99th percentile latency below 1.5s");
        assert_eq!((r.value, r.percentile), (1500.0, Some(99.0)));
        let r = one("latency of 800µs");
        assert!((r.value - 0.8).abs() < 1e-9);
        assert!(extract_requirements("sessions expire after a 30 second timeout").is_empty());
    }

    #[test]
    fn throughputs() {
        assert_eq!(one("handle 2000 rps").value, 2000.0);
        assert_eq!(one("sustain 10k requests per second").value, 10_000.0);
        assert_eq!(one("at 1,500 req/s").value, 1500.0);
        let r = one("ingest 8.64 million events per day");
        assert_eq!(r.kind, RequirementKind::Throughput);
        assert!((r.value - 100.0).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn sizes_counts_and_availability() {
        let r = one("uploads up to 10 MB");
        assert_eq!((r.kind, r.value, r.comparator.as_str()), (RequirementKind::Size, 10.0 * 1024.0 * 1024.0, "<="));
        let r = one("a table of 50M rows");
        assert_eq!((r.kind, r.value), (RequirementKind::RowCount, 50e6));
        let r = one("serve 10 million users");
        assert_eq!((r.kind, r.value, r.subject.as_deref()), (RequirementKind::Volume, 10e6, Some("users")));
        let r = one("5k concurrent connections");
        assert_eq!(r.kind, RequirementKind::Concurrency);
        let r = one("99.95% uptime");
        assert_eq!((r.kind, r.value), (RequirementKind::Availability, 99.95));
    }

    #[test]
    fn versions_and_names_are_not_numbers() {
        assert!(extract_requirements("Add user authentication system with OAuth2 and JWT").is_empty());
        assert!(extract_requirements("Store avatars in S3 behind HTTP/2").is_empty());
    }

    #[test]
    fn several_in_one_sentence_keep_their_order() {
        let all = extract_requirements("p99 < 50ms at 20k rps over 2 TB of data and 300M rows");
        let kinds: Vec<_> = all.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![
                RequirementKind::Latency,
                RequirementKind::Throughput,
                RequirementKind::Size,
                RequirementKind::RowCount
            ]
        );
        assert_eq!(all[0].percentile, Some(99.0));
    }
}
