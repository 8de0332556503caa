//! Giving freed heap memory back to the operating system.
//!
//! A `gameday run` against the built-in lab hosts the platform, the proxy
//! and the simulators in one process. A fault that slows a dependency piles
//! up requests in flight (a thousand and more at 500 req/s, each with its
//! buffers and tasks), and glibc's allocator keeps the pages they freed
//! mapped in its arenas afterwards: without help, resident memory would
//! ratchet up with every such burst over a long game day although nothing
//! leaks. [`spawn_trimmer`] asks the allocator to return them
//! (`malloc_trim(0)`) at a steady interval; elsewhere than glibc it does
//! nothing.

use std::time::Duration;

/// How often [`spawn_trimmer`] trims by default.
pub const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Returns freed heap pages to the operating system every `every`, for as
/// long as the runtime runs. A no-op task where the allocator is not
/// glibc's.
pub fn spawn_trimmer(every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first trim one interval from now: a short command never pays one.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            trim();
        }
    })
}

/// Returns freed heap pages to the operating system now; true when some
/// memory was released.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists,
        // under its locks; it is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident set size of this process in KiB (Linux).
    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with("VmRSS:"))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|value| value.parse().ok())
            })
            .unwrap_or(0)
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_freed_after_a_burst_goes_back_to_the_system() {
        // Many small blocks (below the mmap threshold, so they live in the
        // heap), touched, then every other one kept: the heap cannot
        // shrink from its top, only a trim gives the holes back.
        let mut blocks: Vec<Vec<u8>> = (0..40_000).map(|i| vec![i as u8; 4000]).collect();
        let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(16).map(std::mem::take).collect();
        drop(blocks);
        let before = rss_kib();
        trim();
        let after = rss_kib();
        assert!(
            after + 50_000 < before,
            "trim released too little: {before} KiB -> {after} KiB"
        );
        drop(kept);
    }
}
