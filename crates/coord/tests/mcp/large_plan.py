"""A real MCP client (the `mcp` package from PyPI) reading a 20,000-task run through `coord mcp`:
`list_tasks` a page at a time until `next_cursor` is null, the resources listed page by page
with `nextCursor`, and the whole plan read as one resource (a reply larger than any page, which
must arrive whole). Every answer is checked by the client against the tool's output schema.
Prints one JSON summary line.

usage: large_plan.py COORD_BINARY PROJECT_DIR RUN
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


async def main(binary, project, run):
    params = StdioServerParameters(command=binary, args=["mcp", "--repo", project])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            seen, pages, cursor, largest = [], 0, None, 0
            while True:
                args = {"run": run, "limit": 5000}
                if cursor is not None:
                    args["cursor"] = cursor
                result = await session.call_tool("list_tasks", args)
                if result.is_error:
                    fail(f"list_tasks page {pages}: {result.content}")
                page = result.structured_content
                largest = max(largest, len(json.dumps(page)))
                pages += 1
                seen.extend(t["task"] for t in page["tasks"])
                if page["total"] != 20000:
                    fail(f"total {page['total']}")
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                if pages > 10:
                    fail("list_tasks does not end")
            if len(seen) != 20000 or len(set(seen)) != 20000:
                fail(f"list_tasks gave {len(seen)} tasks, {len(set(seen))} distinct")
            bad = await session.call_tool("list_tasks", {"run": run, "cursor": "not-a-cursor"})
            if not bad.is_error:
                fail("a made-up cursor was accepted")

            uris, resource_pages, cursor = set(), 0, None
            while True:
                listed = await session.list_resources(params=types.PaginatedRequestParams(cursor=cursor))
                resource_pages += 1
                uris.update(str(r.uri) for r in listed.resources)
                cursor = listed.next_cursor
                if cursor is None:
                    break
                if resource_pages > 100:
                    fail("the resource list does not end")
            briefs = [u for u in uris if u.endswith("/brief")]
            plan_uri = f"coord://runs/{run}/plan"
            if plan_uri not in uris or len(briefs) != 20000:
                fail(f"resources: {len(uris)} listed, {len(briefs)} briefs")

            plan = await session.read_resource(plan_uri)
            text = plan.contents[0].text
            parsed = json.loads(text)
            if len(parsed["tasks"]) != 20000:
                fail(f"the plan resource holds {len(parsed['tasks'])} tasks")
            brief = await session.read_resource(f"coord://runs/{run}/tasks/t19999/brief")
            if "t19999" not in brief.contents[0].text:
                fail("the last task's brief")
            print(json.dumps({
                "ok": True, "tasks": len(seen), "task_pages": pages, "largest_page_bytes": largest,
                "resource_pages": resource_pages, "plan_bytes": len(text),
            }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
