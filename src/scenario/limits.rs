//! The upper (and lower) bound of every count, size and rate a scenario can
//! name, each with the reason for it.
//!
//! One set of limits, checked once: `scenario::validate` (and, for toxic
//! attributes, the decoder) refuses a scenario that exceeds them, so a file
//! that validates never fails later in `run` for its size; the traffic
//! generator's own spec check reads the same constants. Nothing here does
//! anything but name numbers.

use std::time::Duration;

/// The slowest arrival rate (per second): the traffic generator schedules
/// in thousandths of a request per second, and a slower run sends nothing
/// within the 7-day limit worth judging.
pub const MIN_RATE: f64 = 0.001;

/// The fastest arrival rate a scenario may ask for (per second): one
/// generator process cannot send more, and every arrival is recorded.
pub const MAX_RATE: f64 = 1_000_000.0;

/// A mix weight is 0 or at least this: the generator keeps weights in
/// thousandths, so a smaller weight would silently become 0.
pub const MIN_MIX_WEIGHT: f64 = 0.001;

/// The largest mix weight: weights are relative, and in thousandths the sum
/// of three must fit 32 bits.
pub const MAX_MIX_WEIGHT: f64 = 1_000_000.0;

/// The largest pool of conversations: the generator keeps a slot for each
/// in memory for the whole run.
pub const MAX_CONVERSATIONS: u32 = 1_000_000;

/// The most turns before a conversation is replaced: every turn resends the
/// conversation's history, so longer conversations only measure its size.
pub const MAX_TURNS_PER_CONVERSATION: u32 = 100_000;

/// The most requests in flight at once: each holds a connection (a file
/// descriptor) and a task.
pub const MAX_IN_FLIGHT: u32 = 1_000_000;

/// The most timeline entries: each fault and each gap between faults is a
/// phase, and a run records at most 64 phases (warm-up, baseline, recovery,
/// run, 30 faults and 29 gaps).
pub const MAX_TIMELINE_ENTRIES: usize = 30;

/// The most alert rules and the most halt rules (each list): every rule is
/// evaluated every second of the run.
pub const MAX_RULES: usize = 100;

/// The most extra headers sent on every request.
pub const MAX_HEADERS: usize = 64;

/// The longest header template (bytes): servers refuse longer header lines.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The most proxies a target may list.
pub const MAX_PROXIES: usize = 256;

/// The most LLM gateways a target may declare: each is checked at setup and
/// its stats read twice, one after the other.
pub const MAX_LLM_PROXIES: usize = 64;

/// The longest scenario name (characters): the name becomes part of the run
/// folder's name, and file names are limited to 255 bytes.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest `exec` command or revert (bytes): the kernel limits one
/// argument of `sh -c` to 128 KiB.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// The largest byte size in a toxic (`average_size`, `size_variation`,
/// `bytes`): 1 GiB, far above any useful slice or cut-off.
pub const MAX_TOXIC_BYTES: i64 = 1 << 30;

/// The largest bandwidth in a toxic, in KB/s (10 GB/s): above any link a
/// proxy relays, so a larger one is a typo.
pub const MAX_TOXIC_KBPS: i64 = 10_000_000;

/// The longest time in a toxic (latency, jitter, delays, timeouts): the
/// 7-day limit of every duration in a scenario.
pub const MAX_TOXIC_TIME: Duration = super::values::MAX_DURATION;
