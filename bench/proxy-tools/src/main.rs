//! Benchmark helpers for `bench/proxy.sh` (not part of gameday).
//!
//! - `echo LISTEN`: echoes every byte back.
//! - `http LISTEN`: answers every HTTP/1.1 request with a 13-byte body (keep-alive).
//! - `relay LISTEN UPSTREAM`: the baseline, a plain tokio `copy_bidirectional` relay.
//! - `rtt ADDR COUNT SIZE [GAP_MS]`: ping-pongs SIZE bytes COUNT times on one
//!   connection, idle GAP_MS between round trips (default 0), and prints
//!   `p50_us p99_us min_us max_us`.
//! - `latency DIRECT PROXY COUNT`: two clients side by side, each on its own
//!   thread with blocking sockets: the baseline pings DIRECT (an echo server)
//!   and sleeps 100 ms between round trips, so its round trip is what this
//!   machine's wake-up costs right now; the other ping-pongs through PROXY
//!   (a 100 ms latency toxic in front of the same echo server), which also
//!   idles ~100 ms per round trip. COUNT round trips each; prints
//!   `base_p50 base_p99 base_min proxy_p50 proxy_p99 proxy_min proxy_max` in µs.
//! - `pingers ADDR COUNT SECONDS [READY_FILE]`: COUNT connections each
//!   ping-ponging one byte in a loop for SECONDS once all are connected (keeps
//!   COUNT latency timers in flight); creates READY_FILE once connected;
//!   prints `round_trips seconds`.
//! - `source LISTEN BYTES`: sends BYTES bytes to every client, then closes.
//! - `bandwidth ADDR COUNT`: COUNT connections read to the end at once; each
//!   connection's rate is its bytes after the first read over the time from
//!   its first read to its last; prints `min median max` in KB/s (1000 B).
//! - `conns ADDR COUNT HOLD_MS`: opens COUNT connections, echoes a byte on
//!   each, holds them HOLD_MS, closes them all, prints how many worked.
//!
//! The clients and the echo server run on one thread each (a current-thread
//! runtime): on a 2-core machine a benchmark client that spreads over both
//! cores competes with the proxy it measures and adds its own cross-thread
//! wake-ups to every figure. The HTTP server and the relay baseline keep
//! tokio's default multi-thread runtime.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    let tool = arg(0)?;
    if tool == "latency" {
        return latency(&arg(1)?, &arg(2)?, arg(3)?.parse()?);
    }
    let runtime = match tool.as_str() {
        "http" | "relay" => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()?;
    runtime.block_on(async {
        match tool.as_str() {
            "echo" => echo(&arg(1)?).await,
            "http" => http(&arg(1)?).await,
            "relay" => relay(&arg(1)?, &arg(2)?).await,
            "rtt" => {
                let gap = args.get(4).map_or(Ok(0), |g| g.parse())?;
                rtt(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?, gap).await
            }
            "conns" => conns(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?).await,
            "pingers" => {
                let ready = args.get(4).cloned();
                pingers(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?, ready).await
            }
            "source" => source(&arg(1)?, arg(2)?.parse()?).await,
            "bandwidth" => bandwidth(&arg(1)?, arg(2)?.parse()?).await,
            other => Err(format!("unknown tool {other}").into()),
        }
    })
}

async fn echo(listen: &str) -> Result<()> {
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (mut socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        tokio::spawn(async move {
            let (mut read, mut write) = socket.split();
            let _ = tokio::io::copy(&mut read, &mut write).await;
        });
    }
}

async fn http(listen: &str) -> Result<()> {
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (mut socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut pending: Vec<u8> = Vec::with_capacity(8192);
            let mut buffer = [0u8; 8192];
            let mut out = Vec::with_capacity(8192);
            loop {
                let n = match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&buffer[..n]);
                out.clear();
                while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    pending.drain(..end + 4);
                    out.extend_from_slice(RESPONSE);
                }
                if !out.is_empty() && socket.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn relay(listen: &str, upstream: &str) -> Result<()> {
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (mut client, _) = listener.accept().await?;
        let upstream = upstream.to_string();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let _ = copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

async fn rtt(address: &str, count: usize, size: usize, gap_ms: u64) -> Result<()> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let message = vec![b'p'; size];
    let mut back = vec![0u8; size];
    let mut samples = Vec::with_capacity(count);
    for i in 0..count + count.min(50) {
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut back).await?;
        if i >= count.min(50) {
            samples.push(start.elapsed());
        }
        if gap_ms > 0 {
            tokio::time::sleep(Duration::from_millis(gap_ms)).await;
        }
    }
    let [p50, p99, min, max] = quantiles(&mut samples);
    println!("{p50:.1} {p99:.1} {min:.1} {max:.1}");
    Ok(())
}

