//! docs/configuration.md names every key the configuration parser accepts. The parser is asked
//! for its keys the way a user meets them: an unknown key in each section is refused with the
//! list of the keys that section accepts; each of them must be in the reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The keys a section accepts, from the parser's refusal of an unknown one.
fn accepted(section: &str) -> Vec<String> {
    let text = format!("{section}\nbogus_key_zz = 1\n");
    let err = coord_runtime::Config::parse(&text, "coord.toml").expect_err(section).to_string();
    let list = err.split("expected").nth(1).unwrap_or_else(|| panic!("{section}: {err}"));
    let keys: Vec<String> = list.split('`').skip(1).step_by(2).map(str::to_string).collect();
    assert!(!keys.is_empty(), "{section}: {err}");
    keys
}

#[test]
fn every_key_the_parser_accepts_is_in_the_reference() {
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md")).unwrap();
    // (the TOML that opens the section, the reference's heading for it)
    let sections = [
        ("", "## Top level sections"),
        ("[run]", "## `[run]`"),
        ("[specialists.x]", "## `[specialists.NAME]`"),
        ("[escalation]", "## `[escalation]`"),
        ("[llm]\nprovider = \"openai\"\nmodel = \"m\"", "## `[llm]`"),
        ("[budget]", "## `[budget]`"),
        ("[gates]", "## `[gates]`"),
        ("[workflows]", "## `[workflows]`"),
        ("[workspace]", "## `[workspace]`"),
        ("[deliver]", "## `[deliver]`"),
    ];
    let mut missing = Vec::new();
    let mut total = 0;
    for (section, heading) in sections {
        // The section's part of the reference: from its heading to the next one.
        let at = reference.find(heading).unwrap_or_else(|| panic!("no heading {heading}"));
        let rest = &reference[at + heading.len()..];
        let part = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
        for key in accepted(section) {
            total += 1;
            if !part.contains(&format!("`{key}`")) {
                missing.push(format!("{heading}: {key}"));
            }
        }
    }
    assert!(total > 80, "the parser's keys were read: {total}");
    assert!(missing.is_empty(), "docs/configuration.md lacks: {missing:?}");
}
