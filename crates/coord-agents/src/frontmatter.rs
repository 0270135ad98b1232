//! Parsing one agent file: the `---` frontmatter block (YAML) and the persona body.

use coord_core::{ContextCategory, ContextPolicy, Specialist};
use serde::{Deserialize, Deserializer};

/// Why an agent file could not be read, with the line of the file it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct AgentError {
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl AgentError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        AgentError { line, message: message.into() }
    }
}

#[derive(Deserialize)]
struct Frontmatter {
    name: String,
    description: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    tools: Option<Tools>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    roles: Option<Tools>,
    #[serde(default)]
    context: Option<PolicySpec>,
}

/// Claude Code writes `tools: Read, Write, Bash`; a YAML list is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    List(Vec<String>),
    Csv(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    #[serde(default)]
    allow: Vec<AllowEntry>,
    #[serde(default)]
    deny: Vec<Category>,
}

/// A category name, or `*` for every category.
enum AllowEntry {
    All,
    One(ContextCategory),
}

struct Category(ContextCategory);

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(Category).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for AllowEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "*" {
            return Ok(AllowEntry::All);
        }
        s.parse().map(AllowEntry::One).map_err(serde::de::Error::custom)
    }
}

/// Splits `---\n yaml \n---\n body` into (yaml, first line of yaml, body).
fn split(text: &str) -> Result<(&str, &str), AgentError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        return Err(AgentError::at(1, "expected `---` to open the YAML frontmatter"));
    }
    let start = first.len();
    let mut offset = start;
    for line in lines {
        if line.trim_end() == "---" {
            return Ok((&text[start..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err(AgentError::at(1, "the frontmatter opened on line 1 is never closed with `---`"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses an agent file. `source` is recorded as where the definition came from.
///
/// The context policy is `None` when the file has no `context` key, so the caller can decide
/// what such an agent inherits.
pub fn parse_agent(text: &str, source: &str) -> Result<(Specialist, bool), AgentError> {
    let (yaml, body) = split(text)?;
    // The YAML starts on line 2 of the file.
    let fm: Frontmatter = yaml_serde::from_str(yaml).map_err(|e| {
        let message = e.to_string();
        match e.location() {
            Some(loc) => {
                let suffix = format!(" at line {} column {}", loc.line(), loc.column());
                let message = message.strip_suffix(&suffix).unwrap_or(&message).to_string();
                AgentError::at(loc.line() + 1, message)
            }
            None => AgentError::at(2, message),
        }
    })?;
    let line_of = |key: &str| yaml.lines().position(|l| l.starts_with(&format!("{key}:"))).map_or(2, |p| p + 2);
    if !valid_name(&fm.name) {
        return Err(AgentError::at(
            line_of("name"),
            format!("name `{}` must be lower-case letters, digits and `-`", fm.name),
        ));
    }
    if fm.description.trim().is_empty() {
        return Err(AgentError::at(line_of("description"), "description is empty"));
    }
    let persona = body.trim().to_string();
    if persona.is_empty() {
        let line = text.lines().count() + 1;
        return Err(AgentError::at(line, "the persona (the markdown after the frontmatter) is empty"));
    }
    let tools = match fm.tools {
        None => Vec::new(),
        Some(Tools::List(list)) => list,
        Some(Tools::Csv(s)) => s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
    };
    let has_policy = fm.context.is_some();
    let context = match fm.context {
        None => ContextPolicy::everything(),
        Some(spec) => {
            let mut policy = ContextPolicy::default();
            for entry in spec.allow {
                match entry {
                    AllowEntry::All => policy.allow_all = true,
                    AllowEntry::One(c) if !policy.allow.contains(&c) => policy.allow.push(c),
                    AllowEntry::One(_) => {}
                }
            }
            for Category(c) in spec.deny {
                if !policy.deny.contains(&c) {
                    policy.deny.push(c);
                }
            }
            policy
        }
    };
    let specialist = Specialist {
        name: fm.name,
        description: fm.description.trim().to_string(),
        model: fm.model,
        tools,
        color: fm.color,
        capabilities: fm.capabilities,
        roles: match fm.roles {
            None => Vec::new(),
            Some(Tools::List(list)) => list,
            Some(Tools::Csv(s)) => s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
        },
        context,
        persona,
        source: source.to_string(),
    };
    Ok((specialist, has_policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nname: demo-agent\ndescription: Does demos\ntools: Read, Write\ncapabilities: [demo]\ncontext:\n  allow: [api-contracts, \"*\"]\n  deny: [frontend-html-css]\n---\nYou are a demo.\n";

    #[test]
    fn parses_a_claude_code_file() {
        let (s, has_policy) = parse_agent(GOOD, "test").unwrap();
        assert!(has_policy);
        assert_eq!(s.name, "demo-agent");
        assert_eq!(s.tools, vec!["Read", "Write"]);
        assert!(s.context.allow_all);
        assert!(!s.context.allows(ContextCategory::FrontendHtmlCss));
        assert_eq!(s.persona, "You are a demo.");
    }

    #[test]
    fn unknown_category_is_reported_on_its_line() {
        let text = GOOD.replace("deny: [frontend-html-css]", "deny: [frontend]");
        let err = parse_agent(&text, "test").unwrap_err();
        assert_eq!(err.line, 8, "{err}");
        assert!(err.message.contains("unknown context category `frontend`"), "{err}");
    }

    #[test]
    fn yaml_syntax_error_is_reported_on_its_line() {
        let text = "---\nname: x\ndescription: [unclosed\n---\nbody\n";
        let err = parse_agent(text, "test").unwrap_err();
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn missing_frontmatter_and_unclosed_frontmatter() {
        assert_eq!(parse_agent("just text", "t").unwrap_err().line, 1);
        let err = parse_agent("---\nname: x\n", "t").unwrap_err();
        assert!(err.message.contains("never closed"), "{err}");
    }

    #[test]
    fn missing_name_bad_name_and_empty_persona() {
        let err = parse_agent("---\ndescription: d\n---\nbody\n", "t").unwrap_err();
        assert!(err.message.contains("missing field `name`"), "{err}");
        let err = parse_agent("---\nname: Bad Name\ndescription: d\n---\nbody\n", "t").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_agent("---\nname: ok\ndescription: d\n---\n\n", "t").unwrap_err();
        assert!(err.message.contains("persona"), "{err}");
    }
}
