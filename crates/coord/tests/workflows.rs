//! The spec's two coordination workflows in real runs: specialists are shell scripts that write
//! migrations, an OpenAPI document and a small Python service; the coordinator's own steps run
//! the replica test, publish the contract and test the running service, send failing work back
//! to its author, and stop for the tech lead where data is lost or clients break.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::Project;

/// A git repository of `files` (agents work on branches of it; their results merge into the
/// run's integration branch).
fn repo(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    for (path, text) in files {
        p.write(path, text);
    }
    p.git_init();
    p
}

/// A file of the run's result.
fn delivered(p: &Project, run: &str, path: &str) -> String {
    p.show(&format!("coord/{run}"), path).unwrap_or_else(|| panic!("{path} is not on coord/{run}"))
}

fn task(id: &str, specialist: &str, kind: &str, workflow: Option<&str>, deps: &[&str]) -> Value {
    let mut t =
        json!({ "id": id, "title": format!("{id} step"), "specialist": specialist, "kind": kind, "depends_on": deps });
    if let Some(w) = workflow {
        t["workflow"] = json!(w);
    }
    t
}

fn config(extra: &str) -> String {
    format!(
        "[run]\nparallel = 2\nlease_secs = 5\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n[specialists.\"*\"]\nexecutor = \"command\"\ncommand = [\"sh\", \"agent.sh\"]\n{extra}\n"
    )
}

fn escalations(p: &Project, all: bool) -> Vec<Value> {
    let mut args = vec!["escalation", "list", "--json"];
    if all {
        args.push("--all");
    }
    serde_json::from_str::<Value>(&p.ok(&args)).unwrap().as_array().unwrap().clone()
}

fn state_of(p: &Project, run: &str, task: &str) -> String {
    p.states(run).into_iter().find(|(t, _)| t == task).map(|(_, s)| s).unwrap()
}

/// The database optimizer writes three migrations: users, sessions (whose down also drops users
/// until the coordinator's review says otherwise), and one dropping a legacy column.
const DATABASE_AGENT: &str = r#"brief="$COORD_BRIEF_FILE"
case "$COORD_SPECIALIST" in
database-optimizer)
  mkdir -p migrations
  printf 'CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT NOT NULL, legacy TEXT);\n' > migrations/001_users.up.sql
  printf 'DROP TABLE users;\n' > migrations/001_users.down.sql
  printf 'CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));\nCREATE INDEX sessions_user ON sessions (user_id);\n' > migrations/002_sessions.up.sql
  if grep -q 'down-not-restoring' "$brief"; then
    printf 'DROP TABLE sessions;\n' > migrations/002_sessions.down.sql
  else
    printf 'DROP TABLE sessions;\nDROP TABLE users;\n' > migrations/002_sessions.down.sql
  fi
  printf 'ALTER TABLE users DROP COLUMN legacy;\n' > migrations/003_drop_legacy.up.sql
  printf 'ALTER TABLE users ADD COLUMN legacy TEXT;\n' > migrations/003_drop_legacy.down.sql
  ;;
database-admin) echo "deployed" > deployed.txt ;;
esac
"#;

