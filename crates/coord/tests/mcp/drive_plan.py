"""A real MCP client (the `mcp` package from PyPI) driving `coord mcp` over stdio: initialise,
list the tools and their input schemas, plan the spec's example, and work every task to done
through the tools, with one escalation decided on the way (the plan without the coordination
workflows: every task is the host's). Then a second run with the workflows: the host writes the
OpenAPI document, the coordinator publishes it by itself (its own task, executed in the
background by `coord mcp`) and the frontend review becomes ready for the host. Prints one JSON
summary line.

usage: drive_plan.py COORD_BINARY PROJECT_DIR
"""

import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

EXPECTED = {
    "plan_objective", "list_tasks", "next_ready_tasks", "get_brief", "claim_task",
    "submit_result", "escalate", "resolve_escalation", "run_gates", "metrics",
}


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


async def call(session, name, args):
    # The client validates structuredContent against the tool's outputSchema here.
    result = await session.call_tool(name, args)
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    if result.is_error:
        return None, text
    if name == "get_brief":
        if result.structured_content is not None:
            fail(f"get_brief answered structured content: {result.structured_content!r}")
        return text, None
    if result.structured_content is None or json.loads(text) != result.structured_content:
        fail(f"{name}: the text and the structured content differ: {text[:500]!r}")
    return result.structured_content, None


# The lint-clean OpenAPI document of one operation the contract tests share.
USERS_API_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "../../../coord-workflows/tests/fixtures/contracts/users-api.yaml")


async def contract_phase(session, project):
    """A run with the API contract workflow: the host is the api-architect, the coordinator
    publishes the contract on its own, then the review waits for the frontend side."""
    plan, err = await call(session, "plan_objective",
                           {"objective": "Add a users REST API endpoint", "planner": "rules"})
    if err:
        fail(f"plan_objective (workflows): {err}")
    run = plan["run"]
    by_specialist = {t["specialist"]: t["task"] for t in plan["tasks"]}
    for needed in ("api-architect", "backend-coordinator", "frontend-coordinator"):
        if needed not in by_specialist:
            fail(f"the contract workflow is missing @{needed}: {plan['tasks']}")
    ready, err = await call(session, "next_ready_tasks", {"run": run})
    if err or [t["specialist"] for t in ready["ready"]] != ["api-architect"]:
        fail(f"first ready task: {err or ready}")
    design = ready["ready"][0]["task"]
    os.makedirs(os.path.join(project, "api"), exist_ok=True)
    with open(USERS_API_FILE) as src, open(os.path.join(project, "api", "openapi.yaml"), "w") as f:
        f.write(src.read())
    _, err = await call(session, "claim_task", {"run": run, "task": design})
    if err:
        fail(f"claim_task {design}: {err}")
    out, err = await call(session, "submit_result", {"run": run, "task": design,
                          "summary": "the users API", "artifacts": ["api/openapi.yaml"]})
    if err or not out["accepted"]:
        fail(f"submit_result {design}: {err or out}")
    # The coordinator's publish step is not the host's work: it never shows as ready, it runs
    # in the background, and then the frontend review is ready.
    deadline = time.monotonic() + 30
    while True:
        ready, err = await call(session, "next_ready_tasks", {"run": run})
        if err:
            fail(f"next_ready_tasks: {err}")
        names = [t["specialist"] for t in ready["ready"]]
        if "backend-coordinator" in names:
            fail(f"the coordinator's own task was offered to the host: {ready}")
        if "frontend-coordinator" in names:
            break
        if time.monotonic() > deadline:
            listed, _ = await call(session, "list_tasks", {"run": run})
            fail(f"the review never became ready: {listed}")
        await asyncio.sleep(0.2)
    listed, _ = await call(session, "list_tasks", {"run": run})
    publish = next(t["task"] for t in plan["tasks"] if t["title"].startswith("Publish"))
    states = {t["task"]: t["state"] for t in listed["tasks"]}
    contracts = os.path.join(project, "contracts")
    files = sorted(os.listdir(os.path.join(contracts, os.listdir(contracts)[0]))) if os.path.isdir(contracts) else []
    return {"publish_task": publish, "publish_state": states.get(publish), "contract_files": files}


