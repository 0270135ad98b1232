-- The durable record of runs on PostgreSQL: the same tables as the SQLite backend, in the
-- schema the connection's search_path names. Times are unix milliseconds (BIGINT), JSON
-- documents are TEXT (read back by serde, as on SQLite).

-- Tells a coord schema from another application's.
CREATE TABLE coord_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO coord_meta (key, value) VALUES ('application', 'coord');

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    objective   TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    state       TEXT NOT NULL,            -- running | done | failed | cancelled
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE tasks (
    run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task_id           TEXT NOT NULL,
    position          BIGINT NOT NULL,    -- order in the plan
    specialist        TEXT NOT NULL,
    state             TEXT NOT NULL,      -- pending | ready | running | gating | done | failed | retrying | escalated | blocked | cancelled
    rank              BIGINT NOT NULL,    -- dispatch order among ready tasks: critical path first
    remaining_deps    BIGINT NOT NULL,    -- dependencies not yet done
    attempts          BIGINT NOT NULL DEFAULT 0,
    escalation_level  BIGINT NOT NULL DEFAULT 0,
    failures_at_level BIGINT NOT NULL DEFAULT 0,
    not_before        BIGINT NOT NULL DEFAULT 0,   -- backoff: not dispatched before this time
    tried             TEXT NOT NULL DEFAULT '[]',  -- specialists tried (level-3 reassignment)
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE INDEX tasks_by_state ON tasks (run_id, state, rank);
-- What workers claim with FOR UPDATE SKIP LOCKED: ready tasks of any run, by rank.
CREATE INDEX tasks_claimable ON tasks (rank) WHERE state IN ('ready', 'retrying');

CREATE TABLE task_deps (
    run_id   TEXT NOT NULL,
    task_id  TEXT NOT NULL,               -- the dependent
    dep_id   TEXT NOT NULL,               -- what it waits for
    PRIMARY KEY (run_id, dep_id, task_id)
);

CREATE TABLE attempts (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    specialist  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    outcome     TEXT,                     -- succeeded | failed | interrupted | cancelled
    detail      TEXT,
    PRIMARY KEY (run_id, task_id, attempt)
);

CREATE TABLE leases (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    token       BIGINT NOT NULL,          -- fencing token: a result is accepted only with the current one
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE INDEX leases_by_expiry ON leases (expires_at);
CREATE INDEX leases_by_owner ON leases (owner);

CREATE TABLE gate_results (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    gate        TEXT NOT NULL,
    passed      BOOLEAN NOT NULL,
    report_json TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (run_id, task_id, attempt, gate)
);

CREATE TABLE escalations (
    id          BIGSERIAL PRIMARY KEY,
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    level       BIGINT NOT NULL,
    category    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,            -- open | resolved
    decision    TEXT,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT
);

-- Events of one run are inserted under a per-run advisory lock taken just before, so they
-- commit in sequence order and a reader following `seq` never misses one.
CREATE TABLE events (
    seq      BIGSERIAL PRIMARY KEY,
    run_id   TEXT NOT NULL,
    task_id  TEXT,
    at       BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_run ON events (run_id, seq);

CREATE TABLE feedback (
    seq      BIGSERIAL PRIMARY KEY,
    run_id   TEXT NOT NULL,
    task_id  TEXT NOT NULL,
    attempt  BIGINT NOT NULL,
    source   TEXT NOT NULL,
    text     TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX feedback_by_task ON feedback (run_id, task_id, seq);

CREATE TABLE workers (
    id          TEXT PRIMARY KEY,         -- the lease owner name, coord-PID@HOST
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    concurrency BIGINT NOT NULL,
    state       TEXT NOT NULL,            -- running | stopping
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
);
