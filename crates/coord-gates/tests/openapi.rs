//! The OpenAPI lint on fixture documents: every rule fires on the seeded defects (marked
//! `coord-expect: <rule>` on the reported line) and nowhere else, the clean twin yields nothing, a
//! malformed file is a finding while the other files are still linted, a `$ref` cycle terminates,
//! Swagger 2.0 gets a note, and files that are not OpenAPI are ignored silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::openapi::OpenApiChecker;
use coord_gates::{CheckOutput, Checker, Finding, Severity, SourceFile, Workspace};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi").join(name)
}

/// Every file under `root`, as the walker would give it (sorted, `/`-separated relative paths).
fn files(root: &Path) -> Vec<SourceFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path).unwrap();
                out.push(SourceFile { rel, path, text });
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

fn check(root: &Path, files: &[SourceFile]) -> CheckOutput {
    OpenApiChecker.check(&Workspace { root, files })
}

fn run(name: &str) -> (Vec<SourceFile>, CheckOutput) {
    let root = fixture(name);
    let files = files(&root);
    let out = check(&root, &files);
    (files, out)
}

fn in_memory(rel: &str, text: &str) -> SourceFile {
    SourceFile { rel: rel.into(), path: PathBuf::from("/virtual").join(rel), text: text.into() }
}

/// `(rule, file, line)` of every `coord-expect:` marker.
fn markers(files: &[SourceFile]) -> BTreeSet<(String, String, usize)> {
    let mut out = BTreeSet::new();
    for f in files {
        for (i, line) in f.text.lines().enumerate() {
            if let Some(pos) = line.find("coord-expect:") {
                for rule in line[pos + "coord-expect:".len()..].split(',') {
                    let rule = rule.split(['"', ' ']).find(|s| !s.is_empty()).unwrap_or("");
                    if !rule.is_empty() {
                        out.insert((rule.to_string(), f.rel.clone(), i + 1));
                    }
                }
            }
        }
    }
    out
}

fn keys(findings: &[Finding]) -> BTreeSet<(String, String, usize)> {
    findings.iter().map(|f| (f.rule.clone(), f.file.clone(), f.line)).collect()
}

const RULES: [(&str, &str, Severity); 11] = [
    ("openapi/method-path-shape", "api.http-methods", Severity::Medium),
    ("openapi/verbs-in-path", "api.rest-conventions", Severity::Low),
    ("openapi/missing-success-response", "api.response-codes", Severity::Medium),
    ("openapi/missing-error-response", "api.response-codes", Severity::Medium),
    ("openapi/missing-auth-responses", "security.authorization", Severity::Medium),
    ("openapi/inconsistent-error-schema", "api.error-responses", Severity::Medium),
    ("openapi/collection-without-pagination", "api.pagination", Severity::Low),
    ("openapi/no-versioning", "api.versioning", Severity::Low),
    ("openapi/no-security-scheme", "security.authorization", Severity::High),
    ("openapi/rate-limit-not-documented", "api.rate-limiting", Severity::Medium),
    ("openapi/unparsable", "api.rest-conventions", Severity::Medium),
];

#[test]
fn every_seeded_defect_is_found_on_its_line_and_nothing_else() {
    let (files, out) = run("bad");
    let want = markers(&files);
    let got = keys(&out.findings);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:#?}\nunexpected {extra:#?}");
    for (rule, item, severity) in RULES {
        let hits: Vec<&Finding> = out.findings.iter().filter(|f| f.rule == rule).collect();
        assert!(!hits.is_empty(), "{rule} does not fire on the bad fixtures");
        for f in hits {
            assert_eq!((f.item.as_str(), f.severity), (item, severity), "{f:?}");
            assert!(!f.message.is_empty() && f.fix.len() > 20, "{f:?}");
            assert!(coord_gates::checklist::item_by_id(&f.item).is_some_and(|i| i.checkers.contains(&"openapi")));
        }
    }
}

