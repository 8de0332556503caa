//! When bytes reached the proxy: socket reads stamped with the kernel's
//! receive time.
//!
//! A toxic's delay counts from when a chunk arrived at the proxy, not from
//! when its link got round to reading it: on a busy proxy a link may read
//! milliseconds after the bytes came in, and a stamp taken at the read would
//! add that wait to every delay. So a link with toxics asks the kernel to
//! timestamp received data (`SO_TIMESTAMPNS`, Linux) and reads with
//! `recvmsg`, which hands back the receive time of the last segment read.
//!
//! The kernel's stamp is on the wall clock; [`arrival_instant`] turns it into
//! the monotonic clock the toxics use and bounds it by what the monotonic
//! clock itself proves: the bytes arrived no later than the read, and no
//! earlier than the last read that left the socket empty. A wall-clock step
//! can therefore never make a chunk look older than it can be (a latency
//! toxic released early). Elsewhere, or when the kernel gives no stamp, the
//! read time is the arrival time, as before.
//!
//! This module only reads and converts; it never waits.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

/// What one read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes appended to the buffer (0 at end of stream).
    pub bytes: usize,
    /// The kernel's receive time of the last bytes read, as a wall-clock
    /// time since the Unix epoch, when the kernel stamped them.
    pub stamp: Option<Duration>,
}

/// Asks the kernel to stamp every segment the socket receives. Best effort:
/// without it reads simply carry no stamp.
pub(crate) fn enable_stamps(socket: &impl std::os::fd::AsRawFd) {
    #[cfg(target_os = "linux")]
    {
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor and a pointer to a c_int of the given size.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of_val(&on) as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

/// One non-blocking read of up to `limit` bytes appended to `buffer`, with
/// the kernel's receive stamp when there is one. `WouldBlock` when nothing
/// is there.
#[cfg(target_os = "linux")]
pub(crate) fn read_stamped(
    socket: &impl std::os::fd::AsRawFd,
    buffer: &mut BytesMut,
    limit: usize,
) -> io::Result<Received> {
    buffer.reserve(limit);
    let spare = buffer.spare_capacity_mut();
    let mut iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: spare.len().min(limit),
    };
    // Room for a few control messages; u64 keeps it aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the iovec points into the buffer's spare capacity, the control
    // buffer is ours; both outlive the call.
    let read = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut message, libc::MSG_DONTWAIT) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes = read as usize;
    // SAFETY: the kernel initialised `bytes` bytes of the spare capacity.
    unsafe { buffer.set_len(buffer.len() + bytes) };
    let mut stamp = None;
    // SAFETY: walking the control messages the kernel wrote, with libc's
    // macros, within `msg_controllen`.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET
                && (*header).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let time: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast());
                if time.tv_sec >= 0 && (0..1_000_000_000).contains(&time.tv_nsec) {
                    stamp = Some(Duration::new(time.tv_sec as u64, time.tv_nsec as u32));
                }
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    Ok(Received { bytes, stamp })
}

/// One non-blocking read without stamps, where the kernel has no such option.
#[cfg(not(target_os = "linux"))]
pub(crate) fn read_stamped(
    socket: &impl std::os::fd::AsRawFd,
    buffer: &mut BytesMut,
    limit: usize,
) -> io::Result<Received> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    buffer.reserve(limit);
    let start = buffer.len();
    buffer.resize(start + limit, 0);
    // SAFETY: borrowed for one read; ManuallyDrop keeps the descriptor open.
    let mut file =
        std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(socket.as_raw_fd()) });
    let result = file.read(&mut buffer[start..]);
    buffer.truncate(start + *result.as_ref().unwrap_or(&0));
    result.map(|bytes| Received { bytes, stamp: None })
}

/// The wall clock now, as the kernel stamps it.
pub(crate) fn wall_clock() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// When a chunk arrived, on the monotonic clock.
///
/// `now` and `wall_now` are read together just after the read; `not_before`
/// is the start of the last read that left the socket empty (or when the
/// link started), so nothing in this read can have arrived earlier. Without
/// a stamp the chunk arrived `now`.
pub(crate) fn arrival_instant(
    stamp: Option<Duration>,
    now: Instant,
    wall_now: Duration,
    not_before: Instant,
) -> Instant {
    let Some(stamp) = stamp else {
        return now;
    };
    // A stamp from the future (the wall clock stepped back) means "just now".
    let age = wall_now.saturating_sub(stamp);
    let earliest = not_before.min(now);
    now.checked_sub(age).map_or(earliest, |at| at.max(earliest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn a_stamp_moves_the_arrival_back_by_its_age() {
        let now = Instant::now() + ms(10_000);
        let wall = Duration::from_secs(1_700_000_000);
        let arrival = arrival_instant(Some(wall - ms(7)), now, wall, now - ms(50));
        assert_eq!(arrival, now - ms(7));
    }

    #[test]
    fn a_wall_clock_step_cannot_make_a_chunk_older_than_the_last_empty_read() {
        let now = Instant::now() + ms(10_000);
        let wall = Duration::from_secs(1_700_000_000);
        // The wall clock jumped an hour forward between arrival and read.
        let arrival = arrival_instant(Some(wall - ms(3_600_000)), now, wall, now - ms(20));
        assert_eq!(arrival, now - ms(20));
    }

    #[test]
    fn a_stamp_from_the_future_or_none_is_the_read_time() {
        let now = Instant::now() + ms(10_000);
        let wall = Duration::from_secs(1_700_000_000);
        assert_eq!(
            arrival_instant(Some(wall + ms(5)), now, wall, now - ms(20)),
            now
        );
        assert_eq!(arrival_instant(None, now, wall, now - ms(20)), now);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_stamps_loopback_reads_with_their_arrival() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (receiver, _) = listener.accept().unwrap();
        enable_stamps(&receiver);
        // Blocks until something is there, then reads it without waiting.
        let read = |buffer: &mut BytesMut| {
            let mut probe = [0u8; 1];
            receiver.peek(&mut probe).unwrap();
            read_stamped(&receiver, buffer, 1024).unwrap()
        };
        let mut buffer = BytesMut::new();
        // The kernel switches receive stamps on shortly after the first
        // socket asks (deferred work): warm up until a read comes stamped.
        let mut stamped = false;
        for _ in 0..500 {
            sender.write_all(b"w").unwrap();
            stamped = read(&mut buffer).stamp.is_some();
            buffer.clear();
            if stamped {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(stamped, "the kernel never stamped a read");
        let before = wall_clock();
        sender.write_all(b"stamped").unwrap();
        let received = read(&mut buffer);
        let after = wall_clock();
        assert_eq!(&buffer[..], b"stamped");
        assert_eq!(received.bytes, 7);
        let stamp = received.stamp.expect("the kernel stamps received data");
        assert!(
            before <= stamp && stamp <= after,
            "{before:?} {stamp:?} {after:?}"
        );
    }
}
