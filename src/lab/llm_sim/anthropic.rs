//! The Anthropic Messages wire format (`POST /v1/messages`).
//!
//! Requests: `{model, max_tokens, messages: [{role, content}], system?,
//! stream?}`; `max_tokens` is required (at least 1) as in the real API, other
//! fields are accepted and ignored. Streams use named SSE events
//! (`message_start` … `message_stop`); errors are
//! `{"type": "error", "error": {"type", "message"}}`.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::failure::{ErrorShape, Failure};
use super::wire::{Completion, Message, Prompt, StreamFrames, Wire, bad_json, event_frame};

/// The Anthropic-compatible format.
#[derive(Debug, Clone, Copy)]
pub struct Anthropic;

#[derive(Debug, Deserialize)]
struct Request {
    model: String,
    max_tokens: u64,
    messages: Vec<Message>,
    #[serde(default)]
    system: Value,
    #[serde(default)]
    stream: Option<bool>,
}

impl Anthropic {
    fn stop_reason(completion: &Completion) -> &'static str {
        if completion.reply.truncated {
            "max_tokens"
        } else {
            "end_turn"
        }
    }
}

impl Wire for Anthropic {
    const ROUTE: &'static str = "/v1/messages";
    const ID_PREFIX: &'static str = "msg_sim";

    fn parse(body: &[u8]) -> Result<Prompt, Failure> {
        let request: Request = serde_json::from_slice(body).map_err(|error| bad_json(&error))?;
        if request.max_tokens == 0 {
            return Err(Failure::BadRequest(
                "max_tokens: must be at least 1".to_owned(),
            ));
        }
        Prompt::from_messages(
            request.model,
            request.stream.unwrap_or(false),
            Some(request.max_tokens),
            false,
            &request.system,
            &request.messages,
        )
    }

    fn completion(completion: &Completion) -> Value {
        json!({
            "id": completion.id,
            "type": "message",
            "role": "assistant",
            "model": completion.model,
            "content": [{"type": "text", "text": completion.reply.text()}],
            "stop_reason": Anthropic::stop_reason(completion),
            "stop_sequence": null,
            "usage": {
                "input_tokens": completion.input_tokens,
                "output_tokens": completion.reply.tokens(),
            },
        })
    }

    fn stream(completion: &Completion) -> StreamFrames {
        let preamble = vec![
            event_frame(
                "message_start",
                &json!({
                    "type": "message_start",
                    "message": {
                        "id": completion.id,
                        "type": "message",
                        "role": "assistant",
                        "model": completion.model,
                        "content": [],
                        "stop_reason": null,
                        "stop_sequence": null,
                        "usage": {"input_tokens": completion.input_tokens, "output_tokens": 0},
                    },
                }),
            ),
            event_frame(
                "content_block_start",
                &json!({
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                }),
            ),
            event_frame("ping", &json!({"type": "ping"})),
        ];
        let tokens = (0..completion.reply.tokens())
            .map(|index| {
                event_frame(
                    "content_block_delta",
                    &json!({
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": completion.reply.piece(index)},
                    }),
                )
            })
            .collect();
        let epilogue = vec![
            event_frame(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            ),
            event_frame(
                "message_delta",
                &json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": Anthropic::stop_reason(completion), "stop_sequence": null},
                    "usage": {"output_tokens": completion.reply.tokens()},
                }),
            ),
            event_frame("message_stop", &json!({"type": "message_stop"})),
        ];
        StreamFrames {
            preamble,
            tokens,
            epilogue,
        }
    }

    const ERROR_SHAPE: ErrorShape = ErrorShape::Anthropic;

    fn malformed_body(completion: &Completion) -> Bytes {
        Bytes::from(format!(
            "{{\"id\":\"{}\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\"{}",
            completion.id,
            completion.reply.piece(0)
        ))
    }

    fn garbage_frame() -> Bytes {
        ErrorShape::Anthropic.garbage_event()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_sim::reply::Reply;

    fn completion() -> Completion {
        Completion {
            id: "msg_sim1".into(),
            model: "claude-test".into(),
            created: 1,
            reply: Reply::build("f", "hello", 4, None),
            input_tokens: 1,
            include_usage: false,
        }
    }

    #[test]
    fn parses_system_and_requires_max_tokens() {
        let prompt = Anthropic::parse(
            br#"{"model":"c","max_tokens":5,"system":[{"type":"text","text":"be kind"}],
                "messages":[{"role":"user","content":"hello there"}],"stream":true}"#,
        )
        .expect("valid");
        assert_eq!(prompt.input_tokens, 4);
        assert_eq!(prompt.max_tokens, Some(5));
        assert!(prompt.stream);

        let missing =
            Anthropic::parse(br#"{"model":"c","messages":[{"role":"user","content":"x"}]}"#)
                .expect_err("max_tokens is required");
        assert!(
            missing.message().contains("max_tokens"),
            "{}",
            missing.message()
        );
        let zero = Anthropic::parse(
            br#"{"model":"c","max_tokens":0,"messages":[{"role":"user","content":"x"}]}"#,
        )
        .expect_err("max_tokens 0");
        assert_eq!(zero.status().as_u16(), 400);
    }

    #[test]
    fn stream_events_come_in_the_documented_order() {
        let frames = Anthropic::stream(&completion());
        let all: Vec<Bytes> = frames
            .preamble
            .iter()
            .chain(&frames.tokens)
            .chain(&frames.epilogue)
            .cloned()
            .collect();
        let events: Vec<String> = all
            .iter()
            .map(|frame| {
                let text = std::str::from_utf8(frame).expect("utf8");
                text.lines()
                    .next()
                    .and_then(|line| line.strip_prefix("event: "))
                    .expect("event line")
                    .to_owned()
            })
            .collect();
        assert_eq!(
            events,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
    }
}
