//! Stack detection: which specialist implements the work. The `--stack` flag wins; then words
//! of the objective ("FastAPI", "Spring Boot", "NestJS"); then the repository's manifests; when
//! nothing says, the spec's default `@nodejs-expert`, and the decision says so.

use crate::analyse::re;
use crate::repo::RepoFacts;
use coord_core::{ApiStyle, Language, StackDecision, StackSource};
use regex::Regex;
use std::str::FromStr;
use std::sync::LazyLock;

/// The values of `--stack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackFlag {
    /// Node.js.
    Node,
    /// Python.
    Python,
    /// Java.
    Java,
    /// A GraphQL API (language decided as usual).
    Graphql,
}

/// An unknown `--stack` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stack `{0}`: use node, python, java or graphql")]
pub struct UnknownStack(pub String);

impl FromStr for StackFlag {
    type Err = UnknownStack;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "node" | "nodejs" | "node.js" | "typescript" => Ok(StackFlag::Node),
            "python" => Ok(StackFlag::Python),
            "java" | "jvm" | "kotlin" => Ok(StackFlag::Java),
            "graphql" => Ok(StackFlag::Graphql),
            _ => Err(UnknownStack(s.to_string())),
        }
    }
}

/// (language, framework, pattern) for words in an objective.
static STACK_WORDS: LazyLock<Vec<(Language, Option<&'static str>, Regex)>> = LazyLock::new(|| {
    [
        (Language::Node, Some("NestJS"), r"nest\.?js"),
        (Language::Node, Some("Express"), r"express(?:\.js)?"),
        (Language::Node, Some("Fastify"), r"fastify"),
        (Language::Node, Some("Koa"), r"koa"),
        (Language::Node, None, r"node(?:\.?js)?|typescript|deno|bun"),
        (Language::Python, Some("FastAPI"), r"fast\s?api"),
        (Language::Python, Some("Django"), r"django(?: rest framework)?"),
        (Language::Python, Some("Flask"), r"flask"),
        (Language::Python, None, r"python|pydantic|sqlalchemy|celery"),
        (Language::Java, Some("Spring Boot"), r"spring(?:[- ]?boot)?"),
        (Language::Java, Some("Quarkus"), r"quarkus"),
        (Language::Java, Some("Micronaut"), r"micronaut"),
        (Language::Java, None, r"java|kotlin|jvm|hibernate|jpa"),
    ]
    .into_iter()
    .map(|(l, f, p)| (l, f, re(&format!(r"(?i)\b(?:{p})\b"))))
    .collect()
});
static GRAPHQL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(graphql|apollo|resolvers?|federation|subscriptions? over websockets?)\b"));

