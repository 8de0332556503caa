//! The precise timer thread: toxic deadlines, and the releases at them.
//!
//! Tokio's timer wheel has 1 ms resolution and rounds up, so a 100 ms latency
//! toxic built on `tokio::time::sleep_until` releases chunks 1–4 ms late. This
//! module owns one background thread that keeps every pending deadline in a
//! heap and waits on a condition variable with the exact remaining time
//! (Linux wakes it within tens of microseconds), then rings the [`Alarm`]
//! registered for it, on this thread. A deadline is never rung early: the
//! thread re-reads the clock before firing, and every alarm due by then is
//! rung in the same wake-up.
//!
//! What an alarm does when rung is up to its owner: a link (`super::link`)
//! advances its toxic chain and writes what it released itself, with a
//! non-blocking send, so a release costs no task wake-up and does not queue
//! behind other connections' work in the async runtime. Alarms must therefore
//! be quick and never block: the thread asks for real-time priority
//! (SCHED_FIFO 1, which needs CAP_SYS_NICE; otherwise it keeps normal
//! priority), and on a busy 2-core machine that is what keeps releases on
//! time. It only ever sleeps, pops due entries and rings them, so it cannot
//! hog a core; it must not be used for anything but data-plane deadlines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use tokio::time::Instant;

/// Something to do on the timer thread at a deadline.
pub(crate) trait Alarm: Send + Sync {
    /// Called once per [`schedule`] call, at or after its deadline, with the
    /// `token` given there and a clock reading `now` that is at least the
    /// deadline. Must return quickly and never block.
    fn ring(self: Arc<Self>, token: u64, now: Instant);
}

struct Pending {
    deadline: Instant,
    sequence: u64,
    token: u64,
    alarm: Arc<dyn Alarm>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.sequence) == (other.deadline, other.sequence)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.sequence).cmp(&(other.deadline, other.sequence))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    sequence: u64,
}

struct TimerThread {
    queue: Mutex<Queue>,
    wakeup: Condvar,
}

fn timer_thread() -> &'static TimerThread {
    static TIMER: OnceLock<&'static TimerThread> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static TimerThread = Box::leak(Box::new(TimerThread {
            queue: Mutex::new(Queue::default()),
            wakeup: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("gameday-proxy-timer".into())
            .spawn(move || {
                raise_priority();
                timer.run()
            });
        if let Err(error) = spawned {
            // Without the thread no deadline would ever ring; this only
            // happens when the process is out of threads, so say so loudly.
            tracing::error!(%error, "cannot start the precise timer thread");
        }
        timer
    })
}

/// Asks the kernel to run this thread ahead of ordinary ones when it wakes,
/// so a busy machine delays releases less. Needs CAP_SYS_NICE; without it
/// the thread simply keeps normal priority.
fn raise_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: plain syscalls on the calling thread with a valid parameter.
        let fifo = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if fifo != 0 {
            // SAFETY: as above.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, 0, -10);
            }
        }
        // Timer slack widens every wait by 50 µs by default.
        // SAFETY: as above.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1u64, 0u64, 0u64, 0u64);
        }
    }
}

impl TimerThread {
    fn run(&self) {
        let mut due: Vec<Pending> = Vec::new();
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            while queue
                .heap
                .peek()
                .is_some_and(|Reverse(first)| first.deadline <= now)
            {
                if let Some(Reverse(pending)) = queue.heap.pop() {
                    due.push(pending);
                }
            }
            if !due.is_empty() {
                // Ring outside the lock: alarms schedule their next deadline.
                drop(queue);
                for pending in due.drain(..) {
                    pending.alarm.ring(pending.token, now);
                }
                queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            queue = match queue.heap.peek() {
                Some(Reverse(first)) => {
                    let wait = first.deadline.saturating_duration_since(now);
                    self.wakeup
                        .wait_timeout(queue, wait)
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|p| p.into_inner().0)
                }
                None => self.wakeup.wait(queue).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    fn register(&self, deadline: Instant, token: u64, alarm: Arc<dyn Alarm>) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.sequence += 1;
        let sequence = queue.sequence;
        let earliest = queue
            .heap
            .peek()
            .is_none_or(|Reverse(first)| deadline < first.deadline);
        queue.heap.push(Reverse(Pending {
            deadline,
            sequence,
            token,
            alarm,
        }));
        drop(queue);
        if earliest {
            self.wakeup.notify_one();
        }
    }
}

/// Rings `alarm` with `token` on the timer thread at (never before)
/// `deadline`. There is no cancelling: an owner that no longer wants a ring
/// recognises it by its token and ignores it.
pub(crate) fn schedule(deadline: Instant, token: u64, alarm: Arc<dyn Alarm>) {
    timer_thread().register(deadline, token, alarm);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    /// Reports each ring (token, when the alarm was due, the clock when rung).
    struct Probe {
        due: Vec<Instant>,
        rings: mpsc::UnboundedSender<(u64, Instant, Instant)>,
    }

    impl Alarm for Probe {
        fn ring(self: Arc<Self>, token: u64, now: Instant) {
            let _ = self.rings.send((token, self.due[token as usize], now));
        }
    }

    #[tokio::test]
    async fn never_rings_before_the_deadline_and_rings_each_schedule_once() {
        let start = Instant::now();
        let due: Vec<Instant> = (0..60u64)
            .map(|i| start + Duration::from_millis((i * 7) % 20))
            .collect();
        let (rings, mut rung) = mpsc::unbounded_channel();
        let probe = Arc::new(Probe {
            due: due.clone(),
            rings,
        });
        for (token, deadline) in due.iter().enumerate().rev() {
            schedule(*deadline, token as u64, probe.clone());
        }
        let mut seen = vec![false; due.len()];
        for _ in 0..due.len() {
            let (token, deadline, now) = rung.recv().await.unwrap();
            assert!(now >= deadline, "rung early");
            assert!(Instant::now() >= deadline, "rung early");
            assert!(!seen[token as usize], "rung twice");
            seen[token as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
