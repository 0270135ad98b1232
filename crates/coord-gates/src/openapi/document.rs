//! Reading a file as an OpenAPI document: YAML (merge keys applied) or JSON into one JSON value,
//! and telling whether a file that does not parse was meant to be OpenAPI or Swagger.

use super::re;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

static LOOKS_YAML: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)^["']?(openapi|swagger)["']?\s*:"#));
static LOOKS_JSON: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^\s{0,4}\{?\s*"(openapi|swagger)"\s*:|^\s*\{\s*"(openapi|swagger)"\s*:"#));

/// Parses YAML (merge keys applied) or JSON into a JSON value; the error carries its line.
pub fn parse(text: &str, json: bool) -> Result<Value, (String, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if json {
        return serde_json::from_str(text).map_err(|e| (e.to_string(), e.line()));
    }
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| (e.to_string(), e.location().map_or(1, |l| l.line())))?;
    // A bad merge key leaves the document as written; the lint still reads it.
    yaml.apply_merge().ok();
    serde_json::to_value(&yaml).map_err(|e| (e.to_string(), 1))
}

/// `openapi` or `swagger` when the text has that key at the top level.
pub fn looks_like(text: &str, json: bool) -> Option<&'static str> {
    let re: &Regex = if json { &LOOKS_JSON } else { &LOOKS_YAML };
    let caps = re.captures(text).or_else(|| LOOKS_JSON.captures(text))?;
    let word = caps.get(1).or_else(|| caps.get(2)).map(|m| m.as_str())?;
    Some(if word == "openapi" { "openapi" } else { "swagger" })
}
