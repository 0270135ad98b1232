//! The LLM planner against a scripted model (OpenAI wire format): an invalid plan is sent back
//! with its validation errors and repaired; a model that never answers with a valid plan leaves
//! the rule-based planner in charge, with a note that says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use coord_llm::{LlmClient, ProviderConfig, ProviderKind, Secret};
use coord_plan::PlanInput;
use coord_plan::llm_planner::plan_with_llm;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

type Script = Arc<Mutex<(VecDeque<String>, Vec<serde_json::Value>)>>;

async fn handle(State(s): State<Script>, body: Bytes) -> axum::Json<serde_json::Value> {
    let mut s = s.lock().unwrap();
    s.1.push(serde_json::from_slice(&body).unwrap());
    let text = s.0.pop_front().unwrap_or_else(|| "no more".into());
    axum::Json(
        serde_json::json!({ "model": "m", "choices": [{ "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 10, "completion_tokens": 10 } }),
    )
}

async fn model(answers: Vec<String>) -> (LlmClient, Script) {
    let script: Script = Arc::new(Mutex::new((answers.into(), Vec::new())));
    let app = Router::new().route("/v1/chat/completions", post(handle)).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut c = ProviderConfig::new(ProviderKind::Openai, "m");
    c.base_url = Some(format!("http://{addr}/v1"));
    (LlmClient::with_key(c, Secret::new("k")).unwrap(), script)
}

fn task(id: &str, specialist: &str, deps: &[&str]) -> serde_json::Value {
    serde_json::json!({ "id": id, "title": format!("task {id}"), "specialist": specialist, "depends_on": deps, "expected_output": ["something"] })
}

#[tokio::test]
async fn an_invalid_plan_is_repaired_with_its_errors() {
    let bad = serde_json::json!({ "tasks": [task("backend-T001", "api-architect", &["backend-T002"]), task("backend-T002", "cobol-expert", &["backend-T001"])] });
    let good = serde_json::json!({ "tasks": [task("backend-T001", "api-architect", &[]), task("backend-T002", "nodejs-expert", &["backend-T001"])], "notes": ["two steps"] });
    let (client, script) = model(vec![bad.to_string(), format!("```json\n{good}\n```")]).await;
    let roster = coord_agents::builtin_roster();
    let input = PlanInput { objective: "Add a health endpoint", repo: None, stack: None, workflows: true };
    let valid = plan_with_llm(&input, &client, &roster, &coord_plan::RulePlanner::default(), 2).await.unwrap().plan;
    let plan = valid.plan();
    assert_eq!(plan.planner, "llm");
    assert_eq!(plan.tasks.len(), 2);
    assert_eq!(plan.groups, vec![vec!["backend-T001".to_string()], vec!["backend-T002".to_string()]]);
    assert!(!plan.context.is_empty(), "the context pool is attached");
    let s = script.lock().unwrap();
    assert_eq!(s.1.len(), 2);
    let repair = s.1[1]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
    assert!(repair.contains("dependency cycle") && repair.contains("cobol-expert"), "{repair}");
    assert_eq!(s.1[0]["response_format"]["type"], "json_schema", "structured output is requested");
}

#[tokio::test]
async fn a_model_that_never_gets_it_right_leaves_the_rules_in_charge() {
    let (client, script) =
        model(vec!["I think you should build it.".into(), "{\"tasks\": 3}".into(), "nope".into()]).await;
    let roster = coord_agents::builtin_roster();
    let input = PlanInput {
        objective: "Add user authentication system with OAuth2 and JWT",
        repo: None,
        stack: None,
        workflows: true,
    };
    let valid = plan_with_llm(&input, &client, &roster, &coord_plan::RulePlanner::default(), 2).await.unwrap().plan;
    let plan = valid.plan();
    assert_eq!(plan.planner, "rules");
    assert_eq!(plan.tasks.len(), 13, "the spec's tasks A–H and the five workflow steps");
    assert!(plan.notes[0].contains("The LLM planner could not produce a valid plan"), "{:?}", plan.notes);
    assert_eq!(script.lock().unwrap().1.len(), 3, "one try and two repairs");
}
