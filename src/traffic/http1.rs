//! A lean HTTP/1.1 client for plain `http://` targets: hyper's connection
//! API over tokio TCP streams, with a keep-alive pool of idle connections.
//! It does only what the generator needs (one host, requests built by the
//! caller, bodies read frame by frame), which costs far less CPU per request
//! than a general-purpose client; `https://` targets keep using reqwest.
//!
//! A connection goes back to the pool only after its answer was read to the
//! end; one abandoned halfway (timeout, a stream cut short) is closed. Idle
//! connections are reused newest first, and one idle for longer than
//! [`IDLE_TIMEOUT`] is closed, so the pool shrinks back after a burst.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::TrafficError;

/// An idle connection unused this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Why an exchange got no complete answer.
#[derive(Debug, thiserror::Error)]
pub enum Http1Error {
    /// The TCP connection could not be opened.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// HTTP on the connection failed (handshake, request, or body).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
}

/// Idle keep-alive connections to one `host:port`.
#[derive(Debug)]
pub struct Http1Pool {
    /// `host:port` to connect to (IPv6 literals in brackets).
    authority: String,
    /// The `Host` header of every request.
    host: HeaderValue,
    /// Connections whose last answer was read to the end, oldest first,
    /// each with the moment it became idle.
    idle: Mutex<VecDeque<(Instant, SendRequest<Full<Bytes>>)>>,
    /// Idle connections kept at most; more are closed when released.
    max_idle: usize,
}

impl Http1Pool {
    /// A pool for `url`'s host, or `None` when the lean client does not
    /// apply (not plain http, or credentials in the URL).
    pub fn for_url(url: &reqwest::Url, max_idle: usize) -> Result<Option<Self>, TrafficError> {
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
            idle: Mutex::new(VecDeque::new()),
            max_idle,
        }))
    }

    /// The `Host` header value requests must carry.
    pub fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// Sends `request` on an idle connection, or a new one, and returns the
    /// answer's head with its body still to read.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer<'_>, Http1Error> {
        let (sender, response) = match self.take_idle().await {
            Some(mut sender) => match sender.try_send_request(request).await {
                Ok(response) => (sender, response),
                // The idle connection was closed under us before the
                // request went out (say, by the server's keep-alive
                // timeout): the request is sent once more on a new one.
                Err(mut error) => match error.take_message() {
                    Some(request) => {
                        let mut sender = self.connect().await?;
                        let response = sender.send_request(request).await?;
                        (sender, response)
                    }
                    None => return Err(error.into_error().into()),
                },
            },
            None => {
                let mut sender = self.connect().await?;
                let response = sender.send_request(request).await?;
                (sender, response)
            }
        };
        let (head, body) = response.into_parts();
        Ok(Answer {
            status: head.status,
            headers: head.headers,
            body,
            lease: Some(Lease { pool: self, sender }),
        })
    }

    /// An idle connection that is still open and ready, if any.
    async fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let (_, mut sender) = self.idle.lock().ok()?.pop_back()?;
            if sender.is_closed() {
                continue;
            }
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Http1Error> {
        let stream = TcpStream::connect(self.authority.as_str())
            .await
            .map_err(Http1Error::Connect)?;
        stream.set_nodelay(true).map_err(Http1Error::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection's I/O runs on its own task and ends when the
        // sender is dropped or the peer closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    fn release(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            let now = Instant::now();
            prune(&mut idle, now);
            if idle.len() < self.max_idle {
                idle.push_back((now, sender));
            }
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
struct Lease<'a> {
    pool: &'a Http1Pool,
    sender: SendRequest<Full<Bytes>>,
}

/// An answer whose body is still to be read; its connection returns to the
/// pool once the body has ended.
pub struct Answer<'a> {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    body: Incoming,
    /// `None` once the connection went back to the pool.
    lease: Option<Lease<'a>>,
}

impl Answer<'_> {
    /// The next piece of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Http1Error> {
        loop {
            match self.body.frame().await {
                Some(frame) => {
                    // Trailers carry nothing the generator reads.
                    if let Ok(data) = frame?.into_data() {
                        return Ok(Some(data));
                    }
                }
                None => {
                    if let Some(lease) = self.lease.take() {
                        lease.pool.release(lease.sender);
                    }
                    return Ok(None);
                }
            }
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

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

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

    fn get(pool: &Http1Pool) -> Request<Full<Bytes>> {
        Request::get("/v1/chat")
            .header(hyper::header::HOST, pool.host().clone())
            .body(Full::default())
            .expect("a valid request")
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
        let pool = Http1Pool::for_url(&url, 8).expect("valid").expect("http");
        for _ in 0..5 {
            let answer = pool.send(get(&pool)).await.expect("an answer");
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.bytes().await.expect("a body"), "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_answer_abandoned_halfway_closes_its_connection() {
        // Promises 10 bytes, sends 2: the body never ends.
        let (url, accepted) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok").await;
        let pool = Http1Pool::for_url(&url, 8).expect("valid").expect("http");
        for _ in 0..2 {
            let mut answer = pool.send(get(&pool)).await.expect("an answer");
            let chunk = answer.chunk().await.expect("a chunk");
            assert_eq!(chunk.as_deref(), Some(&b"ok"[..]));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn https_and_credentials_are_left_to_reqwest_and_refusals_are_errors() {
        let https = reqwest::Url::parse("https://example.com/").expect("url");
        assert!(Http1Pool::for_url(&https, 1).expect("valid").is_none());
        let credentials = reqwest::Url::parse("http://user:pw@example.com/").expect("url");
        assert!(
            Http1Pool::for_url(&credentials, 1)
                .expect("valid")
                .is_none()
        );
        // Bind then drop: nothing listens on that port any more.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let url = reqwest::Url::parse(&format!("http://{address}/")).expect("url");
        let pool = Http1Pool::for_url(&url, 1).expect("valid").expect("http");
        assert_eq!(pool.host(), &address.to_string());
        let error = pool.send(get(&pool)).await.err().expect("refused");
        assert!(matches!(error, Http1Error::Connect(_)), "{error}");
    }
}
