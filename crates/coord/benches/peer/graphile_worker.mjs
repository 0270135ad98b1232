// The peer of `cargo bench -p coord --bench workers`: one graphile-worker process running no-op
// jobs, as `coord worker` runs no-op tasks. Installed by the bench into
// target/bench-peers/graphile-worker (npm), run with the machine's Node.js.
//
//   node graphile_worker.mjs migrate CONNECTION SCHEMA
//   node graphile_worker.mjs work CONNECTION SCHEMA CONCURRENCY defaults|batched OUT_FILE
//
// `work` prints "ready" once it is connected and looking for jobs; on SIGTERM it stops, writes the
// claim-to-start latency of every job it ran (milliseconds from `locked_at`, set when the job was
// locked for this worker, to the task function starting) to OUT_FILE as JSON, and exits.
import { Logger, run, runMigrations } from "graphile-worker";
import { writeFileSync } from "node:fs";

const [mode, connectionString, schema, concurrencyText, batching, out] = process.argv.slice(2);
// Job completions are logged at info level by default; a silent logger keeps the comparison
// about the queue (coord workers run with --quiet).
const logger = new Logger(() => () => {});

if (mode === "migrate") {
  await runMigrations({ connectionString, schema, logger });
  process.exit(0);
}

const concurrency = Number(concurrencyText);
const latencies = [];
// "batched": the settings graphile-worker's performance guide gives for high throughput (a local
// queue fetched in batches, completions batched); "defaults": one job per fetch and per completion.
const preset =
  batching === "batched"
    ? { worker: { localQueue: { size: Math.max(2, concurrency * 4) }, completeJobBatchDelay: 0 } }
    : {};
const runner = await run({
  connectionString,
  schema,
  concurrency,
  maxPoolSize: concurrency + 2,
  pollInterval: 1000,
  noHandleSignals: true,
  logger,
  preset,
  taskList: {
    noop: async (_payload, helpers) => {
      latencies.push(Date.now() - new Date(helpers.job.locked_at).getTime());
    },
  },
});
console.log("ready");

process.on("SIGTERM", async () => {
  await runner.stop();
  writeFileSync(out, JSON.stringify(latencies));
  process.exit(0);
});
