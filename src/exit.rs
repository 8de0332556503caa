//! gameday's process exit codes, one type shared by every command and by
//! what prints them (`run --json`'s `exit_code`), so a code is never a bare
//! number picked at the call site.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | passed (a run whose checks were inconclusive, unless it had to be conclusive) |
//! | 1 | a check failed (or cleanup could not revert a fault) |
//! | 2 | invalid input or a setup error: nothing was judged |
//! | 3 | aborted: interrupted or halted, every fault rolled back |

/// How a gameday command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed (0).
    Passed,
    /// A check failed (1).
    Failed,
    /// Invalid input or a setup error (2).
    Error,
    /// Interrupted or halted, rolled back (3).
    Aborted,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Error => 2,
            Exit::Aborted => 3,
        }
    }

    /// How bad it is, for [`Exit::worst`]: setup errors outrank aborts,
    /// which outrank failures.
    const fn severity(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Aborted => 2,
            Exit::Error => 3,
        }
    }

    /// The worse of two outcomes (the exit of a command that ran several things).
    pub fn worst(self, other: Exit) -> Exit {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// `Passed` when `ok`, else `Failed`.
    pub fn passed_if(ok: bool) -> Exit {
        if ok { Exit::Passed } else { Exit::Failed }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

impl serde::Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_their_order() {
        let all = [Exit::Passed, Exit::Failed, Exit::Error, Exit::Aborted];
        assert_eq!(all.map(Exit::code), [0, 1, 2, 3]);
        assert_eq!(Exit::Failed.worst(Exit::Aborted), Exit::Aborted);
        assert_eq!(Exit::Error.worst(Exit::Aborted), Exit::Error);
        assert_eq!(Exit::Passed.worst(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::Failed.worst(Exit::Passed), Exit::Failed);
        assert_eq!(
            serde_json::to_string(&Exit::Aborted).unwrap_or_default(),
            "3"
        );
    }
}
