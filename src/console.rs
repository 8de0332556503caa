//! Terminal output that never panics.
//!
//! `println!` and `eprintln!` panic when the stream is closed (`gameday run
//! ... 2>&1 | head` once `head` has exited: EPIPE). The runner prints through
//! [`outln!`](crate::outln) and [`errln!`](crate::errln) instead: a write that
//! fails ends output on that stream quietly and asks the run to stop as on a
//! signal ([`crate::shutdown::output_closed`]), so its faults are reverted
//! and it exits like any interrupted run. The logger writes through
//! [`LogWriter`], which follows the same rule and redacts secrets.
//!
//! The macros pass their text through [`crate::terminal::clean`] (control
//! characters escaped, secrets masked); [`out`] and [`err`] write as given,
//! for the progress line's own escape sequences around cleaned text.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; see the module doc for a closed stream.
pub fn out(text: std::fmt::Arguments<'_>) {
    write_to(&STDOUT_CLOSED, &mut std::io::stdout().lock(), text);
}

/// Writes `text` to stderr; see the module doc for a closed stream.
pub fn err(text: std::fmt::Arguments<'_>) {
    write_to(&STDERR_CLOSED, &mut std::io::stderr().lock(), text);
}

fn write_to(closed: &AtomicBool, stream: &mut dyn Write, text: std::fmt::Arguments<'_>) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    if stream
        .write_fmt(text)
        .and_then(|()| stream.flush())
        .is_err()
    {
        closed.store(true, Ordering::Relaxed);
        crate::shutdown::output_closed();
    }
}

/// `println!` that never panics (see [`crate::console`]).
#[macro_export]
macro_rules! outln {
    () => { $crate::console::out(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", $crate::terminal::clean(&format!($($arg)*))))
    };
}

/// `eprintln!` that never panics (see [`crate::console`]).
#[macro_export]
macro_rules! errln {
    () => { $crate::console::err(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", $crate::terminal::clean(&format!($($arg)*))))
    };
}

/// A writer to stderr for the logger, with the same rule: a failed write
/// ends log output quietly (the logger would otherwise report it with
/// `eprintln!`, which panics) and asks the run to stop. Secrets are masked
/// (`tracing` writes one whole event per call, so a secret is never split
/// between two writes; its formatter escapes control characters in field
/// values itself, and colours its own output only on a terminal).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !STDERR_CLOSED.load(Ordering::Relaxed)
            && std::io::stderr()
                .write_all(&crate::redact::bytes(buf))
                .is_err()
        {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
            crate::shutdown::output_closed();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A [`LogWriter`], for `tracing_subscriber`'s `with_writer`.
pub fn log_writer() -> LogWriter {
    LogWriter
}