#[test]
fn each_rule_fires_in_the_expected_file_and_some_on_a_known_line() {
    let (_, out) = run("bad");
    let has = |rule: &str, file: &str| out.findings.iter().any(|f| f.rule == rule && f.file == file);
    for (rule, _, _) in RULES {
        let file = match rule {
            "openapi/no-versioning" => "unversioned.json",
            "openapi/unparsable" => "broken.yaml",
            _ => "openapi.yaml",
        };
        assert!(has(rule, file), "{rule} in {file}: {:#?}", out.findings);
    }
    let at = |rule: &str, file: &str| -> Vec<usize> {
        out.findings.iter().filter(|f| f.rule == rule && f.file == file).map(|f| f.line).collect()
    };
    let bad = std::fs::read_to_string(fixture("bad/openapi.yaml")).unwrap();
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(at("openapi/verbs-in-path", "openapi.yaml"), [line_of("/v1/getOrders:")]);
    assert_eq!(at("openapi/no-security-scheme", "openapi.yaml"), [line_of("/v1/reports/daily:") + 1]);
    assert_eq!(at("openapi/inconsistent-error-schema", "openapi.yaml"), [line_of("\"400\": # coord-expect")]);
    assert_eq!(at("openapi/no-versioning", "unversioned.json"), [2]);
    assert_eq!(at("openapi/unparsable", "broken.yaml"), [14]);
    let inconsistent = out.findings.iter().find(|f| f.rule == "openapi/inconsistent-error-schema").unwrap();
    assert!(
        inconsistent.message.contains("LegacyError") && inconsistent.message.contains("Problem"),
        "names the deviating and the majority schema: {}",
        inconsistent.message
    );
    let shapes: Vec<&str> =
        out.findings.iter().filter(|f| f.rule == "openapi/method-path-shape").map(|f| f.message.as_str()).collect();
    assert!(shapes.iter().any(|m| m.starts_with("POST /v1/orders/{id}")), "{shapes:?}");
    assert!(shapes.iter().any(|m| m.starts_with("PUT /v1/orders:")), "{shapes:?}");
    assert!(shapes.iter().any(|m| m.starts_with("GET /v1/orders/search has a request body")), "{shapes:?}");
    let rate = out.findings.iter().find(|f| f.rule == "openapi/rate-limit-not-documented").unwrap();
    assert!(rate.fix.contains("429") && rate.fix.contains("Retry-After"), "{}", rate.fix);
}

#[test]
fn the_clean_twin_yields_nothing() {
    let (_, out) = run("clean");
    assert!(out.findings.is_empty(), "{:#?}", out.findings);
    assert!(out.notes.is_empty(), "{:#?}", out.notes);
}

#[test]
fn a_malformed_document_is_a_finding_and_the_scan_goes_on() {
    let (_, out) = run("bad");
    let broken: Vec<&Finding> = out.findings.iter().filter(|f| f.file == "broken.yaml").collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0].rule, "openapi/unparsable");
    assert!(broken[0].message.contains("cannot be parsed"), "{}", broken[0].message);
    let after: BTreeSet<&str> =
        out.findings.iter().filter(|f| f.file != "broken.yaml").map(|f| f.file.as_str()).collect();
    assert_eq!(after, BTreeSet::from(["openapi.yaml", "unversioned.json"]));

    // Broken JSON too, with the parser's line; a broken file that is not OpenAPI is ignored.
    let files = [
        in_memory("api/openapi.json", "{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\n    \"title\": \"x\"\n  \n"),
        in_memory("config/app.yaml", "name: svc\nopenapi_path: [unclosed\n"),
        in_memory("package.json", "{ \"scripts\": { \"lint\": \"redocly lint openapi.yaml\" }"),
    ];
    let out = check(Path::new("/virtual"), &files);
    assert_eq!(keys(&out.findings), BTreeSet::from([("openapi/unparsable".into(), "api/openapi.json".into(), 6)]));
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

#[test]
fn a_ref_cycle_terminates_with_a_note_and_no_finding() {
    let root = fixture("bad");
    let files: Vec<SourceFile> = files(&root).into_iter().filter(|f| f.rel == "cycle.yaml").collect();
    assert_eq!(files.len(), 1);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = check(&root, &files);
        tx.send(out).unwrap();
    });
    let out = rx.recv_timeout(Duration::from_secs(30)).expect("the lint of a $ref cycle terminates");
    assert!(out.findings.is_empty(), "{:#?}", out.findings);
    assert!(out.notes.iter().any(|n| n.file == "cycle.yaml" && n.message.contains("$ref cycle")), "{:?}", out.notes);
}

#[test]
fn swagger_2_gets_a_note_and_other_files_are_ignored_silently() {
    let (_, out) = run("bad");
    assert!(
        out.notes.iter().any(|n| n.file == "swagger2.json" && n.message.contains("Swagger 2.0 is not linted")),
        "{:?}",
        out.notes
    );
    assert!(out.findings.iter().all(|f| f.file != "swagger2.json" && f.file != "lint-workflow.yml"));
    assert!(out.notes.iter().all(|n| n.file != "lint-workflow.yml"));
}

/// A small document: global bearer security, one secured operation per line of `paths`.
fn doc(paths: &str, extra: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo:\n  title: t\n  version: '1'\n{extra}servers:\n  - url: https://api.example.com/v1\n\
         security:\n  - bearer: []\ncomponents:\n  securitySchemes:\n    bearer: {{ type: http, scheme: bearer }}\n\
         paths:\n{paths}"
    )
}

fn rules_of(text: &str, rel: &str) -> Vec<String> {
    let files = [in_memory(rel, text)];
    let mut rules: Vec<String> = check(Path::new("/virtual"), &files).findings.into_iter().map(|f| f.rule).collect();
    rules.sort();
    rules
}

