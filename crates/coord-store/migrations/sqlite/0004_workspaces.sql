-- Workspaces: the git state of a run (task_id '': start commit, integration branch) and of each
-- task (base, branch head, where its next attempt starts, the merge that integrated it), as the
-- runtime's JSON. Written together with a `workspace` event, fenced by the task's lease when the
-- writer holds one, so a coordinator that lost its lease cannot move a task's record.
CREATE TABLE workspaces (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    state_json  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
