//! The Anthropic messages wire format.
//!
//! Owns the JSON of `POST /v1/messages`: the request body (system messages
//! move to the top-level `system` field), the reply (`content[]` text blocks,
//! `usage.input_tokens/output_tokens`) and the stream (`message_start`,
//! `content_block_delta` text deltas, `message_delta` usage, `message_stop`,
//! `error`). Unknown event types are skipped, as the API asks clients to do;
//! unexpected shapes of known ones are `Malformed` errors.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ProviderError, ProviderEvent, ProviderReply, stream_error};
use crate::lab::platform::llm::message::{ChatMessage, Role};
use crate::sse::SseEvent;

/// The `anthropic-version` header value this client speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The request body.
pub fn request_body(model: &str, messages: &[ChatMessage], max_tokens: u32, stream: bool) -> Value {
    let system: Vec<&str> = messages
        .iter()
        .filter(|message| message.role == Role::System)
        .map(|message| message.content.as_str())
        .collect();
    let conversation: Vec<Value> = messages
        .iter()
        .filter(|message| message.role != Role::System)
        .map(|message| json!({ "role": message.role.as_str(), "content": message.content }))
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": max_tokens,
        "messages": conversation,
        "stream": stream,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    body
}

#[derive(Deserialize)]
struct Reply {
    model: Option<String>,
    content: Vec<Block>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Clone, Copy, Default, Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

/// Parses a complete reply; the text blocks are concatenated.
pub fn parse_reply(body: &[u8], configured_model: &str) -> Result<ProviderReply, ProviderError> {
    let reply: Reply = serde_json::from_slice(body)
        .map_err(|error| ProviderError::Malformed(format!("message: {error}")))?;
    let mut text = String::new();
    for block in &reply.content {
        if block.kind == "text" {
            let block_text = block
                .text
                .as_deref()
                .ok_or_else(|| ProviderError::Malformed("text block without text".into()))?;
            text.push_str(block_text);
        }
    }
    let usage = reply.usage.unwrap_or_default();
    Ok(ProviderReply {
        model: reply.model.unwrap_or_else(|| configured_model.to_owned()),
        text,
        input_tokens: usage.input_tokens.unwrap_or(0),
        output_tokens: usage.output_tokens.unwrap_or(0),
    })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        content_block: StartBlock,
    },
    ContentBlockDelta {
        delta: BlockDelta,
    },
    MessageDelta {
        usage: Option<Usage>,
    },
    MessageStop,
    Error {
        error: ErrorDetail,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct StartBlock {
    text: Option<String>,
}

#[derive(Deserialize)]
struct BlockDelta {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

/// Turns stream events into deltas and the final `Done`.
#[derive(Default)]
pub struct StreamDecoder {
    input_tokens: u64,
    output_tokens: u64,
}

impl StreamDecoder {
    /// Decodes one event; `None` for events that carry no text.
    pub fn decode(&mut self, event: SseEvent) -> Result<Option<ProviderEvent>, ProviderError> {
        let parsed: Event = serde_json::from_str(&event.data).map_err(|error| {
            let name = event.event.as_deref().unwrap_or("unnamed");
            ProviderError::Malformed(format!("stream event {name}: {error}"))
        })?;
        match parsed {
            Event::MessageStart { message } => {
                self.record(message.usage);
                Ok(None)
            }
            Event::ContentBlockStart { content_block } => {
                Ok(non_empty(content_block.text).map(ProviderEvent::Delta))
            }
            Event::ContentBlockDelta { delta } if delta.kind == "text_delta" => {
                Ok(non_empty(delta.text).map(ProviderEvent::Delta))
            }
            Event::MessageDelta { usage } => {
                self.record(usage);
                Ok(None)
            }
            Event::MessageStop => Ok(Some(ProviderEvent::Done {
                input_tokens: self.input_tokens,
                output_tokens: self.output_tokens,
            })),
            Event::Error { error } => Err(stream_error(
                error.kind.as_deref(),
                error
                    .message
                    .unwrap_or_else(|| "error event in stream".into()),
            )),
            // Tool-use and thinking deltas, pings and future event types.
            Event::ContentBlockDelta { .. } | Event::Other => Ok(None),
        }
    }

    /// Usage counts are cumulative; the latest value reported wins.
    fn record(&mut self, usage: Option<Usage>) {
        let Some(usage) = usage else { return };
        if let Some(input) = usage.input_tokens {
            self.input_tokens = input;
        }
        if let Some(output) = usage.output_tokens {
            self.output_tokens = output;
        }
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(name.into()),
            data: data.into(),
        }
    }

    #[test]
    fn request_body_moves_system_messages_to_the_top_level() {
        let body = request_body(
            "claude-x",
            &[
                ChatMessage::system("be brief"),
                ChatMessage::user("hi"),
                ChatMessage::assistant("hello"),
                ChatMessage::user("again"),
            ],
            32,
            false,
        );
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["max_tokens"], 32);
        assert!(
            request_body("m", &[ChatMessage::user("x")], 1, true)
                .get("system")
                .is_none()
        );
    }

    #[test]
    fn parses_a_reply() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hel"},{"type":"tool_use","id":"t","name":"n","input":{}},{"type":"text","text":"lo"}],"stop_reason":"end_turn","usage":{"input_tokens":9,"output_tokens":4}}"#;
        assert_eq!(
            parse_reply(body, "configured"),
            Ok(ProviderReply {
                model: "claude-x".into(),
                text: "Hello".into(),
                input_tokens: 9,
                output_tokens: 4
            })
        );
    }

    #[test]
    fn unexpected_replies_are_malformed() {
        for body in [
            &b"<html>"[..],
            br#"{"content":"text"}"#,
            br#"{"content":[{"type":"text"}]}"#,
            br#"{"usage":{"input_tokens":1}}"#,
        ] {
            assert!(
                matches!(parse_reply(body, "m"), Err(ProviderError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn decodes_a_stream_with_usage() {
        let mut decoder = StreamDecoder::default();
        let events = [
            event(
                "message_start",
                r#"{"type":"message_start","message":{"id":"m","model":"claude-x","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}"#,
            ),
            event(
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            event("ping", r#"{"type":"ping"}"#),
            event(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            ),
            event(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
            ),
            event(
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            event(
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#,
            ),
            event("message_stop", r#"{"type":"message_stop"}"#),
        ];
        let decoded: Vec<_> = events
            .into_iter()
            .filter_map(|event| decoder.decode(event).expect("valid event"))
            .collect();
        assert_eq!(
            decoded,
            vec![
                ProviderEvent::Delta("Hi".into()),
                ProviderEvent::Done {
                    input_tokens: 12,
                    output_tokens: 7
                },
            ]
        );
    }

    #[test]
    fn stream_errors_and_garbage_are_classified() {
        let mut decoder = StreamDecoder::default();
        assert!(matches!(
            decoder.decode(event(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )),
            Err(ProviderError::Status { code: 529, .. })
        ));
        assert!(matches!(
            decoder.decode(event(
                "content_block_delta",
                r#"{"type":"content_block_delta"}"#
            )),
            Err(ProviderError::Malformed(_))
        ));
        assert!(matches!(
            decoder.decode(event("x", "[1,2")),
            Err(ProviderError::Malformed(_))
        ));
    }
}