#[test]
fn a_database_change_is_replayed_sent_back_approved_and_handed_to_the_dba_with_its_note() {
    let p = repo(&[("agent.sh", DATABASE_AGENT)]);
    p.write("coord.toml", &config(""));
    let plan = json!({
        "objective": "Add sessions and drop the legacy column of users",
        "tasks": [
            task("schema", "database-optimizer", "schema-design", None, &[]),
            task("replay", "backend-coordinator", "database-operations", Some("migration-replay"), &["schema"]),
            task("deploy", "database-admin", "database-operations", Some("deployment"), &["replay"]),
        ],
        "workflows": [{ "kind": "database-change", "stages": [
            { "step": "Test on replica database", "task": "replay", "checked_by": "the coordinator" }
        ], "rollout": { "strategy": "expand/contract", "reason": "a column is dropped" } }]
    });
    p.write("plan.json", &plan.to_string());

    // The schema passes every gate but one: dropping `legacy` loses data, which is for the tech
    // lead to approve, not for its author: the run waits on that escalation (exit 3).
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(state_of(&p, &run, "schema"), "escalated", "{out}");
    let open = escalations(&p, false);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["level"], 4);
    assert_eq!(open[0]["category"], "breaking_change");
    let reason = open[0]["reason"].as_str().unwrap();
    assert!(reason.contains("migrations/003_drop_legacy.up.sql") && reason.contains("approval"), "{reason}");

    let id = open[0]["id"].to_string();
    let decided = p.ok(&["escalation", "resolve", &id, "--decision", "approve"]);
    assert!(decided.contains("approve"), "{decided}");
    assert_eq!(state_of(&p, &run, "schema"), "done");

    // The replica test finds the down of 002 dropping more than its up made, and sends the work
    // back to @database-optimizer with the schema difference; the fix passes the replay, and the
    // approved data loss is not asked about again.
    let out = p.ok(&["resume", &run]);
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    let rework = p.brief_of(&run, "replay", 2);
    assert!(rework.starts_with("DELEGATION TO: @database-optimizer"), "{rework}");
    assert!(rework.contains("migrate/down-not-restoring") && rework.contains("missing table users"), "{rework}");
    assert!(rework.contains("coordinator review: the migration-replay check failed"), "{rework}");
    let down = delivered(&p, &run, "migrations/002_sessions.down.sql");
    assert_eq!(down, "DROP TABLE sessions;\n");

    // The deployment note, with the plan's rollout, went to @database-admin in its brief.
    let note = delivered(&p, &run, "docs/deploy/migrations.md");
    assert!(note.contains("# Deployment note for @database-admin"), "{note}");
    assert!(note.contains("**expand/contract**"), "{note}");
    assert!(note.contains("003_drop_legacy.up.sql") && note.contains("ACCESS EXCLUSIVE"), "{note}");
    let deploy_brief = p.brief_of(&run, "deploy", 1);
    assert!(deploy_brief.contains("- Delivered by replay (replay step):"), "{deploy_brief}");
    assert!(deploy_brief.contains("docs/deploy/migrations.md"), "{deploy_brief}");
    assert_eq!(delivered(&p, &run, "deployed.txt"), "deployed\n");

    // The record: the approval, the request it answered, and both replica tests.
    let all = escalations(&p, true);
    assert_eq!(all[0]["decision"], "approve");
    let log = p.ok(&["log", &run, "--json"]);
    assert!(log.lines().any(|l| l.contains("\"approval_requested\"") && l.contains("003_drop_legacy")), "{log}");
    let replays: Vec<&str> =
        log.lines().filter(|l| l.contains("\"gate_result\"") && l.contains("migration-replay")).collect();
    assert_eq!(replays.len(), 2, "{replays:?}");
    assert!(replays[0].contains("\"passed\":false") && replays[1].contains("\"passed\":true"), "{replays:?}");
}

/// An OpenAPI document for one operation, lint-clean (the shared fixture); `name_type` retypes
/// `name` (breaking).
fn users_api(name_type: &str) -> String {
    let doc = include_str!("../../coord-workflows/tests/fixtures/contracts/users-api.yaml");
    assert!(doc.contains("name: { type: string }"), "the fixture types `name` as a string");
    doc.replace("name: { type: string }", &format!("name: {{ type: {name_type} }}"))
}

/// A service for the contract: `NAME` is the JSON of the `name` field it answers.
const SERVER: &str = r#"import http.server, json, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["v1", "users"]:
            code, body = 200, '{"id": 1, "name": NAME}'
        else:
            code, body = 404, '{"error": "not found"}'
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn api_agent() -> String {
    format!(
        r#"brief="$COORD_BRIEF_FILE"
case "$COORD_SPECIALIST" in
api-architect) mkdir -p api; cat > api/openapi.yaml <<'EOF'
{}EOF
  ;;
nodejs-expert)
  if grep -q 'the contract test failed' "$brief"; then name='"Ada"'; else name='42'; fi
  cat > server.py <<'EOF'
{}EOF
  sed -i "s/NAME/$name/" server.py
  ;;
