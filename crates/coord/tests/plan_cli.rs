//! `coord plan`, `validate`, `brief`, `agents` and `schema` from the command line: the spec's
//! example, the JSON contract, hand-edited plan files, stack detection from a repository, and
//! one clear error line for every kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::Project;

const EXAMPLE: &str = "Add user authentication system with OAuth2 and JWT";

fn one_error_line(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("coord: error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    lines[0].to_string()
}

#[test]
fn the_json_plan_has_the_documented_shape_and_round_trips_through_validate() {
    let p = Project::new();
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["plan", EXAMPLE, "--format", "json"])).unwrap();
    assert_eq!(json["objective"], EXAMPLE);
    assert_eq!(json["analysis"]["facets"], serde_json::json!(["api", "database", "auth", "integrations"]));
    assert_eq!(json["analysis"]["stack"]["specialist"], "nodejs-expert");
    for key in ["endpoints", "requirements", "integrations"] {
        assert!(json["analysis"][key].is_array(), "{key}");
    }
    let tasks = json["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 13);
    for t in tasks {
        for key in [
            "id",
            "title",
            "specialist",
            "depends_on",
            "priority",
            "objective",
            "requirements",
            "acceptance_criteria",
            "blocks",
            "context",
            "expected_output",
            "success_criteria",
        ] {
            assert!(!t[key].is_null(), "task field {key}");
        }
    }
    assert_eq!(json["groups"][0], serde_json::json!(["backend-T001", "backend-T002"]));
    assert!(json["critical_path"].is_array());

    p.ok(&["plan", EXAMPLE, "--out", "plan.yaml"]);
    let out = p.ok(&["validate", "plan.yaml"]);
    assert!(out.contains("valid plan: 13 tasks, 9 parallel groups"), "{out}");
    p.ok(&["plan", EXAMPLE, "--out", "plan.json"]);
    p.ok(&["validate", "plan.json"]);
}

#[test]
fn hand_edited_plans_get_precise_errors() {
    let p = Project::new();
    p.ok(&["plan", EXAMPLE, "--out", "plan.json"]);
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("plan.json")).unwrap()).unwrap();

    let mut cycle = original.clone();
    cycle["tasks"][0]["depends_on"] = serde_json::json!(["backend-T008"]);
    p.write("cycle.json", &cycle.to_string());
    let line = one_error_line(&p.coord(&["validate", "cycle.json"]));
    assert!(
        line.contains("dependency cycle: ") && line.contains("backend-T001") && line.contains("backend-T008"),
        "{line}"
    );

    let mut unknown = original.clone();
    unknown["tasks"][2]["specialist"] = serde_json::json!("cobol-expert");
    p.write("unknown.json", &unknown.to_string());
    let line = one_error_line(&p.coord(&["validate", "unknown.json"]));
    assert!(line.contains("backend-T003") && line.contains("cobol-expert"), "{line}");

    let typo =
        std::fs::read_to_string(p.path().join("plan.json")).unwrap().replacen("\"depends_on\"", "\"depend_on\"", 1);
    p.write("typo.json", &typo);
    let line = one_error_line(&p.coord(&["validate", "typo.json"]));
    assert!(line.contains("typo.json:") && line.contains("depend_on"), "{line}");

    std::fs::write(p.path().join("latin1.yaml"), b"objective: caf\xe9\ntasks: []\n").unwrap();
    let line = one_error_line(&p.coord(&["validate", "latin1.yaml"]));
    assert!(line.contains("latin1.yaml:1") && line.contains("UTF-8"), "{line}");

    std::fs::create_dir(p.path().join("folder.json")).unwrap();
    assert!(one_error_line(&p.coord(&["validate", "folder.json"])).contains("is a folder"));
    assert!(one_error_line(&p.coord(&["validate", "missing.json"])).contains("missing.json"));
}

#[test]
fn bad_objectives_and_flags_get_one_clear_line() {
    let p = Project::new();
    assert!(one_error_line(&p.coord(&["plan", "   "])).contains("objective is empty"));
    p.write("huge.txt", &"add an endpoint ".repeat(70_000));
    let line = one_error_line(&p.coord(&["plan", "--objective-file", "huge.txt"]));
    assert!(line.contains("limit is 65536 bytes"), "{line}");
    assert!(one_error_line(&p.coord(&["plan", EXAMPLE, "--stack", "cobol"])).contains("unknown stack `cobol`"));
    assert!(one_error_line(&p.coord(&["brief", "nope.json", "backend-T001"])).contains("nope.json"));
}

#[test]
fn briefs_are_filtered_and_measured() {
    let p = Project::new();
    p.ok(&["plan", EXAMPLE, "--out", "plan.json"]);
    let out = p.coord(&["brief", "plan.json", "backend-T003"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("DELEGATION TO: @nodejs-expert\nTASK ID: backend-T003\nPRIORITY: high"), "{stdout}");
    for section in [
        "OBJECTIVE:",
        "REQUIREMENTS:",
        "ACCEPTANCE CRITERIA:",
        "DEPENDENCIES:",
        "CONTEXT:",
        "EXPECTED OUTPUT:",
        "SUCCESS CRITERIA:",
    ] {
        assert!(stdout.contains(section), "{section}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokens vs"), "token counts on stderr");
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["brief", "plan.json", "backend-T003", "--format", "json"])).unwrap();
    assert!(json["stats"]["tokens"].as_u64().unwrap() < json["stats"]["unfiltered_tokens"].as_u64().unwrap());
    let excluded: Vec<&str> =
        json["brief"]["excluded"].as_array().unwrap().iter().map(|e| e["category"].as_str().unwrap()).collect();
    assert!(excluded.contains(&"versioning") && excluded.contains(&"frontend-integration"), "{excluded:?}");
    assert!(one_error_line(&p.coord(&["brief", "plan.json", "backend-T999"])).contains("backend-T001"));
}

