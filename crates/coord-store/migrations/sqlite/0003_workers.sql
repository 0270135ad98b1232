-- Workers serving every run (`coord worker`) register here and renew their row with a beat;
-- `coord workers` lists them with their leases.
CREATE TABLE workers (
    id          TEXT PRIMARY KEY,         -- the lease owner name, coord-PID@HOST
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    state       TEXT NOT NULL,            -- running | stopping
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
);

-- Claiming across runs: ready tasks by rank, whatever their run.
CREATE INDEX tasks_claimable ON tasks (rank) WHERE state IN ('ready', 'retrying');
CREATE INDEX leases_by_expiry ON leases (expires_at);