async def main(binary, project):
    params = StdioServerParameters(command=binary, args=["mcp", "--repo", project, "--as", "pytest-host"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = (await session.list_tools()).tools
            names = {t.name for t in tools}
            if names != EXPECTED:
                fail(f"tools: {sorted(names)}")
            for t in tools:
                schema = t.input_schema
                if not isinstance(schema, dict) or schema.get("type") != "object":
                    fail(f"{t.name} has no object input schema: {schema}")
            # Every tool has a title and says whether it only reads (hosts auto-approve those) or
            # changes the run, and whether a change can destroy work.
            read_only = {"list_tasks", "next_ready_tasks", "get_brief", "run_gates", "metrics"}
            for t in tools:
                ann = t.annotations
                if not t.title or ann is None or ann.read_only_hint is None or ann.open_world_hint is not False:
                    fail(f"{t.name} lacks a title or annotations: {t.title!r} {ann!r}")
                if ann.read_only_hint != (t.name in read_only):
                    fail(f"{t.name}: readOnlyHint is {ann.read_only_hint}")
                if t.name not in read_only and ann.destructive_hint != (t.name == "resolve_escalation"):
                    fail(f"{t.name}: destructiveHint is {ann.destructive_hint}")
            # Every JSON answer has an output schema (the client checks each structuredContent
            # against it on every call below); the brief is Markdown text.
            for t in tools:
                has = isinstance(t.output_schema, dict) and t.output_schema.get("type") == "object"
                if has != (t.name != "get_brief"):
                    fail(f"{t.name}: output schema {t.output_schema!r}")
            submit = next(t for t in tools if t.name == "submit_result").input_schema
            if "task" not in submit.get("required", []) or "artifacts" not in submit.get("properties", {}):
                fail(f"submit_result schema: {submit}")

            plan, err = await call(session, "plan_objective",
                                   {"objective": "Add user authentication system with OAuth2 and JWT", "planner": "rules",
                                    "workflows": False})
            if err:
                fail(f"plan_objective: {err}")
            run = plan["run"]

            # A bad call is a tool error naming the problem, and the session goes on.
            _, err = await call(session, "get_brief", {"run": run, "task": "backend-T999"})
            if not err or "backend-T999" not in err:
                fail(f"unknown task: {err}")

            resources = (await session.list_resources()).resources
            uris = {str(r.uri) for r in resources}
            if f"coord://runs/{run}/plan" not in uris:
                fail(f"resources: {sorted(uris)}")
            plan_doc = await session.read_resource(f"coord://runs/{run}/plan")
            if "backend-T001" not in plan_doc.contents[0].text:
                fail("plan resource")
            brief_doc = await session.read_resource(f"coord://runs/{run}/tasks/backend-T001/brief")
            if "DELEGATION TO: @api-architect" not in brief_doc.contents[0].text:
                fail("brief resource")

            escalated = False
            steps = 0
            while steps < 40:
                steps += 1
                ready, err = await call(session, "next_ready_tasks", {"run": run})
                if err:
                    fail(f"next_ready_tasks: {err}")
                if not ready["ready"]:
                    break
                task = ready["ready"][0]["task"]
                brief, err = await call(session, "get_brief", {"run": run, "task": task})
                if err or task not in brief:
                    fail(f"get_brief {task}: {err}")
                claimed, err = await call(session, "claim_task", {"run": run, "task": task})
                if err:
                    fail(f"claim_task {task}: {err}")
                if task == "backend-T003" and not escalated:
                    escalated = True
                    out, err = await call(session, "escalate", {"run": run, "task": task,
                                          "reason": "refresh tokens need a revocation list", "category": "architecture"})
                    if err or out["next"]["action"] != "escalated" or out["next"]["level"] != 4:
                        fail(f"escalate: {err or out}")
                    advice = "keep a revocation list in Redis keyed by token id"
                    decided, err = await call(session, "resolve_escalation",
                                              {"id": out["escalation_id"], "decision": "retry", "note": advice})
                    if err or decided["state"] != "resolved" or decided["note"] != advice:
                        fail(f"resolve_escalation: {err or decided}")
                    # The note joins the task's next brief.
                    brief, err = await call(session, "get_brief", {"run": run, "task": task})
                    if err or advice not in brief:
                        fail(f"the decision's note is not in the next brief: {err or brief}")
                    continue
                out, err = await call(session, "submit_result",
                                      {"run": run, "task": task, "summary": f"{task} done by the host", "artifacts": []})
                if err or not out["accepted"]:
                    fail(f"submit_result {task}: {err or out}")

            listed, _ = await call(session, "list_tasks", {"run": run})
            metrics, _ = await call(session, "metrics", {"run": run})
            gates, err = await call(session, "run_gates", {"gates": ["security"]})
            if err:
                fail(f"run_gates: {err}")
            published = await contract_phase(session, project)
            print(json.dumps({
                "ok": True,
                "server": init.server_info.name,
                "run": run,
                "state": listed["state"],
                "done": sum(1 for t in listed["tasks"] if t["state"] == "done"),
                "escalated": escalated,
                "completed": metrics["backend_tasks_completed"],
                "gates_passed": gates["passed"],
                "steps": steps,
                "published": published,
            }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
