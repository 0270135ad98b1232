//! N+1 query patterns, where they can be recognised: a query call inside a loop over the
//! results of another query — `for (const u of users)` after `users = await User.findAll()`,
//! `for u in User.objects.all():`, `for (User u : repo.findAll())` — in JavaScript/TypeScript,
//! Python and Java.

use crate::checker::re;
use crate::checker::{FileChecker, SourceFile};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

/// A call that loads rows.
static QUERY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\.(?:findAll|findMany|find|findOne|findById|findByPk|findUnique|findFirst|findBy[A-Z]\w*|findAllBy[A-Z]\w*|query|execute|select|where|all|filter|exclude|fetchall|fetchone|scalars|scalar|first|get_or_none|getResultList|getSingleResult|createQuery|count|aggregate|populate)\s*\(|\bsession\.query\(|\bem\.find\(|\bentityManager\.find\(|\.objects\.",
    )
});
static JS_LOOP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bfor\s*(?:await\s*)?\(\s*(?:const|let|var)?\s*[\w{}\[\], ]+\s+(?:of|in)\s+([\w.]+(?:\([^)]*\))?)\s*\)|\b([\w.]+)\.(?:forEach|map)\s*\(",
    )
});
static JAVA_LOOP: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bfor\s*\(\s*[\w<>,\s]+\s+\w+\s*:\s*([\w.]+(?:\([^)]*\))?)\s*\)"));
static PY_LOOP: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^([ \t]*)(?:async\s+)?for\s+[\w, ()]+\s+in\s+(.+?):\s*$"));

/// Whether `collection` (a variable or an expression) holds query results in this file: it is
/// a query call itself, or the variable was last assigned one before `before`. Returns where.
fn from_query(text: &str, collection: &str, before: usize) -> Option<usize> {
    if QUERY.is_match(collection) {
        return Some(before);
    }
    let name = collection.split(['(', '.']).next().unwrap_or(collection).trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    // The last `name =` / `name: T =` before the loop, found by plain search (no regex per loop).
    let head = &text[..before.min(text.len())];
    let mut end = head.len();
    while let Some(pos) = head[..end].rfind(name) {
        end = pos;
        let before_ok = pos == 0 || !head[..pos].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let rest = &head[pos + name.len()..];
        let line = rest.split('\n').next().unwrap_or("");
        let after = line.trim_start();
        let after_ok = after.starts_with('=') && !after.starts_with("==")
            || after.starts_with(':') && after.contains('=') && !after.contains("==");
        if before_ok && after_ok {
            let value = &line[line.find('=').map_or(line.len(), |i| i + 1)..];
            return QUERY.is_match(value).then_some(pos);
        }
        if pos == 0 {
            break;
        }
    }
    None
}

