//! Header values and gateway URLs of an external target: templates in the
//! file, secrets at run time.
//!
//! A template such as `Bearer ${GAMEDAY_TOKEN}` is checked when the scenario
//! is validated (no unterminated `${`, valid variable names) but is only
//! filled in by [`ExternalTarget::resolve_headers`], when a run starts, so a
//! token never sits in the file, the plan or the results. A resolved value is
//! a [`Secret`], whose `Debug` and `Display` print `***`; each variable's
//! value is also registered with [`crate::redact`], so it is masked wherever
//! it shows up (a command's output, a value the target echoes back). The
//! URLs of `target.llm_proxies` are filled the same way, by
//! [`ExternalTarget::resolve_llm_proxies`].

use std::fmt;

use super::model::{ExternalTarget, HeaderTemplate};

/// A header value filled from the environment; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it: the HTTP request.
    pub fn expose(&self) -> &str {
        &self.0
    }
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

/// A gateway URL of `target.llm_proxies` could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The URL names a variable that is not set (or not UTF-8).
    #[error(
        "`target.llm_proxies.{gateway}` needs the environment variable `{variable}`, which is not set"
    )]
    MissingVariable {
        /// The gateway.
        gateway: String,
        /// The variable.
        variable: String,
    },
    /// The template is malformed, or not an http(s) URL once filled in.
    #[error("`target.llm_proxies.{gateway}`: {message}")]
    BadUrl {
        /// The gateway.
        gateway: String,
        /// What is wrong.
        message: String,
    },
}

/// One piece of a template.
enum Piece<'t> {
    Text(&'t str),
    Variable(&'t str),
}

/// Splits a template into literal text and `${VAR}` references.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated `${`; write `${NAME}`".to_string())?;
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`${{{name}}}` is not a valid variable reference; names are letters, digits and `_`"
            ));
        }
        pieces.push(Piece::Variable(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Checks a template's syntax without reading the environment.
pub fn check_template(template: &str) -> Result<(), String> {
    pieces(template).map(|_| ())
}

/// The variables a template references.
pub fn template_variables(template: &str) -> Vec<String> {
    pieces(template)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Variable(name) => Some(name.to_string()),
            Piece::Text(_) => None,
        })
        .collect()
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
        let pieces = pieces(&header.template).map_err(|message| ResolveError::BadTemplate {
            header: header.name.clone(),
            message,
        })?;
        let mut value = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => value.push_str(text),
                Piece::Variable(name) => {
                    let filled = lookup(name).ok_or_else(|| ResolveError::MissingVariable {
                        header: header.name.clone(),
                        variable: name.to_string(),
                    })?;
                    // From now on the value is masked in everything
                    // gameday writes or prints (see `crate::redact`).
                    crate::redact::register(&filled);
                    value.push_str(&filled);
                }
            }
        }
        resolved.push((header.name.clone(), Secret(value)));
    }
    Ok(resolved)
}

impl ExternalTarget {
    /// Fills every gateway URL of `llm_proxies` from the process environment.
    pub fn resolve_llm_proxies(&self) -> Result<Vec<(String, String)>, UrlError> {
        self.resolve_llm_proxies_with(|name| std::env::var(name).ok())
    }

    /// Fills every gateway URL from `lookup`; each variable's value is
    /// registered with [`crate::redact`], as for headers. The URL is checked
    /// to be `http://` or `https://` once filled, without a trailing slash.
    pub fn resolve_llm_proxies_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, UrlError> {
        let mut resolved = Vec::with_capacity(self.llm_proxies.len());
        for (name, template) in &self.llm_proxies {
            let url = fill(name, template, &lookup)?;
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            if !rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')) {
                return Err(UrlError::BadUrl {
                    gateway: name.clone(),
                    message: "not an http:// or https:// URL with a host once filled in"
                        .to_string(),
                });
            }
            resolved.push((name.clone(), url.trim_end_matches('/').to_string()));
        }
        Ok(resolved)
    }
}

/// Fills the URL template of `gateway`.
fn fill(
    gateway: &str,
    template: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, UrlError> {
    let pieces = pieces(template).map_err(|message| UrlError::BadUrl {
        gateway: gateway.to_string(),
        message,
    })?;
    let mut value = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => value.push_str(text),
            Piece::Variable(name) => {
                let filled = lookup(name).ok_or_else(|| UrlError::MissingVariable {
                    gateway: gateway.to_string(),
                    variable: name.to_string(),
                })?;
                crate::redact::register(&filled);
                value.push_str(&filled);
            }
        }
    }
    Ok(value)
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

    #[test]
    fn malformed_templates_are_refused() {
        assert!(
            check_template("Bearer ${TOKEN")
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(check_template("${1X}").unwrap_err().contains("not a valid"));
        assert!(check_template("${}").is_err());
        assert_eq!(check_template("plain $5 text"), Ok(()));
        assert_eq!(template_variables("${A}-${B_2}"), ["A", "B_2"]);
    }

    #[test]
    fn gateway_urls_fill_from_the_lookup_and_must_be_http() {
        let mut target = target("x");
        target
            .llm_proxies
            .insert("primary".to_string(), "${GW_PRIMARY}/".to_string());
        target
            .llm_proxies
            .insert("fallback".to_string(), "http://127.0.0.1:8612".to_string());
        let resolved = target.resolve_llm_proxies_with(|name| {
            (name == "GW_PRIMARY").then(|| "http://127.0.0.1:8611".to_string())
        });
        assert_eq!(
            resolved,
            Ok(vec![
                ("fallback".to_string(), "http://127.0.0.1:8612".to_string()),
                ("primary".to_string(), "http://127.0.0.1:8611".to_string()),
            ])
        );
        let missing = target.resolve_llm_proxies_with(|_| None);
        assert_eq!(
            missing,
            Err(UrlError::MissingVariable {
                gateway: "primary".to_string(),
                variable: "GW_PRIMARY".to_string()
            })
        );
        let not_http = target.resolve_llm_proxies_with(|_| Some("ftp://x".to_string()));
        assert!(
            not_http
                .expect_err("not http")
                .to_string()
                .contains("`target.llm_proxies.primary`: not an http://"),
        );
    }
}
