//! The distinct failures of a phase: requests that failed the same way
//! (operation, class, HTTP status, the error body's `code`) are counted
//! together with one message and the times of the first and the last, so a
//! report can say *which* requests failed and why without keeping a record
//! per request. Bounded: at most [`TRACKED`] distinct failures are tracked
//! per phase (later new ones are only counted), and the results keep the
//! [`MAX_FAILURES`] most frequent. Also how a transport error is put into
//! words ([`describe_error`]), so a bad certificate says so. No I/O.

use std::time::Duration;

use super::outcome::{Completion, OutcomeClass};
use super::schedule::Operation;
use crate::results::{FailureSummary, MAX_FAILURES};

/// Distinct failures tracked per phase; failures of a new kind beyond it are
/// counted in `other_failures` only.
pub const TRACKED: usize = 64;
/// Longest message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// The failures of one phase so far.
#[derive(Debug, Default, Clone)]
pub struct FailureTally {
    entries: Vec<FailureSummary>,
    /// Failures of kinds not tracked (the tally was full).
    untracked: u64,
}

impl FailureTally {
    /// Counts `completion` (a failed request of `operation` that finished
    /// at `now`, from the run start); successes are ignored.
    pub fn add(&mut self, operation: Operation, completion: &Completion, now: Duration) {
        if !completion.class.is_error() {
            return;
        }
        let class = class_name(completion.class);
        let failure = completion.failure.as_deref();
        let status = failure.and_then(|f| f.status);
        let code = failure.and_then(|f| f.code.as_deref());
        let t = now.as_secs_f64();
        let same = |entry: &&mut FailureSummary| {
            entry.operation == operation.name()
                && entry.class == class
                && entry.status == status
                && entry.code.as_deref() == code
        };
        if let Some(entry) = self.entries.iter_mut().find(same) {
            entry.count += 1;
            entry.first_s = entry.first_s.min(t);
            entry.last_s = entry.last_s.max(t);
            return;
        }
        if self.entries.len() >= TRACKED {
            self.untracked += 1;
            return;
        }
        let message = match failure {
            Some(failure) if !failure.message.is_empty() => shorten(&failure.message),
            _ => default_message(completion.class).to_owned(),
        };
        self.entries.push(FailureSummary {
            operation: operation.name().to_owned(),
            class: class.to_owned(),
            status,
            code: code.map(str::to_owned),
            message,
            count: 1,
            first_s: t,
            last_s: t,
        });
    }

    /// The [`MAX_FAILURES`] most frequent (ties: the earliest first), and
    /// how many failed requests are not in them.
    pub fn summary(&self) -> (Vec<FailureSummary>, u64) {
        let mut entries = self.entries.clone();
        entries.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_s.total_cmp(&b.first_s)));
        let rest: u64 = entries
            .iter()
            .skip(MAX_FAILURES)
            .map(|entry| entry.count)
            .sum();
        entries.truncate(MAX_FAILURES);
        (entries, rest + self.untracked)
    }
}

/// The results' name of an error class.
fn class_name(class: OutcomeClass) -> &'static str {
    match class {
        OutcomeClass::HttpError => "http_error",
        OutcomeClass::Timeout => "timeout",
        OutcomeClass::ConnectionError => "connection_error",
        OutcomeClass::Ok => "ok",
        OutcomeClass::DegradedOk => "degraded_ok",
    }
}

fn default_message(class: OutcomeClass) -> &'static str {
    match class {
        OutcomeClass::Timeout => "no complete answer within the request timeout",
        OutcomeClass::HttpError => "an error status",
        _ => "the connection failed",
    }
}

