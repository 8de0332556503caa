//! The process's open-file limit (`RLIMIT_NOFILE`): reading it, raising the
//! soft limit to the hard one at start, and the share of it kept free for
//! listeners, logs and control connections.
//!
//! Every socket costs a descriptor, and a process that runs out cannot even
//! accept a connection to its own control API. So `gameday` raises its soft
//! limit to the hard limit once at start (as Go's runtime does for every Go
//! server, Toxiproxy included), and whatever sizes itself from the limit
//! (the traffic generator's warning, the proxy's connection ceiling) leaves
//! [`RESERVED`] descriptors for everything else.

/// Descriptors kept free for everything else: listeners, log files, the
/// proxy API's own connections, services started alongside.
pub const RESERVED: u64 = 128;

/// The soft limit on open files, or `None` when it is unlimited or cannot
/// be read.
pub fn soft_limit() -> Option<u64> {
    let limit = read()?;
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Raises the soft limit to the hard limit. Returns the soft limit in
/// force afterwards (`None` when unlimited or unreadable); when raising is
/// refused the old soft limit stays and is returned.
pub fn raise_soft_to_hard() -> Option<u64> {
    if let Some(mut limit) = read()
        && limit.rlim_cur < limit.rlim_max
    {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit only reads the struct it is given.
        let refused = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0;
        if refused {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "could not raise the open-file limit"
            );
        }
    }
    soft_limit()
}

fn read() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (result == 0).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_leaves_the_soft_limit_at_the_hard_one() {
        let hard = read().expect("getrlimit").rlim_max;
        let soft = raise_soft_to_hard();
        if hard == libc::RLIM_INFINITY {
            assert_eq!(soft, None);
        } else {
            assert_eq!(soft, Some(hard));
        }
        assert_eq!(soft_limit(), soft);
    }
}
