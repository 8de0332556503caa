//! A lean HTTP/1.1 client for plain `http://` targets: requests written as
//! one buffer straight onto a tokio TCP stream, answers parsed with
//! `httparse` and their bodies unframed (`Content-Length`, chunked, or to
//! the end of the connection) by the task that sent the request, with a
//! keep-alive pool of idle connections. One request costs one task and no
//! hand-offs between tasks or threads, which is what lets the generator
//! come close to wrk's rate; `https://` targets keep using reqwest.
//!
//! It does only what the generator needs: one host, `GET` and `POST` with
//! a body known up front, no `Expect: 100-continue`, no upgrades. Answers
//! keep only the headers the pool was told to keep.
//!
//! A connection goes back to the pool only after its answer was read to the
//! end and when neither side asked to close it; one abandoned halfway
//! (timeout, a stream cut short) is closed. Idle connections are reused
//! newest first, and one idle for longer than [`IDLE_TIMEOUT`] is closed, so
//! the pool shrinks back after a burst. A reused connection the server had
//! already closed (keep-alive timeout) is detected when the answer ends
//! before its first byte, and the request is then sent once more on a new
//! connection.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::TrafficError;

/// An idle connection unused this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Largest answer head (status line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers one answer may carry.
const MAX_HEADERS: usize = 64;
/// Largest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// Room made in a connection's buffer before each read: answers to chat
/// turns and stream pieces are well under it, and thousands of
/// connections may be open at once during a stall.
const READ_SIZE: usize = 4 * 1024;

/// Why an exchange got no complete answer.
#[derive(Debug, thiserror::Error)]
pub enum Http1Error {
    /// The TCP connection could not be opened.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// Reading or writing the connection failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The connection closed before the answer was complete.
    #[error("the connection closed before the answer was complete")]
    Closed,
    /// The answer is not valid HTTP/1.1.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
}

/// What a request carries: method, origin-form target, headers beyond
/// `Host` and `Content-Length`, and a body (empty for `GET`).
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Path and query, e.g. `/v1/chat`.
    pub target: &'a str,
    /// Extra headers, written as given.
    pub headers: &'a HeaderMap,
    /// The body; a `Content-Length` is written for any method but `GET`.
    pub body: &'a [u8],
}

/// An open connection and its read buffer.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buffer: BytesMut,
    /// The request bytes, built in place (the capacity is reused).
    out: Vec<u8>,
}

/// Idle keep-alive connections to one `host:port`.
#[derive(Debug)]
pub struct Http1Pool {
    /// `host:port` to connect to (IPv6 literals in brackets).
    authority: String,
    /// The `Host` header of every request.
    host: HeaderValue,
    /// Answer headers copied into [`Answer::headers`]; others are skipped.
    keep: Vec<HeaderName>,
    /// Connections whose last answer was read to the end, oldest first,
    /// each with the moment it became idle.
    idle: Mutex<VecDeque<(Instant, Box<Conn>)>>,
    /// Idle connections kept at most; more are closed when released.
    max_idle: usize,
}

impl Http1Pool {
    /// A pool for `url`'s host whose answers keep the headers in `keep`,
    /// or `None` when the lean client does not apply (not plain http, or
    /// credentials in the URL).
    pub fn for_url(
        url: &reqwest::Url,
        max_idle: usize,
        keep: &[HeaderName],
    ) -> Result<Option<Self>, TrafficError> {
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return Ok(None);
        }
        let Some(host) = url.host_str() else {
            return Err(TrafficError::InvalidUrl(format!("{url}: no host")));
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let host = HeaderValue::from_str(&host_header)
            .map_err(|_| TrafficError::InvalidUrl(format!("{url}: bad host")))?;
        Ok(Some(Self {
            authority: format!("{}:{port}", url.host_str().unwrap_or_default()),
            host,
            keep: keep.to_vec(),
            idle: Mutex::new(VecDeque::new()),
            max_idle,
        }))
    }