esac
"#,
        users_api("string"),
        SERVER
    )
}

#[test]
fn an_api_contract_is_published_reviewed_by_the_frontend_and_tested_against_the_running_service() {
    let p = repo(&[("agent.sh", &api_agent())]);
    let port = free_port();
    p.write(
        "coord.toml",
        &config(&format!(
            "[specialists.frontend-coordinator]\nexecutor = \"manual\"\n[workflows]\ncontract_test_start = \"python3 server.py {port}\"\ncontract_test_base_url = \"http://127.0.0.1:{port}\"\ncontract_test_wait_secs = 20\n"
        )),
    );
    let plan = json!({
        "objective": "Add a users API",
        "tasks": [
            task("design", "api-architect", "api-design", None, &[]),
            task("publish", "backend-coordinator", "api-design", Some("contract-publish"), &["design"]),
            task("review", "frontend-coordinator", "api-design", Some("contract-review"), &["publish"]),
            task("implement", "nodejs-expert", "implementation", None, &["review"]),
            task("test", "backend-coordinator", "integration", Some("contract-test"), &["implement"]),
        ],
    });
    p.write("plan.json", &plan.to_string());

    // Designed and published; the frontend's review waits for a person (exit 3).
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(state_of(&p, &run, "publish"), "done", "{out}");
    assert_eq!(state_of(&p, &run, "review"), "ready");
    let v1: Value = serde_json::from_str(&delivered(&p, &run, "contracts/users-api/v1.json")).unwrap();
    assert_eq!(v1["info"]["title"], "Users API");
    assert!(delivered(&p, &run, "contracts/users-api/v1.changes.md").contains("users-api"));

    // The reviewer's brief says what was published and where.
    let show = p.ok(&["task", "show", "review", "--run", &run]);
    assert!(show.contains("DELEGATION TO: @frontend-coordinator"), "{show}");
    assert!(show.contains("- Delivered by publish (publish step): published users-api v1"), "{show}");
    assert!(show.contains("contracts/users-api/v1.json"), "{show}");
    p.ok(&["task", "complete", "review", "--run", &run, "--note", "the web app can build on it"]);

    // The first implementation answers `name` as a number: the contract test fails, the work
    // goes back to @nodejs-expert with the findings, and the fix passes.
    let out = p.ok(&["resume", &run]);
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    let rework = p.brief_of(&run, "test", 2);
    assert!(rework.starts_with("DELEGATION TO: @nodejs-expert"), "{rework}");
    assert!(rework.contains("GET /v1/users/{id}") && rework.contains("name"), "{rework}");
    let log = p.ok(&["log", &run, "--json"]);
    let tests: Vec<&str> = log.lines().filter(|l| l.contains("\"contract_test\"")).collect();
    assert_eq!(tests.len(), 2, "{tests:?}");
    assert!(
        tests[0].contains("\"api_endpoint_coverage\":0.0") && tests[1].contains("\"api_endpoint_coverage\":1.0"),
        "{tests:?}"
    );
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains(&format!("api_endpoint_coverage{{run=\"{run}\"}} 1")), "{metrics}");
    let p95 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("api_response_time_p95{{run=\"{run}\"}} ")))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(p95.is_some_and(|s| s > 0.0 && s < 10.0), "the contract test's answer times: {metrics}");
    // The service was stopped with its process group.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the service still listens");
}

