//! A crowd of TCP connections held by a child process.
//!
//! The many-connections tests need more descriptors than one process may
//! hold: the hard limit is 20,000 on our machines (and cannot be raised
//! without CAP_SYS_RESOURCE), a connection costs one descriptor at each end,
//! and a proxied one costs the proxy two more. So the clients (and, for the
//! proxy, the echo upstream) live in another copy of this test binary,
//! started in a helper mode through [`HELPER_ENV`]; the server under test
//! keeps the whole limit for itself.
//!
//! Protocol: the child prints `ready <detail>` on stdout once it holds its
//! connections (or listens), and exits when its stdin closes.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, Command};

/// Set in a child's environment: what the helper test should do.
const HELPER_ENV: &str = "GAMEDAY_TEST_CROWD";
/// How long a child may take to be ready: a bound for a hung helper, not a
/// speed requirement (opening 10,000 connections took 80 s on a loaded
/// 2-core machine).
const READY_WITHIN: Duration = Duration::from_secs(600);

/// What each client checks after connecting.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Every connection writes one byte and reads it back (through a proxy
    /// to an echo server) or finds the connection closed; the report is
    /// `<echoed> <closed>`.
    EchoOrClosed,
    /// Every `n`th connection sends `GET /capabilities` and expects
    /// `HTTP/1.1 200`.
    Http(usize),
}

/// A child process holding connections (or an echo server).
pub struct Crowd {
    child: Child,
    stdin: Option<ChildStdin>,
    /// What the child reported when ready: the connection count (for
    /// [`Check::EchoOrClosed`], echoed and closed counts), or the echo
    /// server's address.
    pub detail: String,
}

impl Crowd {
    /// Starts a child that opens `count` connections to `target`, checks
    /// them as `check` says, and holds them until [`Crowd::release`].
    pub async fn connect(target: SocketAddr, count: usize, check: Check) -> Self {
        let check = match check {
            Check::EchoOrClosed => "echo-or-closed".to_owned(),
            Check::Http(every) => format!("http:{every}"),
        };
        Self::start(&format!("connect {target} {count} {check}")).await
    }

    /// Starts a child echo server; its address is [`Crowd::addr`].
    pub async fn echo_server() -> Self {
        Self::start("echo-server").await
    }

    /// The echo server's address.
    pub fn addr(&self) -> SocketAddr {
        self.detail.parse().expect("the echo server's address")
    }

    async fn start(task: &str) -> Self {
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args([
                "crowd::crowd_helper",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(HELPER_ENV, task)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the helper process");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_WITHIN, async {
            while let Ok(Some(line)) = lines.next_line().await {
                // libtest's "test crowd::crowd_helper ... " has no newline
                // before the test's own output: the marker may follow it.
                if let Some((_, detail)) = line.split_once("ready ") {
                    return Some(detail.trim().to_owned());
                }
            }
            None
        })
        .await;
        let Ok(Some(detail)) = ready else {
            let _ = child.start_kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr).await;
            }
            panic!("the helper ({task}) did not get ready: {stderr}");
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            stdin,
            detail,
        }
    }

    /// Closes every connection (the child exits) and waits for it.
    pub async fn release(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the helper exits within 60 s")
            .expect("wait for the helper");
        assert!(status.success(), "the helper failed: {status}");
    }
}

/// Not a test: the body of a helper process (see the module doc). Without
/// the environment variable it does nothing.
#[test]
#[ignore = "helper process of the many-connections tests, started by them"]
fn crowd_helper() {
    let Ok(task) = std::env::var(HELPER_ENV) else {
        return;
    };
    gameday::fd_limit::raise_soft_to_hard();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if let Err(error) = runtime.block_on(helper(&task)) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

async fn helper(task: &str) -> Result<(), String> {
    let words: Vec<&str> = task.split_whitespace().collect();
    match words.as_slice() {
        ["echo-server"] => {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| format!("bind: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let (mut read, mut write) = socket.split();
                        let _ = tokio::io::copy(&mut read, &mut write).await;
                    });
                }
            });
            announce(&address.to_string());
            wait_for_stdin_to_close().await;
            Ok(())
        }
        ["connect", target, count, check] => {
            let target: SocketAddr = target.parse().map_err(|e| format!("{target}: {e}"))?;
            let count: usize = count.parse().map_err(|e| format!("{count}: {e}"))?;
            let mut clients = Vec::with_capacity(count);
            for index in 0..count {
                let stream = TcpStream::connect(target)
                    .await
                    .map_err(|e| format!("connection {index}: {e}"))?;
                clients.push(stream);
            }
            eprintln!("connected {count}");
            let mut closed = 0;
            for (index, client) in clients.iter_mut().enumerate() {
                if !check_one(client, index, check).await? {
                    closed += 1;
                }
            }
            eprintln!("checked {count}");
            if *check == "echo-or-closed" {
                announce(&format!("{} {closed}", count - closed));
            } else {
                announce(&clients.len().to_string());
            }
            wait_for_stdin_to_close().await;
            drop(clients);
            Ok(())
        }
        _ => Err(format!("unknown task {task:?}")),
    }
}

/// Checks connection `index`: `Ok(true)` when it answered as expected,
/// `Ok(false)` when the server closed it and `check` allows that.
async fn check_one(client: &mut TcpStream, index: usize, check: &str) -> Result<bool, String> {
    if check == "echo-or-closed" {
        return expect_answer(client, index, b"x", b"x", true).await;
    }
    let every: usize = check
        .strip_prefix("http:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unknown check {check:?}"))?;
    if !index.is_multiple_of(every.max(1)) {
        return Ok(true);
    }
    let request = b"GET /capabilities HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_answer(client, index, request, b"HTTP/1.1 200", false).await
}

/// Writes `request` on connection `index` and expects the answer to start
/// with `expected` within 10 s; a connection the server closed instead is
/// `Ok(false)` when `closed_is_ok`, else an error.
async fn expect_answer(
    client: &mut TcpStream,
    index: usize,
    request: &[u8],
    expected: &[u8],
    closed_is_ok: bool,
) -> Result<bool, String> {
    let mut answer = vec![0u8; expected.len()];
    let exchange = async {
        client.write_all(request).await?;
        client.read_exact(&mut answer).await
    };
    match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Err(_) => return Err(format!("connection {index}: no answer within 10 s")),
        Ok(Err(error)) if closed_is_ok && is_closed(&error) => return Ok(false),
        Ok(Err(error)) => return Err(format!("connection {index}: {error}")),
        Ok(Ok(_)) => {}
    }
    if answer == expected {
        Ok(true)
    } else {
        Err(format!(
            "connection {index}: answered {:?}",
            String::from_utf8_lossy(&answer)
        ))
    }
}

/// Whether `error` says the peer closed the connection.
fn is_closed(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        error.kind(),
        UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted
    )
}

fn announce(detail: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "ready {detail}");
    let _ = stdout.flush();
}

async fn wait_for_stdin_to_close() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}