    /// The `Host` header value requests carry.
    pub fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// Sends `request` on an idle connection, or a new one, and returns the
    /// answer's head with its body still to read.
    pub async fn send(&self, request: Outgoing<'_>) -> Result<Answer<'_>, Http1Error> {
        if let Some(mut conn) = self.take_idle() {
            match self.exchange(&mut conn, request).await {
                Ok(head) => return Ok(self.answer(conn, head)),
                // Closed by the server while idle: nothing of this request
                // was answered, so it goes once more on a new connection.
                Err(Http1Error::Closed | Http1Error::Io(_)) if conn.buffer.is_empty() => {}
                Err(error) => return Err(error),
            }
        }
        // Boxed: connecting is rare once the pool is warm, and its future
        // would otherwise add its size to every request's task.
        let mut conn = Box::pin(self.connect()).await?;
        let head = self.exchange(&mut conn, request).await?;
        Ok(self.answer(conn, head))
    }

    fn answer(&self, conn: Box<Conn>, head: Head) -> Answer<'_> {
        Answer {
            status: head.status,
            headers: head.headers,
            framing: head.framing,
            reusable: head.reusable,
            lease: Some(Lease { pool: self, conn }),
        }
    }

    /// Writes `request` and reads the answer's head (skipping any `1xx`).
    async fn exchange(&self, conn: &mut Conn, request: Outgoing<'_>) -> Result<Head, Http1Error> {
        conn.out.clear();
        write_request(&mut conn.out, &self.host, request);
        conn.stream.write_all(&conn.out).await?;
        loop {
            if let Some(head) = parse_head(&mut conn.buffer, &self.keep, request.method)? {
                if head.status.is_informational() {
                    continue;
                }
                return Ok(head);
            }
            if conn.buffer.len() >= MAX_HEAD {
                return Err(Http1Error::Malformed("answer head too large"));
            }
            fill(conn).await?;
        }
    }

    /// The newest idle connection, if any (after dropping the stale ones).
    fn take_idle(&self) -> Option<Box<Conn>> {
        let mut idle = self.idle.lock().ok()?;
        prune(&mut idle, Instant::now());
        idle.pop_back().map(|(_, conn)| conn)
    }

    async fn connect(&self) -> Result<Box<Conn>, Http1Error> {
        let stream = TcpStream::connect(self.authority.as_str())
            .await
            .map_err(Http1Error::Connect)?;
        stream.set_nodelay(true).map_err(Http1Error::Connect)?;
        Ok(Box::new(Conn {
            stream,
            buffer: BytesMut::with_capacity(READ_SIZE),
            out: Vec::with_capacity(512),
        }))
    }

    fn release(&self, conn: Box<Conn>) {
        if let Ok(mut idle) = self.idle.lock() {
            let now = Instant::now();
            prune(&mut idle, now);
            if idle.len() < self.max_idle {
                idle.push_back((now, conn));
            }
        }
    }
}

/// Reads more of the answer into `conn.buffer`; `Closed` at the end of the
/// connection.
async fn fill(conn: &mut Conn) -> Result<(), Http1Error> {
    conn.buffer.reserve(READ_SIZE);
    match conn.stream.read_buf(&mut conn.buffer).await? {
        0 => Err(Http1Error::Closed),
        _ => Ok(()),
    }
}