#[test]
fn a_breaking_contract_change_waits_for_the_tech_leads_approval() {
    let p = repo(&[]);
    let plan = json!({
        "objective": "Change the users API",
        "tasks": [
            task("design", "api-architect", "api-design", None, &[]),
            task("publish", "backend-coordinator", "api-design", Some("contract-publish"), &["design"]),
            task("review", "frontend-coordinator", "api-design", Some("contract-review"), &["publish"]),
        ],
    });
    p.write("plan.json", &plan.to_string());
    p.write("coord.toml", &config("[specialists.frontend-coordinator]\nexecutor = \"manual\"\n"));
    let agent = |name_type: &str| {
        format!("cat > /dev/null\nmkdir -p api\ncat > api/openapi.yaml <<'EOF'\n{}EOF\n", users_api(name_type))
    };

    p.write("agent.sh", &agent("string"));
    p.git(&["add", "agent.sh"]);
    p.git(&["commit", "-qm", "agent"]);
    // Published; the frontend's review waits for a person (exit 3).
    p.run_waiting(&["run", "--plan", "plan.json"]);
    // The team takes the first run's result (v1 published) into its branch.
    let first = p.only_run();
    p.git(&["merge", "-q", &format!("coord/{first}")]);
    // The second version retypes `name`: a breaking change for every client.
    p.write("agent.sh", &agent("integer"));
    p.git(&["commit", "-qam", "agent v2"]);
    // The run waits on the tech lead's decision (exit 3).
    p.run_waiting(&["run", "--plan", "plan.json"]);
    let runs: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let second = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(state_of(&p, &second, "publish"), "escalated");
    let open = escalations(&p, false);
    assert_eq!(open.len(), 1);
    let reason = open[0]["reason"].as_str().unwrap();
    assert!(reason.contains("users-api v2") && reason.contains("break existing clients"), "{reason}");
    // The classified changes are on the publish task's branch, for the tech lead to read.
    let changes = p.show(&format!("coord-task/{second}/publish"), "contracts/users-api/v2.changes.md").unwrap();
    assert!(changes.contains("**BREAKING**") && changes.contains("name"), "{changes}");

    p.ok(&["escalation", "resolve", &open[0]["id"].to_string(), "--decision", "approve"]);
    assert_eq!(state_of(&p, &second, "publish"), "done");
    // The frontend's review gets the approved version with its classified changes attached.
    let show = p.ok(&["task", "show", "review", "--run", &second]);
    assert!(show.contains("- Delivered by publish (publish step): published users-api v2"), "{show}");
    assert!(show.contains("contracts/users-api/v2.changes.md"), "{show}");
    assert!(show.contains("users-api v2: BREAKING") && show.contains("name"), "{show}");
}

#[test]
fn a_contract_test_without_a_service_asks_a_person_to_configure_it() {
    let p = repo(&[("agent.sh", "cat > /dev/null\n")]);
    p.write("coord.toml", &config(""));
    let plan = json!({
        "objective": "Test the API",
        "tasks": [task("test", "backend-coordinator", "integration", Some("contract-test"), &[])],
    });
    p.write("plan.json", &plan.to_string());
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
    assert!(out.contains("waiting on 1 open escalation(s)"), "{out}");
    let open = escalations(&p, false);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["category"], "configuration");
    assert!(open[0]["reason"].as_str().unwrap().contains("contract_test_base_url"), "{:?}", open[0]);
}

#[test]
fn the_spec_example_plans_both_workflows_and_a_plan_without_them_on_request() {
    let p = Project::new();
    let text = p.ok(&["plan", "Add user authentication system with OAuth2 and JWT"]);
    assert!(text.contains("API Contract Coordination:") && text.contains("Database Change Coordination:"), "{text}");
    assert!(text.contains("Rollout: canary"), "{text}");
    let bare =
        p.ok(&["plan", "Add user authentication system with OAuth2 and JWT", "--no-workflows", "--format", "json"]);
    let bare: Value = serde_json::from_str(&bare).unwrap();
    assert_eq!(bare["tasks"].as_array().unwrap().len(), 8);
    assert!(bare.get("workflows").is_none());
}

/// A plan whose schema task writes migrations that the coordinator's replay step then tests.
fn schema_and_replay_plan() -> String {
    json!({
        "objective": "Add users",
        "tasks": [
            task("schema", "database-optimizer", "schema-design", None, &[]),
            task("replay", "backend-coordinator", "database-operations", Some("migration-replay"), &["schema"]),
        ],
    })
    .to_string()
}

