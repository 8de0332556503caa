//! The OpenAI chat-completions wire format.
//!
//! Owns the JSON of `POST /v1/chat/completions`: the request body, the reply
//! (`choices[0].message.content`, `usage.prompt_tokens/completion_tokens`) and
//! the stream (`data:` chunks with `choices[0].delta.content`, a final usage
//! chunk, then `data: [DONE]`). Unexpected shapes are `Malformed` errors.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ProviderError, ProviderEvent, ProviderReply, stream_error};
use crate::lab::platform::llm::message::ChatMessage;
use crate::sse::SseEvent;

/// The request body.
pub fn request_body(model: &str, messages: &[ChatMessage], max_tokens: u32, stream: bool) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|message| json!({ "role": message.role.as_str(), "content": message.content }))
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "stream": stream,
    });
    if stream {
        // Without this, streams carry no token usage at all.
        body["stream_options"] = json!({ "include_usage": true });
    }
    body
}

#[derive(Deserialize)]
struct Reply {
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Clone, Copy, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Parses a complete reply.
pub fn parse_reply(body: &[u8], configured_model: &str) -> Result<ProviderReply, ProviderError> {
    let reply: Reply = serde_json::from_slice(body)
        .map_err(|error| ProviderError::Malformed(format!("chat completion: {error}")))?;
    let choice = reply
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::Malformed("chat completion without choices".into()))?;
    let usage = reply.usage.unwrap_or_default();
    Ok(ProviderReply {
        model: reply.model.unwrap_or_else(|| configured_model.to_owned()),
        text: choice.message.content.unwrap_or_default(),
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
    })
}

#[derive(Deserialize)]
struct Chunk {
    choices: Option<Vec<ChunkChoice>>,
    usage: Option<Usage>,
    error: Option<ChunkError>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkError {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Turns stream events into deltas and the final `Done`.
#[derive(Default)]
pub struct StreamDecoder {
    usage: Usage,
}

impl StreamDecoder {
    /// Decodes one event; `None` for events that carry no text.
    pub fn decode(&mut self, event: SseEvent) -> Result<Option<ProviderEvent>, ProviderError> {
        if event.data.trim() == "[DONE]" {
            return Ok(Some(ProviderEvent::Done {
                input_tokens: self.usage.prompt_tokens,
                output_tokens: self.usage.completion_tokens,
            }));
        }
        let chunk: Chunk = serde_json::from_str(&event.data)
            .map_err(|error| ProviderError::Malformed(format!("stream chunk: {error}")))?;
        if let Some(error) = chunk.error {
            return Err(stream_error(
                error.kind.as_deref(),
                error
                    .message
                    .unwrap_or_else(|| "error event in stream".into()),
            ));
        }
        if let Some(usage) = chunk.usage {
            self.usage = usage;
        }
        let Some(choices) = chunk.choices else {
            if chunk.usage.is_some() {
                return Ok(None);
            }
            return Err(ProviderError::Malformed(
                "stream chunk without choices or usage".into(),
            ));
        };
        let text = choices
            .into_iter()
            .next()
            .and_then(|choice| choice.delta)
            .and_then(|delta| delta.content)
            .unwrap_or_default();
        Ok((!text.is_empty()).then_some(ProviderEvent::Delta(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::platform::llm::message::ChatMessage;

    fn data(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn request_body_carries_messages_and_asks_for_stream_usage() {
        let body = request_body(
            "gpt-x",
            &[ChatMessage::system("be brief"), ChatMessage::user("hi")],
            64,
            true,
        );
        assert_eq!(body["model"], "gpt-x");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "hi");
        assert_eq!(body["max_tokens"], 64);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert!(
            request_body("m", &[], 1, false)
                .get("stream_options")
                .is_none()
        );
    }

    #[test]
    fn parses_a_reply() {
        let body = br#"{"id":"c1","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#;
        assert_eq!(
            parse_reply(body, "configured"),
            Ok(ProviderReply {
                model: "gpt-x".into(),
                text: "Hello".into(),
                input_tokens: 5,
                output_tokens: 2
            })
        );
    }

    #[test]
    fn unexpected_replies_are_malformed() {
        for body in [
            &b"not json"[..],
            br#"{"choices":[]}"#,
            br#"{"choices":"nope"}"#,
            br#"{"choices":[{"message":{"content":42}}]}"#,
            br#"{"usage":{}}"#,
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
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            "[DONE]",
        ];
        let decoded: Vec<_> = events
            .iter()
            .map(|event| decoder.decode(data(event)).expect("valid chunk"))
            .collect();
        assert_eq!(
            decoded,
            vec![
                None,
                Some(ProviderEvent::Delta("Hel".into())),
                Some(ProviderEvent::Delta("lo".into())),
                None,
                Some(ProviderEvent::Done {
                    input_tokens: 3,
                    output_tokens: 2
                }),
            ]
        );
    }

    #[test]
    fn stream_errors_and_garbage_are_classified() {
        let mut decoder = StreamDecoder::default();
        assert!(matches!(
            decoder.decode(data("{oops")),
            Err(ProviderError::Malformed(_))
        ));
        assert!(matches!(
            decoder.decode(data(r#"{"id":"x"}"#)),
            Err(ProviderError::Malformed(_))
        ));
        assert!(matches!(
            decoder.decode(data(
                r#"{"error":{"message":"slow down","type":"rate_limit_exceeded"}}"#
            )),
            Err(ProviderError::Status { code: 429, .. })
        ));
    }
}
