//! Temporary timing helper (not committed).
use coord_gates::SourceFile;
use coord_gates::ast::RuleSet;
use std::time::Instant;
fn main() {
    let set = RuleSet::builtin().unwrap();
    let mut rows = Vec::new();
    for p in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let f = SourceFile { rel: p.clone(), path: p.clone().into(), text };
        let t = Instant::now();
        let mut out = Vec::new();
        set.scan(&f, &mut out);
        rows.push((t.elapsed().as_secs_f64(), f.text.len(), p));
    }
    rows.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    for r in rows.iter().take(12) { println!("{:.3}s {:>8} {}", r.0, r.1, r.2); }
}
