//! The platform's LLM non-streamed path: a response body → both providers'
//! reply parsers; and `Retry-After` values.
#![no_main]

use std::time::{Duration, SystemTime};

use gameday::lab::platform::llm::provider::{anthropic, openai, parse_retry_after};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = openai::parse_reply(data, "configured-model");
    let _ = anthropic::parse_reply(data, "configured-model");
    if let Ok(text) = std::str::from_utf8(data) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let _ = parse_retry_after(text, now);
    }
});
