//! The report templates, embedded in the binary so an installed `gameday`
//! renders anywhere. Auto-escaping is on for `.html` and `.xml` (tera's
//! default); the templates never use `safe`, which a unit test enforces.

use std::sync::LazyLock;

use serde::Serialize;
use tera::{Context, Tera};

use super::ReportError;

/// Name and source of every template.
const TEMPLATES: [(&str, &str); 3] = [
    ("report.html", include_str!("../../templates/report.html")),
    ("junit.xml", include_str!("../../templates/junit.xml")),
    ("index.html", include_str!("../../templates/index.html")),
];

/// Parsed once per process; a parse error is a bug caught by the tests.
static ENGINE: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::new();
    tera.autoescape_on([".html", ".xml"]);
    tera.add_raw_templates(TEMPLATES)
        .map_err(|error| chain(&error))?;
    Ok(tera)
});

/// Renders `template` with `view` as its context.
pub fn render(template: &str, view: &impl Serialize) -> Result<String, ReportError> {
    let failed = |message: String| ReportError::Template {
        template: template.to_string(),
        message,
    };
    let engine = ENGINE.as_ref().map_err(|message| failed(message.clone()))?;
    let context = Context::from_serialize(view).map_err(|error| failed(chain(&error)))?;
    engine
        .render(template, &context)
        .map_err(|error| failed(chain(&error)))
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_never_mark_anything_safe() {
        assert!(ENGINE.is_ok(), "{:?}", ENGINE.as_ref().err());
        for (name, source) in TEMPLATES {
            let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(!compact.contains("|safe"), "{name} uses the safe filter");
        }
    }
}
