//! `cargo bench -p coord-gates --bench scan`: every static checker over a generated tree of
//! 10,000 source files (about 100 MB of JavaScript, Python, Java and YAML, with some seeded
//! defects), on all cores; then the same tree through `detect-secrets` (PyPI) when it is
//! installed, so both figures print side by side. Prints figures; asserts nothing about time.
//! Targets (issue #4): at least 50 MB/s, and at least 10 times detect-secrets' speed.

use coord_gates::{GateConfig, run_gates};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const JS: &str = r#"
export async function loadOrders{n}(db, customerId) {
  const { rows } = await db.query('SELECT id, total FROM orders WHERE customer_id = $1', [customerId]);
  const result = rows.map((r) => ({ id: r.id, total: Number(r.total) }));
  logger.info('loaded orders', { customerId, count: result.length });
  return result;
}
"#;
const PY: &str = r#"
def report_{n}(session, tenant_id):
    rows = session.execute(text("SELECT id, name FROM users WHERE tenant_id = :t"), {"t": tenant_id}).all()
    out = [{"id": r.id, "name": r.name} for r in rows]
    log.info("report built for tenant %s with %d rows", tenant_id, len(out))
    return out
"#;
const JAVA: &str = r#"
    public List<Order> ordersFor{n}(long customerId) {
        List<Order> orders = jdbc.query("SELECT id, total FROM orders WHERE customer_id = ?", mapper, customerId);
        log.debug("orders for {} : {}", customerId, orders.size());
        return orders;
    }
"#;
const YAML: &str = "service{n}:\n  replicas: 3\n  image: registry.example.com/orders:{n}\n  env:\n    LOG_LEVEL: info\n    DATABASE_URL: ${DATABASE_URL}\n";

fn generate(root: &Path, files: usize, target_bytes: usize) -> usize {
    let per_file = target_bytes / files;
    let mut total = 0;
    for i in 0..files {
        let (dir, ext, template) = match i % 4 {
            0 => ("src/js", "js", JS),
            1 => ("src/py", "py", PY),
            2 => ("src/java", "java", JAVA),
            _ => ("config", "yaml", YAML),
        };
        let dir = root.join(dir).join(format!("m{}", i % 50));
        let _ = std::fs::create_dir_all(&dir);
        let mut text = String::with_capacity(per_file + 512);
        let mut n = 0;
        while text.len() < per_file {
            text.push_str(&template.replace("{n}", &n.to_string()));
            n += 1;
        }
        // Seed a defect in one file of a hundred.
        if i % 100 == 7 {
            let _ = writeln!(text, "const apiToken = \"Zk8pQ2vL9xW4rT7mYb3N\";");
        }
        total += text.len();
        if let Err(e) = std::fs::write(dir.join(format!("f{i}.{ext}")), text) {
            eprintln!("cannot write the benchmark tree: {e}");
            std::process::exit(1);
        }
    }
    total
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("scan: bench");
        return;
    }
    let root = std::env::temp_dir().join(format!("coord-scan-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let bytes = generate(&root, 10_000, 100_000_000);
    let mb = bytes as f64 / 1e6;
    println!("tree: 10,000 files, {mb:.1} MB (JavaScript, Python, Java, YAML)");

    let gates: Vec<String> =
        ["code", "security", "performance", "database", "api"].iter().map(|s| s.to_string()).collect();
    // The built-in checkers only: the peer tools (semgrep...) are not what this measures.
    let config = GateConfig { tools: Some(Vec::new()), ..GateConfig::default() };
    // Warm the page cache, the regexes and the compiled rules once, then measure.
    let _ = run_gates(&root, &gates, &config, false);
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..3 {
        let started = Instant::now();
        match run_gates(&root, &gates, &config, false) {
            Ok(r) => findings = r.findings.len(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "coord gate (secrets, ast-rules, sensitive-logs, cors, n-plus-one, openapi, migrations; {threads} threads): {:.2} s, {:.0} MB/s, {:.0} files/s, {findings} findings (best of 3)",
        best,
        mb / best,
        10_000.0 / best
    );

    let started = Instant::now();
    // detect-secrets resolves paths against the git repository of its working directory: run
    // it inside the tree.
    match Command::new("detect-secrets").args(["scan", "--all-files", "."]).current_dir(&root).output() {
        Ok(out) if out.status.success() => {
            let secs = started.elapsed().as_secs_f64();
            let files_with_results = serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .ok()
                .and_then(|v| v["results"].as_object().map(|o| o.len()))
                .unwrap_or(0);
            println!("detect-secrets reported secrets in {files_with_results} files");
            println!(
                "detect-secrets scan (same tree, same machine): {:.2} s, {:.1} MB/s, {:.0} files/s — coord is {:.1}x faster",
                secs,
                mb / secs,
                10_000.0 / secs,
                secs / best
            );
        }
        Ok(out) => {
            println!("detect-secrets failed: {}", String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or(""))
        }
        Err(_) => println!("detect-secrets is not installed (pip install detect-secrets) — no side-by-side figure"),
    }
    let _ = std::fs::remove_dir_all(&root);
}
