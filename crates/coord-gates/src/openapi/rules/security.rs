//! Security: `no-security-scheme` (an operation without a security requirement, not public by
//! name or by an explicit `security: []`, while the API defines authentication) and
//! `missing-auth-responses` (a secured operation without 401 and 403).

use super::{Codes, Lint, Op};
use crate::finding::Severity;
use crate::openapi::paths::is_public_path;
use serde_json::{Map, Value};

/// How an operation is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// At least one requirement, none of them empty.
    Required,
    /// A requirement list with `{}`: anonymous access allowed.
    Optional,
    /// `security: []`.
    None,
}

/// The `security` of the document or of an operation, if it has one.
fn security_of(v: &Value) -> Option<Security> {
    let list = v.get("security")?.as_array()?;
    Some(if list.is_empty() {
        Security::None
    } else if list.iter().any(|r| r.as_object().is_some_and(Map::is_empty)) {
        Security::Optional
    } else {
        Security::Required
    })
}

/// What the document says about authentication as a whole.
pub(super) struct Auth {
    /// The global `security`.
    global: Option<Security>,
    /// The first security scheme of `components`, for the fix.
    scheme_name: Option<String>,
    /// Whether the document or any operation requires authentication.
    any_secured: bool,
}

impl<'a> Lint<'a> {
    /// What the document says about authentication.
    pub(super) fn auth(&self, ops: &[Op<'a>]) -> Auth {
        let global = security_of(self.doc);
        let schemes = self.refs.object(self.doc, "components").and_then(|c| c.get("securitySchemes"));
        let scheme_name = schemes.and_then(Value::as_object).and_then(|s| s.keys().next().cloned());
        let any_secured =
            global == Some(Security::Required) || ops.iter().any(|o| security_of(o.op) == Some(Security::Required));
        Auth { global, scheme_name, any_secured }
    }

    /// `missing-auth-responses` and `no-security-scheme`.
    pub(super) fn security(&mut self, o: &Op<'a>, auth: &Auth, codes: &Codes) {
        let own = security_of(o.op);
        let effective = own.or(auth.global);
        let requires = effective == Some(Security::Required);
        let explicit_public = matches!(own, Some(Security::None | Security::Optional))
            || (own.is_none() && auth.global == Some(Security::Optional));
        let auth_defined = auth.scheme_name.is_some() || auth.any_secured;

        if requires {
            let missing: Vec<&str> =
                ["401", "403"].into_iter().filter(|c| !codes.has(c) && !codes.has("4XX")).collect();
            if !missing.is_empty() {
                self.push(
                    "missing-auth-responses",
                    Severity::Medium,
                    o.line,
                    format!("{} requires authentication but documents no {}", o.name(), missing.join(" or ")),
                    "add a 401 response (missing or invalid credentials, with WWW-Authenticate) and a 403 \
                     response (authenticated but not allowed), both with the shared error schema"
                        .into(),
                    "security.authorization",
                );
            }
        } else if !explicit_public && !is_public_path(o.path) && auth_defined {
            let scheme = auth.scheme_name.as_deref().unwrap_or("bearerAuth");
            self.push(
                "no-security-scheme",
                Severity::High,
                o.line,
                format!(
                    "{} has no security requirement while the API defines authentication{}",
                    o.name(),
                    if auth.any_secured { " and secures other operations" } else { "" }
                ),
                format!(
                    "add `security: [{{ {scheme}: [] }}]` to the operation (or a global `security`), or mark it \
                     public explicitly with `security: []`"
                ),
                "security.authorization",
            );
        }
    }
}
