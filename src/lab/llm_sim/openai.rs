//! The OpenAI Chat Completions wire format (`POST /v1/chat/completions`).
//!
//! Requests: `{model, messages: [{role, content}], stream?, max_tokens?,
//! max_completion_tokens?, stream_options?: {include_usage?}}`; other fields
//! (temperature, tools, …) are accepted and ignored. Answers and errors follow
//! the shapes the official SDKs parse; see `docs/llm-sim.md`.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::failure::{ErrorShape, Failure};
use super::wire::{Completion, Message, Prompt, StreamFrames, Wire, bad_json, data_frame};

/// The OpenAI-compatible format.
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

#[derive(Debug, Deserialize)]
struct Request {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl OpenAi {
    fn finish_reason(completion: &Completion) -> &'static str {
        if completion.reply.truncated {
            "length"
        } else {
            "stop"
        }
    }

    fn usage(completion: &Completion) -> Value {
        let output = completion.reply.tokens();
        json!({
            "prompt_tokens": completion.input_tokens,
            "completion_tokens": output,
            "total_tokens": completion.input_tokens + output,
        })
    }

    /// One `chat.completion.chunk`; `usage: null` on every chunk but the
    /// usage chunk when the client asked for usage, as OpenAI does.
    fn chunk(completion: &Completion, choices: Value, usage: Option<Value>) -> Bytes {
        let mut chunk = json!({
            "id": completion.id,
            "object": "chat.completion.chunk",
            "created": completion.created,
            "model": completion.model,
            "system_fingerprint": null,
            "choices": choices,
        });
        if completion.include_usage {
            chunk["usage"] = usage.unwrap_or(Value::Null);
        }
        data_frame(&chunk.to_string())
    }

    fn delta_choice(delta: Value, finish_reason: Option<&str>) -> Value {
        json!([{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }])
    }
}

impl Wire for OpenAi {
    const ROUTE: &'static str = "/v1/chat/completions";
    const ID_PREFIX: &'static str = "chatcmpl-sim";

    fn parse(body: &[u8]) -> Result<Prompt, Failure> {
        let request: Request = serde_json::from_slice(body).map_err(|error| bad_json(&error))?;
        let max_tokens = match (request.max_tokens, request.max_completion_tokens) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let include_usage = request
            .stream_options
            .and_then(|options| options.include_usage)
            .unwrap_or(false);
        Prompt::from_messages(
            request.model,
            request.stream.unwrap_or(false),
            max_tokens,
            include_usage,
            &Value::Null,
            &request.messages,
        )
    }

    fn completion(completion: &Completion) -> Value {
        json!({
            "id": completion.id,
            "object": "chat.completion",
            "created": completion.created,
            "model": completion.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": completion.reply.text(),
                    "refusal": null,
                },
                "logprobs": null,
                "finish_reason": OpenAi::finish_reason(completion),
            }],
            "usage": OpenAi::usage(completion),
        })
    }

    fn stream(completion: &Completion) -> StreamFrames {
        let preamble = vec![OpenAi::chunk(
            completion,
            OpenAi::delta_choice(json!({"role": "assistant", "content": ""}), None),
            None,
        )];
        let tokens = (0..completion.reply.tokens())
            .map(|index| {
                OpenAi::chunk(
                    completion,
                    OpenAi::delta_choice(json!({"content": completion.reply.piece(index)}), None),
                    None,
                )
            })
            .collect();
        let mut epilogue = vec![OpenAi::chunk(
            completion,
            OpenAi::delta_choice(json!({}), Some(OpenAi::finish_reason(completion))),
            None,
        )];
        if completion.include_usage {
            epilogue.push(OpenAi::chunk(
                completion,
                json!([]),
                Some(OpenAi::usage(completion)),
            ));
        }
        epilogue.push(data_frame("[DONE]"));
        StreamFrames {
            preamble,
            tokens,
            epilogue,
        }
    }

    const ERROR_SHAPE: ErrorShape = ErrorShape::OpenAi;

    fn malformed_body(completion: &Completion) -> Bytes {
        // A JSON answer that stops in the middle of a string: what a client
        // sees when a broken middlebox truncates a 200.
        Bytes::from(format!(
            "{{\"id\":\"{}\",\"object\":\"chat.completion\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{}",
            completion.id,
            completion.reply.piece(0)
        ))
    }

    fn garbage_frame() -> Bytes {
        ErrorShape::OpenAi.garbage_event()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_sim::reply::Reply;

    fn completion(include_usage: bool, tokens: usize) -> Completion {
        Completion {
            id: "chatcmpl-sim1".into(),
            model: "gpt-test".into(),
            created: 1,
            reply: Reply::build("p", "hello world", tokens, None),
            input_tokens: 2,
            include_usage,
        }
    }

    fn frame_json(frame: &Bytes) -> Value {
        let text = std::str::from_utf8(frame).expect("utf8");
        let data = text
            .strip_prefix("data: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .expect("data frame");
        serde_json::from_str(data).expect("json")
    }

    #[test]
    fn parses_the_fields_it_uses_and_ignores_the_rest() {
        let body = br#"{"model":"gpt-x","temperature":0.2,"stream":true,
            "stream_options":{"include_usage":true},"max_tokens":50,"max_completion_tokens":9,
            "messages":[{"role":"system","content":"sys prompt"},{"role":"user","content":[{"type":"text","text":"hi you"}]}]}"#;
        let prompt = OpenAi::parse(body).expect("valid");
        assert_eq!(prompt.model, "gpt-x");
        assert!(prompt.stream && prompt.include_usage);
        assert_eq!(prompt.max_tokens, Some(9));
        assert_eq!(prompt.input_tokens, 4);
        assert_eq!(prompt.last_user_message, "hi you");
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let missing = OpenAi::parse(br#"{"model":"m"}"#).expect_err("missing messages");
        assert!(
            missing.message().contains("messages"),
            "{}",
            missing.message()
        );
        let broken = OpenAi::parse(b"{nope").expect_err("not json");
        assert_eq!(broken.status().as_u16(), 400);
    }

    #[test]
    fn stream_has_usage_chunk_only_when_asked() {
        let with = OpenAi::stream(&completion(true, 3));
        assert_eq!(with.tokens.len(), 3);
        assert_eq!(with.epilogue.len(), 3);
        let usage = frame_json(&with.epilogue[1]);
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["completion_tokens"], 3);
        assert_eq!(frame_json(&with.tokens[0])["usage"], Value::Null);
        assert_eq!(with.epilogue[2], data_frame("[DONE]"));

        let without = OpenAi::stream(&completion(false, 3));
        assert_eq!(without.epilogue.len(), 2);
        assert!(frame_json(&without.tokens[0]).get("usage").is_none());
    }

    #[test]
    fn malformed_body_is_not_json() {
        let body = OpenAi::malformed_body(&completion(false, 3));
        assert!(serde_json::from_slice::<Value>(&body).is_err());
    }
}