/// Runs coord in the project with the variables of `set` set and those of `unset` removed.
fn coord_env(p: &Project, args: &[&str], set: &[(&str, &str)], unset: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_coord"));
    cmd.args(args).current_dir(p.path());
    for (k, v) in set {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

#[test]
fn postgresql_migrations_are_not_replayed_on_sqlite_and_a_person_is_told_what_to_set() {
    let agent = "mkdir -p migrations\nprintf 'CREATE TABLE users (id SERIAL PRIMARY KEY, created_at TIMESTAMPTZ DEFAULT now());\\n' > migrations/001_users.up.sql\nprintf 'DROP TABLE users;\\n' > migrations/001_users.down.sql\n";
    let p = repo(&[("agent.sh", agent)]);
    p.write("coord.toml", &config(""));
    p.write("plan.json", &schema_and_replay_plan());
    let out = coord_env(&p, &["run", "--plan", "plan.json"], &[], &["COORD_REPLICA_URL"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let run = p.only_run();
    assert_eq!(state_of(&p, &run, "replay"), "escalated");
    let open = escalations(&p, false);
    let reason = open[0]["reason"].as_str().unwrap_or_default().to_string() + &open[0].to_string();
    assert!(reason.contains("written for postgresql (SERIAL at migrations/001_users.up.sql:1)"), "{open:?}");
    assert!(reason.contains("COORD_REPLICA_URL=postgres://"), "{open:?}");
    // `coord migrate check` says the same, as a usage error, on the schema task's branch.
    p.git(&["checkout", "-q", &format!("coord-task/{run}/schema")]);
    let out = coord_env(&p, &["migrate", "check"], &[], &["COORD_REPLICA_URL", "COORD_REPLAY_PG"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("written for postgresql") && stderr.contains("set --replica=postgres://"), "{stderr}");
}

/// The MySQL/MariaDB server `.ci/run` checks (`COORD_TEST_MYSQL` points at another).
fn mysql_url() -> String {
    std::env::var("COORD_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

#[test]
fn mysql_migrations_are_replayed_on_a_mysql_replica_and_a_replica_of_another_dialect_is_refused() {
    let agent = "mkdir -p migrations\nprintf 'CREATE TABLE users (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL) ENGINE=InnoDB;\\n' > migrations/001_users.up.sql\nprintf 'DROP TABLE users;\\n' > migrations/001_users.down.sql\n";
    let p = repo(&[("agent.sh", agent)]);
    p.write("coord.toml", &config("[workflows]\nreplica_url_env = \"APP_REPLICA_URL\"\n"));
    p.write("plan.json", &schema_and_replay_plan());
    let out = coord_env(&p, &["run", "--plan", "plan.json"], &[("APP_REPLICA_URL", &mysql_url())], &[]);
    let run = p.only_run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(state_of(&p, &run, "replay"), "done");
    let shown = p.ok(&["task", "show", "replay", "--run", &run, "--json"]);
    assert!(shown.contains("a throwaway MySQL database"), "{shown}");
    // The URL (it may hold a password) is nowhere in the record.
    let log = p.ok(&["log", &run, "--json"]);
    assert!(!log.contains("127.0.0.1:3306") && !shown.contains("127.0.0.1:3306"), "{log}\n{shown}");

    // `coord migrate check` on the result: the MySQL replica replays them; a PostgreSQL one is
    // refused naming the construct, as a usage error.
    p.git(&["checkout", "-q", &format!("coord/{run}")]);
    let check = |replica: &str| {
        coord_env(&p, &["migrate", "check", "--replica", replica], &[], &["COORD_REPLICA_URL", "COORD_REPLAY_PG"])
    };
    let ok = check(&mysql_url());
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(text.contains("1 migrations replayed up, down and up on a throwaway MySQL database: 0 findings"), "{text}");
    let wrong = check("postgres://postgres@127.0.0.1:5432/test");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("written for mysql (AUTO_INCREMENT at migrations/001_users.up.sql:1)")
            && stderr.contains("--replica names a postgresql server"),
        "{stderr}"
    );
}

/// A service whose answers come from PostgreSQL (through `psql`, so the test needs no driver):
/// `GET /v1/users/{id}` reads the user's name from the database `APP_DB_URL` names.
const DB_SERVER: &str = r#"import http.server, json, os, subprocess, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["v1", "users"]:
            sql = "SELECT coalesce((SELECT name FROM users WHERE id::text = :'id'), 'nobody');"
            out = subprocess.run(["psql", os.environ["APP_DB_URL"], "-At", "-v", "id=" + parts[2]],
                                 input=sql, capture_output=True, text=True)
            code, body = 200, json.dumps({"id": 1, "name": out.stdout.strip()})
        else:
            code, body = 404, '{"error": "not found"}'
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"#;

#[test]
fn the_services_database_query_times_are_read_from_pg_stat_statements_during_the_contract_test() {
    // A private server, since the shared one does not preload pg_stat_statements.
    let pg = support::private_pg::PrivatePg::start_with(&["-c", "shared_preload_libraries=pg_stat_statements"]);
    let db = pg.url();
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql").args([db.as_str(), "-Atc", sql]).output().unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    psql("CREATE EXTENSION pg_stat_statements");
    psql("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL); INSERT INTO users VALUES (1, 'Ada')");
    let agent = format!(
        "mkdir -p api\ncat > api/openapi.yaml <<'EOF'\n{}EOF\ncat > server.py <<'EOF'\n{DB_SERVER}EOF\n",
        users_api("string")
    );
    let p = repo(&[("agent.sh", &agent)]);
    let port = free_port();
    p.write(
        "coord.toml",
        &config(&format!(
            "[workflows]\ncontract_test_start = \"python3 server.py {port}\"\ncontract_test_base_url = \"http://127.0.0.1:{port}\"\ncontract_test_wait_secs = 20\nquery_stats_url_env = \"APP_DB_URL\"\n"
        )),
    );
    let plan = json!({
        "objective": "Serve users from the database",
        "tasks": [
            task("implement", "nodejs-expert", "implementation", None, &[]),
            task("test", "backend-coordinator", "integration", Some("contract-test"), &["implement"]),
        ],
    });
    p.write("plan.json", &plan.to_string());
    // The service and coord both read the database's URL from APP_DB_URL.
    let run_with_db = || {
        let out = coord_env(&p, &["run", "--plan", "plan.json"], &[("APP_DB_URL", &db)], &[]);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{text}");
    };
    run_with_db();
    let run = p.only_run();

    // The contract test's event holds the queries its requests caused (the service's SELECT),
    // not coord's own reads of the statistics, and never the URL.
    let log = p.ok(&["log", &run, "--json"]);
    let test = log.lines().find(|l| l.contains("\"contract_test\"")).expect("a contract_test event");
    let event: Value = serde_json::from_str(test).unwrap();
    let queries = &event["data"]["database_queries"];
    assert!(queries["calls"].as_u64().is_some_and(|c| c >= 1), "{event}");
    let slowest = queries["slowest"].as_array().unwrap();
    assert!(slowest.iter().any(|s| s["query"].as_str().unwrap().contains("FROM users WHERE id::text = $1")), "{event}");
    assert!(!test.contains("pg_stat_statements") && !log.contains(&db), "{test}");

    // /metrics: the spec's database_query_performance and the histogram, from those figures.
    let metrics = p.ok(&["metrics", &run]);
    let mean = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("database_query_performance{{run=\"{run}\"}} ")))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(mean.is_some_and(|s| s > 0.0 && s < 5.0), "{metrics}");
    let count = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("coord_database_query_duration_seconds_count{{run=\"{run}\"}} ")))
        .and_then(|v| v.parse::<u64>().ok());
    assert_eq!(count, queries["calls"].as_u64(), "{metrics}");

    // Without the extension the test still passes and its report says why nothing was measured.
    psql("DROP EXTENSION pg_stat_statements");
    run_with_db();
    let runs: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let run2 =
        runs.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).find(|id| *id != run).unwrap().to_string();
    let log = p.ok(&["log", &run2, "--json"]);
    assert!(log.contains("database query times not measured: pg_stat_statements is not installed"), "{log}");
}
