//! The status codes every operation documents: `missing-success-response` (no 1xx, 2xx or 3xx)
//! and `missing-error-response` (no 4xx and no `default`).

use super::{Codes, Lint, Op};
use crate::finding::Severity;

impl<'a> Lint<'a> {
    /// `missing-success-response` and `missing-error-response`.
    pub(super) fn status_responses(&mut self, o: &Op<'a>, codes: &Codes) {
        if !codes.has_class('2') && !codes.has_class('3') && !codes.has_class('1') {
            let suggest = match o.method {
                "post" => "201 Created",
                "delete" => "204 No Content",
                _ => "200 OK",
            };
            self.push(
                "missing-success-response",
                Severity::Medium,
                o.line,
                format!("{} documents no 2xx response", o.name()),
                format!("document the success status ({suggest}) and its body schema"),
                "api.response-codes",
            );
        }
        if !codes.has_class('4') && !codes.has("DEFAULT") {
            self.push(
                "missing-error-response",
                Severity::Medium,
                o.line,
                format!("{} documents no 4xx response (and no `default`)", o.name()),
                "document the client errors it returns (400 invalid input, 404 not found, 409/422...) with the \
                 shared error schema"
                    .into(),
                "api.response-codes",
            );
        }
    }
}
