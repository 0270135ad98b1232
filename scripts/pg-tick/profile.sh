#!/usr/bin/env bash
# Where a `coord worker` tick spends PostgreSQL's time: builds coord's schema (the store's own
# migrations) in a scratch schema, fills it with N ready tasks of one run, and runs pgbench -r on
# tick.sql (a copy of the worker's statements for one transaction of 48 no-op tasks: claim with
# attempts and leases, the results set-based, the run's lock, settling and the events, commit),
# printing each statement's mean latency. One client, so the figures are PostgreSQL's time per
# tick without contention. Keep tick.sql in step with crates/coord-store/src/postgres/{claims,
# batch,writes}.rs when they change.
#
#   bash scripts/pg-tick/profile.sh [URL] [TICKS]   (default: postgres://postgres@127.0.0.1:5432/test, 300)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
url="${1:-postgres://postgres@127.0.0.1:5432/test}"
ticks="${2:-300}"
schema="coord_pg_tick_$$"
n=$(( ticks * 48 + 48 ))
migrations="$here/../../crates/coord-store/migrations/postgres"
command -v pgbench >/dev/null || { echo "pg-tick: pgbench is not installed (Debian: postgresql-client)" >&2; exit 1; }
trap 'psql -q "$url" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT
{
  echo "CREATE SCHEMA $schema; SET search_path = $schema;"
  cat "$migrations"/*.sql
  echo "INSERT INTO runs VALUES ('bench', 'o', '{}', 'running', 0, 0);"
  echo "INSERT INTO tasks (run_id, task_id, position, specialist, state, rank, remaining_deps, updated_at)
        SELECT 'bench', 't' || i, i, 'nodejs-expert', 'ready', i, 0, 0 FROM generate_series(1, $n) i;"
  echo "VACUUM ANALYZE;"
} | psql -q -v ON_ERROR_STOP=1 "$url" >/dev/null
PGOPTIONS="-c search_path=$schema" pgbench -n -r -f "$here/tick.sql" -t "$ticks" -c 1 "$url" 2>&1 \
  | grep -E '^(tps|latency average)|^ +[0-9]' | cut -c1-110
