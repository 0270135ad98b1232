//! The built-in roster: the spec's eight specialists, the coordinator (the spec file itself),
//! the tech lead that receives strategic escalations, and the frontend coordinator that
//! validates API contracts (the spec's "Share spec with frontend-coordinator"), embedded in
//! the binary.

use crate::frontmatter::parse_agent;
use coord_core::{ContextPolicy, Roster};

/// `(file name, contents)` of every built-in agent file.
pub const BUILTIN_AGENTS: [(&str, &str); 11] = [
    ("api-architect.md", include_str!("../agents/api-architect.md")),
    ("backend-architect.md", include_str!("../agents/backend-architect.md")),
    ("nodejs-expert.md", include_str!("../agents/nodejs-expert.md")),
    ("python-pro.md", include_str!("../agents/python-pro.md")),
    ("java-expert.md", include_str!("../agents/java-expert.md")),
    ("graphql-architect.md", include_str!("../agents/graphql-architect.md")),
    ("database-optimizer.md", include_str!("../agents/database-optimizer.md")),
    ("database-admin.md", include_str!("../agents/database-admin.md")),
    ("tech-lead-orchestrator.md", include_str!("../agents/tech-lead-orchestrator.md")),
    ("backend-coordinator.md", include_str!("../agents/backend-coordinator.md")),
    ("frontend-coordinator.md", include_str!("../agents/frontend-coordinator.md")),
];

/// The built-in roster. A test parses every embedded file, so none is ever skipped here; should
/// one fail to parse anyway, it is left out rather than aborting the program.
pub fn builtin_roster() -> Roster {
    let mut roster = Roster::new();
    for (file, text) in BUILTIN_AGENTS {
        if let Ok((mut specialist, has_policy)) = parse_agent(text, &format!("builtin:{file}")) {
            if !has_policy {
                specialist.context = ContextPolicy::everything();
            }
            roster.insert(specialist);
        }
    }
    roster
}

#[cfg(test)]
mod tests {
    use super::*;
    use coord_core::ContextCategory as C;

    #[test]
    fn every_builtin_file_parses_and_is_named_after_its_file() {
        for (file, text) in BUILTIN_AGENTS {
            let (s, _) = parse_agent(text, file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(format!("{}.md", s.name), file);
            assert!(s.persona.len() > 200, "{file} has a thin persona");
        }
        assert_eq!(builtin_roster().len(), BUILTIN_AGENTS.len());
    }

    #[test]
    fn policies_follow_the_spec_table() {
        let roster = builtin_roster();
        let policy = |name: &str| roster.get(name).map(|s| s.context.clone()).unwrap_or_default();
        let api = policy("api-architect");
        for c in [C::ApiContracts, C::FrontendIntegration, C::ThirdPartyContracts, C::Versioning] {
            assert!(api.allows(c), "api-architect should see {c}");
        }
        assert!(!api.allows(C::DatabaseImplementation) && !api.allows(C::DevopsConfiguration));
        let arch = policy("backend-architect");
        for c in
            [C::SystemDesign, C::PerformanceRequirements, C::Scalability, C::TechnologyStack, C::IntegrationPatterns]
        {
            assert!(arch.allows(c), "backend-architect should see {c}");
        }
        assert!(!arch.allows(C::ImplementationCode) && !arch.allows(C::FrontendRequirements));
        for name in ["nodejs-expert", "python-pro", "java-expert"] {
            let p = policy(name);
            for c in [C::ApiContracts, C::BusinessLogic, C::DatabaseSchema, C::ErrorHandling, C::ExistingCodePatterns] {
                assert!(p.allows(c), "{name} should see {c}");
            }
            assert!(!p.allows(C::FrontendHtmlCss) && !p.allows(C::DatabaseAdmin), "{name}");
        }
        let db = policy("database-optimizer");
        for c in [C::DataModel, C::PerformanceRequirements, C::QueryPatterns, C::DatabaseSchema, C::Scalability] {
            assert!(db.allows(c), "database-optimizer should see {c}");
        }
        assert!(!db.allows(C::BusinessLogic) && !db.allows(C::ImplementationCode));
        assert!(policy("tech-lead-orchestrator").allow_all);
        assert!(policy("backend-coordinator").allow_all);
    }
}
