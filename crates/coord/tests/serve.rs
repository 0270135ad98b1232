//! `coord serve` as a process: it refuses a non-loopback address without a token, serves with
//! one, and the token never appears in its output, its answers or the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use support::Project;

const CANARY: &str = "canary-serve-token-0123456789abcdef";

fn request(addr: &str, head: &str) -> String {
    send(addr, head, "")
}

fn send(addr: &str, head: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n{body}").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_refuses_open_addresses_without_a_token() {
    let p = Project::new();
    let out = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["serve", "--addr", "0.0.0.0:0"])
        .current_dir(p.path())
        .env_remove("COORD_SERVER_TOKEN")
        .env_remove("COORD_DB")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0") && err.contains("token"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(p.path())
        .env("COORD_SERVER_TOKEN", "short")
        .env_remove("COORD_DB")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"), "weak tokens are refused");
}

#[test]
fn the_token_guards_the_served_api_and_is_never_written() {
    let p = Project::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(p.path())
        .env("COORD_SERVER_TOKEN", CANARY)
        .env_remove("COORD_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();
    let denied = request(&addr, "GET /runs HTTP/1.1");
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    let wrong = request(&addr, &format!("GET /runs HTTP/1.1\r\nAuthorization: Bearer {}", &CANARY[1..]));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let body = r#"{"objective":"Add user authentication system with OAuth2 and JWT","planner":"rules"}"#;
    let created = send(
        &addr,
        &format!(
            "POST /runs HTTP/1.1\r\nAuthorization: Bearer {CANARY}\r\nContent-Type: application/json\r\nContent-Length: {}",
            body.len()
        ),
        body,
    );
    assert!(created.contains("201 Created"), "{created}");
    let listed = request(&addr, &format!("GET /runs HTTP/1.1\r\nAuthorization: bearer {CANARY}"));
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let metrics = request(&addr, &format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {CANARY}"));
    assert!(metrics.contains("backend_tasks_completed"), "{metrics}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM stops it cleanly: {status:?} {rest}");
    let mut everything = format!("{line}{rest}{denied}{wrong}{created}{listed}{metrics}");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    everything.push_str(&out);
    assert!(!everything.contains(CANARY), "the token was printed or returned");
    for entry in walk(&p.path().join(".coord")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "the token is in {}", entry.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
