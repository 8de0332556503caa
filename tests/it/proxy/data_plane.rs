//! Each toxic's effect measured on real bytes through the proxy. Timing
//! bounds are generous (the machine is small and shared): they check the
//! effect exists and has the right order of magnitude, never exact values.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{
    add_toxic, call, create_proxy, echo_round_trip, echo_server, read_to_end, sending_server,
    start_proxy,
};

#[tokio::test]
async fn bytes_pass_unchanged_without_toxics() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = client.split();
    let writer = async {
        write.write_all(&big).await.unwrap();
    };
    let mut back = vec![0; big.len()];
    let reader = read.read_exact(&mut back);
    let ((), read_result) = tokio::join!(writer, reader);
    read_result.unwrap();
    assert_eq!(back, big);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn latency_delays_each_round_trip_by_about_the_latency() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"latency","attributes":{"latency":100}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    client.set_nodelay(true).unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(echo_round_trip(&mut client, b"ping").await, b"ping");
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(100),
            "never early: {elapsed:?}"
        );
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }
    // Upstream and downstream latency add up on a round trip.
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"latency","stream":"upstream","attributes":{"latency":100}}"#,
    )
    .await;
    let start = Instant::now();
    echo_round_trip(&mut client, b"pong").await;
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    proxy.stop().await.unwrap();
}

/// The timer thread writes latency releases itself; when the client's
/// buffers are full it must hand the rest to the connection's task without
/// losing, repeating or reordering a byte, and the close must come last.
#[tokio::test]
async fn latency_releases_to_a_reader_that_stalls_arrive_whole_and_in_order() {
    let proxy = start_proxy().await;
    // Far more than the kernel buffers between the proxy and a client with a
    // small receive buffer can hold.
    let payload: Vec<u8> = (0..16_000_000u32).map(|i| (i % 251) as u8).collect();
    let (upstream, _server) = sending_server(payload.clone()).await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"latency","attributes":{"latency":20}}"#,
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let mut client = socket.connect(listen).await.unwrap();
    // Not reading for a while: the proxy's sends find the socket full.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut received = Vec::with_capacity(payload.len());
    let mut buffer = vec![0u8; 64 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match client.read(&mut buffer).await {
                Ok(0) => return Ok(()),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
                Err(error) => return Err(error),
            }
        }
    })
    .await;
    read.expect("the transfer ends").expect("no error");
    assert_eq!(received.len(), payload.len());
    assert!(received == payload, "bytes lost, repeated or reordered");
    proxy.stop().await.unwrap();
}