async fn conns(address: &str, count: usize, hold_ms: u64) -> Result<()> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(TcpStream::connect(address).await?);
    }
    let mut ok = 0;
    for stream in &mut streams {
        let mut byte = [0u8; 1];
        stream.write_all(b"x").await?;
        if tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut byte))
            .await
            .is_ok()
        {
            ok += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    drop(streams);
    println!("{ok}");
    Ok(())
}

async fn pingers(address: &str, count: usize, seconds: u64, ready: Option<String>) -> Result<()> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    if let Some(ready) = ready {
        std::fs::write(ready, b"connected\n")?;
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(count);
    for mut stream in streams {
        tasks.push(tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let mut rounds = 0u64;
            while Instant::now() < deadline {
                if stream.write_all(b"x").await.is_err()
                    || stream.read_exact(&mut byte).await.is_err()
                {
                    break;
                }
                rounds += 1;
            }
            rounds
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or(0);
    }
    println!("{total} {:.3}", start.elapsed().as_secs_f64());
    Ok(())
}

/// Quantiles of round-trip samples in µs: p50, p99, min, max.
fn quantiles(samples: &mut [Duration]) -> [f64; 4] {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    [
        us(at(0.5)),
        us(at(0.99)),
        us(samples[0]),
        us(samples[samples.len() - 1]),
    ]
}

/// COUNT blocking round trips of one byte on `address`, sleeping `gap`
/// before each; the first few warm up and are not kept.
fn blocking_round_trips(address: &str, count: usize, gap: Duration) -> Result<Vec<Duration>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    let warm_up = 5;
    let mut samples = Vec::with_capacity(count);
    let mut byte = [0u8; 1];
    for i in 0..count + warm_up {
        std::thread::sleep(gap);
        let start = std::time::Instant::now();
        stream.write_all(b"p")?;
        stream.read_exact(&mut byte)?;
        if i >= warm_up {
            samples.push(start.elapsed());
        }
    }
    Ok(samples)
}

fn latency(direct: &str, proxy: &str, count: usize) -> Result<()> {
    let direct = direct.to_string();
    let baseline = std::thread::spawn(move || {
        blocking_round_trips(&direct, count, Duration::from_millis(100)).map_err(|e| e.to_string())
    });
    let mut through = blocking_round_trips(proxy, count, Duration::ZERO)?;
    let mut base = baseline.join().map_err(|_| "baseline panicked")??;
    let [b50, b99, bmin, _] = quantiles(&mut base);
    let [p50, p99, pmin, pmax] = quantiles(&mut through);
    println!("{b50:.1} {b99:.1} {bmin:.1} {p50:.1} {p99:.1} {pmin:.1} {pmax:.1}");
    Ok(())
}

async fn source(listen: &str, bytes: usize) -> Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let payload: std::sync::Arc<[u8]> = vec![b's'; bytes].into();
    loop {
        let (mut socket, _) = listener.accept().await?;
        let payload = payload.clone();
        tokio::spawn(async move {
            let _ = socket.write_all(&payload).await;
        });
    }
}

async fn bandwidth(address: &str, count: usize) -> Result<()> {
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).await?;
        tasks.push(tokio::spawn(async move {
            let mut buffer = vec![0u8; 64 * 1024];
            let mut first: Option<(Instant, usize)> = None;
            let (mut last, mut total) = (Instant::now(), 0usize);
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        last = Instant::now();
                        total += n;
                        first.get_or_insert((last, n));
                    }
                }
            }
            let (start, first_bytes) = first?;
            let seconds = (last - start).as_secs_f64();
            (seconds > 0.0).then(|| (total - first_bytes) as f64 / seconds / 1000.0)
        }));
    }
    let mut rates = Vec::with_capacity(count);
    for task in tasks {
        if let Some(rate) = task.await? {
            rates.push(rate);
        }
    }
    if rates.is_empty() {
        return Err("no connection received data".into());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{:.2} {:.2} {:.2}",
        rates[0],
        rates[rates.len() / 2],
        rates[rates.len() - 1]
    );
    Ok(())
}
