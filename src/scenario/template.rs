//! `${VAR}` templates: the one syntax by which a scenario reads the
//! environment, and its resolution when a run starts.
//!
//! Templates appear in a target's header values (see [`super::secret`]), in
//! every URL of an external target (the platform, its Toxiproxy, its
//! `llm_proxies` gateways, the monitoring section's Prometheus and
//! Alertmanager) and in `exec` commands. Validation checks their syntax only;
//! the environment is read when a run starts, and a variable that is not set
//! stops the run before any fault, naming the field and the variable.
//!
//! What each kind of value becomes:
//! - a header value is a secret: it is wrapped in a [`super::Secret`] and
//!   every variable's value is masked in everything gameday writes;
//! - a URL is an address: the report names the target it tested and the
//!   fault journal must hold the address `gameday cleanup` reverts at, so a
//!   URL's values are not masked. Credentials in a URL (`user:pass@`) are
//!   refused for that reason: send them as a header;
//! - an `exec` command is run by `sh -c` with gameday's environment, so the
//!   shell expands its `${VAR}` parts (the journal keeps the command as
//!   written, and cleanup expands it again from its own environment). Before
//!   any fault, every `${NAME}` it references must be set, and the values are
//!   masked, since a command is where a token is typically pasted.

use std::collections::BTreeMap;

use super::model::{ExternalTarget, Toxiproxy};

/// A template could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template names a variable that is not set (or not UTF-8).
    #[error("`{field}` needs the environment variable `{variable}`, which is not set")]
    MissingVariable {
        /// Where the template is, e.g. `target.url`.
        field: String,
        /// The variable.
        variable: String,
    },
    /// The template is malformed, or not what the field needs once filled in.
    #[error("`{field}`: {message}")]
    Bad {
        /// Where the template is.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// One piece of a template.
pub(super) enum Piece<'t> {
    Text(&'t str),
    Variable(&'t str),
}

/// Whether `name` is a variable name: a letter or `_`, then letters, digits and `_`.
fn is_variable_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a template into literal text and `${VAR}` references.
pub(super) fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
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
        if !is_variable_name(name) {
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

/// Fills `template` (the value of `field`) from `lookup`, calling `seen` with
/// each variable's value.
pub(super) fn fill(
    field: &str,
    template: &str,
    lookup: &impl Fn(&str) -> Option<String>,
    mut seen: impl FnMut(&str),
) -> Result<String, TemplateError> {
    let pieces = pieces(template).map_err(|message| TemplateError::Bad {
        field: field.to_string(),
        message,
    })?;
    let mut value = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => value.push_str(text),
            Piece::Variable(name) => {
                let filled = lookup(name).ok_or_else(|| TemplateError::MissingVariable {
                    field: field.to_string(),
                    variable: name.to_string(),
                })?;
                seen(&filled);
                value.push_str(&filled);
            }
        }
    }
    Ok(value)
}

/// Whether a URL as written in a scenario can be an http(s) URL once filled
/// in: it starts with `http://` or `https://` followed by a host (or a
/// `${VAR}` that holds one), or with a `${VAR}` holding the whole base.
pub fn plausible_url(template: &str) -> bool {
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => template.starts_with("${"),
    };
    ok && !template.contains(char::is_whitespace)
}

