//! Reading a streamed chat turn: the [`StreamState`] that turns the
//! contract's events (`meta`, `delta`, `done`, `error`), as the shared
//! parser ([`crate::sse`]) completes them, into a [`Completion`]. Pure:
//! chunks and the time they arrived are fed in, so tests need no network and
//! no sleeps.

use std::time::Duration;

use serde::Deserialize;

use super::outcome::{Completion, ErrorFields, Failure, HeaderReport, OutcomeClass, Report, Usage};
use crate::results::Tokens;
use crate::sse::SseParser;

/// The state of one streamed answer.
#[derive(Debug)]
pub struct StreamState {
    /// Bounded: a line or event over 1 MiB breaks the stream (a target
    /// cannot make the generator buffer without bound).
    parser: SseParser,
    report: Report,
    /// Terminal class once `done` or `error` was seen.
    finished: Option<OutcomeClass>,
    /// The stream broke the protocol (oversized event).
    broken: bool,
    /// What an `error` event said.
    error: Option<ErrorFields>,
}

#[derive(Debug, Default, Deserialize)]
struct MetaEvent {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    degraded: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct DoneEvent {
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    degraded: Option<Vec<String>>,
}

impl StreamState {
    /// A stream whose response headers said `headers`.
    pub fn new(headers: HeaderReport) -> Self {
        Self {
            parser: SseParser::new(),
            report: Report {
                provider: headers.provider,
                degraded: headers.degraded,
                tokens: None,
                ttft: None,
            },
            finished: None,
            broken: false,
            error: None,
        }
    }

    /// Whether a terminal event (`done` or `error`) has arrived.
    pub fn is_finished(&self) -> bool {
        self.finished.is_some() || self.broken
    }

    /// Feeds a chunk that arrived `since_intended` after the intended start.
    pub fn push(&mut self, chunk: &[u8], since_intended: Duration) {
        if self.is_finished() {
            return;
        }
        let events = match self.parser.push(chunk) {
            Ok(events) => events,
            Err(_) => {
                self.broken = true;
                return;
            }
        };
        for event in events {
            let name = event.event.as_deref().unwrap_or("message");
            self.handle(name, event.data.as_bytes(), since_intended);
            if self.is_finished() {
                break;
            }
        }
    }

    fn handle(&mut self, name: &str, data: &[u8], since_intended: Duration) {
        match name {
            "delta" if self.report.ttft.is_none() => {
                self.report.ttft = Some(since_intended);
            }
            "meta" => {
                let meta: MetaEvent = serde_json::from_slice(data).unwrap_or_default();
                if let Some(provider) = meta.provider.filter(|p| !p.is_empty()) {
                    self.report.provider = Some(provider);
                }
                if let Some(degraded) = meta.degraded {
                    self.report.degraded = degraded;
                }
            }
            "done" => {
                let done: DoneEvent = serde_json::from_slice(data).unwrap_or_default();
                self.report.tokens = done.usage.map(Tokens::from);
                if let Some(degraded) = done.degraded {
                    self.report.degraded = degraded;
                }
                self.finished = Some(OutcomeClass::of_answer(200, &self.report.degraded));
            }
            "error" => {
                self.error = Some(serde_json::from_slice(data).unwrap_or_default());
                self.finished = Some(OutcomeClass::ConnectionError);
            }
            _ => {}
        }
    }

