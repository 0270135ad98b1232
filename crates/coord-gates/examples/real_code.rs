//! `cargo run --profile bench -p coord-gates --example real_code -- CORPUS`: recall and precision of
//! coord's security rules on real, deliberately vulnerable applications written by others
//! (`eval/corpus.tsv`, fetched into CORPUS by `eval/fetch-corpus.sh`), against the labels of
//! `eval/labels.tsv` (written from each application's own documentation), per category; and,
//! in the same run, of semgrep (with the rules folder in `COORD_EVAL_SEMGREP_RULES`, e.g. a
//! checkout of the semgrep community rules) and detect-secrets, when they are installed.
//!
//! A finding matches a label when it is in the label's file, within its lines, and of its
//! category; several findings on one label count once. A finding of a scored category that
//! matches no label is a false positive. Findings of categories no label has (CSRF, ReDoS...)
//! are counted apart, unscored.
//!
//! The documentation does not list every defect the code holds, so findings outside the labels
//! were reviewed by hand (`eval/reviewed.tsv`, one row per finding with its verdict and reason);
//! the "reviewed" precision counts a finding that matches a `real` row as true (recall never
//! changes). Unreviewed findings stay false positives, for every tool alike.

use coord_gates::{GateConfig, run_gates};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, Clone)]
struct Label {
    app: String,
    file: String,
    from: usize,
    to: usize,
    categories: Vec<String>,
}

/// (app, file, line, category)
type Hit = (String, String, usize, String);

fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn fail(msg: &str) -> ! {
    eprintln!("real_code: {msg}");
    std::process::exit(2)
}

/// The evaluation's category of a CWE (semgrep's metadata, coord's rules).
fn category_of_cwe(cwe: &str) -> Option<&'static str> {
    let n: u32 = cwe.trim_start_matches("CWE-").split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some(match n {
        89 | 564 => "sql-injection",
        943 => "nosql-injection",
        77 | 78 | 88 => "command-injection",
        94 | 95 | 96 | 917 | 1336 | 470 => "code-injection",
        502 => "deserialization",
        918 => "ssrf",
        22 | 23 | 35 | 73 => "path-traversal",
        611 | 776 | 827 => "xxe",
        601 => "open-redirect",
        79 | 80 | 83 | 116 => "xss",
        798 | 259 | 321 | 522 => "secrets",
        327 | 328 | 916 | 326 | 759 | 760 | 256 | 257 => "weak-crypto",
        347 | 345 | 290 => "jwt",
        614 | 1004 | 1275 | 315 => "insecure-cookie",
        489 | 215 | 11 | 209 => "debug-mode",
        942 | 346 => "cors",
        1104 | 937 | 1035 => "vulnerable-dependency",
        _ => return None,
    })
}

/// coord's findings, the seconds its scans took and the bytes they read. The built-in rules are
/// compiled once per process before the scans are timed; that compilation is printed apart.
fn coord_hits(corpus: &Path, apps: &[String]) -> (Vec<Hit>, f64, u64) {
    let compiling = Instant::now();
    coord_gates::ast::RuleSet::builtin().unwrap_or_else(|e| fail(&format!("the built-in rules: {e}")));
    println!(
        "coord: built-in rules compiled in {:.0} ms (once per process)",
        compiling.elapsed().as_secs_f64() * 1000.0
    );
    let mut hits = Vec::new();
    let (mut secs, mut bytes) = (0.0, 0);
    let config = GateConfig { tools: Some(Vec::new()), ..GateConfig::default() };
    for app in apps {
        let started = Instant::now();
        let report = run_gates(&corpus.join(app), &["security".into(), "code".into()], &config, false)
            .unwrap_or_else(|e| fail(&format!("coord on {app}: {e}")));
        secs += started.elapsed().as_secs_f64();
        bytes += report.bytes;
        for f in report.findings {
            let category = if f.rule.starts_with("secrets/") {
                "secrets".to_string()
            } else if f.rule.starts_with("cors/") {
                "cors".to_string()
            } else {
                f.rule.split('/').next().unwrap_or("").to_string()
            };
            hits.push((app.clone(), f.file, f.line, category));
        }
    }
    (hits, secs, bytes)
}

