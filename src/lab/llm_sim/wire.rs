//! What the two wire formats have in common.
//!
//! The server is written once against the [`Wire`] trait; `openai` and
//! `anthropic` implement it. A format parses its request into a [`Prompt`],
//! renders a [`Completion`] as one JSON body or as a list of SSE frames, and
//! names the error shape its [`Failure`](super::failure::Failure)s are written in. Nothing
//! here knows about modes or timing.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::failure::{ErrorShape, Failure};
use super::reply::{Reply, count_tokens};

/// The parts of a request the simulator uses, in either format.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The model name, echoed back unchanged.
    pub model: String,
    /// Whether the client asked for an SSE stream.
    pub stream: bool,
    /// The client's cap on reply tokens, if any.
    pub max_tokens: Option<u64>,
    /// OpenAI `stream_options.include_usage`: send a final usage chunk.
    pub include_usage: bool,
    /// Whitespace-word count of every message's text (and the system prompt).
    pub input_tokens: usize,
    /// The text of the last message whose role is `user` (empty if none).
    pub last_user_message: String,
}

/// One chat message as both formats send it: `content` is a string or a list
/// of parts (`{"type": "text", "text": ...}`), or absent.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Value,
}

impl Prompt {
    /// Builds a prompt from parsed messages plus an optional system text.
    pub fn from_messages(
        model: String,
        stream: bool,
        max_tokens: Option<u64>,
        include_usage: bool,
        system: &Value,
        messages: &[Message],
    ) -> Result<Prompt, Failure> {
        if messages.is_empty() {
            return Err(Failure::BadRequest(
                "`messages` must contain at least one message".to_owned(),
            ));
        }
        let input_tokens = count_tokens(&text_of(system))
            + messages
                .iter()
                .map(|message| count_tokens(&text_of(&message.content)))
                .sum::<usize>();
        let last_user_message = messages
            .iter()
            .rev()
            .find(|message| message.role == "user")
            .map(|message| text_of(&message.content))
            .unwrap_or_default();
        Ok(Prompt {
            model,
            stream,
            max_tokens,
            include_usage,
            input_tokens,
            last_user_message,
        })
    }
}

/// The text of a message content: a string, or the `text` of every part of a
/// list joined with spaces; anything else has no text.
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                Value::Object(fields) => fields.get("text").and_then(Value::as_str),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// A finished answer, ready to render in either format.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Response id (`chatcmpl-…` / `msg_…`).
    pub id: String,
    /// Echo of the requested model.
    pub model: String,
    /// Unix seconds, for OpenAI's `created`.
    pub created: u64,
    /// The reply.
    pub reply: Reply,
    /// Prompt tokens.
    pub input_tokens: usize,
    /// Whether the client asked for the OpenAI usage chunk.
    pub include_usage: bool,
}

/// A streamed answer as SSE frames, split so the server can pace the tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFrames {
    /// Frames before the first token (message start, role, ping).
    pub preamble: Vec<Bytes>,
    /// One frame per reply token.
    pub tokens: Vec<Bytes>,
    /// Frames after the last token (stop reason, usage, end marker).
    pub epilogue: Vec<Bytes>,
}

/// A wire format: how requests look and how answers and errors are written.
pub trait Wire: Send + Sync + 'static {
    /// The route the format is served on (also the key in `by_route` stats).
    const ROUTE: &'static str;
    /// Prefix of response ids.
    const ID_PREFIX: &'static str;

    /// Parses a request body.
    fn parse(body: &[u8]) -> Result<Prompt, Failure>;
    /// The non-streaming JSON answer.
    fn completion(completion: &Completion) -> Value;
    /// The streaming answer.
    fn stream(completion: &Completion) -> StreamFrames;
    /// The provider's error JSON shape.
    const ERROR_SHAPE: ErrorShape;
    /// A 200 body that is not valid JSON.
    fn malformed_body(completion: &Completion) -> Bytes;
    /// An SSE frame whose data is not valid JSON.
    fn garbage_frame() -> Bytes;
}

/// An SSE frame with only a `data:` line.
pub fn data_frame(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// An SSE frame with an `event:` line and a `data:` line.
pub fn event_frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// Turns a `serde_json` error into a bad-request failure with its location.
pub fn bad_json(error: &serde_json::Error) -> Failure {
    Failure::BadRequest(format!("invalid request body: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_of_handles_strings_parts_and_nothing() {
        assert_eq!(text_of(&json!("hi there")), "hi there");
        assert_eq!(
            text_of(&json!([{"type": "text", "text": "a b"}, {"type": "image"}, "c"])),
            "a b c"
        );
        assert_eq!(text_of(&Value::Null), "");
        assert_eq!(text_of(&json!(42)), "");
    }

    #[test]
    fn prompt_counts_all_messages_and_finds_the_last_user_message() {
        let messages: Vec<Message> = serde_json::from_value(json!([
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer here"},
            {"role": "user", "content": "second question please"},
            {"role": "assistant"}
        ]))
        .expect("messages");
        let prompt = Prompt::from_messages(
            "m".into(),
            false,
            None,
            false,
            &json!("be brief"),
            &messages,
        )
        .expect("prompt");
        assert_eq!(prompt.input_tokens, 2 + 2 + 3 + 3);
        assert_eq!(prompt.last_user_message, "second question please");
    }

    #[test]
    fn empty_messages_are_a_bad_request() {
        let error = Prompt::from_messages("m".into(), false, None, false, &Value::Null, &[]);
        assert!(matches!(error, Err(Failure::BadRequest(_))));
    }
}