    /// The outcome once the body ended (or broke): without a `done` event
    /// the stream was cut, a connection error.
    pub fn finish(self) -> Completion {
        let (class, failure) = match (self.broken, self.finished, self.error) {
            (true, _, _) => (
                OutcomeClass::ConnectionError,
                Some(Failure::message(
                    "a stream event over 1 MiB: the stream was abandoned",
                )),
            ),
            (false, Some(_), Some(error)) => (
                OutcomeClass::ConnectionError,
                Some(Box::new(Failure {
                    status: None,
                    code: error.code.filter(|code| !code.is_empty()),
                    message: error
                        .message
                        .unwrap_or_else(|| "the stream ended with an error event".to_owned()),
                })),
            ),
            (false, Some(class), None) => (class, None),
            (false, None, _) => (
                OutcomeClass::ConnectionError,
                Some(Failure::message("the stream ended without a done event")),
            ),
        };
        Completion {
            class,
            report: self.report,
            failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAPPY: &str = "event: meta\ndata: {\"provider\":\"primary\",\"model\":\"m\",\"degraded\":[]}\n\n\
event: delta\ndata: {\"text\":\"Hel\"}\n\n\
event: delta\ndata: {\"text\":\"lo\"}\n\n\
event: done\ndata: {\"usage\":{\"input_tokens\":3,\"output_tokens\":2},\"degraded\":[],\"history\":\"postgres\"}\n\n";

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn a_complete_stream_is_ok_with_ttft_provider_and_tokens() {
        let mut state = StreamState::new(HeaderReport::default());
        state.push(HAPPY.as_bytes(), ms(7));
        assert!(state.is_finished());
        let completion = state.finish();
        assert_eq!(completion.class, OutcomeClass::Ok);
        assert_eq!(completion.report.ttft, Some(ms(7)));
        assert_eq!(completion.report.provider.as_deref(), Some("primary"));
        assert_eq!(
            completion.report.tokens,
            Some(Tokens {
                input: 3,
                output: 2
            })
        );
    }

    #[test]
    fn ttft_is_the_arrival_of_the_first_delta_even_across_chunk_borders() {
        let mut state = StreamState::new(HeaderReport::default());
        let bytes = HAPPY.as_bytes();
        // Split inside the first delta event: the delta is only complete in
        // the second chunk, so its time is the second chunk's.
        let split = HAPPY.find("lta\ndata: {\"text\":\"Hel").unwrap_or(0);
        state.push(&bytes[..split], ms(3));
        assert!(!state.is_finished());
        state.push(&bytes[split..], ms(9));
        assert_eq!(state.finish().report.ttft, Some(ms(9)));
    }

    #[test]
    fn one_byte_at_a_time_and_crlf_separators_parse_the_same() {
        let crlf = HAPPY.replace('\n', "\r\n");
        let mut state = StreamState::new(HeaderReport::default());
        for (i, byte) in crlf.as_bytes().iter().enumerate() {
            state.push(std::slice::from_ref(byte), ms(i as u64));
        }
        let completion = state.finish();
        assert_eq!(completion.class, OutcomeClass::Ok);
        assert!(completion.report.ttft.is_some());
    }

    #[test]
    fn bare_carriage_return_line_endings_parse_the_same() {
        // The SSE specification allows `\r` alone as a line ending; the
        // traffic's own parser once missed it and called the stream cut.
        let cr = HAPPY.replace('\n', "\r");
        let mut state = StreamState::new(HeaderReport::default());
        state.push(cr.as_bytes(), ms(1));
        let completion = state.finish();
        assert_eq!(
            completion.class,
            OutcomeClass::Ok,
            "{:?}",
            completion.failure
        );
        assert_eq!(completion.report.provider.as_deref(), Some("primary"));
    }

    #[test]
    fn degraded_in_done_makes_it_degraded_ok() {
        let text = HAPPY.replace(
            "\"degraded\":[],\"history\"",
            "\"degraded\":[\"caching\"],\"history\"",
        );
        let mut state = StreamState::new(HeaderReport::default());
        state.push(text.as_bytes(), ms(1));
        let completion = state.finish();
        assert_eq!(completion.class, OutcomeClass::DegradedOk);
        assert_eq!(completion.report.degraded, ["caching"]);
    }

    #[test]
    fn an_error_event_or_a_cut_stream_is_a_connection_error() {
        let error = "event: meta\ndata: {\"provider\":\"primary\"}\n\nevent: delta\ndata: {}\n\n\
event: error\ndata: {\"code\":\"stream_failed\",\"message\":\"x\"}\n\n";
        let mut state = StreamState::new(HeaderReport::default());
        state.push(error.as_bytes(), ms(1));
        let completion = state.finish();
        assert_eq!(completion.class, OutcomeClass::ConnectionError);
        assert_eq!(completion.report.provider.as_deref(), Some("primary"));
        let failure = completion.failure.expect("the error event's failure");
        assert_eq!(failure.code.as_deref(), Some("stream_failed"));
        assert_eq!(failure.message, "x");

        let mut state = StreamState::new(HeaderReport::default());
        state.push(&HAPPY.as_bytes()[..HAPPY.len() / 2], ms(1));
        let cut = state.finish();
        assert_eq!(cut.class, OutcomeClass::ConnectionError);
        assert!(
            cut.failure
                .expect("a failure")
                .message
                .contains("without a done event")
        );
    }

    #[test]
    fn an_endless_event_breaks_the_stream_instead_of_growing() {
        let mut state = StreamState::new(HeaderReport::default());
        let junk = vec![b'x'; 64 * 1024];
        for _ in 0..20 {
            state.push(&junk, ms(1));
        }
        assert!(state.is_finished());
        assert_eq!(state.finish().class, OutcomeClass::ConnectionError);
    }
}
