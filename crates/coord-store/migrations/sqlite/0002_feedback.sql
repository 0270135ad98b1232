-- Feedback that joins a task's next brief: the previous failure (level 1), a peer's answer
-- (level 2), the coordinator's review with the attempt history (level 3), a tech lead's decision.
CREATE TABLE feedback (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL,
    task_id  TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    source   TEXT NOT NULL,
    text     TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX feedback_by_task ON feedback (run_id, task_id, seq);

-- Specialists a task was tried with, for level-3 reassignment ("next best specialist").
ALTER TABLE tasks ADD COLUMN tried TEXT NOT NULL DEFAULT '[]';

-- Failures at the current escalation level: the policy grants `max_retries` at level 1, one
-- attempt after a consultation (2) and one after a reassignment (3) before parking (4).
ALTER TABLE tasks ADD COLUMN failures_at_level INTEGER NOT NULL DEFAULT 0;