/// The text of a braced or parenthesised block opening at or after `from` (at most 4,000 bytes).
fn block(text: &str, from: usize) -> (usize, &str) {
    let bytes = text.as_bytes();
    let Some(open) = text[from..].find(['{', '(']).map(|i| from + i) else { return (from, "") };
    let (o, c) = if bytes[open] == b'{' { (b'{', b'}') } else { (b'(', b')') };
    let mut depth = 0;
    let end = (open + 4000).min(text.len());
    let mut i = open;
    while i < end {
        if bytes[i] == o {
            depth += 1;
        } else if bytes[i] == c {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
        i += 1;
    }
    let mut stop = i.min(text.len());
    while !text.is_char_boundary(stop) {
        stop -= 1;
    }
    (open, &text[open..stop])
}

/// The N+1 checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct NPlusOneChecker;

impl NPlusOneChecker {
    fn report(f: &SourceFile, out: &mut Vec<Finding>, query_at: usize, collection: &str, loaded_at: usize) {
        let line = f.line_of(query_at);
        if out.iter().any(|x| x.line == line && x.file == f.rel) {
            return;
        }
        out.push(Finding {
            rule: "n-plus-one/query-in-loop".into(),
            severity: Severity::Medium,
            file: f.rel.clone(),
            line,
            message: format!(
                "a query runs once per row of `{}` (loaded at line {})",
                collection.trim(),
                f.line_of(loaded_at)
            ),
            fix: "load the related rows in one query: JOIN or WHERE id IN (...), include/populate, select_related/prefetch_related, @EntityGraph or a DataLoader".into(),
            item: "performance.n-plus-one".into(),
            cwe: None,
            fingerprint: String::new(),
        });
    }
}

impl FileChecker for NPlusOneChecker {
    fn id(&self) -> &'static str {
        "n-plus-one"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        let text = &f.text;
        match f.ext().as_str() {
            "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" | "java" | "kt" => {
                let loops = if matches!(f.ext().as_str(), "java" | "kt") { &*JAVA_LOOP } else { &*JS_LOOP };
                for c in loops.captures_iter(text) {
                    let (Some(all), Some(coll)) = (c.get(0), c.get(1).or_else(|| c.get(2))) else { continue };
                    let Some(loaded) = from_query(text, coll.as_str(), all.start()) else { continue };
                    let (open, body) = block(text, all.end().saturating_sub(1).max(all.start()));
                    if let Some(q) = QUERY.find(body) {
                        Self::report(f, out, open + q.start(), coll.as_str(), loaded);
                    }
                }
            }
            "py" => {
                for c in PY_LOOP.captures_iter(text) {
                    let (Some(all), Some(indent), Some(coll)) = (c.get(0), c.get(1), c.get(2)) else { continue };
                    let Some(loaded) = from_query(text, coll.as_str(), all.start()) else { continue };
                    let width = indent.as_str().len();
                    let mut offset = all.end() + 1;
                    for line in text[all.end().min(text.len())..].lines().skip(1) {
                        let trimmed = line.trim_start();
                        if !trimmed.is_empty() && line.len() - trimmed.len() <= width {
                            break;
                        }
                        if let Some(q) = QUERY.find(line) {
                            Self::report(f, out, offset + q.start(), coll.as_str(), loaded);
                            break;
                        }
                        offset += line.len() + 1;
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, text: &str) -> Vec<Finding> {
        let f = SourceFile { rel: name.into(), path: name.into(), text: text.into() };
        let mut out = Vec::new();
        NPlusOneChecker.file(&f, &mut out);
        out
    }

    #[test]
    fn javascript_loops() {
        let bad = "const users = await User.findAll();\nfor (const u of users) {\n  const orders = await Order.findAll({ where: { userId: u.id } });\n}\n";
        let found = scan("a.js", bad);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 3);
        let map = "const posts = await prisma.post.findMany();\nawait Promise.all(posts.map(async (p) => prisma.user.findUnique({ where: { id: p.authorId } })));";
        assert_eq!(scan("a.ts", map).len(), 1);
        let good = "const users = await User.findAll({ include: Order });\nfor (const u of users) {\n  total += u.orders.length;\n}\n";
        assert!(scan("a.js", good).is_empty());
        let not_rows = "for (const id of [1,2,3]) {\n  await Order.findByPk(id);\n}\n";
        assert!(scan("a.js", not_rows).is_empty(), "a literal list is not a query result");
    }

    #[test]
    fn python_and_java_loops() {
        let py = "def report():\n    for author in Author.objects.all():\n        books = Book.objects.filter(author=author)\n        print(len(books))\n    return 1\n";
        assert_eq!(scan("v.py", py)[0].line, 3);
        let py_ok = "for author in Author.objects.prefetch_related('books'):\n    print(author.name)\n";
        assert!(scan("v.py", py_ok).is_empty());
        let java = "for (Order o : orderRepository.findAll()) {\n    Customer c = customerRepository.findById(o.getCustomerId()).orElseThrow();\n}\n";
        assert_eq!(scan("S.java", java).len(), 1);
    }
}