/// Decides the implementing stack. Conflicts and ambiguities go to `notes`.
pub fn decide_stack(
    objective: &str,
    repo: Option<&RepoFacts>,
    flag: Option<StackFlag>,
    notes: &mut Vec<String>,
) -> StackDecision {
    let mut evidence = Vec::new();
    let mut api_style = ApiStyle::Rest;
    if flag == Some(StackFlag::Graphql) {
        api_style = ApiStyle::Graphql;
        evidence.push("--stack graphql".to_string());
    } else if let Some(m) = GRAPHQL.find(objective) {
        api_style = ApiStyle::Graphql;
        evidence.push(format!("the objective says \"{}\"", m.as_str()));
    } else if let Some(g) = repo.and_then(|r| r.graphql_files.first()) {
        api_style = ApiStyle::Graphql;
        evidence.push(format!("GraphQL in the repository: {g}"));
    }

    let from_words =
        STACK_WORDS.iter().find_map(|(l, f, p)| p.find(objective).map(|m| (*l, *f, m.as_str().to_string())));
    let from_repo = repo.and_then(|r| r.stacks.first()).cloned();
    if let Some(r) = repo
        && r.stacks.iter().map(|s| s.language).collect::<std::collections::BTreeSet<_>>().len() > 1
    {
        let all: Vec<String> = r.stacks.iter().map(|s| format!("{} ({})", s.language.as_str(), s.manifest)).collect();
        notes.push(format!("the repository has several stacks: {}; the shallowest manifest decides", all.join(", ")));
    }

    let (language, framework, source) = match flag {
        Some(StackFlag::Node) => (Language::Node, None, StackSource::Flag),
        Some(StackFlag::Python) => (Language::Python, None, StackSource::Flag),
        Some(StackFlag::Java) => (Language::Java, None, StackSource::Flag),
        Some(StackFlag::Graphql) | None => match (&from_words, &from_repo) {
            (Some((l, f, _)), _) => (*l, f.map(String::from), StackSource::Objective),
            (None, Some(hint)) => (hint.language, hint.framework.clone(), StackSource::Repository),
            (None, None) => (Language::Node, None, StackSource::Default),
        },
    };
    match source {
        StackSource::Flag => evidence.insert(0, format!("--stack {}", language.as_str())),
        StackSource::Objective => {
            if let Some((_, _, word)) = &from_words {
                evidence.insert(0, format!("the objective says \"{word}\""));
            }
        }
        StackSource::Repository => {
            if let Some(hint) = &from_repo {
                let what = match &hint.framework {
                    Some(f) => format!("{} names {f}", hint.manifest),
                    None => format!("{} is a {} manifest", hint.manifest, hint.language.as_str()),
                };
                evidence.insert(0, what);
            }
        }
        StackSource::Default => evidence.insert(
            0,
            "nothing in the objective or repository names a stack: the spec's default @nodejs-expert applies"
                .to_string(),
        ),
    }
    // A framework the repository names refines a bare language word of the objective.
    let framework =
        framework.or_else(|| from_repo.as_ref().filter(|h| h.language == language).and_then(|h| h.framework.clone()));
    if let Some(hint) = &from_repo
        && source != StackSource::Repository
        && hint.language != language
    {
        let decided_by = match source {
            StackSource::Flag => "--stack",
            _ => "the objective",
        };
        notes.push(format!(
            "the repository's {} is {} but the stack chosen is {} ({decided_by} decides)",
            hint.manifest,
            hint.language.as_str(),
            language.as_str(),
        ));
    }
    StackDecision { language, framework, api_style, specialist: language.specialist().to_string(), source, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::StackHint;

    fn decide(objective: &str, repo: Option<&RepoFacts>, flag: Option<StackFlag>) -> (StackDecision, Vec<String>) {
        let mut notes = Vec::new();
        (decide_stack(objective, repo, flag, &mut notes), notes)
    }

    fn repo_with(language: Language, framework: Option<&str>) -> RepoFacts {
        RepoFacts {
            stacks: vec![StackHint {
                language,
                framework: framework.map(String::from),
                manifest: "package.json".into(),
                depth: 0,
            }],
            ..RepoFacts::default()
        }
    }

    #[test]
    fn default_is_node_and_says_so() {
        let (d, _) = decide("Add rate limiting", None, None);
        assert_eq!((d.specialist.as_str(), d.source), ("nodejs-expert", StackSource::Default));
        assert!(d.evidence[0].contains("default"));
    }

    #[test]
    fn words_of_the_objective() {
        let (d, _) = decide("Build a FastAPI service for invoices", None, None);
        assert_eq!((d.specialist.as_str(), d.framework.as_deref()), ("python-pro", Some("FastAPI")));
        let (d, _) = decide("Expose orders from our Spring Boot app", None, None);
        assert_eq!(d.specialist, "java-expert");
        let (d, _) = decide("Add a NestJS module", None, None);
        assert_eq!(d.framework.as_deref(), Some("NestJS"));
    }

    #[test]
    fn repository_flag_and_conflicts() {
        let repo = repo_with(Language::Python, Some("Django"));
        let (d, _) = decide("Add an orders API", Some(&repo), None);
        assert_eq!((d.specialist.as_str(), d.source), ("python-pro", StackSource::Repository));
        let (d, notes) = decide("Add an orders API in Express", Some(&repo), None);
        assert_eq!(d.specialist, "nodejs-expert");
        assert_eq!(notes.len(), 1, "the conflict is noted");
        let (d, _) = decide("Add an orders API in Express", Some(&repo), Some(StackFlag::Java));
        assert_eq!((d.specialist.as_str(), d.source), ("java-expert", StackSource::Flag));
        let (d, _) = decide("Add an orders API", None, Some(StackFlag::Graphql));
        assert_eq!((d.api_style, d.specialist.as_str()), (ApiStyle::Graphql, "nodejs-expert"));
        assert!("cobol".parse::<StackFlag>().is_err());
    }
}
