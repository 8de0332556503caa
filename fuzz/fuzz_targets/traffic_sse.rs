//! The traffic generator's stream reader: bytes cut into arbitrary chunks →
//! `StreamState` → a completion.
#![no_main]

use std::time::Duration;

use gameday::traffic::outcome::HeaderReport;
use gameday::traffic::sse::StreamState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(size % 64) + 1;
    let mut state = StreamState::new(HeaderReport::default());
    for (index, chunk) in stream.chunks(size).enumerate() {
        if state.is_finished() {
            break;
        }
        let at = Duration::from_millis(u64::try_from(index).unwrap_or(u64::MAX));
        state.push(chunk, at);
    }
    let _ = state.finish();
});