/// Fills the URL template of `field` from `lookup`: an `http://` or
/// `https://` URL with a host and no credentials, without its trailing slash.
pub fn resolve_url(
    field: &str,
    template: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let url = fill(field, template, lookup, |_| {})?;
    let bad = |message: &str| TemplateError::Bad {
        field: field.to_string(),
        message: message.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest.filter(|rest| !rest.is_empty() && !rest.starts_with('/')) else {
        return Err(bad(&format!(
            "`{url}` is not an http:// or https:// URL with a host"
        )));
    };
    if url.contains(char::is_whitespace) {
        return Err(bad("a URL cannot hold whitespace"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // Never echo the URL here: it holds a credential.
        return Err(bad(
            "credentials in a URL (`user:pass@host`) would be written to the report and the \
             fault journal; send them as a header (`target.headers`) instead",
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The `${NAME}` references in a shell command (other shell expansions,
/// such as `$NAME` or `${NAME:-default}`, are the shell's business).
pub fn command_variables(command: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = command;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if is_variable_name(name) && !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    names
}

/// Checks that every `${NAME}` of the `exec` command in `field` is set,
/// and masks their values from now on (see the module doc).
pub fn check_command(
    field: &str,
    command: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(), TemplateError> {
    for name in command_variables(command) {
        let value = lookup(&name).ok_or_else(|| TemplateError::MissingVariable {
            field: field.to_string(),
            variable: name.clone(),
        })?;
        crate::redact::register(&value);
    }
    Ok(())
}

/// The addresses of an external target, filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// The platform's base URL.
    pub url: String,
    /// Its Toxiproxy API, if the scenario has one.
    pub toxiproxy: Option<String>,
    /// Its `gameday llm-proxy` gateways, by name.
    pub llm_proxies: BTreeMap<String, String>,
}

impl ExternalTarget {
    /// Fills every URL of the target (and of `toxiproxy`) from the environment.
    pub fn addresses(&self, toxiproxy: Option<&Toxiproxy>) -> Result<Addresses, TemplateError> {
        self.addresses_with(toxiproxy, &|name| std::env::var(name).ok())
    }

    /// Fills every URL of the target (and of `toxiproxy`) from `lookup`.
    pub fn addresses_with(
        &self,
        toxiproxy: Option<&Toxiproxy>,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Addresses, TemplateError> {
        let url = resolve_url("target.url", &self.url, lookup)?;
        let toxiproxy = match toxiproxy {
            Some(Toxiproxy::Url(template)) => {
                Some(resolve_url("target.toxiproxy", template, lookup)?)
            }
            _ => None,
        };
        let mut llm_proxies = BTreeMap::new();
        for (name, template) in &self.llm_proxies {
            let field = format!("target.llm_proxies.{name}");
            llm_proxies.insert(name.clone(), resolve_url(&field, template, lookup)?);
        }
        Ok(Addresses {
            url,
            toxiproxy,
            llm_proxies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Paths;
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn target() -> ExternalTarget {
        ExternalTarget {
            url: "https://${STAGING_HOST}/".to_string(),
            paths: Paths::default(),
            headers: Vec::new(),
            proxies: None,
            llm_proxies: [
                ("primary".to_string(), "${GW_PRIMARY}/".to_string()),
                ("fallback".to_string(), "http://127.0.0.1:8612".to_string()),
            ]
            .into(),
        }
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
    fn every_url_of_the_target_fills_from_the_lookup() {
        let lookup = env(&[
            ("STAGING_HOST", "platform.staging:8443"),
            ("GW_PRIMARY", "http://127.0.0.1:8611"),
            ("TOXI", "http://toxiproxy:8474"),
        ]);
        let toxiproxy = Toxiproxy::Url("${TOXI}".to_string());
        let addresses = target()
            .addresses_with(Some(&toxiproxy), &lookup)
            .expect("resolves");
        assert_eq!(addresses.url, "https://platform.staging:8443");
        assert_eq!(
            addresses.toxiproxy.as_deref(),
            Some("http://toxiproxy:8474")
        );
        assert_eq!(
            addresses.llm_proxies,
            BTreeMap::from([
                ("fallback".to_string(), "http://127.0.0.1:8612".to_string()),
                ("primary".to_string(), "http://127.0.0.1:8611".to_string()),
            ])
        );
    }

    #[test]
    fn a_missing_variable_names_the_field_and_the_variable() {
        let lookup = env(&[("STAGING_HOST", "h")]);
        let error = target().addresses_with(None, &lookup).unwrap_err();
        assert_eq!(
            error,
            TemplateError::MissingVariable {
                field: "target.llm_proxies.primary".to_string(),
                variable: "GW_PRIMARY".to_string(),
            }
        );
        assert_eq!(
            error.to_string(),
            "`target.llm_proxies.primary` needs the environment variable `GW_PRIMARY`, which is not set"
        );
    }

    #[test]
    fn a_filled_url_must_be_http_with_a_host_and_no_credentials() {
        let not_http = resolve_url("target.url", "${U}", &env(&[("U", "ftp://x")]));
        assert!(
            not_http
                .unwrap_err()
                .to_string()
                .contains("`target.url`: `ftp://x` is not an http://")
        );
        let credentials = resolve_url(
            "target.toxiproxy",
            "http://${AUTH}@toxiproxy:8474",
            &env(&[("AUTH", "admin:hunter22")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            credentials.contains("send them as a header"),
            "{credentials}"
        );
        assert!(!credentials.contains("hunter22"), "{credentials}");
        // An `@` in the path is not a credential.
        assert_eq!(
            resolve_url("target.url", "https://h/a@b", &env(&[])),
            Ok("https://h/a@b".to_string())
        );
    }

    #[test]
    fn plausible_urls_as_written() {
        assert!(plausible_url("https://${HOST}"));
        assert!(plausible_url("${BASE_URL}"));
        assert!(plausible_url("http://127.0.0.1:8474"));
        assert!(!plausible_url("toxiproxy:8474"));
        assert!(!plausible_url("http:///path"));
        assert!(!plausible_url("http://a b"));
    }

    #[test]
    fn command_variables_are_the_braced_names_only() {
        assert_eq!(
            command_variables("kubectl --token ${TOKEN} scale ${DEPLOY} $OTHER ${X:-y} ${TOKEN}"),
            ["TOKEN", "DEPLOY"]
        );
        let lookup = env(&[("TOKEN", "tok-123456")]);
        assert_eq!(
            check_command("timeline[0].exec.command", "echo ${TOKEN} ${NOPE}", &lookup),
            Err(TemplateError::MissingVariable {
                field: "timeline[0].exec.command".to_string(),
                variable: "NOPE".to_string(),
            })
        );
        assert_eq!(
            check_command("timeline[0].exec.command", "echo ${TOKEN}", &lookup),
            Ok(())
        );
        assert_eq!(crate::redact::text("tok-123456"), crate::redact::MASK);
    }
}
