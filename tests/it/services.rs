//! Managed Redis and PostgreSQL processes: start, kill, freeze, restart and
//! cleanup, checked with real protocol round trips.

use std::time::Duration;

use gameday::lab::services::{ManagedService, ServiceState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::binaries;

/// AUTH and PING over raw RESP; the PING's reply, or `None` if nothing
/// answered within `wait`.
async fn redis_ping(addr: std::net::SocketAddr, password: &str, wait: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(wait, async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("AUTH {password}\r\nPING\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut reply = [0u8; 12];
        stream.read_exact(&mut reply).await.ok()?;
        Some(reply[5..].to_vec())
    })
    .await
    .ok()
    .flatten()
}

/// The first bytes of Redis's reply to a PING sent without a password.
async fn redis_ping_without_password(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"PING\r\n").await.expect("send");
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).await.expect("reply");
    reply.to_vec()
}

async fn pg_select_one(url: &str, wait: Duration) -> Result<i32, String> {
    tokio::time::timeout(wait, async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(connection);
        let row = client
            .query_one("SELECT 1", &[])
            .await
            .map_err(|e| e.to_string())?;
        driver.abort();
        Ok(row.get::<_, i32>(0))
    })
    .await
    .map_err(|_| "timed out".to_owned())?
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn redis_kill_freeze_restart_and_cleanup() {
    let mut redis = ManagedService::start_redis(&binaries())
        .await
        .expect("start redis");
    let addr = redis.addr();
    let password = redis.password().to_owned();
    assert!(addr.ip().is_loopback());
    // Another local user, without the lab's random password, is refused.
    assert_eq!(redis_ping_without_password(addr).await, b"-NOAUTH ");
    assert_eq!(password.len(), 32);
    assert!(redis.url().contains(&password));
    assert_eq!(
        redis_ping(addr, &password, Duration::from_secs(5))
            .await
            .as_deref(),
        Some(&b"+PONG\r\n"[..])
    );

    // Frozen: the port still accepts, but nothing answers.
    redis.freeze().expect("freeze");
    assert_eq!(redis.state(), ServiceState::Frozen);
    assert_eq!(
        redis_ping(addr, &password, Duration::from_millis(500)).await,
        None
    );
    redis.thaw().expect("thaw");
    assert!(
        redis_ping(addr, &password, Duration::from_secs(5))
            .await
            .is_some()
    );

    // Killed: connections are refused.
    let pid = redis.pid().expect("pid");
    redis.kill().await.expect("kill");
    assert_eq!(redis.state(), ServiceState::Killed);
    assert!(!process_exists(pid), "redis-server {pid} survived SIGKILL");
    assert!(TcpStream::connect(addr).await.is_err());

    // Restarted on the same port.
    redis.restart().await.expect("restart");
    assert_eq!(redis.addr(), addr);
    assert!(
        redis_ping(addr, &password, Duration::from_secs(5))
            .await
            .is_some()
    );

    // Dropping it kills the process and removes its directory.
    let pid = redis.pid().expect("pid");
    let dir = redis.dir().to_path_buf();
    drop(redis);
    let gone = wait_until(|| !process_exists(pid)).await;
    assert!(gone, "redis-server {pid} outlived its ManagedService");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[tokio::test]
async fn postgres_freeze_kill_restart() {
    let mut postgres = ManagedService::start_postgres(&binaries())
        .await
        .expect("start postgres");
    let url = postgres.url();
    assert_eq!(pg_select_one(&url, Duration::from_secs(10)).await, Ok(1));
    // Without the password (trust authentication let any local user in as
    // the superuser) or with a wrong one, PostgreSQL refuses.
    let no_password = format!("postgres://gameday@{}/postgres", postgres.addr());
    let refused = pg_select_one(&no_password, Duration::from_secs(10)).await;
    assert!(refused.is_err(), "{refused:?}");
    let wrong = url.replace(postgres.password(), "not-the-password");
    assert!(
        pg_select_one(&wrong, Duration::from_secs(10))
            .await
            .is_err()
    );

    postgres.freeze().expect("freeze");
    assert_eq!(
        pg_select_one(&url, Duration::from_millis(500)).await,
        Err("timed out".to_owned())
    );
    postgres.thaw().expect("thaw");
    assert_eq!(pg_select_one(&url, Duration::from_secs(10)).await, Ok(1));

    let pid = postgres.pid().expect("pid");
    postgres.kill().await.expect("kill");
    assert!(!process_exists(pid));
    assert!(pg_select_one(&url, Duration::from_secs(5)).await.is_err());

    postgres.restart().await.expect("restart after SIGKILL");
    assert_eq!(pg_select_one(&url, Duration::from_secs(10)).await, Ok(1));

    postgres.stop().await.expect("stop");
    assert_eq!(postgres.state(), ServiceState::Stopped);
    assert!(pg_select_one(&url, Duration::from_secs(5)).await.is_err());
}

/// Polls a condition for up to 10 s (process teardown is asynchronous).
async fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
