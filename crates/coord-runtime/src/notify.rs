//! Level-4 notifications: the escalation goes to `tech-lead-orchestrator` as JSON, to a
//! configured command (on its stdin) and to a configured webhook (HTTP POST). The webhook URL
//! may carry a secret (Slack-style URLs do), so it can come from an environment variable and
//! is never printed: messages name only its host.

use crate::config::EscalationConfig;
use std::time::Duration;

/// Sends one escalation notice to every configured channel. Failures are warnings on stderr;
/// a broken notifier never stops a run.
pub async fn notify(config: &EscalationConfig, notice: &serde_json::Value) {
    if let Some((program, args)) = config.notify_command.split_first() {
        command(program, args, notice).await;
    }
    let url = config
        .webhook_url_env
        .as_deref()
        .and_then(|var| std::env::var(var).ok())
        .or_else(|| config.webhook.clone())
        .filter(|u| !u.trim().is_empty());
    if let Some(url) = url {
        webhook(&url, notice).await;
    }
}

async fn command(program: &str, args: &[String], notice: &serde_json::Value) {
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    match spawned {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                use tokio::io::AsyncWriteExt;
                let _ = stdin.write_all(notice.to_string().as_bytes()).await;
            }
            match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => eprintln!("coord: warning: escalation notifier `{program}` exited with {status}"),
                Ok(Err(e)) => eprintln!("coord: warning: escalation notifier `{program}` failed: {e}"),
                Err(_) => eprintln!("coord: warning: escalation notifier `{program}` took over 30 s and was stopped"),
            }
        }
        Err(e) => eprintln!("coord: warning: escalation notifier `{program}` failed to start: {e}"),
    }
}

/// The host of a URL, for messages that must not reveal the URL itself.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(String::from))
        .unwrap_or_else(|| "an invalid URL".to_string())
}

async fn webhook(url: &str, notice: &serde_json::Value) {
    let host = host_of(url);
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("coord: warning: cannot build the webhook client: {e}");
            return;
        }
    };
    let body = serde_json::json!({
        "text": format!(
            "coord escalation (level 4) for @tech-lead-orchestrator: task {} of run {}: {}",
            notice["task"].as_str().unwrap_or("?"),
            notice["run"].as_str().unwrap_or("?"),
            notice["reason"].as_str().unwrap_or("")
        ),
        "escalation": notice,
    });
    for attempt in 1..=3u32 {
        match client.post(url).json(&body).send().await {
            Ok(resp) if resp.status().is_success() => return,
            Ok(resp) if resp.status().is_client_error() && resp.status().as_u16() != 429 => {
                eprintln!("coord: warning: the escalation webhook at {host} refused the notice ({})", resp.status());
                return;
            }
            Ok(resp) => eprintln!(
                "coord: warning: the escalation webhook at {host} answered {} (try {attempt} of 3)",
                resp.status()
            ),
            // The error's text can contain the URL; only its kind is shown.
            Err(e) => eprintln!(
                "coord: warning: the escalation webhook at {host} could not be reached ({}; try {attempt} of 3)",
                if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                }
            ),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
}
