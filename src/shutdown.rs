//! Shutdown signalling shared by every server in the lab and by the runner.
//!
//! Servers (`lab::proxy::serve`, `lab::llm_sim::serve`, `lab::platform::serve`)
//! take an already-bound listener and a shutdown future (usually
//! [`Shutdown::wait`]), so the CLI and the tests share one entry point. The
//! CLI resolves it on every catchable termination signal (SIGINT, SIGTERM,
//! SIGHUP, SIGQUIT) and when its terminal output was closed (see
//! [`crate::console`]); tests resolve it by dropping or triggering a
//! [`ShutdownTrigger`]. [`Shutdown::cause`] says which.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, watch};

/// The sending half: call [`ShutdownTrigger::trigger`] (or drop it) to stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
    cause: Arc<OnceLock<String>>,
}

/// A cloneable future that completes once shutdown has been triggered.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
    cause: Arc<OnceLock<String>>,
}

/// A linked trigger and signal.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    let cause = Arc::new(OnceLock::new());
    (
        ShutdownTrigger {
            sender,
            cause: Arc::clone(&cause),
        },
        Shutdown { receiver, cause },
    )
}

impl ShutdownTrigger {
    /// Tells every holder of the linked [`Shutdown`] to stop.
    pub fn trigger(&self) {
        let _ = self.sender.send(true);
    }

    /// Like [`ShutdownTrigger::trigger`], saying why (the first cause sticks).
    pub fn trigger_because(&self, cause: impl Into<String>) {
        let _ = self.cause.set(cause.into());
        self.trigger();
    }
}

impl Drop for ShutdownTrigger {
    fn drop(&mut self) {
        self.trigger();
    }
}

impl Shutdown {
    /// Whether shutdown has already been triggered.
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Why shutdown was triggered, when the trigger said (e.g. `SIGHUP`).
    pub fn cause(&self) -> Option<String> {
        self.cause.get().cloned()
    }

    /// Waits until shutdown is triggered (or the trigger is dropped).
    pub async fn wait(mut self) {
        // An error means the trigger was dropped, which also means "stop".
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }

    /// A shutdown that resolves on SIGINT (Ctrl-C), SIGTERM, SIGHUP (a closed
    /// terminal or SSH session), SIGQUIT, or once [`output_closed`] was
    /// called; for the CLI. Its [`Shutdown::cause`] names the signal.
    pub fn on_signals() -> (ShutdownTrigger, Shutdown) {
        let (trigger, shutdown) = channel();
        let sender = trigger.sender.clone();
        let cause = Arc::clone(&trigger.cause);
        tokio::spawn(async move {
            let why = wait_for_signal().await;
            let _ = cause.set(why);
            let _ = sender.send(true);
        });
        (trigger, shutdown)
    }
}

static OUTPUT_CLOSED: AtomicBool = AtomicBool::new(false);
static OUTPUT_CLOSED_NOTIFY: Notify = Notify::const_new();

/// Tells the CLI's [`Shutdown::on_signals`] that stdout or stderr was closed
/// (e.g. `gameday run ... | head` after `head` exited): the run stops as on a
/// signal, reverting its faults.
pub fn output_closed() {
    if !OUTPUT_CLOSED.swap(true, Ordering::SeqCst) {
        // `notify_one` keeps a permit when nobody waits yet.
        OUTPUT_CLOSED_NOTIFY.notify_one();
    }
}

/// The cause of a stop on closed output.
pub const OUTPUT_CLOSED_CAUSE: &str = "output closed (broken pipe)";

/// Waits for the first termination signal (or closed output) and names it.
async fn wait_for_signal() -> String {
    let output = async {
        if !OUTPUT_CLOSED.load(Ordering::SeqCst) {
            OUTPUT_CLOSED_NOTIFY.notified().await;
        }
        OUTPUT_CLOSED_CAUSE.to_owned()
    };
    let ctrl_c = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "SIGINT".to_owned(),
            // No handler could be installed: never resolves from here.
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let one = |kind: SignalKind, name: &'static str| async move {
            match signal(kind) {
                Ok(mut stream) => {
                    stream.recv().await;
                    name.to_owned()
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            why = ctrl_c => why,
            why = output => why,
            why = one(SignalKind::terminate(), "SIGTERM") => why,
            why = one(SignalKind::hangup(), "SIGHUP") => why,
            why = one(SignalKind::quit(), "SIGQUIT") => why,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            why = ctrl_c => why,
            why = output => why,
        }
    }
}
