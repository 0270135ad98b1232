//! `cargo bench -p coord --bench sandbox`: what the OS sandbox costs per command. Runs `true`
//! 300 times bare and 300 times through the trampoline (`coord-sandbox __sandbox`, as `coord`
//! starts it) (death with the parent, limits,
//! user/mount/PID/network namespaces, a private /proc, Landlock over the system folders and
//! a workspace), interleaved, and prints the median and p95 of each and of the difference.
//! Target (issue #13): under 5 ms per command.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: any failure is the run's answer

use std::process::Command;
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let exe = env!("CARGO_BIN_EXE_coord");
    let check = Command::new(exe).args(["sandbox", "check"]).output().expect("coord runs");
    println!("{}", String::from_utf8_lossy(&check.stdout).lines().next().unwrap_or(""));
    if !check.status.success() {
        println!("no sandbox on this machine: nothing to measure");
        return;
    }
    let workspace = tempfile::tempdir().expect("temp dir");
    let mut policy = coord_sandbox::Policy::strict(workspace.path().to_path_buf());
    policy.readable = std::env::split_paths(&std::env::var("PATH").unwrap_or_default()).collect();
    policy.denied = coord_sandbox::DEFAULT_DENIED.iter().map(std::path::PathBuf::from).collect();
    policy.env = vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())];
    // As `coord_sandbox::command` hands it over: the readable folders worked out once.
    policy.readable = coord_sandbox::resolve_readable(&policy.readable, &policy.denied);
    policy.resolved = true;
    let (mut bare, mut boxed) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let t = Instant::now();
        assert!(Command::new("true").status().unwrap().success());
        bare.push(t.elapsed().as_secs_f64() * 1000.0);
        let json = serde_json::to_string(&policy).unwrap();
        let t = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_coord-sandbox"))
            .args([coord_sandbox::TRAMPOLINE_ARG, "1", &json, "--", "true"])
            .env_clear()
            .status()
            .unwrap();
        boxed.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(status.success());
    }
    bare.sort_by(f64::total_cmp);
    boxed.sort_by(f64::total_cmp);
    let (b50, b95, s50, s95) =
        (percentile(&bare, 0.5), percentile(&bare, 0.95), percentile(&boxed, 0.5), percentile(&boxed, 0.95));
    println!("`true`, 300 runs each:");
    println!("  bare:      median {b50:.2} ms, p95 {b95:.2} ms");
    println!("  sandboxed: median {s50:.2} ms, p95 {s95:.2} ms");
    println!("  cost:      median {:.2} ms, p95 {:.2} ms", s50 - b50, s95 - b95);
}
