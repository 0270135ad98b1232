//! `coord`: the backend-coordinator command line. Parses arguments ([`cli`]), runs one
//! command ([`commands`]), and turns any error into one line on stderr and a non-zero exit: 2
//! for an error in what the user gave ([`InputError`], like clap's usage errors), else 1.

mod cli;
mod commands;
mod plan_file;
mod render;

use clap::Parser;
use std::process::ExitCode;

/// An error in what the user gave a command (a plan file, a run id, `coord.toml`), as opposed to
/// one in carrying it out: the command exits 2, as on a usage error. Its message and causes are
/// the wrapped error's.
#[derive(Debug)]
pub struct InputError(anyhow::Error);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Marks an error as the user's input's (exit 2).
pub fn input_error(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(InputError(e.into()))
}

/// Long-running commands run with one glibc malloc arena. By default glibc gives threads that
/// contend for the allocator arenas of their own (up to 8 per core), each keeping freed memory:
/// a 10,000-task `coord run` peaked at 68 MB with 16 arenas, 61 MB with one
/// (`cargo bench -p coord --bench dispatch`, with and without `MALLOC_ARENA_MAX=16`). glibc reads `MALLOC_ARENA_MAX` only when
/// a process starts, and this crate has no `unsafe` for `mallopt`, so coord starts itself again
/// (`exec`: the same process id, arguments and descriptors) with it set. A value the user set is
/// kept; where the exec fails, coord goes on as it is.
fn one_malloc_arena() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let Some(arg0) = args.next() else { return };
    // `exec` only returns on failure.
    let _failed = std::process::Command::new(exe).arg0(arg0).args(args).env("MALLOC_ARENA_MAX", "1").exec();
}

fn main() -> ExitCode {
    // `coord __sandbox ...`: this process is the trampoline of a sandboxed command; it never
    // returns from here.
    coord_sandbox::enter();
    if let Ok(exe) = std::env::current_exe() {
        // The small trampoline installed beside coord starts faster than coord itself.
        let small = exe.with_file_name("coord-sandbox");
        coord_sandbox::set_launcher(if small.is_file() { small } else { exe });
    }
    // A panic is a bug, but a user still gets one line instead of a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("coord: internal error: {message}{place} (please report this)");
    }));
    let cli = cli::Cli::parse();
    if matches!(
        cli.command,
        cli::Command::Run(_)
            | cli::Command::Resume(_)
            | cli::Command::Worker(_)
            | cli::Command::Serve(_)
            | cli::Command::Mcp(_)
    ) {
        one_malloc_arena();
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One line: the error and its causes, outermost first.
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("coord: error: {}", chain.join(": "));
            let input = err.chain().any(|e| e.is::<InputError>());
            ExitCode::from(if input { 2 } else { 1 })
        }
    }
}
