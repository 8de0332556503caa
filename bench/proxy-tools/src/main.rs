//! Benchmark helpers for `bench/proxy.sh` (not part of gameday).
//!
//! - `echo LISTEN`: echoes every byte back.
//! - `http LISTEN`: answers every HTTP/1.1 request with a 13-byte body (keep-alive).
//! - `relay LISTEN UPSTREAM`: the baseline, a plain tokio `copy_bidirectional` relay.
//! - `rtt ADDR COUNT SIZE [GAP_MS]`: ping-pongs SIZE bytes COUNT times on one
//!   connection, idle GAP_MS between round trips (default 0), and prints
//!   `p50_us p99_us min_us max_us`.
//! - `pingers ADDR COUNT SECONDS`: COUNT connections each ping-ponging one byte
//!   in a loop for SECONDS (keeps COUNT latency timers in flight).
//! - `conns ADDR COUNT HOLD_MS`: opens COUNT connections, echoes a byte on
//!   each, holds them HOLD_MS, closes them all, prints how many worked.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    match arg(0)?.as_str() {
        "echo" => echo(&arg(1)?).await,
        "http" => http(&arg(1)?).await,
        "relay" => relay(&arg(1)?, &arg(2)?).await,
        "rtt" => {
            let gap = args.get(4).map_or(Ok(0), |g| g.parse())?;
            rtt(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?, gap).await
        }
        "conns" => conns(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?).await,
        "pingers" => pingers(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?).await,
        other => Err(format!("unknown tool {other}").into()),
    }
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
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:.1} {:.1} {:.1} {:.1}",
        us(at(0.5)),
        us(at(0.99)),
        us(samples[0]),
        us(samples[samples.len() - 1])
    );
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

async fn pingers(address: &str, count: usize, seconds: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
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
    println!("{total}");
    Ok(())
}
