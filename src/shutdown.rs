//! Shutdown signalling shared by every server in the lab.
//!
//! Servers (`lab::proxy::serve`, `lab::llm_sim::serve`, `lab::platform::serve`)
//! take an already-bound listener and a shutdown future (usually
//! [`Shutdown::wait`]), so the CLI and the
//! tests share one entry point. The CLI resolves it on Ctrl-C or SIGTERM; tests
//! resolve it by dropping or triggering a [`ShutdownTrigger`].

use tokio::sync::watch;

/// The sending half: call [`ShutdownTrigger::trigger`] (or drop it) to stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// A cloneable future that completes once shutdown has been triggered.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// A linked trigger and signal.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    /// Tells every holder of the linked [`Shutdown`] to stop.
    pub fn trigger(&self) {
        let _ = self.sender.send(true);
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

    /// Waits until shutdown is triggered (or the trigger is dropped).
    pub async fn wait(mut self) {
        // An error means the trigger was dropped, which also means "stop".
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }

    /// A shutdown that resolves on Ctrl-C or SIGTERM, for the CLI.
    pub fn on_signals() -> (ShutdownTrigger, Shutdown) {
        let (trigger, shutdown) = channel();
        let sender = trigger.sender.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = sender.send(true);
        });
        (trigger, shutdown)
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
