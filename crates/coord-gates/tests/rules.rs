//! Every rule's examples run: each `bad` example yields a finding of that rule, each `good`
//! example yields none; and every rule file says what the gate needs (CWE, item, fix).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::SourceFile;
use coord_gates::ast::RuleSet;

fn file_name(language: &str, given: Option<&str>) -> String {
    if let Some(g) = given {
        return g.to_string();
    }
    match language {
        "javascript" => "src/example.js",
        "typescript" => "src/example.ts",
        "python" => "app/example.py",
        "java" => "src/main/java/Example.java",
        other => panic!("a {other} rule must name examples.file"),
    }
    .to_string()
}

#[test]
fn every_rule_finds_its_bad_examples_and_none_of_its_good_ones() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.files().len() >= 20, "built-in rules: {}", set.files().len());
    let mut failures = Vec::new();
    for (origin, rule) in set.files() {
        let name = file_name(&rule.language, rule.examples.file.as_deref());
        for (kind, list, want) in [("bad", &rule.examples.bad, true), ("good", &rule.examples.good, false)] {
            for (i, code) in list.iter().enumerate() {
                let f = SourceFile { rel: name.clone(), path: name.clone().into(), text: code.clone() };
                let mut out = Vec::new();
                set.scan(&f, &mut out);
                let hit = out.iter().any(|x| x.rule == rule.id);
                if hit != want {
                    failures.push(format!(
                        "{origin}: {kind} example {} {}: {:?}",
                        i + 1,
                        if want { "yields no finding" } else { "yields a finding" },
                        out.iter().map(|x| (&x.rule, x.line)).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} example(s) fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn rules_are_filed_in_their_category_folder() {
    let set = RuleSet::builtin().unwrap();
    for (origin, rule) in set.files() {
        let category = rule.id.split('/').next().unwrap();
        assert!(origin.starts_with(&format!("builtin:{category}/")), "{origin} holds {}", rule.id);
        assert!(!rule.fix.trim().is_empty() && !rule.message.trim().is_empty(), "{origin}");
    }
}

#[test]
fn a_broken_user_rule_is_an_error_naming_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.yml"),
        "id: custom/no-eval\nlanguage: cobol\nseverity: high\ncwe: CWE-95\nmessage: m\nfix: f\nitem: security.sql-injection\nrule: {pattern: eval($X)}\nexamples: {bad: ['eval(x)'], good: []}\n",
    )
    .unwrap();
    let err = RuleSet::load(&[dir.path().to_path_buf()], &[]).err().unwrap().to_string();
    assert!(err.contains("mine.yml") && err.contains("cobol"), "{err}");
}

#[test]
fn user_rules_add_to_and_replace_builtin_ones_and_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("no-eval.yml"),
        "id: custom/no-alert\nlanguage: javascript\nseverity: low\ncwe: CWE-1104\nmessage: alert left in code\nfix: remove it\nitem: code.error-handling\nrule: {pattern: alert($X)}\nexamples: {bad: ['alert(1)'], good: ['notify(1)']}\n",
    )
    .unwrap();
    let set = RuleSet::load(&[dir.path().to_path_buf()], &[]).unwrap();
    let f = SourceFile { rel: "a.js".into(), path: "a.js".into(), text: "// alert(2)\nalert(1);\n".into() };
    let mut out = Vec::new();
    set.scan(&f, &mut out);
    let lines: Vec<usize> = out.iter().filter(|x| x.rule == "custom/no-alert").map(|x| x.line).collect();
    assert_eq!(lines, vec![2], "the comment is not code");
    let set = RuleSet::load(&[dir.path().to_path_buf()], &["custom".into()]).unwrap();
    assert!(set.meta("custom/no-alert").is_none());
}

#[test]
fn request_data_handed_to_a_helper_of_the_same_class_is_reported_at_the_call_naming_the_helper() {
    let set = RuleSet::builtin().unwrap();
    let code = "class Images {\n\
        \x20 @GetMapping(\"/image\")\n\
        \x20 public String image(String name) throws IOException {\n\
        \x20   String logo = load(\"static/logo.png\");\n\
        \x20   return load(name);\n\
        \x20 }\n\
        \x20 private String load(String file) throws IOException {\n\
        \x20   return encode(Files.readAllBytes(new File(file).toPath()));\n\
        \x20 }\n\
        }\n";
    let f = SourceFile { rel: "src/main/java/Images.java".into(), path: "Images.java".into(), text: code.into() };
    let mut out = Vec::new();
    set.scan(&f, &mut out);
    let found: Vec<_> = out.iter().filter(|x| x.rule == "path-traversal/java-file-path").collect();
    // The call with the request parameter (line 5), not the one with a constant (line 4), and
    // not the sink itself (line 8), which no request data reaches directly.
    assert_eq!(found.iter().map(|x| x.line).collect::<Vec<_>>(), vec![5], "{out:?}");
    assert!(found[0].message.contains("through `load`") && found[0].message.contains("line 8"), "{}", found[0].message);
}
