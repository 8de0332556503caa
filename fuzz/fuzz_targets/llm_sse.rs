//! The platform's LLM stream path: bytes cut into arbitrary chunks → SSE
//! parser → both providers' stream decoders.
#![no_main]

use gameday::lab::platform::llm::provider::{anthropic, openai};
use gameday::lab::platform::llm::sse::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: chunk size, so chunk boundaries land everywhere.
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(size % 64) + 1;
    let mut parser = SseParser::new();
    let mut open_ai = openai::StreamDecoder::default();
    let mut anthropic = anthropic::StreamDecoder::default();
    let mut events = Vec::new();
    for chunk in stream.chunks(size) {
        match parser.push(chunk) {
            Ok(more) => events.extend(more),
            Err(_) => return,
        }
    }
    events.extend(parser.finish());
    for event in events {
        let _ = open_ai.decode(event.clone());
        let _ = anthropic.decode(event);
    }
});
