//! Header values of an external target (and of a Prometheus): templates in
//! the file, secrets at run time.
//!
//! A template such as `Bearer ${GAMEDAY_TOKEN}` is checked when the scenario
//! is validated (no unterminated `${`, valid variable names) but is only
//! filled in by [`ExternalTarget::resolve_headers`], when a run starts, so a
//! token never sits in the file, the plan or the results. A resolved value is
//! a [`Secret`], whose `Debug` and `Display` print `***`; each variable's
//! value is also registered with [`crate::redact`], so it is masked wherever
//! it shows up (a command's output, a value the target echoes back). The
//! `${VAR}` syntax itself, and the URLs and commands that use it, are
//! [`super::template`]'s.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::model::{ExternalTarget, HeaderTemplate};
use super::template::{TemplateError, fill};

/// A header value filled from the environment; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for where it is used (see [`header_map`]).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Resolved headers as an HTTP header map, each value marked sensitive (so
/// HTTP-level logs redact it): where a secret leaves its wrapper, as the
/// request is built. The error names a header whose name or value HTTP
/// does not allow.
pub fn header_map(headers: &[(String, Secret)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, secret) in headers {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| name.clone())?;
        let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| name.clone())?;
        value.set_sensitive(true);
        map.append(header_name, value);
    }
    Ok(map)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A header template could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The template names a variable that is not set (or not UTF-8).
    #[error("header `{header}` needs the environment variable `{variable}`, which is not set")]
    MissingVariable {
        /// The header.
        header: String,
        /// The variable.
        variable: String,
    },
    /// The template itself is malformed (validation normally catches this).
    #[error("header `{header}`: {message}")]
    BadTemplate {
        /// The header.
        header: String,
        /// What is wrong.
        message: String,
    },
}

impl ExternalTarget {
    /// Fills every header template from the process environment.
    pub fn resolve_headers(&self) -> Result<Vec<(String, Secret)>, ResolveError> {
        self.resolve_headers_with(|name| std::env::var(name).ok())
    }

    /// Fills every header template from `lookup` (the environment, in tests a map).
    pub fn resolve_headers_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, Secret)>, ResolveError> {
        resolve_headers_with(&self.headers, lookup)
    }
}

/// Fills header templates (a target's, a Prometheus's) from the process environment.
pub fn resolve_headers(headers: &[HeaderTemplate]) -> Result<Vec<(String, Secret)>, ResolveError> {
    resolve_headers_with(headers, |name| std::env::var(name).ok())
}

/// Fills header templates from `lookup`; each variable's value is registered
/// with [`crate::redact`].
pub fn resolve_headers_with(
    headers: &[HeaderTemplate],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Secret)>, ResolveError> {
    let mut resolved = Vec::with_capacity(headers.len());
    for header in headers {
        // From now on each value is masked in everything gameday writes or
        // prints (see `crate::redact`).
        let value = fill(
            &header.name,
            &header.template,
            &lookup,
            crate::redact::register,
        )
        .map_err(|error| match error {
            TemplateError::MissingVariable { variable, .. } => ResolveError::MissingVariable {
                header: header.name.clone(),
                variable,
            },
            TemplateError::Bad { message, .. } => ResolveError::BadTemplate {
                header: header.name.clone(),
                message,
            },
        })?;
        resolved.push((header.name.clone(), Secret(value)));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::super::model::{HeaderTemplate, Paths};
    use super::*;

    fn target(template: &str) -> ExternalTarget {
        ExternalTarget {
            url: "https://example.com".to_string(),
            paths: Paths::default(),
            headers: vec![HeaderTemplate {
                name: "Authorization".to_string(),
                template: template.to_string(),
            }],
            proxies: None,
            llm_proxies: Default::default(),
        }
    }

    #[test]
    fn templates_resolve_from_the_lookup_and_never_print() {
        let resolved = target("Bearer ${TOKEN}")
            .resolve_headers_with(|name| (name == "TOKEN").then(|| "s3cr3t".to_string()));
        let Ok(headers) = resolved else {
            panic!("should resolve")
        };
        assert_eq!(headers[0].1.expose(), "Bearer s3cr3t");
        assert_eq!(format!("{:?}", headers), r#"[("Authorization", ***)]"#);
        assert_eq!(headers[0].1.to_string(), "***");
    }

    #[test]
    fn a_missing_variable_names_itself() {
        let error = target("Bearer ${NOPE_NOT_SET}").resolve_headers_with(|_| None);
        assert_eq!(
            error,
            Err(ResolveError::MissingVariable {
                header: "Authorization".to_string(),
                variable: "NOPE_NOT_SET".to_string()
            })
        );
    }
}
