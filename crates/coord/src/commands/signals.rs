//! Stop requests for the commands that work until they are done or stopped (`coord run`,
//! `coord resume`, `coord worker`): the first Ctrl-C (SIGINT) or SIGTERM asks the command to stop
//! gracefully, a second one ends it at once. A command ended by a signal exits with 128 + the
//! signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM (see
//! `docs/exit-codes.md`).

use anyhow::{Context, Result};
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long the runtime waits, after the command's work is dropped, for blocking work (a gate's
/// scan, a file lock) before the process exits anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// A signal that asks coord to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM (`kill`, `docker stop`, systemd, a CI timeout).
    Terminate,
}

impl StopSignal {
    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    /// The exit status of a command it ended: 128 + the signal's number.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        })
    }
}

/// Ctrl-C and SIGTERM, from the moment they are listened for (their default action, ending the
/// process, is then off).
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn listen() -> Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }
}

/// Runs `work` on `runtime` with stop requests wired: on the first Ctrl-C or SIGTERM,
/// `on_first` is called (it asks the work to stop gracefully, and the work then ends on its own);
/// on a second one the work is dropped at once (attempts under way are dropped with it, which
/// kills their process groups) and the command exits with that signal's status. The runtime is
/// then shut down without waiting more than [`SHUTDOWN_WAIT`] for blocking work.
pub fn until_stopped<Fut>(
    runtime: tokio::runtime::Runtime,
    work: Fut,
    on_first: impl FnOnce(StopSignal) + Send + 'static,
) -> Result<ExitCode>
where
    Fut: Future<Output = Result<ExitCode>>,
{
    let out = runtime.block_on(async {
        let mut signals = StopSignals::listen()?;
        let (now_tx, now_rx) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(async move {
            on_first(signals.next().await);
            let _ = now_tx.send(signals.next().await);
        });
        let out = tokio::select! {
            out = work => out,
            Ok(second) = now_rx => {
                eprintln!("coord: {} again: exiting now", second.name());
                Ok(second.exit_code())
            }
        };
        listener.abort();
        out
    });
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    out
}