#[test]
fn operation_level_rate_limit_claims_need_a_429() {
    let ok = "'200': { description: ok }\n        '401': { description: a }\n        '403': { description: b }";
    // A RateLimit header on the success response claims rate limiting for that operation.
    let header = doc(
        &format!(
            "  /things:\n    post:\n      responses:\n        {}\n",
            ok.replace(
                "'200': { description: ok }",
                "'200': { description: ok, headers: { X-RateLimit-Remaining: { schema: { type: integer } } } }"
            )
        ),
        "",
    );
    assert_eq!(rules_of(&header, "a.yaml"), ["openapi/rate-limit-not-documented"]);
    // An extension does too; a denial does not.
    let ext =
        doc(&format!("  /things:\n    post:\n      x-ratelimit-limit: 100\n      responses:\n        {ok}\n"), "");
    assert_eq!(rules_of(&ext, "b.yaml"), ["openapi/rate-limit-not-documented"]);
    let denied = doc(
        &format!("  /things:\n    post:\n      description: Not rate limited.\n      responses:\n        {ok}\n"),
        "",
    );
    assert!(rules_of(&denied, "c.yaml").is_empty());
    // A document-level claim spares public endpoints.
    let public = doc(
        "  /health:\n    get:\n      security: []\n      responses:\n        '200': { description: up }\n        \
         default: { description: down }\n",
        "x-ratelimit-policy: 100 per minute\n",
    );
    assert!(rules_of(&public, "d.yaml").is_empty(), "{:?}", rules_of(&public, "d.yaml"));
}

#[test]
fn security_overrides_and_public_names() {
    let ok = "'200': { description: ok }\n        '400': { description: bad }";
    // Global security applies: 401/403 are required; `security: []` makes an operation public.
    let secured = doc(&format!("  /things:\n    post:\n      responses:\n        {ok}\n"), "");
    assert_eq!(rules_of(&secured, "a.yaml"), ["openapi/missing-auth-responses"]);
    let public = doc(&format!("  /things:\n    post:\n      security: []\n      responses:\n        {ok}\n"), "");
    assert!(rules_of(&public, "b.yaml").is_empty());
    // Without global security, an operation is unsecured unless public by name.
    let text = doc(
        &format!(
            "  /auth/login:\n    post:\n      responses:\n        {ok}\n\
             \x20 /reports:\n    post:\n      security: []\n      responses:\n        {ok}\n\
             \x20 /exports:\n    post:\n      responses:\n        {ok}\n\
             \x20 /.well-known/jwks.json:\n    get:\n      responses:\n        {ok}\n"
        ),
        "",
    )
    .replace("security:\n  - bearer: []\n", "");
    let files = [in_memory("c.yaml", &text)];
    let out = check(Path::new("/virtual"), &files);
    let got: Vec<String> = out.findings.iter().map(|f| format!("{} {}", f.rule, f.message)).collect();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("openapi/no-security-scheme POST /exports"), "{got:?}");
    // A CORS preflight (as API gateways export it) is not a resource operation.
    let preflight = doc("  /things:\n    options:\n      responses:\n        '200': { description: CORS }\n", "");
    assert!(rules_of(&preflight, "d.yaml").is_empty());
}

#[test]
fn versions_in_headers_media_types_and_server_variables_count() {
    let ops = "  /things:\n    get:\n      security: []\n      responses:\n        '200': { description: ok }\n        \
               '400': { description: bad }\n";
    let unversioned = doc(ops, "").replace("https://api.example.com/v1", "https://api.example.com");
    assert_eq!(rules_of(&unversioned, "a.yaml"), ["openapi/no-versioning"]);
    let header = unversioned.replace(
        "      security: []\n",
        "      security: []\n      parameters:\n        \
         - { name: API-Version, in: header, schema: { type: string } }\n",
    );
    assert!(rules_of(&header, "b.yaml").is_empty());
    let media = unversioned.replace(
        "'200': { description: ok }",
        "'200': { description: ok, content: { application/vnd.acme.v2+json: \
         { schema: { type: object } } } }",
    );
    assert!(rules_of(&media, "c.yaml").is_empty());
    let variable = unversioned.replace(
        "  - url: https://api.example.com\n",
        "  - url: https://api.example.com/{version}\n    variables:\n      version: { default: v3 }\n",
    );
    assert!(rules_of(&variable, "d.yaml").is_empty());
    let path_param = unversioned.replace("  /things:\n", "  /{version}/things:\n");
    assert!(rules_of(&path_param, "e.yaml").is_empty());
}

#[test]
fn json_documents_report_operation_lines_and_openapi_3_2_is_linted() {
    let text = r#"{
  "openapi": "3.2.0",
  "info": { "title": "t", "version": "1" },
  "paths": {
    "/v1/items/{id}": {
      "get": { "responses": { "200": { "description": "ok" } } },
      "post": { "responses": { "201": { "description": "ok" } } }
    }
  }
}
"#;
    let files = [in_memory("api.json", text)];
    let out = check(Path::new("/virtual"), &files);
    let got: BTreeSet<(String, usize)> = out.findings.iter().map(|f| (f.rule.clone(), f.line)).collect();
    assert_eq!(
        got,
        BTreeSet::from([
            ("openapi/missing-error-response".into(), 6),
            ("openapi/missing-error-response".into(), 7),
            ("openapi/method-path-shape".into(), 7),
        ])
    );
}
