//! The gateway's mode: one of the simulator's [`Mode`]s plus an optional
//! match on the request's route and model, so a game day can fail one model
//! while another keeps working.
//!
//! JSON form: the simulator's mode object with an optional `"match"` field,
//! `{"mode": "errors", "status": 503, "match": {"route": "/v1/chat/completions",
//! "model": "gpt-4o"}}`. Without `match` every request is subject to the mode.
//! A request that does not match passes through untouched and draws nothing
//! from the seeded generator.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::lab::llm_fault::mode::{Mode, ModeError};

/// Which requests a mode applies to; every given field must equal the
/// request's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The request path, exactly (`/v1/chat/completions`, no query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The `model` field of the JSON request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Match {
    /// Whether a request on `route` for `model` (if its body names one) matches.
    pub fn matches(&self, route: &str, model: Option<&str>) -> bool {
        let route_ok = self.route.as_deref().is_none_or(|wanted| wanted == route);
        let model_ok = self
            .model
            .as_deref()
            .is_none_or(|wanted| model == Some(wanted));
        route_ok && model_ok
    }
}

/// The active mode of a gateway and the requests it applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// What matching requests get.
    pub mode: Mode,
    /// Which requests match; `None` means all of them.
    pub matcher: Option<Match>,
}

impl Rule {
    /// A rule applying `mode` to every request.
    pub fn all(mode: Mode) -> Rule {
        Rule {
            mode,
            matcher: None,
        }
    }

    /// Parses the JSON form, or a bare mode name (`hang`) for that mode with
    /// every default and no match.
    pub fn parse(text: &str) -> Result<Rule, ModeError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|error| ModeError::Json(error.to_string()))
        } else {
            Mode::parse(trimmed).map(Rule::all)
        }
    }

    /// Whether the rule needs the request's `model` (so the body is parsed).
    pub fn wants_model(&self) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|matcher| matcher.model.is_some())
    }

    /// Whether a request on `route` for `model` is subject to the mode.
    pub fn applies_to(&self, route: &str, model: Option<&str>) -> bool {
        self.matcher
            .as_ref()
            .is_none_or(|matcher| matcher.matches(route, model))
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.mode).map_err(serde::ser::Error::custom)?;
        if let (Some(matcher), Value::Object(fields)) = (&self.matcher, &mut value) {
            let matcher = serde_json::to_value(matcher).map_err(serde::ser::Error::custom)?;
            fields.insert("match".to_owned(), matcher);
        }
        value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let matcher = match &mut value {
            Value::Object(fields) => fields.remove("match"),
            _ => None,
        };
        let matcher = matcher
            .map(|matcher| {
                serde_json::from_value::<Match>(matcher)
                    .map_err(|error| D::Error::custom(format!("match: {error}")))
            })
            .transpose()?;
        let mode = serde_json::from_value::<Mode>(value).map_err(D::Error::custom)?;
        Ok(Rule { mode, matcher })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str(self.mode.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_fault::mode::{ErrorStatus, Rate};

    #[test]
    fn a_mode_without_match_applies_to_everything() {
        let rule = Rule::parse(r#"{"mode":"errors","status":502}"#).expect("valid");
        assert_eq!(
            rule,
            Rule::all(Mode::Errors {
                rate: Rate::ALWAYS,
                status: ErrorStatus::BadGateway
            })
        );
        assert!(rule.applies_to("/v1/embeddings", None));
        assert!(!rule.wants_model());
        assert_eq!(Rule::parse("hang").expect("bare name").mode, Mode::Hang);
    }

    #[test]
    fn match_round_trips_and_selects_route_and_model() {
        let text = r#"{"mode":"overloaded","rate":1.0,"match":{"route":"/v1/messages","model":"claude-a"}}"#;
        let rule = Rule::parse(text).expect("valid");
        assert!(rule.wants_model());
        assert!(rule.applies_to("/v1/messages", Some("claude-a")));
        assert!(!rule.applies_to("/v1/messages", Some("claude-b")));
        assert!(!rule.applies_to("/v1/messages", None));
        assert!(!rule.applies_to("/v1/chat/completions", Some("claude-a")));
        let again = Rule::parse(&rule.to_string()).expect("round trip");
        assert_eq!(again, rule);
    }

    #[test]
    fn bad_match_and_bad_modes_are_rejected_with_the_reason() {
        let unknown = Rule::parse(r#"{"mode":"hang","match":{"modle":"x"}}"#).expect_err("typo");
        assert!(
            unknown.to_string().contains("match: unknown field"),
            "{unknown}"
        );
        let rate = Rule::parse(r#"{"mode":"errors","rate":3,"match":{}}"#).expect_err("rate");
        assert!(rate.to_string().contains("between 0 and 1"), "{rate}");
        let field = Rule::parse(r#"{"mode":"hang","rate":1}"#).expect_err("field");
        assert!(field.to_string().contains("unknown field"), "{field}");
    }
}
