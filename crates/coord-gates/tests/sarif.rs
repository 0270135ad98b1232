//! The SARIF output validates against the official SARIF 2.1.0 JSON schema. The schema file
//! and the validator (Python `jsonschema`) are installed by `.ci/run`, which exports
//! `COORD_SARIF_SCHEMA`; without it this test fails and says how to get it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::sarif::to_sarif;
use coord_gates::{GateConfig, run_gates};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn sarif_of_a_real_report_validates_against_the_2_1_0_schema() {
    let schema = std::env::var("COORD_SARIF_SCHEMA").unwrap_or_else(|_| {
        panic!("COORD_SARIF_SCHEMA is not set: run `bash .ci/run`, which installs the SARIF 2.1.0 schema and python jsonschema")
    });
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/express-bad");
    let report = run_gates(&root, &[], &GateConfig::default(), false).unwrap();
    assert!(!report.findings.is_empty());
    let sarif = to_sarif(&report);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.sarif");
    std::fs::write(&path, serde_json::to_string_pretty(&sarif).unwrap()).unwrap();
    let script = "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\nlog=json.load(open(sys.argv[2]))\njsonschema.validate(log, schema)\nprint('valid')";
    let out = Command::new("python3").args(["-c", script, &schema, path.to_str().unwrap()]).output().unwrap();
    assert!(
        out.status.success(),
        "SARIF failed validation:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // GitHub code scanning also needs these.
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string())
    );
    let results = run["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1)));
    assert!(
        results.iter().all(|r| r["partialFingerprints"]["coordFindingHash/v1"].as_str().is_some_and(|h| h.len() == 32))
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no rule {id}"));
    for id in ["secrets/aws-access-key", "sql-injection/js-interpolation", "cors/wildcard-with-credentials"] {
        let r = rule(id);
        let tags: Vec<&str> = r["properties"]["tags"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
        assert!(tags.contains(&"security"), "{id}: {tags:?}");
        assert!(r["properties"]["security-severity"].is_string(), "{id}");
        assert!(r["helpUri"].as_str().is_some_and(|u| u.starts_with("https://cwe.mitre.org/")), "{id}");
        assert!(r["help"]["text"].as_str().is_some_and(|t| t.contains("Fix:")), "{id}");
    }
    // Repository-level findings point at a file that exists.
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(root.join(uri).is_file(), "{uri} does not exist");
    }
}