/// Many connections through one latency toxic: each gets exactly its own
/// bytes back, in order (the timer thread writes to many sockets).
#[tokio::test]
async fn many_connections_through_latency_each_get_their_own_bytes() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"latency","attributes":{"latency":30}}"#,
    )
    .await;
    let mut clients = Vec::new();
    for id in 0..50u8 {
        clients.push(tokio::spawn(async move {
            let mut client = TcpStream::connect(listen).await.unwrap();
            client.set_nodelay(true).unwrap();
            for round in 0..5u8 {
                let message = [id, round, id ^ round];
                let start = Instant::now();
                assert_eq!(echo_round_trip(&mut client, &message).await, message);
                assert!(start.elapsed() >= Duration::from_millis(30), "never early");
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn bandwidth_limits_the_rate() {
    let proxy = start_proxy().await;
    // 50,000 bytes at 100 KB/s: about 0.4-0.5 s; unlimited it is instant.
    let (upstream, _server) = sending_server(vec![b'x'; 50_000]).await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"bandwidth","attributes":{"rate":100}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let start = Instant::now();
    let (bytes, error) = read_to_end(&mut client).await;
    let elapsed = start.elapsed();
    assert_eq!((bytes.len(), error), (50_000, None));
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn timeout_drops_data_and_closes_when_idle() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"timeout","stream":"upstream","attributes":{"timeout":300}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let start = Instant::now();
    client.write_all(b"lost").await.unwrap();
    let (bytes, _) = read_to_end(&mut client).await;
    let elapsed = start.elapsed();
    assert!(bytes.is_empty(), "data is dropped");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn removing_a_timeout_toxic_closes_the_connection() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"name":"t","type":"timeout","attributes":{"timeout":0}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    client.write_all(b"hello").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        call(&proxy, "DELETE", "/proxies/p/toxics/t", None)
            .await
            .status,
        204
    );
    let (bytes, _) = read_to_end(&mut client).await;
    assert!(bytes.is_empty(), "{bytes:?}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn reset_peer_sends_a_reset() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":100}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let start = Instant::now();
    client.write_all(b"hello").await.unwrap();
    let (bytes, error) = read_to_end(&mut client).await;
    assert!(bytes.is_empty());
    assert_eq!(error, Some(std::io::ErrorKind::ConnectionReset));
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn slicer_cuts_data_into_small_delayed_pieces() {
    let proxy = start_proxy().await;
    let (upstream, _server) = sending_server(vec![b's'; 100]).await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"slicer","attributes":{"average_size":10,"size_variation":0,"delay":20000}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let start = Instant::now();
    let mut reads = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let n = client.read(&mut buffer).await.unwrap();
        if n == 0 {
            break;
        }
        reads.push(n);
    }
    assert_eq!(reads.iter().sum::<usize>(), 100);
    assert!(
        reads.iter().all(|n| *n <= 20),
        "pieces of about 10 bytes: {reads:?}"
    );
    assert!(reads.len() >= 5, "{reads:?}");
    // 16 pieces with 20 ms after each: well over 100 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn limit_data_closes_at_the_byte_count() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"limit_data","attributes":{"bytes":7}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    assert_eq!(echo_round_trip(&mut client, b"hello").await, b"hello");
    client.write_all(b"world").await.unwrap();
    let (bytes, _) = read_to_end(&mut client).await;
    assert_eq!(bytes, b"wo");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn slow_close_delays_the_eof() {
    let proxy = start_proxy().await;
    let (upstream, _server) = sending_server(b"bye".to_vec()).await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"slow_close","attributes":{"delay":400}}"#,
    )
    .await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let start = Instant::now();
    let (bytes, _) = read_to_end(&mut client).await;
    assert_eq!(bytes, b"bye");
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn disabling_refuses_new_and_closes_open_connections() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let mut open = TcpStream::connect(listen).await.unwrap();
    echo_round_trip(&mut open, b"hi").await;
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/p", Some(r#"{"enabled":false}"#))
            .await
            .status,
        200
    );
    let (bytes, _) = read_to_end(&mut open).await;
    assert!(bytes.is_empty());
    let refused = TcpStream::connect(listen).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(proxy.server().open_connections(), 0);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn toxicity_zero_never_applies_and_one_always_does() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"name":"cap","type":"limit_data","toxicity":0,"attributes":{"bytes":1}}"#,
    )
    .await;
    for _ in 0..10 {
        let mut client = TcpStream::connect(listen).await.unwrap();
        assert_eq!(echo_round_trip(&mut client, b"abc").await, b"abc");
    }
    let answer = call(
        &proxy,
        "PATCH",
        "/proxies/p/toxics/cap",
        Some(r#"{"toxicity":1}"#),
    )
    .await;
    assert_eq!(answer.status, 200);
    for _ in 0..10 {
        let mut client = TcpStream::connect(listen).await.unwrap();
        client.write_all(b"abc").await.unwrap();
        let (bytes, _) = read_to_end(&mut client).await;
        assert_eq!(bytes, b"a");
    }
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn toxicity_half_splits_connections_not_chunks() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"type":"limit_data","toxicity":0.5,"attributes":{"bytes":2}}"#,
    )
    .await;
    let mut cut = 0;
    for _ in 0..40 {
        let mut client = TcpStream::connect(listen).await.unwrap();
        client.write_all(b"abcd").await.unwrap();
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 16];
        while bytes.len() < 4 {
            match tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => bytes.extend_from_slice(&buffer[..n]),
                Err(_) => panic!("stalled"),
            }
        }
        match bytes.as_slice() {
            b"ab" => cut += 1,
            b"abcd" => {}
            other => panic!("a connection is all-affected or all-clean: {other:?}"),
        }
    }
    assert!((5..=35).contains(&cut), "about half the connections: {cut}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn live_add_and_remove_on_an_open_connection_loses_nothing() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    client.set_nodelay(true).unwrap();
    echo_round_trip(&mut client, b"before").await;
    add_toxic(
        &proxy,
        "p",
        r#"{"name":"slow","type":"latency","attributes":{"latency":1000}}"#,
    )
    .await;
    let start = Instant::now();
    echo_round_trip(&mut client, b"during").await;
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "applies to the open connection"
    );

    // Data in flight inside the latency toxic is flushed when it is removed.
    let (mut read, mut write) = client.split();
    let sent: Vec<u8> = (0..50u8).collect();
    let writer = async {
        for byte in &sent {
            write.write_all(&[*byte]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let remover = async {
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            call(&proxy, "DELETE", "/proxies/p/toxics/slow", None)
                .await
                .status,
            204
        );
    };
    let mut received = vec![0u8; sent.len()];
    let reader = async {
        tokio::time::timeout(Duration::from_secs(10), read.read_exact(&mut received))
            .await
            .expect("all bytes arrive")
            .expect("read");
    };
    tokio::join!(writer, remover, reader);
    assert_eq!(received, sent, "every byte, in order");
    let start = Instant::now();
    echo_round_trip(&mut client, b"after").await;
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "removed from the open connection"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn upstream_dial_failure_closes_the_client() {
    let proxy = start_proxy().await;
    let (listener, dead) = crate::util::loopback_listener().await;
    drop(listener);
    let listen = create_proxy(&proxy, "p", dead).await;
    let mut client = TcpStream::connect(listen).await.unwrap();
    let (bytes, _) = read_to_end(&mut client).await;
    assert!(bytes.is_empty());
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn many_connections_leave_nothing_behind() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let mut clients = Vec::new();
    for _ in 0..1000 {
        clients.push(TcpStream::connect(listen).await.unwrap());
    }
    for client in &mut clients {
        echo_round_trip(client, b"x").await;
    }
    assert_eq!(proxy.server().open_connections(), 1000);
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.server().open_connections() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(proxy.server().open_connections(), 0);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_connections_and_listeners() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let api = proxy.api_addr();
    let mut client = TcpStream::connect(listen).await.unwrap();
    echo_round_trip(&mut client, b"x").await;
    let server = proxy.server().clone();
    proxy.stop().await.unwrap();
    let (bytes, _) = read_to_end(&mut client).await;
    assert!(bytes.is_empty());
    assert_eq!(server.open_connections(), 0);
    assert!(TcpStream::connect(listen).await.is_err());
    assert!(TcpStream::connect(api).await.is_err());
}

#[tokio::test]
async fn absurd_attribute_values_do_not_crash_the_server() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let extremes = [i64::MAX, i64::MIN, -1];
    for value in extremes {
        let bodies = [
            format!(
                r#"{{"name":"l","type":"latency","attributes":{{"latency":{value},"jitter":{value}}}}}"#
            ),
            format!(r#"{{"name":"s","type":"slow_close","attributes":{{"delay":{value}}}}}"#),
            format!(
                r#"{{"name":"t","type":"timeout","stream":"upstream","attributes":{{"timeout":{value}}}}}"#
            ),
            format!(
                r#"{{"name":"r","type":"reset_peer","stream":"upstream","attributes":{{"timeout":{value}}}}}"#
            ),
            format!(r#"{{"name":"d","type":"limit_data","attributes":{{"bytes":{value}}}}}"#),
            format!(
                r#"{{"name":"c","type":"slicer","attributes":{{"average_size":5,"size_variation":{value},"delay":{value}}}}}"#
            ),
            format!(
                r#"{{"name":"b","type":"bandwidth","attributes":{{"rate":{}}}}}"#,
                value.max(1)
            ),
        ];
        for body in &bodies {
            let answer = call(&proxy, "POST", "/proxies/p/toxics", Some(body)).await;
            assert!(
                answer.status == 200 || answer.status == 400,
                "{body}: {}",
                answer.body
            );
        }
        let mut client = TcpStream::connect(listen).await.unwrap();
        let _ = client.write_all(b"some bytes").await;
        let mut buffer = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_millis(200), client.read(&mut buffer)).await;
        drop(client);
        assert_eq!(call(&proxy, "POST", "/reset", None).await.status, 204);
    }
    assert_eq!(
        call(&proxy, "GET", "/version", None).await.status,
        200,
        "still serving"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn changing_upstream_restarts_but_an_equal_listen_does_not() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let (other, _other_echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let mut open = TcpStream::connect(listen).await.unwrap();
    echo_round_trip(&mut open, b"a").await;
    // localhost:P is the same address as 127.0.0.1:P: no restart (Toxiproxy #631).
    let same = format!(r#"{{"listen":"localhost:{}"}}"#, listen.port());
    let answer = call(&proxy, "PATCH", "/proxies/p", Some(&same)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(echo_round_trip(&mut open, b"still").await, b"still");
    // A new upstream restarts the proxy: open connections drop, the port stays.
    let moved = format!(r#"{{"upstream":"{other}"}}"#);
    let answer = call(&proxy, "PATCH", "/proxies/p", Some(&moved)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains(&format!(
            r#""listen":"{listen}","upstream":"{other}","enabled":true"#
        )),
        "{}",
        answer.body
    );
    let (bytes, _) = read_to_end(&mut open).await;
    assert!(bytes.is_empty());
    let mut fresh = TcpStream::connect(listen).await.unwrap();
    assert_eq!(echo_round_trip(&mut fresh, b"new").await, b"new");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_half_sent_api_request_cannot_hold_shutdown() {
    let proxy = start_proxy().await;
    let mut slow = TcpStream::connect(proxy.api_addr()).await.unwrap();
    slow.write_all(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), proxy.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "stop returns despite the open request"
    );
}

#[tokio::test]
async fn removing_a_timeout_toxic_under_load_answers_at_once() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    add_toxic(
        &proxy,
        "p",
        r#"{"name":"t","type":"timeout","stream":"upstream","attributes":{"timeout":0}}"#,
    )
    .await;
    let mut writers = Vec::new();
    for _ in 0..50 {
        let client = TcpStream::connect(listen).await.unwrap();
        writers.push(tokio::spawn(async move {
            let (mut read, mut write) = client.into_split();
            let chunk = vec![b'z'; 16 * 1024];
            // Keep the toxic busy until the proxy closes the connection.
            let pump = async { while write.write_all(&chunk).await.is_ok() {} };
            let mut sink = Vec::new();
            let closed = read.read_to_end(&mut sink);
            tokio::select! {
                () = pump => {}
                _ = closed => {}
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let answer = call(&proxy, "DELETE", "/proxies/p/toxics/t", None).await;
    assert_eq!(answer.status, 204);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(10), writer)
            .await
            .expect("every connection is closed")
            .unwrap();
    }
    proxy.stop().await.unwrap();
}
