//! What a lead infers from the domain: the playbooks' `[[infer]]` entries add facets and
//! entities the words imply without saying (billing must be stored; a latency target on a read
//! endpoint involves the database; webhooks must be deduplicated), each with its evidence in
//! the analysis.

use super::Playbooks;
use super::condition::{Facts, holds};
use crate::analyse::{note, push_unique};
use coord_core::{Analysis, Facet};

/// Applies every inference whose conditions hold, until nothing changes (an inferred facet may
/// enable another inference). Returns what was inferred, for explanations.
pub fn apply_inferences(text: &str, a: &mut Analysis, playbooks: &Playbooks) -> Vec<String> {
    let mut inferred = Vec::new();
    // Each round adds at least one facet or entity or stops; seven facets bound the rounds.
    for _ in 0..8 {
        let mut changed = false;
        for playbook in &playbooks.playbooks {
            for inference in &playbook.inferences {
                let new_facet = inference.facets.iter().any(|f| !a.has(*f));
                let new_entity = inference.entities.iter().any(|e| !a.entities.contains(e));
                let drops = inference.drop_facets.iter().any(|f| a.has(*f));
                if !new_facet && !new_entity && !drops {
                    continue;
                }
                let facts = Facts { text, analysis: a, patterns: &playbooks.patterns, tasks: &[] };
                let Ok(evidence) = holds(&inference.when, &inference.when_any, &facts) else { continue };
                for f in &inference.facets {
                    note(&mut a.facet_evidence, *f, format!("inferred: {}", inference.because));
                }
                for f in &inference.drop_facets {
                    a.facet_evidence.remove(f);
                    a.notes.push(format!("Not {} work: {}", f.as_str(), inference.because));
                }
                for e in &inference.entities {
                    push_unique(&mut a.entities, e.clone());
                }
                a.facets = Facet::ALL.into_iter().filter(|f| a.facet_evidence.contains_key(f)).collect();
                inferred.push(format!("{} ({}) [{}]", inference.because, evidence.join("; "), playbook.name));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    inferred
}