#[test]
fn the_repository_decides_the_stack() {
    for (file, text, specialist, framework) in [
        ("package.json", r#"{"dependencies": {"express": "^4.19.2"}}"#, "nodejs-expert", "Express"),
        (
            "pyproject.toml",
            "[project]\nname = \"svc\"\ndependencies = [\"fastapi>=0.110\", \"sqlalchemy\"]\n",
            "python-pro",
            "FastAPI",
        ),
        (
            "pom.xml",
            "<project><parent><artifactId>spring-boot-starter-parent</artifactId></parent></project>",
            "java-expert",
            "Spring Boot",
        ),
    ] {
        let p = Project::new();
        p.write(&format!("repo/{file}"), text);
        let json: serde_json::Value =
            serde_json::from_str(&p.ok(&["plan", "Add an orders API", "--repo", "repo", "--format", "json"])).unwrap();
        assert_eq!(json["analysis"]["stack"]["specialist"], specialist, "{file}");
        assert_eq!(json["analysis"]["stack"]["framework"], framework, "{file}");
        assert_eq!(json["analysis"]["stack"]["source"], "repository", "{file}");
    }
    let p = Project::new();
    p.write("repo/schema.graphql", "type Query { orders: [Order] }");
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["plan", "Add an orders API", "--repo", "repo", "--format", "json"])).unwrap();
    assert_eq!(json["tasks"][0]["specialist"], "graphql-architect");
    // A symlink loop and a non-UTF-8 manifest do not stop the scan.
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("repo/a")).unwrap();
    std::os::unix::fs::symlink(p.path().join("repo"), p.path().join("repo/a/loop")).unwrap();
    std::fs::write(p.path().join("repo/package.json"), b"{\"name\": \"caf\xe9\"}").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["plan", "Add an orders API", "--repo", "repo", "--format", "json"])).unwrap();
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("package.json") && n.as_str().unwrap().contains("UTF-8")),
        "{}",
        json["notes"]
    );
}

#[test]
fn agents_list_show_and_broken_files() {
    let p = Project::new();
    p.write(".coord/agents/broken.md", "---\nname: broken\ndescription: x\ncontext:\n  allow: [nope]\n---\nbody\n");
    p.write(
        ".coord/agents/nodejs-expert.md",
        "---\nname: nodejs-expert\ndescription: Our own Node.js engineer\n---\nYou are ours.\n",
    );
    let out = p.coord(&["agents", "list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("@api-architect") && stdout.contains("@tech-lead-orchestrator"), "{stdout}");
    assert!(stderr.contains("broken.md:5: ") && stderr.contains("unknown context category `nope`"), "{stderr}");
    let show = p.ok(&["agents", "show", "nodejs-expert"]);
    assert!(show.contains("Our own Node.js engineer") && show.contains("never sees:"), "{show}");
    assert!(one_error_line(&p.coord(&["agents", "show", "nope"])).contains("no specialist `nope`"));
}

#[test]
fn the_published_schema_is_the_generated_one() {
    let p = Project::new();
    let generated = p.ok(&["schema", "plan"]);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/plan.schema.json")).unwrap();
    assert_eq!(generated, committed, "regenerate with: coord schema plan > docs/plan.schema.json");
}

#[test]
fn contract_diff_classifies_and_exits_by_breakage() {
    let p = Project::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../coord-gates/tests/fixtures/openapi");
    let out = p.coord(&[
        "contract",
        "diff",
        &format!("{fixtures}/bad/openapi.yaml"),
        &format!("{fixtures}/clean/openapi.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1), "breaking changes exit 1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BREAKING path-removed") && stdout.contains("ok       path-added"), "{stdout}");
    let same = p.ok(&[
        "contract",
        "diff",
        &format!("{fixtures}/clean/openapi.yaml"),
        &format!("{fixtures}/clean/openapi.yaml"),
    ]);
    assert!(same.contains("0 changes, 0 breaking"), "{same}");
    p.write("notapi.yaml", "name: x\n");
    let line =
        one_error_line(&p.coord(&["contract", "diff", "notapi.yaml", &format!("{fixtures}/clean/openapi.yaml")]));
    assert!(line.contains("not an OpenAPI 3 document"), "{line}");
}

#[test]
fn contract_test_starts_the_service_checks_it_and_stops_it() {
    let p = Project::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    p.write("site/index.html", "<h1>hi</h1>");
    p.write(
        "spec.yaml",
        "openapi: 3.1.0\ninfo: { title: site, version: '1' }\npaths:\n  /index.html:\n    get:\n      responses:\n        '200': { description: page, content: { text/html: { schema: { type: string } } } }\n  /missing.json:\n    get:\n      responses:\n        '200': { description: data, content: { application/json: { schema: { type: object } } } }\n",
    );
    let out = p.coord(&[
        "contract",
        "test",
        "--spec",
        "spec.yaml",
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "--start",
        &format!("cd site && exec python3 -m http.server {port} --bind 127.0.0.1"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok   200 GET /index.html"), "{stdout}");
    assert!(
        stdout.contains("FAIL 404 GET /missing.json") && stdout.contains("status 404 is not documented"),
        "{stdout}"
    );
    assert!(stdout.contains("api_endpoint_coverage 0.50"), "{stdout}");
    // The service was stopped: the port is free again.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the started service was stopped");
}
