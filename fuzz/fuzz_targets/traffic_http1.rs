//! The traffic generator's HTTP/1.1 answer reader (status line, headers,
//! Content-Length / chunked / until-close bodies): bytes cut into arbitrary
//! pieces → `traffic::http1::read_answer`. It must answer or refuse, never
//! panic, and a body must never outgrow the bytes it came from.
#![no_main]

use gameday::traffic::http1::read_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, answer)) = data.split_first() else {
        return;
    };
    let piece = usize::from(control % 64) + 1;
    let method = if control & 0x80 == 0 { "POST" } else { "HEAD" };
    if let Ok((_, body)) = read_answer(answer, piece, method) {
        assert!(body.len() <= answer.len());
    }
});
