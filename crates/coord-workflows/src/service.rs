//! The service under test for the contract integration test: started from a shell command in a
//! process group of its own, waited for until its port accepts connections, and stopped with
//! its whole group (a `npm start` leaves children behind otherwise).

use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A started service; dropping it stops the process group.
#[derive(Debug)]
pub struct Service {
    child: Option<Child>,
}

/// Why a service could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The command could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The service exited before it listened.
    #[error("the service started by `{command}` exited ({status}) before it listened on {addr}")]
    Exited {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// The address waited for.
        addr: String,
    },
    /// It never listened.
    #[error("the service {who} never listened on {addr} within {secs}s")]
    Timeout {
        /// `started by `cmd`` or `at URL`.
        who: String,
        /// The address waited for.
        addr: String,
        /// The wait.
        secs: u64,
    },
    /// The base URL is not usable.
    #[error("base URL `{0}` is not an http(s) URL with a host")]
    BadUrl(String),
}

/// `host:port` of a base URL.
pub fn address_of(base_url: &str) -> Result<String, ServiceError> {
    let url = reqwest::Url::parse(base_url).map_err(|_| ServiceError::BadUrl(base_url.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ServiceError::BadUrl(base_url.to_string()));
    }
    let host = url.host_str().ok_or_else(|| ServiceError::BadUrl(base_url.to_string()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(format!("{host}:{port}"))
}

impl Service {
    /// Starts `command` (run by `sh -c`, in `dir`) unless it is `None`, then waits up to `wait`
    /// for `base_url`'s port to accept connections. Without a command the service must already
    /// be running.
    pub async fn start(
        command: Option<&str>,
        dir: &std::path::Path,
        base_url: &str,
        wait: Duration,
    ) -> Result<Service, ServiceError> {
        let addr = address_of(base_url)?;
        let mut service = Service { child: None };
        if let Some(cmd) = command {
            let child = Command::new("sh")
                .args(["-c", cmd])
                .current_dir(dir)
                .process_group(0)
                .kill_on_drop(true)
                .stdin(std::process::Stdio::null())
                .spawn()
                .map_err(|source| ServiceError::Spawn { command: cmd.to_string(), source })?;
            service.child = Some(child);
        }
        let deadline = Instant::now() + wait;
        loop {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return Ok(service);
            }
            if let (Some(cmd), Some(child)) = (command, service.child.as_mut())
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(ServiceError::Exited { command: cmd.to_string(), status: status.to_string(), addr });
            }
            if Instant::now() > deadline {
                let who = match command {
                    Some(cmd) => format!("started by `{cmd}`"),
                    None => format!("at {base_url}"),
                };
                return Err(ServiceError::Timeout { who, addr, secs: wait.as_secs() });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the service and everything in its process group.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ =
                    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
            }
            drop(child);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}
