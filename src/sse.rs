//! The one incremental Server-Sent Events parser: the runner's traffic reads
//! the platform contract's streams with it, the reference platform its LLM
//! providers' streams.
//!
//! Owns turning the bytes of a `text/event-stream` body, in whatever chunks the
//! network delivers them, into complete events. Lines may end in `\n`, `\r\n`
//! or `\r` (all three are allowed by the specification), and a chunk boundary
//! may split a line, a line ending or a UTF-8 character anywhere. Memory is
//! bounded: a line or an event past 1 MiB is an error, not a buffer that
//! grows. It knows nothing about the payloads.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the event had one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Why the parser gave up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A single line grew past the limit (a broken or hostile stream).
    #[error("event-stream line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The `data:` lines of one event grew past the limit.
    #[error("event-stream event longer than {limit} bytes")]
    EventTooLong {
        /// The limit in bytes.
        limit: usize,
    },
}

/// Longest line the parser buffers before failing.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Longest event (its `data:` lines together) the parser buffers before failing.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet terminated.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`, so a leading `\n` belongs to it.
    after_carriage_return: bool,
    event: Option<String>,
    data: Vec<String>,
    /// Bytes in `data`.
    data_bytes: usize,
    /// An event grew past [`MAX_EVENT_BYTES`]; reported by the next `push`.
    too_long: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        for &byte in chunk {
            if std::mem::take(&mut self.after_carriage_return) && byte == b'\n' {
                continue;
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_carriage_return = true;
                    self.end_line(&mut events);
                }
                other => {
                    if self.line.len() >= MAX_LINE_BYTES {
                        return Err(SseError::LineTooLong {
                            limit: MAX_LINE_BYTES,
                        });
                    }
                    self.line.push(other);
                }
            }
            if self.too_long {
                return Err(SseError::EventTooLong {
                    limit: MAX_EVENT_BYTES,
                });
            }
        }
        Ok(events)
    }

    /// Ends the stream: an unterminated final event is dispatched, as if the
    /// stream had ended with a blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.end_line(&mut events);
        events.pop()
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return; // a comment, often a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                self.data_bytes += value.len() + 1;
                if self.data_bytes > MAX_EVENT_BYTES {
                    self.too_long = true;
                    self.data.clear();
                } else {
                    self.data.push(value.to_owned());
                }
            }
            // `id` and `retry` matter for reconnecting browsers, not here.
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = self.event.take();
        self.data_bytes = 0;
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        events.push(SseEvent { event, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(body: &[u8], chunk_size: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for chunk in body.chunks(chunk_size) {
            events.extend(parser.push(chunk).expect("valid stream"));
        }
        events.extend(parser.finish());
        events
    }

    fn event(name: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: name.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn any_chunking_gives_the_same_events() {
        let body = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: h\u{e9}llo\ndata: world\n\ndata:[DONE]\r\r";
        let expected = vec![
            event(Some("message_start"), "{\"a\":1}"),
            event(None, "h\u{e9}llo\nworld"),
            event(None, "[DONE]"),
        ];
        for chunk_size in 1..=body.len() {
            assert_eq!(
                parse_in_chunks(body.as_bytes(), chunk_size),
                expected,
                "chunk size {chunk_size}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert_eq!(parse_in_chunks(b"event: ping\n\n", 4), vec![]);
    }

    #[test]
    fn an_unterminated_last_event_is_dispatched_on_finish() {
        assert_eq!(parse_in_chunks(b"data: tail", 3), vec![event(None, "tail")]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let events = parse_in_chunks(b"data: \xff\xfe\n\n", 2);
        assert_eq!(events.len(), 1);
        assert!(events[0].data.contains('\u{fffd}'));
    }

    #[test]
    fn an_endless_line_is_an_error() {
        let mut parser = SseParser::new();
        let chunk = vec![b'x'; 64 * 1024];
        let mut result = Ok(Vec::new());
        for _ in 0..=(MAX_LINE_BYTES / chunk.len()) {
            result = parser.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(SseError::LineTooLong {
                limit: MAX_LINE_BYTES
            })
        );
    }

    #[test]
    fn an_endless_event_of_short_lines_is_an_error() {
        let mut parser = SseParser::new();
        let line = format!("data: {}\n", "x".repeat(1000));
        let mut result = Ok(Vec::new());
        for _ in 0..=(MAX_EVENT_BYTES / 1000 + 1) {
            result = parser.push(line.as_bytes());
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(SseError::EventTooLong {
                limit: MAX_EVENT_BYTES
            })
        );
    }
}
