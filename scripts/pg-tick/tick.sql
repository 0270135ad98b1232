-- One `coord worker` transaction of 48 no-op tasks, as the worker sends it (claims.rs, batch.rs,
-- writes.rs), for scripts/pg-tick/profile.sh. The finished batch is read back from the leases
-- this client holds, since pgbench cannot carry the claimed rows from one statement to the next.
BEGIN;
WITH picked AS (
  SELECT run_id, task_id FROM tasks WHERE state IN ('ready','retrying') AND not_before <= 1 ORDER BY rank LIMIT 48 FOR UPDATE SKIP LOCKED),
claimed AS (UPDATE tasks t SET state='running', attempts=t.attempts+1, updated_at=1 FROM picked p WHERE t.run_id=p.run_id AND t.task_id=p.task_id RETURNING t.run_id,t.task_id,t.specialist,t.attempts,t.rank),
opened AS (INSERT INTO attempts (run_id,task_id,attempt,specialist,owner,started_at) SELECT run_id,task_id,attempts,specialist,'w:client_id',1 FROM claimed),
leased AS (INSERT INTO leases (run_id,task_id,owner,token,expires_at) SELECT run_id,task_id,'w:client_id',attempts,99 FROM claimed ON CONFLICT (run_id,task_id) DO UPDATE SET owner=excluded.owner, token=excluded.token, expires_at=excluded.expires_at)
SELECT run_id, task_id FROM claimed;
WITH batch AS (SELECT run_id, task_id, token, '{"summary":"noop started_at_ms=1733412345678","files":[]}'::text AS detail FROM leases WHERE owner = 'w:client_id'),
held AS (DELETE FROM leases l USING batch b WHERE l.run_id=b.run_id AND l.task_id=b.task_id AND l.token=b.token RETURNING l.run_id,l.task_id,l.token,b.detail),
closed AS (UPDATE attempts a SET finished_at=2, outcome='succeeded', detail=h.detail FROM held h WHERE a.run_id=h.run_id AND a.task_id=h.task_id AND a.attempt=h.token),
marked AS (UPDATE tasks t SET state='done', updated_at=2 FROM held h WHERE t.run_id=h.run_id AND t.task_id=h.task_id),
counted AS (SELECT d.run_id,d.task_id,count(*) AS n FROM held h JOIN task_deps d ON d.run_id=h.run_id AND d.dep_id=h.task_id GROUP BY d.run_id,d.task_id)
SELECT count(*) FROM held;
SELECT (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(1, hashtext('bench'))) l), pg_notify('coord_ready','');
WITH settled AS (SELECT r AS run_id, CASE WHEN NOT EXISTS (SELECT 1 FROM tasks WHERE run_id=r AND state IN ('pending','ready','running','gating','retrying','escalated','failed','blocked','cancelled')) THEN 'done' END AS state FROM unnest(ARRAY['bench']) r),
changed AS (UPDATE runs SET state=s.state, updated_at=2 FROM settled s WHERE runs.id=s.run_id AND runs.state='running' AND s.state IS NOT NULL RETURNING runs.id)
INSERT INTO events (run_id, task_id, at, kind, data) SELECT 'bench', 't'||i, 2, CASE WHEN i%2=0 THEN 'task_claimed' ELSE 'task_done' END, '{"attempt":1,"owner":"coord-1234@host"}' FROM generate_series(1,96) i;
COMMIT;
