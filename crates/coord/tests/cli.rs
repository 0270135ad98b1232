#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of the `coord` binary for planning, validating, briefing, the agent roster
//! and the published schema: the spec's example objective, the JSON plan contract, hand-edited
//! plan files, stack detection from a repository, and one clear error line for bad input.
//!
//! Every command runs in a fresh temporary folder, so no `.coord` or `.claude` folder of the
//! repository (or of the developer) changes what the binary sees.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

/// The spec's example objective.
const EXAMPLE: &str = "Add user authentication system with OAuth2 and JWT";

/// The fields every task of a JSON plan carries.
const TASK_FIELDS: [&str; 12] = [
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
];

/// Runs `coord ARGS` with `cwd` as the current folder.
fn coord(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COORD_DB")
        .env_remove("COORD_REPLAY_PG")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cannot start the coord binary")
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs coord, expects exit 0, and returns stdout.
fn ok(args: &[&str], cwd: &Path) -> String {
    let out = coord(args, cwd);
    assert!(
        out.status.success(),
        "coord {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout_of(&out),
        stderr_of(&out)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs coord and parses stdout as JSON.
fn ok_json(args: &[&str], cwd: &Path) -> Value {
    let text = ok(args, cwd);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("coord {args:?} printed no JSON ({e}):\n{text}"))
}

/// Asserts that neither stream shows a panic or a backtrace hint.
fn assert_no_panic(out: &Output) {
    for stream in [stdout_of(out), stderr_of(out)] {
        for bad in ["panicked", "RUST_BACKTRACE", "internal error"] {
            assert!(!stream.contains(bad), "`{bad}` in the output:\n{stream}");
        }
    }
}

/// Asserts a failure (non-zero exit) whose stderr is exactly one `coord: error:` line, and
/// returns that line.
fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure, got {:?}\nstdout:\n{}", out.status, stdout_of(out));
    assert_no_panic(out);
    let stderr = stderr_of(out);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one stderr line expected:\n{stderr}");
    assert!(lines[0].starts_with("coord: error: "), "not an error line: {stderr}");
    lines[0].to_string()
}

/// Writes `text` to `dir/rel`, creating folders on the way.
fn write(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Plans the example into `dir/name` (format from the extension) and returns the JSON form.
fn example_plan(dir: &Path, name: &str) -> Value {
    ok(&["plan", EXAMPLE, "--out", name], dir);
    ok_json(&["plan", EXAMPLE, "--format", "json"], dir)
}

fn task<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap_or_else(|| panic!("no task {id}"))
}

fn task_mut<'a>(plan: &'a mut Value, id: &str) -> &'a mut Value {
    plan["tasks"].as_array_mut().unwrap().iter_mut().find(|t| t["id"] == id).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The spec's example as text
// ---------------------------------------------------------------------------------------------

