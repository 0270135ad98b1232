//! What every run-related command needs: the project folder, its configuration, its roster,
//! and the store (a tokio runtime drives the async store and scheduler). The store is named by
//! `--db` (a path or a `postgres://` URL), else `COORD_DB`, else `COORD_DATABASE_URL`, else
//! `.coord/coord.db` in the project; `coord_store::open_store` decides the backend.

use super::roster_with_warnings;
use crate::cli::StoreArgs;
use anyhow::{Context, Result, anyhow};
use coord_core::Roster;
use coord_runtime::Config;
use coord_store::{AnyStore, Store, open_store};
use std::path::PathBuf;

/// The opened project.
pub struct Project {
    /// The project folder (target repository).
    pub dir: PathBuf,
    /// `coord.toml`.
    pub config: Config,
    /// The roster (built-in plus the project's agents).
    pub roster: Roster,
    /// The store.
    pub store: AnyStore,
    /// Where attempt files go: `.coord/runs` beside an SQLite database, in the project for
    /// PostgreSQL.
    pub runs_dir: PathBuf,
}

impl Project {
    /// The engine over this project's store, roster and configuration.
    pub fn runtime(&self) -> coord_runtime::Runtime<AnyStore> {
        coord_runtime::Runtime::new(
            self.store.clone(),
            self.roster.clone(),
            self.config.clone(),
            self.dir.clone(),
            self.runs_dir.clone(),
        )
    }
}

/// A multi-threaded tokio runtime for one command.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// The runtime of `coord run` and `coord resume`. When no specialist of the project's
/// `coord.toml` spawns processes (people, LLM APIs, the coordinator's workflow steps, the bench
/// executors), the run waits on the store and the network: a runtime on the calling thread saves
/// the hand-offs between runtime threads that every store call and attempt end otherwise pay
/// (a 10,000-task no-op run: 2.4 s → 1.7–1.9 s on 2 cores, `cargo bench -p coord --bench
/// dispatch`). Commands and agent CLIs are spawned faster from several threads (the same DAG of
/// `true` commands took 20–40% longer on one), so those runs, and a `coord.toml` that cannot be
/// read (the run reports why), keep the multi-threaded runtime. Gate scans and folder snapshots
/// run on the blocking pool either way.
pub fn drive_runtime(args: &StoreArgs) -> Result<tokio::runtime::Runtime> {
    use coord_runtime::ExecutorKind;
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = args.config.clone().unwrap_or_else(|| dir.join("coord.toml"));
    let spawns = Config::load(&path).map_or(true, |config| {
        config.specialists.values().any(|s| {
            !matches!(
                s.executor,
                ExecutorKind::Manual
                    | ExecutorKind::Llm
                    | ExecutorKind::Workflow
                    | ExecutorKind::Noop
                    | ExecutorKind::Sleep
            )
        })
    });
    if spawns {
        return tokio_runtime();
    }
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

/// The SQLite file a read-only command would open, when the store is one and it does not
/// exist: such a command must not create it (nor its folders).
pub fn missing_database(args: &StoreArgs) -> Option<PathBuf> {
    let spec = args.db.clone().or_else(|| std::env::var("COORD_DATABASE_URL").ok().filter(|u| !u.is_empty()));
    let path = match spec {
        Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => return None,
        Some(s) => PathBuf::from(s),
        None => args.repo.clone().unwrap_or_else(|| PathBuf::from(".")).join(".coord").join("coord.db"),
    };
    (!path.exists()).then_some(path)
}

/// Opens the project and its store.
pub async fn open(args: &StoreArgs) -> Result<Project> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        return Err(anyhow!("project folder {} does not exist", dir.display()));
    }
    let dir = std::fs::canonicalize(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let config_path = args.config.clone().unwrap_or_else(|| dir.join("coord.toml"));
    let config = Config::load(&config_path)?;
    let roster = roster_with_warnings(Some(&dir)).roster;
    let spec = args
        .db
        .clone()
        .or_else(|| std::env::var("COORD_DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| dir.join(".coord").join("coord.db").display().to_string());
    let store = open_store(&spec).await?;
    let runs_dir = match &store {
        AnyStore::Postgres(_) => dir.join(".coord").join("runs"),
        AnyStore::Sqlite(_) => {
            let db = std::path::Path::new(&spec);
            db.parent().map(|p| p.join("runs")).unwrap_or_else(|| dir.join(".coord").join("runs"))
        }
    };
    Ok(Project { dir, config, roster, store, runs_dir })
}

/// The run a task belongs to: `--run`, else the newest running run that has the task.
pub async fn run_of_task(store: &AnyStore, run: Option<&str>, task: &str) -> Result<String> {
    if let Some(run) = run {
        return Ok(run.to_string());
    }
    for r in store.runs().await? {
        if r.state == coord_store::RunState::Running && store.tasks(&r.id).await?.iter().any(|t| t.task_id == task) {
            return Ok(r.id);
        }
    }
    Err(anyhow!("no running run has a task `{task}` (give --run RUN; `coord status` lists runs)"))
}

/// The newest run, for commands where the run is optional.
pub async fn newest_run(store: &AnyStore, run: Option<&str>) -> Result<String> {
    if let Some(run) = run {
        return Ok(run.to_string());
    }
    store
        .runs()
        .await?
        .into_iter()
        .next()
        .map(|r| r.id)
        .ok_or_else(|| anyhow!("there are no runs yet (start one with coord run)"))
}
