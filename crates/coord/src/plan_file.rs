//! Reading and writing plan files: JSON or YAML, chosen by extension (or by the first
//! character when the extension says nothing). Errors name the file, line and column.

use anyhow::{Context, Result, anyhow};
use coord_core::Plan;
use std::io::Write;
use std::path::Path;

/// Plan files larger than this are refused before parsing.
const MAX_PLAN_BYTES: u64 = 256 * 1024 * 1024;

/// A plan file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl FileFormat {
    /// The format an extension names, if any.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(FileFormat::Json),
            "yaml" | "yml" => Some(FileFormat::Yaml),
            _ => None,
        }
    }
}

/// Reads a file as UTF-8 text; the error names the line of the first invalid byte.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.is_dir() {
        return Err(anyhow!("{what} {} is a folder, not a file", path.display()));
    }
    if meta.len() > MAX_PLAN_BYTES {
        return Err(anyhow!("{what} {} is {} bytes; the limit is {MAX_PLAN_BYTES}", path.display(), meta.len()));
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        anyhow!("{}:{line}: not valid UTF-8 (byte {valid}); save the {what} as UTF-8", path.display())
    })
}

/// Loads a plan file. Validation is the caller's next step.
/// Nesting deeper than this is refused before parsing (a parser's time on a deeply nested
/// document can grow with the square of its depth).
const MAX_NESTING: usize = 256;

/// The deepest nesting of a JSON or YAML text, found in one pass: brackets and braces outside
/// quoted strings, and block indentation levels. Returns the depth and the line where it was
/// reached.
fn nesting(text: &str) -> (usize, usize) {
    let (mut flow, mut worst, mut at) = (0usize, 0usize, 1usize);
    let mut indents: Vec<usize> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && flow == 0 {
            let indent = line.len() - trimmed.len();
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut quote: Option<char> = None;
        let mut escaped = false;
        let mut line_max = flow;
        for c in line.chars() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && q == '"' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' => quote = Some(c),
                    '[' | '{' => {
                        flow += 1;
                        line_max = line_max.max(flow);
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    '#' => break,
                    _ => {}
                },
            }
        }
        let depth = line_max + indents.len();
        if depth > worst {
            (worst, at) = (depth, n + 1);
        }
    }
    (worst, at)
}

pub fn load_plan(path: &Path) -> Result<Plan> {
    let text = read_text(path, "plan file")?;
    // A byte-order mark (Windows editors write one) is not part of the document.
    let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
    let (depth, line) = nesting(&text);
    if depth > MAX_NESTING {
        return Err(anyhow!(
            "{}:{line}: nested {depth} levels deep; a plan file may nest at most {MAX_NESTING}",
            path.display()
        ));
    }
    let format = FileFormat::from_path(path)
        .unwrap_or_else(|| if text.trim_start().starts_with('{') { FileFormat::Json } else { FileFormat::Yaml });
    if text.trim().is_empty() {
        return Err(anyhow!("{}: the plan file is empty", path.display()));
    }
    match format {
        FileFormat::Json => serde_json::from_str(&text)
            .map_err(|e| anyhow!("{}:{}:{}: {}", path.display(), e.line(), e.column(), strip_json_location(&e))),
        FileFormat::Yaml => yaml_serde::from_str(&text).map_err(|e| match e.location() {
            Some(loc) => {
                let message = e.to_string();
                let suffix = format!(" at line {} column {}", loc.line(), loc.column());
                let message = message.strip_suffix(&suffix).unwrap_or(&message).to_string();
                anyhow!("{}:{}:{}: {message}", path.display(), loc.line(), loc.column())
            }
            None => anyhow!("{}: {e}", path.display()),
        }),
    }
}

fn strip_json_location(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&suffix).unwrap_or(&message).to_string()
}

/// Writes `contents` to `path` through a temporary file and a rename, so an interrupted write
/// never leaves half a plan behind.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_in_one_pass() {
        assert_eq!(nesting("{\"a\": [1, {\"b\": 2}]}").0, 4, "three brackets on a top-level line");
        assert_eq!(nesting("a:\n  b:\n    c: 1\n").0, 3);
        assert_eq!(nesting("a: \"[[[[\"\n").0, 1, "brackets in strings do not count");
        let deep = "[".repeat(100_000);
        assert_eq!(nesting(&deep), (100_001, 1));
    }

    #[test]
    fn a_bom_and_a_deep_file() {
        let dir = tempfile::tempdir().unwrap();
        let bom = dir.path().join("plan.json");
        std::fs::write(&bom, "\u{feff}{\"objective\": \"x\", \"tasks\": []}").unwrap();
        assert!(load_plan(&bom).is_ok(), "{:?}", load_plan(&bom).err());
        let deep = dir.path().join("deep.yaml");
        std::fs::write(&deep, format!("objective: {}", "[".repeat(100_000))).unwrap();
        let err = load_plan(&deep).unwrap_err().to_string();
        assert!(err.contains("deep.yaml:1: nested 100001 levels deep"), "{err}");
    }
}