#[test]
fn plan_text_of_the_spec_example_shows_groups_assignments_and_the_critical_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = coord(&["plan", EXAMPLE], dir.path());
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_no_panic(&out);
    let text = stdout_of(&out);

    assert!(text.starts_with(&format!("Objective: \"{EXAMPLE}\"")), "{text}");
    assert!(text.contains("Facets:        api, database, auth, integrations"), "{text}");

    // Parallel Group 1 is headed without "(after …)" and lists exactly T001 and T002.
    let group1: Vec<&str> =
        text.lines().skip_while(|l| *l != "Parallel Group 1:").skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(group1.len(), 2, "{text}");
    assert!(group1[0].starts_with("- backend-T001 (") && group1[0].ends_with("→ @api-architect"), "{text}");
    assert!(group1[1].starts_with("- backend-T002 (") && group1[1].ends_with("→ @database-optimizer"), "{text}");
    assert!(text.contains("Parallel Group 2 (after backend-T001 & backend-T002):"), "{text}");

    let critical = text.lines().find(|l| l.starts_with("Critical path")).expect("a critical path line");
    assert!(critical.contains("backend-T001") && critical.contains("backend-T008"), "{critical}");
    assert!(critical.contains("h):"), "the critical path states its hours: {critical}");

    // No stack named and no repository: the note says the default specialist applies.
    let notes = text.split("\nNotes:\n").nth(1).expect("a Notes section");
    assert!(notes.contains("nodejs-expert") && notes.contains("default"), "{notes}");
    assert!(text.contains("Stack:         @nodejs-expert (node; default:"), "{text}");
    // Every implementation task of the example goes to the default stack specialist.
    assert!(text.contains("Task backend-T003: Implement authentication endpoints"), "{text}");
    assert!(text.contains("  → Assign to: @nodejs-expert"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// 2. The JSON contract
// ---------------------------------------------------------------------------------------------

#[test]
fn plan_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let plan = ok_json(&["plan", EXAMPLE, "--format", "json"], dir.path());

    assert_eq!(plan["objective"], EXAMPLE);
    let analysis = &plan["analysis"];
    assert_eq!(analysis["facets"], json!(["api", "database", "auth", "integrations"]));
    assert_eq!(analysis["stack"]["specialist"], "nodejs-expert");
    assert_eq!(analysis["stack"]["source"], "default");
    assert!(analysis["stack"]["language"].is_string(), "{}", analysis["stack"]);
    for key in ["endpoints", "requirements", "integrations"] {
        assert!(analysis[key].is_array(), "analysis.{key} is a list: {}", analysis[key]);
    }
    assert!(
        analysis["endpoints"].as_array().unwrap().iter().any(|e| e["method"] == "POST" && e["path"] == "/auth/login"),
        "{}",
        analysis["endpoints"]
    );
    assert!(
        analysis["integrations"].as_array().unwrap().iter().any(|i| i["name"] == "OAuth2"),
        "{}",
        analysis["integrations"]
    );

    let tasks = plan["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 13, "the spec's tasks A–H and the steps of its two coordination workflows");
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    for (i, t) in tasks.iter().enumerate() {
        assert_eq!(t["id"], format!("backend-T{:03}", i + 1));
        for key in TASK_FIELDS {
            assert!(!t[key].is_null(), "task {} lacks {key}", t["id"]);
        }
        for key in ["depends_on", "blocks", "context", "acceptance_criteria", "expected_output", "success_criteria"] {
            assert!(t[key].is_array(), "task {}: {key} is a list", t["id"]);
        }
        assert!(t["requirements"].is_object(), "task {}: requirements is an object", t["id"]);
        for dep in strings(&t["depends_on"]) {
            assert!(ids.contains(&dep.as_str()), "task {} depends on unknown {dep}", t["id"]);
            // `blocks` is the inverse of `depends_on`.
            assert!(strings(&task(&plan, &dep)["blocks"]).contains(&t["id"].as_str().unwrap().to_string()));
        }
    }

    // groups: a list of lists of task ids, covering every task once, dependencies first.
    let groups = plan["groups"].as_array().unwrap();
    assert_eq!(groups[0], json!(["backend-T001", "backend-T002"]));
    let mut seen: Vec<String> = Vec::new();
    for group in groups {
        let group = strings(group);
        for id in &group {
            for dep in strings(&task(&plan, id)["depends_on"]) {
                assert!(seen.contains(&dep), "{id} is grouped before its dependency {dep}");
            }
        }
        seen.extend(group);
    }
    seen.sort();
    assert_eq!(seen, ids);

    // critical_path: a dependency chain from a root to a leaf.
    let path = strings(&plan["critical_path"]);
    assert_eq!(path.first().map(String::as_str), Some("backend-T001"));
    // It ends with the deployment of the database change, after the final validation.
    assert_eq!(path.last().map(String::as_str), Some("backend-T013"));
    assert!(path.contains(&"backend-T008".to_string()), "{path:?}");
    for pair in path.windows(2) {
        assert!(strings(&task(&plan, &pair[1])["depends_on"]).contains(&pair[0]), "{path:?}");
    }
}

#[test]
fn yaml_output_and_out_files_carry_the_same_plan_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let from_json = ok_json(&["plan", EXAMPLE, "--format", "json"], dir.path());
    let yaml = ok(&["plan", EXAMPLE, "--format", "yaml"], dir.path());
    assert!(yaml.starts_with(&format!("objective: {EXAMPLE}\n")), "{yaml}");
    let from_yaml: Value = yaml_serde::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, from_json, "YAML and JSON describe the same plan");

    // --out picks the format from the extension, prints nothing on stdout, and says what it wrote.
    let out = coord(&["plan", EXAMPLE, "--out", "x.json"], dir.path());
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout with --out: {}", stdout_of(&out));
    let note = stderr_of(&out);
    assert!(note.contains("wrote a plan of 13 tasks in 9 parallel groups to x.json"), "{note}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("x.json")).unwrap()).unwrap();
    assert_eq!(written, from_json);

    ok(&["plan", EXAMPLE, "--out", "x.yml"], dir.path());
    let written: Value = yaml_serde::from_str(&std::fs::read_to_string(dir.path().join("x.yml")).unwrap()).unwrap();
    assert_eq!(written, from_json);

    // No temporary file is left behind by the atomic write.
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. validate: round trips and hand edits
// ---------------------------------------------------------------------------------------------

#[test]
fn validate_accepts_the_plans_coord_writes() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["plan.yaml", "plan.json"] {
        ok(&["plan", EXAMPLE, "--out", name], dir.path());
        let out = ok(&["validate", name], dir.path());
        assert!(out.starts_with(&format!("{name}: valid plan: 13 tasks, 9 parallel groups")), "{out}");
        assert!(out.contains("critical path backend-T001 → "), "{out}");
        let verdict = ok_json(&["validate", name, "--json"], dir.path());
        assert_eq!((&verdict["valid"], &verdict["tasks"]), (&json!(true), &json!(13)), "{verdict}");
        assert_eq!(verdict["critical_path"][0], "backend-T001", "{verdict}");
    }
    // A plan whose derived `blocks` were dropped by hand is still valid: they are recomputed.
    let mut plan = example_plan(dir.path(), "plan.json");
    task_mut(&mut plan, "backend-T001")["blocks"] = json!([]);
    write(dir.path(), "noblocks.json", plan.to_string());
    ok(&["validate", "noblocks.json"], dir.path());
}

#[test]
fn validate_reports_a_dependency_cycle_with_its_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = example_plan(dir.path(), "plan.json");
    task_mut(&mut plan, "backend-T001")["depends_on"] = json!(["backend-T008"]);
    write(dir.path(), "cycle.json", serde_json::to_string_pretty(&plan).unwrap());

    let out = coord(&["validate", "cycle.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.starts_with("coord: error: cycle.json: "), "{line}");
    assert!(line.contains("dependency cycle"), "{line}");
    // T001 → T008 → T007 → (T004 or T005 → T003) → T001: the ends and the chain through T007.
    for id in ["backend-T001", "backend-T008", "backend-T007"] {
        assert!(line.contains(id), "{id} is on the cycle: {line}");
    }
    assert!(!line.contains("backend-T002") && !line.contains("backend-T006"), "not on the cycle: {line}");
    // --json: the same verdict as data, on stdout, with the same exit code.
    let out = coord(&["validate", "cycle.json", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let verdict: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert!(verdict["errors"][0].as_str().unwrap().contains("dependency cycle"), "{verdict}");

    // The same edit in YAML form is caught as well.
    write(dir.path(), "cycle.yaml", yaml_serde::to_string(&plan).unwrap());
    let line = one_error_line(&coord(&["validate", "cycle.yaml"], dir.path()));
    assert!(line.contains("cycle.yaml") && line.contains("dependency cycle"), "{line}");

    // `brief` refuses the broken plan too.
    let line = one_error_line(&coord(&["brief", "cycle.json", "backend-T003"], dir.path()));
    assert!(line.contains("dependency cycle"), "{line}");
}

#[test]
fn validate_names_the_task_and_an_unknown_specialist() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = example_plan(dir.path(), "plan.json");
    task_mut(&mut plan, "backend-T004")["specialist"] = json!("cobol-wizard");
    write(dir.path(), "unknown.json", plan.to_string());
    let out = coord(&["validate", "unknown.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.contains("unknown.json") && line.contains("backend-T004") && line.contains("cobol-wizard"), "{line}");

    // A project agent of that name makes the same plan valid.
    write(
        dir.path(),
        ".coord/agents/cobol-wizard.md",
        "---\nname: cobol-wizard\ndescription: Use for COBOL services\n---\nYou write COBOL.\n",
    );
    ok(&["validate", "unknown.json"], dir.path());
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or_else(|| panic!("no `{needle}`"))
}

#[test]
fn validate_names_file_and_line_of_a_misspelt_field() {
    let dir = tempfile::tempdir().unwrap();
    example_plan(dir.path(), "plan.json");
    ok(&["plan", EXAMPLE, "--out", "plan.yaml"], dir.path());

    let json_text =
        std::fs::read_to_string(dir.path().join("plan.json")).unwrap().replacen("\"depends_on\"", "\"depend_on\"", 1);
    write(dir.path(), "typo.json", &json_text);
    let line = one_error_line(&coord(&["validate", "typo.json"], dir.path()));
    let expected = format!("coord: error: typo.json:{}:", line_of(&json_text, "\"depend_on\""));
    assert!(line.starts_with(&expected), "expected `{expected}…`: {line}");
    assert!(line.contains("unknown field `depend_on`") && line.contains("`depends_on`"), "{line}");

    let yaml_text =
        std::fs::read_to_string(dir.path().join("plan.yaml")).unwrap().replacen("  depends_on:", "  depend_on:", 1);
    write(dir.path(), "typo.yaml", &yaml_text);
    let line = one_error_line(&coord(&["validate", "typo.yaml"], dir.path()));
    let expected = format!("coord: error: typo.yaml:{}:", line_of(&yaml_text, "depend_on:"));
    assert!(line.starts_with(&expected), "expected `{expected}…`: {line}");
    assert!(line.contains("depend_on"), "{line}");
}

#[test]
fn validate_rejects_blocks_that_disagree_with_depends_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = example_plan(dir.path(), "plan.json");
    // T008 does not depend on T002 (only the replica test, T012, does).
    task_mut(&mut plan, "backend-T002")["blocks"] = json!(["backend-T012", "backend-T008"]);
    write(dir.path(), "blocks.json", plan.to_string());
    let out = coord(&["validate", "blocks.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.contains("blocks.json"), "{line}");
    assert!(line.contains("`backend-T002` says it blocks `backend-T008`"), "{line}");
    assert!(line.contains("does not depend on"), "{line}");
}

/// A hand edit of a JSON plan.
type Edit = fn(&mut Value);

#[test]
fn validate_rejects_other_structural_edits() {
    let dir = tempfile::tempdir().unwrap();
    let original = example_plan(dir.path(), "plan.json");
    let cases: [(&str, Edit, &str); 4] = [
        ("self.json", |p| task_mut(p, "backend-T005")["depends_on"] = json!(["backend-T005"]), "depends on itself"),
        ("ghost.json", |p| task_mut(p, "backend-T005")["depends_on"] = json!(["backend-T042"]), "backend-T042"),
        ("notasks.json", |p| p["tasks"] = json!([]), "no tasks"),
        ("noctx.json", |p| task_mut(p, "backend-T001")["context"] = json!(["ctx-nope"]), "ctx-nope"),
    ];
    for (name, edit, expected) in cases {
        let mut plan = original.clone();
        // `blocks` is derived; dropping it keeps each edit to the one mistake under test.
        for t in plan["tasks"].as_array_mut().unwrap() {
            t["blocks"] = json!([]);
        }
        edit(&mut plan);
        write(dir.path(), name, plan.to_string());
        let out = coord(&["validate", name], dir.path());
        assert_eq!(out.status.code(), Some(1), "{name}");
        let line = one_error_line(&out);
        assert!(line.contains(name) && line.contains(expected), "{name}: {line}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Bad input: one clear error line, never a panic
// ---------------------------------------------------------------------------------------------

#[test]
fn an_empty_or_blank_objective_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    for objective in ["", " ", "   \t  ", "\n\n"] {
        let line = one_error_line(&coord(&["plan", objective], dir.path()));
        assert!(line.contains("objective is empty"), "{objective:?}: {line}");
    }
    write(dir.path(), "blank.txt", " \n\t\n");
    let line = one_error_line(&coord(&["plan", "--objective-file", "blank.txt"], dir.path()));
    assert!(line.contains("objective is empty"), "{line}");
    // No objective at all is clap's usage error, not a panic.
    let out = coord(&["plan"], dir.path());
    assert!(!out.status.success());
    assert_no_panic(&out);
}

#[test]
fn a_one_megabyte_objective_file_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let text = "add an orders endpoint ".repeat(1024 * 1024 / 23 + 1);
    let text = &text[..1024 * 1024];
    write(dir.path(), "huge.txt", text);
    let line = one_error_line(&coord(&["plan", "--objective-file", "huge.txt"], dir.path()));
    assert!(line.contains("the limit is 65536 bytes"), "{line}");
    assert!(line.contains("1048576 bytes"), "the size is stated: {line}");
}

#[test]
fn a_non_utf8_plan_file_is_one_error_line_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "latin1.yaml", b"objective: orders\nplanner: rules\n# caf\xe9\ntasks: []\n");
    let line = one_error_line(&coord(&["validate", "latin1.yaml"], dir.path()));
    assert!(line.contains("latin1.yaml:3") && line.contains("UTF-8"), "{line}");

    write(dir.path(), "latin1.json", b"{\"objective\": \"caf\xe9\"}");
    let line = one_error_line(&coord(&["brief", "latin1.json", "backend-T001"], dir.path()));
    assert!(line.contains("latin1.json:1") && line.contains("UTF-8"), "{line}");

    write(dir.path(), "latin1.txt", b"Add an API for caf\xe9 orders");
    let line = one_error_line(&coord(&["plan", "--objective-file", "latin1.txt"], dir.path()));
    assert!(line.contains("latin1.txt") && line.contains("UTF-8"), "{line}");
}

#[test]
fn an_unknown_stack_is_one_error_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let line = one_error_line(&coord(&["plan", EXAMPLE, "--stack", "cobol"], dir.path()));
    assert!(line.contains("cobol"), "{line}");
    assert!(line.contains("node") && line.contains("python"), "the known stacks are listed: {line}");
}

#[test]
fn a_plan_file_that_is_a_folder_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plan.json")).unwrap();
    for args in [vec!["validate", "plan.json"], vec!["brief", "plan.json", "backend-T001"]] {
        let line = one_error_line(&coord(&args, dir.path()));
        assert!(line.contains("plan.json") && line.contains("folder"), "{args:?}: {line}");
    }
    let line = one_error_line(&coord(&["plan", "--objective-file", "plan.json"], dir.path()));
    assert!(line.contains("plan.json") && line.contains("folder"), "{line}");
    // --out onto a folder fails cleanly too.
    let line = one_error_line(&coord(&["plan", EXAMPLE, "--out", "plan.json"], dir.path()));
    assert!(line.contains("plan.json"), "{line}");
}

#[test]
fn a_missing_plan_file_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [vec!["validate", "missing.yaml"], vec!["brief", "missing.yaml", "backend-T001"]] {
        let line = one_error_line(&coord(&args, dir.path()));
        assert!(line.contains("missing.yaml"), "{args:?}: {line}");
    }
    write(dir.path(), "empty.json", "  \n");
    let line = one_error_line(&coord(&["validate", "empty.json"], dir.path()));
    assert!(line.contains("empty.json") && line.contains("empty"), "{line}");
    let line = one_error_line(&coord(&["plan", EXAMPLE, "--repo", "no-such-repo"], dir.path()));
    assert!(line.contains("no-such-repo"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// 5. The agent roster
// ---------------------------------------------------------------------------------------------

#[test]
fn a_broken_agent_file_is_a_warning_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "---\nname: broken\ndescription: A broken agent\ncontext:\n  allow: [nope]\n---\nYou are broken.\n";
    let bad_line = line_of(broken, "allow: [nope]");
    assert_eq!(bad_line, 5);
    write(dir.path(), ".coord/agents/broken.md", broken);

    let out = coord(&["agents", "list"], dir.path());
    assert_no_panic(&out);
    let stdout = stdout_of(&out);
    let stderr = stderr_of(&out);
    assert!(stdout.contains("@api-architect"), "the built-in roster is still listed: {stdout}");
    assert!(stdout.contains("@nodejs-expert") && !stdout.contains("@broken"), "{stdout}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("coord: warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let expected = format!(".coord/agents/broken.md:{bad_line}:");
    assert!(warnings[0].contains(&expected), "expected `{expected}`: {stderr}");
    assert!(warnings[0].contains("nope"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "a skipped file makes `agents list` exit 1");

    // Planning still works with the built-in roster, and warns the same way.
    let out = coord(&["plan", EXAMPLE, "--format", "json"], dir.path());
    assert!(out.status.success());
    assert!(stderr_of(&out).contains(&expected), "{}", stderr_of(&out));
}

#[test]
fn a_project_agent_overrides_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".coord/agents/nodejs-expert.md",
        "---\nname: nodejs-expert\ndescription: Our in-house Node.js engineer\n---\nYou follow our house style.\n",
    );
    let show = ok(&["agents", "show", "nodejs-expert"], dir.path());
    assert!(show.starts_with("@nodejs-expert\n"), "{show}");
    assert!(show.contains("description:  Our in-house Node.js engineer"), "{show}");
    assert!(show.contains(".coord/agents/nodejs-expert.md"), "the source is the project file: {show}");
    assert!(show.contains("You follow our house style."), "{show}");
    // `@name` is accepted too, and the JSON form agrees (`--json`; the older `--format json`
    // still works and says the same).
    let json = ok_json(&["agents", "show", "@nodejs-expert", "--json"], dir.path());
    assert_eq!(json["description"], "Our in-house Node.js engineer");
    assert_eq!(ok_json(&["agents", "show", "@nodejs-expert", "--format", "json"], dir.path()), json);
    let all = ok_json(&["agents", "list", "--json"], dir.path());
    assert!(all.as_array().unwrap().iter().any(|a| a["name"] == "nodejs-expert"), "{all}");
    let listed = ok_json(&["playbooks", "list", "--json"], dir.path());
    assert!(!listed["playbooks"].as_array().unwrap().is_empty(), "{listed}");
    // The gate checklist as data, and --json for the findings.
    let checklist = ok_json(&["gate", "--list", "--json"], dir.path());
    assert!(checklist["items"].as_array().unwrap().iter().any(|i| i["gate"] == "security"), "{checklist}");
    let refused = coord(&["gate", "--list", "--format", "sarif"], dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));

    let list = ok(&["agents", "list"], dir.path());
    let line = list.lines().find(|l| l.starts_with("@nodejs-expert ")).unwrap();
    assert!(line.contains("Our in-house Node.js engineer"), "{line}");
    assert_eq!(list.lines().filter(|l| l.starts_with("@nodejs-expert ")).count(), 1, "{list}");
}

#[test]
fn showing_an_unknown_agent_is_an_error_listing_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let line = one_error_line(&coord(&["agents", "show", "nope"], dir.path()));
    assert!(line.contains("`nope`"), "{line}");
    assert!(line.contains("nodejs-expert") && line.contains("api-architect"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// 6. Stack detection from a repository
// ---------------------------------------------------------------------------------------------

fn stack_of(repo_files: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in repo_files {
        write(dir.path(), &format!("repo/{rel}"), text);
    }
    ok_json(&["plan", EXAMPLE, "--repo", "repo", "--format", "json"], dir.path())
}

#[test]
fn an_express_package_json_picks_nodejs_expert() {
    let plan = stack_of(&[("package.json", r#"{"name": "svc", "dependencies": {"express": "^4.19.2"}}"#)]);
    let stack = &plan["analysis"]["stack"];
    assert_eq!(stack["specialist"], "nodejs-expert", "{stack}");
    assert_eq!(stack["framework"], "Express", "{stack}");
    assert_eq!(stack["source"], "repository", "{stack}");
    assert_eq!(task(&plan, "backend-T003")["specialist"], "nodejs-expert");
}

#[test]
fn a_fastapi_pyproject_picks_python_pro() {
    let plan = stack_of(&[("pyproject.toml", "[project]\nname = \"svc\"\ndependencies = [\"fastapi>=0.110\"]\n")]);
    let stack = &plan["analysis"]["stack"];
    assert_eq!(stack["specialist"], "python-pro", "{stack}");
    assert_eq!(stack["framework"], "FastAPI", "{stack}");
    assert_eq!(stack["source"], "repository", "{stack}");
    // The implementation tasks follow the stack; design tasks keep their specialists.
    assert_eq!(task(&plan, "backend-T003")["specialist"], "python-pro");
    assert_eq!(task(&plan, "backend-T001")["specialist"], "api-architect");
}

#[test]
fn a_spring_boot_pom_picks_java_expert() {
    let plan = stack_of(&[(
        "pom.xml",
        "<project><parent><groupId>org.springframework.boot</groupId>\
         <artifactId>spring-boot-starter-parent</artifactId></parent></project>\n",
    )]);
    let stack = &plan["analysis"]["stack"];
    assert_eq!(stack["specialist"], "java-expert", "{stack}");
    assert_eq!(stack["source"], "repository", "{stack}");
    assert_eq!(task(&plan, "backend-T003")["specialist"], "java-expert");
}

#[test]
fn stack_flag_wins_over_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "repo/pyproject.toml", "[project]\nname = \"svc\"\ndependencies = [\"fastapi>=0.110\"]\n");
    let plan = ok_json(&["plan", EXAMPLE, "--repo", "repo", "--stack", "java", "--format", "json"], dir.path());
    assert_eq!(plan["analysis"]["stack"]["specialist"], "java-expert");
    assert_eq!(plan["analysis"]["stack"]["source"], "flag");
    let notes = strings(&plan["notes"]);
    assert!(notes.iter().any(|n| n.contains("pyproject.toml") && n.contains("--stack")), "{notes:?}");
}

#[test]
fn stack_graphql_sends_the_api_design_task_to_graphql_architect() {
    let dir = tempfile::tempdir().unwrap();
    let plan = ok_json(&["plan", EXAMPLE, "--stack", "graphql", "--format", "json"], dir.path());
    assert_eq!(plan["analysis"]["stack"]["api_style"], "graphql");
    let design = task(&plan, "backend-T001");
    assert_eq!(design["specialist"], "graphql-architect", "{design}");
    assert!(design["title"].as_str().unwrap().contains("GraphQL"), "{}", design["title"]);
    // REST's api-architect has no part in a GraphQL plan.
    let specialists: Vec<&str> =
        plan["tasks"].as_array().unwrap().iter().map(|t| t["specialist"].as_str().unwrap()).collect();
    assert!(!specialists.contains(&"api-architect"), "{specialists:?}");
    let text = ok(&["plan", EXAMPLE, "--stack", "graphql"], dir.path());
    assert!(text.contains("API style:     GraphQL") && text.contains("→ @graphql-architect"), "{text}");
}

#[test]
fn a_symlink_loop_and_a_non_utf8_manifest_do_not_stop_planning() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("src/nested")).unwrap();
    std::os::unix::fs::symlink(&repo, repo.join("src/nested/loop")).unwrap();
    std::os::unix::fs::symlink("..", repo.join("src/up")).unwrap();
    write(dir.path(), "repo/package.json", b"{\"name\": \"caf\xe9\", \"dependencies\": {}}");

    let out = coord(&["plan", EXAMPLE, "--repo", "repo", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_no_panic(&out);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 13);
    let notes = strings(&plan["notes"]);
    assert!(notes.iter().any(|n| n.contains("package.json") && n.contains("UTF-8")), "{notes:?}");
}

// ---------------------------------------------------------------------------------------------
// 7. Briefs
// ---------------------------------------------------------------------------------------------

/// Whether a specialist's context policy (as `agents show --format json` prints it) lets a
/// category through.
fn policy_allows(policy: &Value, category: &str) -> bool {
    let listed = |key: &str| policy[key].as_array().unwrap().iter().any(|c| c == category);
    (policy["allow_all"] == true || listed("allow")) && !listed("deny")
}

#[test]
fn the_brief_json_is_the_template_filtered_by_the_specialists_policy() {
    let dir = tempfile::tempdir().unwrap();
    let plan = example_plan(dir.path(), "plan.json");
    let out = ok_json(&["brief", "plan.json", "backend-T003", "--json"], dir.path());
    let brief = &out["brief"];
    let md = brief["markdown"].as_str().unwrap();

    assert!(md.starts_with("DELEGATION TO: @nodejs-expert"), "{md}");
    let mut last = 0;
    for section in [
        "TASK ID: backend-T003",
        "PRIORITY: high",
        "OBJECTIVE:",
        "REQUIREMENTS:",
        "ACCEPTANCE CRITERIA:",
        "DEPENDENCIES:",
        "CONTEXT:",
        "EXPECTED OUTPUT:",
        "SUCCESS CRITERIA:",
    ] {
        let at = md.find(section).unwrap_or_else(|| panic!("no `{section}` in:\n{md}"));
        assert!(at >= last, "`{section}` is out of the template's order");
        last = at;
    }
    // T003 builds on the frontend-approved contract (T010) and the replica-tested schema (T012).
    assert!(md.contains("backend-T010") && md.contains("backend-T012"), "dependencies are named: {md}");

    let stats = &out["stats"];
    let tokens = stats["tokens"].as_u64().unwrap();
    let unfiltered = stats["unfiltered_tokens"].as_u64().unwrap();
    assert!(tokens > 0 && tokens < unfiltered, "{stats}");

    // Every item is either included or excluded, and the policy decides which.
    let policy = ok_json(&["agents", "show", "nodejs-expert", "--json"], dir.path())["context"].clone();
    let category_of = |id: &str| -> String {
        plan["context"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["category"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let included: Vec<String> = strings(&brief["included"]);
    let excluded = brief["excluded"].as_array().unwrap();
    assert!(!excluded.is_empty(), "nodejs-expert's policy filters something out");
    assert_eq!(included.len() + excluded.len(), strings(&task(&plan, "backend-T003")["context"]).len());
    for item in excluded {
        let category = item["category"].as_str().unwrap();
        assert!(!policy_allows(&policy, category), "{category} is allowed but was excluded ({item})");
        assert_eq!(category, category_of(item["id"].as_str().unwrap()));
    }
    let included_categories: Vec<String> = included.iter().map(|id| category_of(id)).collect();
    for category in &included_categories {
        assert!(policy_allows(&policy, category), "{category} was included against the policy");
    }
    for hidden in ["frontend-integration", "versioning"] {
        assert!(!included_categories.iter().any(|c| c == hidden), "{hidden} reached nodejs-expert");
        assert!(excluded.iter().any(|e| e["category"] == hidden), "{hidden} is listed as excluded");
    }
    assert_eq!(stats["items_included"].as_u64().unwrap() as usize, included.len());

    // The markdown form prints the same brief, with the counts on stderr.
    let out = coord(&["brief", "plan.json", "backend-T003"], dir.path());
    assert!(out.status.success());
    assert_eq!(stdout_of(&out), md);
    assert!(stderr_of(&out).contains(&format!("{tokens} tokens vs {unfiltered} unfiltered")), "{}", stderr_of(&out));
}

#[test]
fn a_brief_for_an_unknown_task_lists_the_task_ids() {
    let dir = tempfile::tempdir().unwrap();
    example_plan(dir.path(), "plan.yaml");
    let line = one_error_line(&coord(&["brief", "plan.yaml", "backend-T042"], dir.path()));
    assert!(line.contains("plan.yaml") && line.contains("backend-T042"), "{line}");
    for i in 1..=8 {
        let id = format!("backend-T{i:03}");
        assert!(line.contains(&id), "{id} is listed: {line}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. The published schema
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_plan_is_the_committed_docs_file() {
    let dir = tempfile::tempdir().unwrap();
    let generated = ok(&["schema", "plan"], dir.path());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/plan.schema.json");
    let committed = std::fs::read_to_string(path).expect("docs/plan.schema.json exists");
    assert_eq!(generated, committed, "regenerate with: coord schema plan > docs/plan.schema.json");
    // And it is a JSON Schema of the plan's top-level fields.
    let schema: Value = serde_json::from_str(&generated).unwrap();
    for key in ["objective", "analysis", "tasks", "groups", "critical_path"] {
        assert!(!schema["properties"][key].is_null(), "schema property {key}");
    }
}