/// Appends the request's bytes to `out`.
fn write_request(out: &mut Vec<u8>, host: &HeaderValue, request: Outgoing<'_>) {
    out.extend_from_slice(request.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in request.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if request.method != "GET" {
        // Writing into a Vec cannot fail; no String per request.
        let _ = write!(out, "content-length: {}\r\n", request.body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(request.body);
}

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// This many bytes are left.
    Length(u64),
    /// Chunked, in this state.
    Chunked(Chunk),
    /// Everything until the server closes the connection.
    UntilClose,
    /// The body has ended.
    Done,
}

/// Where a chunked body's reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// At a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// At the CRLF after a chunk's data.
    DataEnd,
    /// After the last (empty) chunk: trailer lines until an empty one.
    Trailers,
}

/// A parsed answer head.
#[derive(Debug)]
struct Head {
    status: StatusCode,
    headers: HeaderMap,
    framing: Framing,
    reusable: bool,
}

/// Parses an answer head at the start of `buffer` and consumes it; `None`
/// when more bytes are needed.
fn parse_head(
    buffer: &mut BytesMut,
    keep: &[HeaderName],
    method: &str,
) -> Result<Option<Head>, Http1Error> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let length = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Http1Error::Malformed("too many headers"));
        }
        Err(_) => return Err(Http1Error::Malformed("invalid status line or header")),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(Http1Error::Malformed("invalid status code"))?;
    let mut reusable = response.version == Some(1);
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut headers = HeaderMap::new();
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|value| value.trim().parse::<u64>().ok())
                .ok_or(Http1Error::Malformed("invalid content-length"))?;
            if content_length.is_some_and(|earlier| earlier != value) {
                return Err(Http1Error::Malformed("conflicting content-length"));
            }
            content_length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header
                .value
                .rsplit(|&byte| byte == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            let close = header
                .value
                .split(|&byte| byte == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
            if close {
                reusable = false;
            }
        }
        let kept = keep
            .iter()
            .find(|kept| name.eq_ignore_ascii_case(kept.as_str()));
        if let (Some(kept), Ok(value)) = (kept, HeaderValue::from_bytes(header.value)) {
            headers.append(kept.clone(), value);
        }
    }
    let bodiless = method == "HEAD"
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if bodiless {
        Framing::Done
    } else if chunked {
        Framing::Chunked(Chunk::Size)
    } else if let Some(length) = content_length {
        if length == 0 {
            Framing::Done
        } else {
            Framing::Length(length)
        }
    } else {
        reusable = false;
        Framing::UntilClose
    };
    buffer.advance(length);
    Ok(Some(Head {
        status,
        headers,
        framing,
        reusable,
    }))
}

/// Takes the next piece of body out of `buffer` under `framing` (advancing
/// it); `None` when more bytes are needed or the body has ended (then
/// `framing` is [`Framing::Done`]).
fn next_piece(buffer: &mut BytesMut, framing: &mut Framing) -> Result<Option<Bytes>, Http1Error> {
    loop {
        match framing {
            Framing::Done => return Ok(None),
            Framing::Length(left) => {
                if buffer.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(buffer.len());
                let piece = buffer.split_to(take).freeze();
                *left -= take as u64;
                if *left == 0 {
                    *framing = Framing::Done;
                }
                return Ok(Some(piece));
            }
            Framing::UntilClose => {
                if buffer.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(buffer.split().freeze()));
            }
            Framing::Chunked(state) => match *state {
                Chunk::Size => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(None);
                    };
                    let digits = line
                        .split(|&byte| byte == b';')
                        .next()
                        .unwrap_or_default()
                        .trim_ascii();
                    let size = std::str::from_utf8(digits)
                        .ok()
                        .filter(|digits| !digits.is_empty())
                        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
                        .ok_or(Http1Error::Malformed("invalid chunk size"))?;
                    *state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if buffer.is_empty() {
                        return Ok(None);
                    }
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(buffer.len());
                    let piece = buffer.split_to(take).freeze();
                    let left = left - take as u64;
                    *state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(Some(piece));
                }
                Chunk::DataEnd => {
                    if buffer.len() < 2 {
                        return Ok(None);
                    }
                    if &buffer[..2] != b"\r\n" {
                        return Err(Http1Error::Malformed("chunk data not followed by CRLF"));
                    }
                    buffer.advance(2);
                    *state = Chunk::Size;
                }
                Chunk::Trailers => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        *framing = Framing::Done;
                        return Ok(None);
                    }
                }
            },
        }
    }
}

/// Takes one CRLF-terminated line off `buffer` (without its CRLF); `None`
/// when it is not complete yet.
fn take_line(buffer: &mut BytesMut) -> Result<Option<Bytes>, Http1Error> {
    match buffer.windows(2).position(|pair| pair == b"\r\n") {
        Some(end) => {
            let line = buffer.split_to(end).freeze();
            buffer.advance(2);
            Ok(Some(line))
        }
        None if buffer.len() > MAX_CHUNK_LINE => Err(Http1Error::Malformed("chunk line too long")),
        None => Ok(None),
    }
}

