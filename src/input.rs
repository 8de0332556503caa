//! Reading a file the user names, whatever it is, with a size bound.
//!
//! A size limit that trusts the file's metadata is no limit: `/dev/zero`, a
//! FIFO or `<(...)` report a size of 0 and never end. [`read_at_most`] reads
//! at most `limit + 1` bytes from anything, so memory stays bounded and a
//! stream that is too long is refused after exactly that much. It owns no
//! parsing.

use std::io::Read;
use std::path::Path;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Opening or reading failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// It holds more than the limit.
    #[error("the file is larger than {limit} bytes, the limit for {what}")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// What kind of file, e.g. "scenarios".
        what: &'static str,
    },
}

/// Reads the whole of `path` if it holds at most `limit` bytes, reading at
/// most `limit + 1` bytes whatever the file is (regular file, device, pipe).
/// `what` names the kind of file in the error (e.g. "scenarios").
pub fn read_at_most(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit, what });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_refused_after_the_limit() {
        let error = read_at_most(Path::new("/dev/zero"), 4096, "tests").expect_err("too large");
        assert!(
            matches!(error, InputError::TooLarge { limit: 4096, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_file_at_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        assert_eq!(read_at_most(&path, 5, "tests").expect("read"), b"12345");
        assert!(read_at_most(&path, 4, "tests").is_err());
    }
}