/// `text` cut to [`MAX_MESSAGE_CHARS`] characters, on one line.
fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// An error and its causes in one line (`a: b: c`, repeats left out). When
/// any of them is about a TLS certificate, the line starts with
/// `certificate problem:` and names it, so a bad certificate is not taken
/// for a network failure.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut certificate = None;
    let mut current = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        // An io::Error wrapping another error shows that error's text but
        // skips it in `source()`: look inside for the certificate case.
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner.to_string());
        for candidate in std::iter::once(&text).chain(inner.as_ref()) {
            if certificate.is_none() && candidate.to_ascii_lowercase().contains("certificate") {
                certificate = Some(candidate.clone());
            }
        }
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    let chain = parts.join(": ");
    match certificate {
        Some(certificate) => format!(
            "certificate problem: {certificate} (the target's TLS certificate is not trusted; \
             is it self-signed, expired or for another host name?)"
        ),
        None => chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::outcome::{Failure, Report};

    fn failed(
        class: OutcomeClass,
        status: Option<u16>,
        code: Option<&str>,
        message: &str,
    ) -> Completion {
        Completion {
            class,
            report: Report::default(),
            failure: Some(Box::new(Failure {
                status,
                code: code.map(str::to_owned),
                message: message.to_owned(),
            })),
        }
    }

    fn secs(value: u64) -> Duration {
        Duration::from_secs(value)
    }

    #[test]
    fn the_same_failure_is_counted_once_with_its_first_message_and_times() {
        let mut tally = FailureTally::default();
        let not_found = failed(
            OutcomeClass::HttpError,
            Some(404),
            Some("not_found"),
            "no c-1",
        );
        tally.add(Operation::History, &not_found, secs(3));
        tally.add(
            Operation::History,
            &failed(
                OutcomeClass::HttpError,
                Some(404),
                Some("not_found"),
                "no c-2",
            ),
            secs(7),
        );
        tally.add(Operation::Chat, &not_found, secs(5));
        tally.add(
            Operation::Chat,
            &Completion::bare(OutcomeClass::Ok),
            secs(5),
        );
        tally.add(
            Operation::Chat,
            &Completion::bare(OutcomeClass::Timeout),
            secs(9),
        );
        let (failures, others) = tally.summary();
        assert_eq!(others, 0);
        let lines: Vec<String> = failures.iter().map(FailureSummary::line).collect();
        assert_eq!(
            lines,
            [
                "2× history HTTP 404 not_found: no c-1",
                "1× chat HTTP 404 not_found: no c-1",
                "1× chat timeout: no complete answer within the request timeout",
            ]
        );
        assert_eq!((failures[0].first_s, failures[0].last_s), (3.0, 7.0));
    }

    #[test]
    fn the_list_is_bounded_and_the_rest_is_counted() {
        let mut tally = FailureTally::default();
        for code in 0..(TRACKED as u64 + 10) {
            let code = format!("e{code}");
            let failure = failed(OutcomeClass::HttpError, Some(500), Some(&code), "boom");
            // e0 fails three times, every other code once.
            let times = if code == "e0" { 3 } else { 1 };
            for _ in 0..times {
                tally.add(Operation::Chat, &failure, secs(1));
            }
        }
        let (failures, others) = tally.summary();
        assert_eq!(failures.len(), MAX_FAILURES);
        assert_eq!(failures[0].code.as_deref(), Some("e0"));
        assert_eq!(failures[0].count, 3);
        let listed: u64 = failures.iter().map(|f| f.count).sum();
        assert_eq!(listed + others, 3 + TRACKED as u64 + 9);
    }

    #[test]
    fn long_messages_are_cut_to_one_line() {
        let mut tally = FailureTally::default();
        let long = format!("line one\nline two {}", "x".repeat(500));
        tally.add(
            Operation::Chat,
            &failed(OutcomeClass::ConnectionError, None, None, &long),
            secs(1),
        );
        let (failures, _) = tally.summary();
        assert!(!failures[0].message.contains('\n'));
        assert_eq!(failures[0].message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[derive(Debug)]
    struct Layer(
        &'static str,
        Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    );

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|error| error as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn a_certificate_error_inside_an_io_error_is_named() {
        let rustls_like = Layer("invalid peer certificate: UnknownIssuer", None);
        let io = std::io::Error::other(rustls_like);
        let chain = Layer(
            "error sending request",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(io)),
            ))),
        );
        let text = describe_error(&chain);
        assert!(
            text.starts_with("certificate problem: invalid peer certificate: UnknownIssuer"),
            "{text}"
        );
        let plain = Layer(
            "error sending request",
            Some(Box::new(Layer("connection refused", None))),
        );
        assert_eq!(
            describe_error(&plain),
            "error sending request: connection refused"
        );
    }
}
