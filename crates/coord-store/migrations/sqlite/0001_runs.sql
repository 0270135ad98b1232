-- The durable record of runs. Every state change of a task is written together with the event
-- that announces it, in one transaction (see src/sqlite.rs).

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    objective   TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    state       TEXT NOT NULL,            -- running | done | failed | cancelled
    created_at  INTEGER NOT NULL,         -- unix milliseconds
    updated_at  INTEGER NOT NULL
);

CREATE TABLE tasks (
    run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task_id         TEXT NOT NULL,
    position        INTEGER NOT NULL,     -- order in the plan
    specialist      TEXT NOT NULL,
    state           TEXT NOT NULL,        -- pending | ready | running | gating | done | failed | retrying | escalated | blocked | cancelled
    rank            INTEGER NOT NULL,     -- dispatch order among ready tasks: critical path first, then priority
    remaining_deps  INTEGER NOT NULL,     -- dependencies not yet done
    attempts        INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    not_before      INTEGER NOT NULL DEFAULT 0, -- backoff: not dispatched before this time
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE INDEX tasks_by_state ON tasks (run_id, state, rank);

CREATE TABLE task_deps (
    run_id   TEXT NOT NULL,
    task_id  TEXT NOT NULL,               -- the dependent
    dep_id   TEXT NOT NULL,               -- what it waits for
    PRIMARY KEY (run_id, dep_id, task_id)
);

CREATE TABLE attempts (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    specialist  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT,                     -- succeeded | failed | interrupted | cancelled
    detail      TEXT,
    PRIMARY KEY (run_id, task_id, attempt)
);

CREATE TABLE leases (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    token       INTEGER NOT NULL,         -- fencing token: a result is accepted only with the current one
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);

CREATE TABLE gate_results (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    gate        TEXT NOT NULL,
    passed      INTEGER NOT NULL,
    report_json TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id, attempt, gate)
);

CREATE TABLE escalations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    level       INTEGER NOT NULL,
    category    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,            -- open | resolved
    decision    TEXT,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER
);

CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL,
    task_id  TEXT,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_run ON events (run_id, seq);
