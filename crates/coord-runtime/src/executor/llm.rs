//! The LLM executor: a specialist whose executor is `llm` works in the agent loop of
//! `coord-llm`, with its persona as the system prompt, the brief as the task, and tools confined
//! to the workspace. Its transcript is kept beside the attempt; a run out of budget asks for
//! escalation instead of spending more.

use super::{Executor, FailureCategory, Job, Outcome};
use coord_llm::LlmClient;
use coord_llm::agent::{AgentLimits, AgentStop, run_agent};
use std::sync::Arc;

/// Runs a specialist through a model.
#[derive(Debug, Clone)]
pub struct LlmExecutor {
    /// The client (one per configured model, shared).
    pub client: Arc<LlmClient>,
    /// The specialist's persona (its agent file's body).
    pub persona: String,
    /// Step, token and cost limits and the tools' limits.
    pub limits: AgentLimits,
    /// The sandbox and environment of its `run_command`.
    pub confinement: super::confine::Confinement,
}

impl Executor for LlmExecutor {
    fn kind(&self) -> &'static str {
        "llm"
    }

    async fn execute(&self, job: &Job) -> Outcome {
        if let Err(e) = tokio::fs::create_dir_all(&job.attempt_dir).await {
            return Outcome::Failed {
                error: format!("cannot create {}: {e}", job.attempt_dir.display()),
                category: FailureCategory::General,
                retryable: true,
            };
        }
        let _ = tokio::fs::write(job.attempt_dir.join("brief.md"), &job.brief).await;
        if self.confinement.sandboxed() && !coord_sandbox::support().can_confine() {
            return Outcome::Failed {
                error: coord_sandbox::support().refusal(),
                category: FailureCategory::General,
                retryable: false,
            };
        }
        let mut limits = self.limits.clone();
        let env = self.confinement.environment(job, &[]);
        limits.tools.allow_ci = self.confinement.allow_ci;
        limits.tools.max_write_bytes =
            limits.tools.max_write_bytes.min(usize::try_from(self.confinement.max_file_bytes).unwrap_or(usize::MAX));
        if self.confinement.sandboxed() {
            limits.tools.sandbox = Some(self.confinement.policy(job, env.clone()));
        }
        limits.tools.env = env;
        limits.run_cap = job.run_cap.clone();
        limits.partial = Some(job.attempt_dir.join("partial.txt"));
        limits.tools.redact = coord_llm::tools::Redact::with(crate::redact::redact);
        let out = run_agent(&self.client, &self.persona, &job.brief, &job.workspace, &limits).await;
        let transcript = serde_json::json!({
            "model": self.client.config().model,
            "steps": out.steps,
            "usage": out.usage,
            "cost_usd": out.cost,
            "stop": format!("{:?}", out.stop),
            "messages": out.transcript,
        });
        let text = crate::redact::redact(&serde_json::to_string_pretty(&transcript).unwrap_or_default());
        let _ = tokio::fs::write(job.attempt_dir.join("transcript.json"), text).await;
        let spent = format!(
            "{} steps, {} input + {} cached + {} output tokens, ${:.4}",
            out.steps, out.usage.input_tokens, out.usage.cached_input_tokens, out.usage.output_tokens, out.cost
        );
        match out.stop {
            AgentStop::Final => Outcome::Succeeded {
                artifacts: out.files_changed,
                summary: format!("{}; {spent}", out.answer.lines().next().unwrap_or("done")),
            },
            AgentStop::StepLimit => Outcome::Failed {
                error: format!(
                    "the agent reached its step limit without a final answer ({spent}); last words: {}",
                    out.answer
                ),
                category: FailureCategory::General,
                retryable: true,
            },
            AgentStop::Budget(why) if why.starts_with(super::RUN_BUDGET_REACHED) => Outcome::EscalationRequested {
                category: FailureCategory::Timeline,
                reason: format!("{why}; this attempt: {spent}"),
            },
            AgentStop::Budget(why) => Outcome::EscalationRequested {
                category: FailureCategory::Timeline,
                reason: format!("the task's LLM budget would be exceeded ({why}; {spent})"),
            },
            AgentStop::Truncated(why) => Outcome::Failed {
                error: format!(
                    "{why}: the work is not finished; write smaller pieces (one file per call), or raise `max_output_tokens` ({spent})"
                ),
                category: FailureCategory::General,
                retryable: true,
            },
            AgentStop::Refused(why) => Outcome::Failed {
                error: format!("{why}; nothing it wrote is taken as done ({spent})"),
                category: FailureCategory::General,
                retryable: true,
            },
            AgentStop::Empty => Outcome::Failed {
                error: format!(
                    "the model answered with nothing (no text, no tool call): the task is not done ({spent})"
                ),
                category: FailureCategory::General,
                retryable: true,
            },
            AgentStop::Error(e) => Outcome::Failed {
                error: format!("the model call failed: {e}"),
                category: FailureCategory::General,
                retryable: e.retryable(),
            },
        }
    }
}