/// A whole answer read from `bytes` as the client reads it off a socket,
/// `piece` bytes at a time: its status and body, or why it is malformed or
/// incomplete. For tests and fuzzing of the answer parser.
pub fn read_answer(bytes: &[u8], piece: usize, method: &str) -> Result<(u16, Vec<u8>), Http1Error> {
    let mut buffer = BytesMut::new();
    let mut pieces = bytes.chunks(piece.max(1));
    let head = loop {
        if let Some(head) = parse_head(&mut buffer, &[], method)? {
            if !head.status.is_informational() {
                break head;
            }
            continue;
        }
        if buffer.len() >= MAX_HEAD {
            return Err(Http1Error::Malformed("answer head too large"));
        }
        buffer.extend_from_slice(pieces.next().ok_or(Http1Error::Closed)?);
    };
    let mut framing = head.framing;
    let mut body = Vec::new();
    loop {
        while let Some(data) = next_piece(&mut buffer, &mut framing)? {
            body.extend_from_slice(&data);
        }
        if framing == Framing::Done {
            return Ok((head.status.as_u16(), body));
        }
        match pieces.next() {
            Some(more) => buffer.extend_from_slice(more),
            None if framing == Framing::UntilClose => return Ok((head.status.as_u16(), body)),
            None => return Err(Http1Error::Closed),
        }
    }
}

/// Drops the entries of `idle` (oldest first) idle for [`IDLE_TIMEOUT`] or
/// more at `now`.
fn prune<T>(idle: &mut VecDeque<(Instant, T)>, now: Instant) {
    while idle
        .front()
        .is_some_and(|(since, _)| now.saturating_duration_since(*since) >= IDLE_TIMEOUT)
    {
        idle.pop_front();
    }
}

/// A connection on loan to one exchange.
#[derive(Debug)]
struct Lease<'a> {
    pool: &'a Http1Pool,
    conn: Box<Conn>,
}

/// An answer whose body is still to be read; its connection returns to the
/// pool once the body has ended (when it may be reused).
#[derive(Debug)]
pub struct Answer<'a> {
    /// The status code.
    pub status: StatusCode,
    /// The answer's headers among those the pool keeps.
    pub headers: HeaderMap,
    framing: Framing,
    reusable: bool,
    /// `None` once the body has ended (the connection is back in the pool,
    /// or closed).
    lease: Option<Lease<'a>>,
}

