//! A person's decision on an escalation, checked the same way whichever surface it comes from
//! (CLI, HTTP API, dashboard, MCP): the decision parsed, a reassignment to a specialist that
//! exists, and the note (a peer's advice, why a data-loss migration was approved) trimmed,
//! bounded and redacted before it reaches the database and the next brief.

use coord_core::Roster;
use coord_store::Decision;

/// The longest note kept: a note joins the next brief, which has a budget.
pub const MAX_NOTE_CHARS: usize = 8_000;

/// What is wrong with a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// Not one of the decisions.
    #[error("{0}")]
    Unknown(String),
    /// `reassign:NAME` to a specialist the roster does not have.
    #[error("unknown specialist `{0}`: reassign to one of the roster (coord agents list)")]
    UnknownSpecialist(String),
    /// The note is longer than [`MAX_NOTE_CHARS`].
    #[error(
        "the note has {0} characters; at most {MAX_NOTE_CHARS} are kept (put longer material in a file of the project and name it)"
    )]
    NoteTooLong(usize),
}

/// A checked decision with its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// What to do.
    pub decision: Decision,
    /// What the person wrote with it, secrets redacted; `None` when blank.
    pub note: Option<String>,
}

impl Resolution {
    /// Checks `decision` (`retry`, `reassign:NAME`, `approve`, `skip`, `abort`) against the
    /// roster and prepares `note`.
    pub fn parse(decision: &str, note: Option<&str>, roster: &Roster) -> Result<Resolution, DecisionError> {
        let decision: Decision = decision.trim().parse().map_err(DecisionError::Unknown)?;
        if let Decision::Reassign(name) = &decision
            && !roster.contains(name)
        {
            return Err(DecisionError::UnknownSpecialist(name.clone()));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = note
            && n.chars().count() > MAX_NOTE_CHARS
        {
            return Err(DecisionError::NoteTooLong(n.chars().count()));
        }
        Ok(Resolution { decision, note: note.map(crate::redact::redact) })
    }

    /// The note, as the store takes it.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        Roster::new()
    }

    #[test]
    fn a_note_is_trimmed_and_a_blank_one_is_none() {
        let r = Resolution::parse("retry", Some("  use the covering index  \n"), &roster()).unwrap();
        assert_eq!((r.decision, r.note.as_deref()), (Decision::Retry, Some("use the covering index")));
        assert_eq!(Resolution::parse("approve", Some("   "), &roster()).unwrap().note, None);
    }

    #[test]
    fn bad_decisions_say_what_is_wrong() {
        let e = Resolution::parse("approv", None, &roster()).unwrap_err();
        assert!(e.to_string().contains("unknown decision `approv`"), "{e}");
        let e = Resolution::parse("reassign:@nobody", None, &roster()).unwrap_err();
        assert_eq!(e, DecisionError::UnknownSpecialist("nobody".into()));
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(Resolution::parse("skip", Some(&long), &roster()).unwrap_err(), DecisionError::NoteTooLong(8_001));
    }

    #[test]
    fn a_key_pasted_into_a_note_is_redacted() {
        let key = concat!("sk-ant-", "api03-", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let r = Resolution::parse("retry", Some(&format!("try with {key}")), &roster()).unwrap();
        let note = r.note.unwrap();
        assert!(!note.contains(key) && note.contains("REDACTED"), "{note}");
    }
}
