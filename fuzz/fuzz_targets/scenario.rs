//! Scenario text → parse and validate: any input is a scenario or diagnostics,
//! never a panic (and rendering the diagnostics never panics either).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(diagnostics) = gameday::scenario::parse_str("fuzz.yaml", text) {
        let _ = diagnostics.to_string();
    }
});