impl Answer<'_> {
    /// The next piece of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Http1Error> {
        loop {
            let Some(lease) = self.lease.as_mut() else {
                return Ok(None);
            };
            if let Some(piece) = next_piece(&mut lease.conn.buffer, &mut self.framing)? {
                if self.framing == Framing::Done {
                    self.end();
                }
                return Ok(Some(piece));
            }
            if self.framing == Framing::Done {
                self.end();
                return Ok(None);
            }
            match fill(&mut lease.conn).await {
                Ok(()) => {}
                Err(Http1Error::Closed) if self.framing == Framing::UntilClose => {
                    self.framing = Framing::Done;
                    self.lease = None;
                    return Ok(None);
                }
                Err(error) => {
                    self.lease = None;
                    return Err(error);
                }
            }
        }
    }

    /// The body has been read to its end: the connection goes back to the
    /// pool if both sides let it and nothing unasked-for follows.
    fn end(&mut self) {
        if let Some(lease) = self.lease.take()
            && self.reusable
            && lease.conn.buffer.is_empty()
        {
            lease.pool.release(lease.conn);
        }
    }

    /// The whole body.
    pub async fn bytes(mut self) -> Result<Bytes, Http1Error> {
        let mut first: Option<Bytes> = None;
        let mut rest: Vec<u8> = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            match first.take() {
                None if rest.is_empty() => first = Some(chunk),
                None => rest.extend_from_slice(&chunk),
                Some(earlier) => {
                    rest.extend_from_slice(&earlier);
                    rest.extend_from_slice(&chunk);
                }
            }
        }
        Ok(match first {
            Some(only) => only,
            None => Bytes::from(rest),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::TcpListener;

    use super::*;

    const KEEP: &[HeaderName] = &[hyper::header::CONTENT_TYPE];

    /// A raw HTTP/1.1 server that answers every request with `answer` and
    /// counts the connections it accepted.
    async fn server(answer: &'static [u8]) -> (reqwest::Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = reqwest::Url::parse(&format!(
            "http://{}/v1/chat",
            listener.local_addr().expect("address")
        ))
        .expect("url");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        seen.extend_from_slice(&buffer[..read]);
                        // GET requests only: one answer per blank line.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            if stream.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    fn get() -> Outgoing<'static> {
        static NONE: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
        Outgoing {
            method: "GET",
            target: "/v1/chat",
            headers: NONE.get_or_init(HeaderMap::new),
            body: b"",
        }
    }

    fn pool(url: &reqwest::Url) -> Http1Pool {
        Http1Pool::for_url(url, 8, KEEP)
            .expect("valid")
            .expect("http")
    }

    /// Runs `bytes` through the body reader in pieces of `step` bytes.
    fn unframe(bytes: &[u8], mut framing: Framing, step: usize) -> Result<Vec<u8>, Http1Error> {
        let mut buffer = BytesMut::new();
        let mut body = Vec::new();
        for piece in bytes.chunks(step) {
            buffer.extend_from_slice(piece);
            while let Some(data) = next_piece(&mut buffer, &mut framing)? {
                body.extend_from_slice(&data);
            }
        }
        assert_eq!(framing, Framing::Done, "the body did not end");
        assert!(buffer.is_empty(), "bytes left after the body");
        Ok(body)
    }

    #[test]
    fn chunked_bodies_are_unframed_whatever_the_read_boundaries() {
        let wire = b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n";
        for step in 1..wire.len() {
            let body = unframe(wire, Framing::Chunked(Chunk::Size), step).expect("valid");
            assert_eq!(body, b"hello 0123456789", "step {step}");
        }
        let body = unframe(b"hello world", Framing::Length(11), 3).expect("valid");
        assert_eq!(body, b"hello world");
    }

    #[test]
    fn broken_chunked_framing_is_an_error_not_a_panic() {
        for wire in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"\r\nhello\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"ffffffffffffffffffff\r\n",
        ] {
            let error = unframe(wire, Framing::Chunked(Chunk::Size), 4).expect_err("malformed");
            assert!(matches!(error, Http1Error::Malformed(_)), "{error}");
        }
        let mut endless = BytesMut::from(&[b'1'; 2000][..]);
        let mut framing = Framing::Chunked(Chunk::Size);
        assert!(next_piece(&mut endless, &mut framing).is_err());
    }

    #[test]
    fn heads_give_status_kept_headers_and_framing() {
        let mut buffer = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Other: 1\r\n\
               Transfer-Encoding: chunked\r\n\r\nrest"[..],
        );
        let head = parse_head(&mut buffer, KEEP, "POST")
            .expect("valid")
            .expect("complete");
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers.len(), 1);
        assert_eq!(
            head.headers[hyper::header::CONTENT_TYPE],
            "text/event-stream"
        );
        assert_eq!(head.framing, Framing::Chunked(Chunk::Size));
        assert!(head.reusable);
        assert_eq!(&buffer[..], b"rest");

        let mut buffer = BytesMut::from(&b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\n"[..]);
        let head = parse_head(&mut buffer, KEEP, "GET")
            .expect("valid")
            .expect("complete");
        assert_eq!(head.framing, Framing::UntilClose);
        assert!(!head.reusable);

        let mut partial = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
        assert!(
            parse_head(&mut partial, KEEP, "GET")
                .expect("valid")
                .is_none()
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"garbage\r\n\r\n",
        ] {
            let mut buffer = BytesMut::from(bad);
            assert!(parse_head(&mut buffer, KEEP, "GET").is_err());
        }
    }

    #[test]
    fn whole_answers_read_the_same_whatever_the_pieces() {
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\
                       Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        for piece in 1..answer.len() {
            let (status, body) = read_answer(answer, piece, "POST").expect("valid");
            assert_eq!(
                (status, body.as_slice()),
                (200, &b"abc"[..]),
                "piece {piece}"
            );
        }
        let closed = read_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc", 4, "GET");
        assert!(matches!(closed, Err(Http1Error::Closed)));
        let (status, body) =
            read_answer(b"HTTP/1.0 404 Nope\r\n\r\ngone", 2, "GET").expect("valid");
        assert_eq!((status, body.as_slice()), (404, &b"gone"[..]));
        let (status, body) =
            read_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", 3, "HEAD").expect("valid");
        assert_eq!((status, body.len()), (200, 0));
    }

    #[test]
    fn requests_carry_host_headers_and_length() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        let mut out = Vec::new();
        let host = HeaderValue::from_static("example:80");
        let request = Outgoing {
            method: "POST",
            target: "/v1/chat?x=1",
            headers: &headers,
            body: b"{}",
        };
        write_request(&mut out, &host, request);
        assert_eq!(
            out,
            b"POST /v1/chat?x=1 HTTP/1.1\r\nhost: example:80\r\nx-api-key: k\r\n\
              content-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn connections_idle_too_long_are_dropped_oldest_first() {
        let start = Instant::now();
        let mut idle: VecDeque<(Instant, u32)> = (0..4)
            .map(|i| (start + Duration::from_secs(30 * i), i as u32))
            .collect();
        prune(&mut idle, start + IDLE_TIMEOUT + Duration::from_secs(31));
        let left: Vec<u32> = idle.iter().map(|(_, i)| *i).collect();
        assert_eq!(left, [2, 3]);
        prune(&mut idle, start);
        assert_eq!(idle.len(), 2);
    }

    #[tokio::test]
    async fn answers_read_to_the_end_reuse_one_connection() {
        let (url, accepted) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        let pool = pool(&url);
        for _ in 0..5 {
            let answer = pool.send(get()).await.expect("an answer");
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.bytes().await.expect("a body"), "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_answer_abandoned_halfway_closes_its_connection() {
        // Promises 10 bytes, sends 2: the body never ends.
        let (url, accepted) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok").await;
        let pool = pool(&url);
        for _ in 0..2 {
            let mut answer = pool.send(get()).await.expect("an answer");
            let chunk = answer.chunk().await.expect("a chunk");
            assert_eq!(chunk.as_deref(), Some(&b"ok"[..]));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_replaced() {
        // Answers once per connection, then closes it (as a keep-alive
        // timeout would, but without saying so).
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buffer = vec![0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            }
        });
        let url = reqwest::Url::parse(&format!("http://{address}/")).expect("url");
        let pool = pool(&url);
        for _ in 0..3 {
            let answer = pool.send(get()).await.expect("an answer");
            assert_eq!(answer.bytes().await.expect("a body"), "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_answer_without_length_runs_to_the_close_and_is_not_reused() {
        let (url, _) = server(b"HTTP/1.0 200 OK\r\n\r\nuntil close").await;
        let pool = pool(&url);
        let mut answer = pool.send(get()).await.expect("an answer");
        // The test server keeps the connection open: the first piece comes,
        // then the body waits for more; what matters is that the bytes are
        // the body and the connection is never pooled.
        let chunk = answer.chunk().await.expect("a chunk");
        assert_eq!(chunk.as_deref(), Some(&b"until close"[..]));
        assert!(!answer.reusable);
    }

    #[tokio::test]
    async fn https_and_credentials_are_left_to_reqwest_and_refusals_are_errors() {
        let https = reqwest::Url::parse("https://example.com/").expect("url");
        assert!(
            Http1Pool::for_url(&https, 1, KEEP)
                .expect("valid")
                .is_none()
        );
        let credentials = reqwest::Url::parse("http://user:pw@example.com/").expect("url");
        assert!(
            Http1Pool::for_url(&credentials, 1, KEEP)
                .expect("valid")
                .is_none()
        );
        // Bind then drop: nothing listens on that port any more.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let url = reqwest::Url::parse(&format!("http://{address}/")).expect("url");
        let pool = Http1Pool::for_url(&url, 1, KEEP)
            .expect("valid")
            .expect("http");
        assert_eq!(pool.host(), &address.to_string());
        let Err(error) = pool.send(get()).await else {
            panic!("a refused connection gave an answer");
        };
        assert!(matches!(error, Http1Error::Connect(_)), "{error}");
    }
}
