"""A real MCP client (the `mcp` package from PyPI) driving `coord mcp` over stdio: initialise,
list the tools and their input schemas, plan the spec's example, and work every task to done
through the tools, with one escalation decided on the way. Prints one JSON summary line.

usage: drive_plan.py COORD_BINARY PROJECT_DIR
"""

import asyncio
import json
import sys

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
    result = await session.call_tool(name, args)
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    if result.is_error:
        return None, text
    try:
        return json.loads(text), None
    except json.JSONDecodeError:
        return text, None


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
            submit = next(t for t in tools if t.name == "submit_result").input_schema
            if "task" not in submit.get("required", []) or "artifacts" not in submit.get("properties", {}):
                fail(f"submit_result schema: {submit}")

            plan, err = await call(session, "plan_objective",
                                   {"objective": "Add user authentication system with OAuth2 and JWT", "planner": "rules"})
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
                    decided, err = await call(session, "resolve_escalation",
                                              {"id": out["escalation_id"], "decision": "retry"})
                    if err or decided["state"] != "resolved":
                        fail(f"resolve_escalation: {err or decided}")
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
            }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