fn semgrep_hits(corpus: &Path, apps: &[String]) -> Result<(Vec<Hit>, f64), String> {
    let rules = std::env::var("COORD_EVAL_SEMGREP_RULES")
        .map_err(|_| "COORD_EVAL_SEMGREP_RULES is not set (a folder of semgrep rules, e.g. the community rules' javascript, typescript, python, java and generic/secrets folders)".to_string())?;
    let mut hits = Vec::new();
    let started = Instant::now();
    for app in apps {
        let out = Command::new("semgrep")
            .args(["scan", "--config", &rules, "--json", "--quiet", "--metrics=off", "--disable-version-check", "."])
            .current_dir(corpus.join(app))
            .output()
            .map_err(|e| format!("semgrep is not installed ({e}); pip install semgrep"))?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("semgrep on {app} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
        for r in v["results"].as_array().into_iter().flatten() {
            let file = r["path"].as_str().unwrap_or("").trim_start_matches("./").to_string();
            let line = r["start"]["line"].as_u64().unwrap_or(0) as usize;
            let meta = &r["extra"]["metadata"];
            let cwes: Vec<String> = match &meta["cwe"] {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            };
            let mut cats: BTreeSet<&str> = cwes.iter().filter_map(|c| category_of_cwe(c)).collect();
            let id = r["check_id"].as_str().unwrap_or("");
            if cats.is_empty() && id.contains("secrets") {
                cats.insert("secrets");
            }
            if cats.is_empty() {
                hits.push((
                    app.clone(),
                    file.clone(),
                    line,
                    format!("other:{}", cwes.first().map_or("none", |c| c.as_str())),
                ));
            }
            for c in cats {
                hits.push((app.clone(), file.clone(), line, c.to_string()));
            }
        }
    }
    Ok((hits, started.elapsed().as_secs_f64()))
}

fn detect_secrets_hits(corpus: &Path, apps: &[String]) -> Result<(Vec<Hit>, f64), String> {
    let mut hits = Vec::new();
    let started = Instant::now();
    for app in apps {
        let out = Command::new("detect-secrets")
            .args(["scan", "--all-files", "."])
            .current_dir(corpus.join(app))
            .output()
            .map_err(|e| format!("detect-secrets is not installed ({e}); pip install detect-secrets"))?;
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("detect-secrets on {app} printed no JSON: {e}"))?;
        for (file, list) in v["results"].as_object().into_iter().flatten() {
            for s in list.as_array().into_iter().flatten() {
                let line = s["line_number"].as_u64().unwrap_or(0) as usize;
                hits.push((app.clone(), file.trim_start_matches("./").to_string(), line, "secrets".to_string()));
            }
        }
    }
    Ok((hits, started.elapsed().as_secs_f64()))
}

#[derive(Default, Clone, Copy)]
struct Score {
    tp: usize,
    fp: usize,
    /// Of `fp`, findings reviewed as real defects the labels do not list.
    real: usize,
    labels: usize,
}

/// `(app, file, line, category)` of the findings reviewed as real.
type Reviewed = BTreeSet<Hit>;

