"""The peer side of `cargo bench -p coord --bench dispatch`: the same plan file, run by Dask's
threaded scheduler (dask.threaded.get), which keeps nothing on disk.

usage: dask_dag.py PLAN.json MODE WORKERS
  MODE: noop (a Python function that returns), spawn (subprocess.run(["true"])),
        sleep (time.sleep of the task's simulated duration: estimate_hours * MS_PER_HOUR ms)
Prints one JSON line: {"secs": wall of graph building + execution, "tasks": n}.
"""

import json
import subprocess
import sys
import time

import dask
import dask.threaded

MS_PER_HOUR = 1000.0


def main():
    path, mode, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path) as f:
        plan = json.load(f)
    start = time.perf_counter()

    def noop(*_deps):
        return None

    def spawn(*_deps):
        subprocess.run(["true"], check=True)

    def sleeper(seconds):
        def run(*_deps):
            time.sleep(seconds)

        return run

    graph = {}
    for t in plan["tasks"]:
        if mode == "noop":
            fn = noop
        elif mode == "spawn":
            fn = spawn
        else:
            fn = sleeper(t.get("estimate_hours", 0.0) * MS_PER_HOUR / 1000.0)
        graph[t["id"]] = (fn, *t.get("depends_on", []))
    keys = list(graph)
    dask.threaded.get(graph, keys, num_workers=workers)
    secs = time.perf_counter() - start
    print(json.dumps({"secs": secs, "tasks": len(keys), "dask": dask.__version__}))


if __name__ == "__main__":
    main()