fn score(
    labels: &[Label],
    hits: &[Hit],
    scored: &BTreeSet<String>,
    reviewed: &Reviewed,
) -> (BTreeMap<String, Score>, usize, Vec<String>) {
    let mut by_cat: BTreeMap<String, Score> = BTreeMap::new();
    let mut matched = vec![false; labels.len()];
    let unique: BTreeSet<&Hit> = hits.iter().collect();
    let mut unscored = 0;
    let mut false_positives = Vec::new();
    for h in unique {
        if !scored.contains(&h.3) {
            unscored += 1;
            continue;
        }
        let mut any = false;
        for (i, l) in labels.iter().enumerate() {
            if l.app == h.0 && l.file == h.1 && h.2 >= l.from && h.2 <= l.to && l.categories.contains(&h.3) {
                matched[i] = true;
                any = true;
            }
        }
        if !any {
            let s = by_cat.entry(h.3.clone()).or_default();
            s.fp += 1;
            let real = reviewed.contains(h);
            if real {
                s.real += 1;
            }
            false_positives.push(format!(
                "{} {}:{} {}{}",
                h.0,
                h.1,
                h.2,
                h.3,
                if real { " (reviewed: real)" } else { "" }
            ));
        }
    }
    for (i, l) in labels.iter().enumerate() {
        let s = by_cat.entry(l.categories[0].clone()).or_default();
        s.labels += 1;
        if matched[i] {
            s.tp += 1;
        }
    }
    (by_cat, unscored, false_positives)
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 { "-".into() } else { format!("{:.2}", a as f64 / b as f64) }
}

fn main() {
    let eval = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval");
    let corpus = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| {
        fail("usage: real_code CORPUS (fetch it with crates/coord-gates/eval/fetch-corpus.sh CORPUS)")
    }));
    let apps: Vec<String> = read_tsv(&eval.join("corpus.tsv")).into_iter().map(|r| r[0].clone()).collect();
    for a in &apps {
        if !corpus.join(a).is_dir() {
            fail(&format!("{} is missing: run eval/fetch-corpus.sh {}", corpus.join(a).display(), corpus.display()));
        }
    }
    let labels: Vec<Label> = read_tsv(&eval.join("labels.tsv"))
        .into_iter()
        .map(|r| {
            let (from, to) = match r[2].split_once('-') {
                Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
                None => (r[2].parse().unwrap_or(0), r[2].parse().unwrap_or(0)),
            };
            Label {
                app: r[0].clone(),
                file: r[1].clone(),
                from,
                to,
                categories: r[3].split('|').map(str::to_string).collect(),
            }
        })
        .collect();
    let scored: BTreeSet<String> = labels.iter().flat_map(|l| l.categories.iter().cloned()).collect();
    let reviewed_rows = read_tsv(&eval.join("reviewed.tsv"));
    let reviewed: Reviewed = reviewed_rows
        .iter()
        .filter(|r| r.get(4).map(String::as_str) == Some("real"))
        .map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap_or(0), r[3].clone()))
        .collect();

    let (coord, coord_secs, bytes) = coord_hits(&corpus, &apps);
    let semgrep = semgrep_hits(&corpus, &apps);
    let secrets = detect_secrets_hits(&corpus, &apps);

    let (cs, c_unscored, c_fps) = score(&labels, &coord, &scored, &reviewed);
    let sg = semgrep.as_ref().ok().map(|(h, _)| score(&labels, h, &scored, &reviewed));
    let ds = secrets
        .as_ref()
        .ok()
        .map(|(h, _)| score(&labels, h, &["secrets".to_string()].into_iter().collect(), &reviewed));

    println!(
        "corpus: {} applications, {} labels, {:.1} MB scanned by coord",
        apps.len(),
        labels.len(),
        bytes as f64 / 1e6
    );
    println!(
        "\n| category | labels | coord recall | coord precision | semgrep recall | semgrep precision | detect-secrets recall | detect-secrets precision |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let cats: BTreeSet<String> = cs.keys().cloned().chain(scored.iter().cloned()).collect();
    let mut totals = [(0usize, 0usize, 0usize); 2];
    let mut reviewed_real = [0usize; 2];
    for c in &cats {
        let a = cs.get(c).copied().unwrap_or_default();
        let b = sg.as_ref().and_then(|(m, _, _)| m.get(c).copied()).unwrap_or_default();
        let n = labels.iter().filter(|l| &l.categories[0] == c).count();
        if n == 0 && a.fp == 0 && b.fp == 0 {
            continue;
        }
        let (d_r, d_p) = match (&ds, c.as_str()) {
            (Some((m, _, _)), "secrets") => {
                let d = m.get(c).copied().unwrap_or_default();
                (pct(d.tp, n), pct(d.tp, d.tp + d.fp))
            }
            _ => ("".into(), "".into()),
        };
        let (s_r, s_p) =
            if sg.is_some() { (pct(b.tp, n), pct(b.tp, b.tp + b.fp)) } else { ("n/a".into(), "n/a".into()) };
        println!("| {c} | {n} | {} | {} | {s_r} | {s_p} | {d_r} | {d_p} |", pct(a.tp, n), pct(a.tp, a.tp + a.fp));
        totals[0] = (totals[0].0 + a.tp, totals[0].1 + a.fp, totals[0].2 + n);
        totals[1] = (totals[1].0 + b.tp, totals[1].1 + b.fp, totals[1].2 + n);
        reviewed_real[0] += a.real;
        reviewed_real[1] += b.real;
    }
    let (s_r, s_p) = if sg.is_some() {
        (pct(totals[1].0, totals[1].2), pct(totals[1].0, totals[1].0 + totals[1].1))
    } else {
        ("n/a".into(), "n/a".into())
    };
    println!(
        "| **all** | {} | **{}** | **{}** | {s_r} | {s_p} | | |",
        totals[0].2,
        pct(totals[0].0, totals[0].2),
        pct(totals[0].0, totals[0].0 + totals[0].1)
    );
    let s_rp = if sg.is_some() { pct(totals[1].0 + reviewed_real[1], totals[1].0 + totals[1].1) } else { "n/a".into() };
    println!(
        "| **all, reviewed** ({} findings outside the labels reviewed real, eval/reviewed.tsv) | {} | **{}** | **{}** | {s_r} | {s_rp} | | |",
        reviewed_real[0],
        totals[0].2,
        pct(totals[0].0, totals[0].2),
        pct(totals[0].0 + reviewed_real[0], totals[0].0 + totals[0].1)
    );
    if let Some((m, _, _)) = &ds {
        let d = m.get("secrets").copied().unwrap_or_default();
        println!(
            "detect-secrets on secrets: {} findings outside the labels, {} of them reviewed real; reviewed precision {}",
            d.fp,
            d.real,
            pct(d.tp + d.real, d.tp + d.fp)
        );
    }
    println!(
        "\ncoord: {:.2} s for {:.1} MB ({:.1} MB/s), {} findings outside the labelled categories (unscored)",
        coord_secs,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / coord_secs.max(1e-9),
        c_unscored
    );
    match &semgrep {
        Ok((_, secs)) => println!(
            "semgrep ({} rules folder): {:.1} s, {} findings outside the labelled categories (unscored)",
            std::env::var("COORD_EVAL_SEMGREP_RULES").unwrap_or_default(),
            secs,
            sg.as_ref().map_or(0, |s| s.1)
        ),
        Err(e) => println!("semgrep: not run: {e}"),
    }
    match &secrets {
        Ok((_, secs)) => println!(
            "detect-secrets: {:.1} s (coord is {:.0}x faster on the same trees)",
            secs,
            secs / coord_secs.max(1e-9)
        ),
        Err(e) => println!("detect-secrets: not run: {e}"),
    }
    if std::env::var("COORD_EVAL_VERBOSE").is_ok() {
        println!("\ncoord false positives:");
        for f in &c_fps {
            println!("  {f}");
        }
        if let Some((_, _, fps)) = &ds {
            println!("\ndetect-secrets false positives:");
            for f in fps {
                println!("  {f}");
            }
        }
        println!("\ncoord missed labels:");
        for l in &labels {
            let hit = coord
                .iter()
                .any(|h| h.0 == l.app && h.1 == l.file && h.2 >= l.from && h.2 <= l.to && l.categories.contains(&h.3));
            if !hit {
                println!("  {} {}:{}-{} {}", l.app, l.file, l.from, l.to, l.categories.join("|"));
            }
        }
    }
}
