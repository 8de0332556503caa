//! The runner's typed async client against our server.

use std::time::Duration;

use gameday::faults::toxiproxy::model::ToxicUpdate;
use gameday::faults::toxiproxy::{Client, NewProxy, NewToxic, ProxyUpdate, Stream, ToxicKind};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{echo_round_trip, echo_server, start_proxy};

#[tokio::test]
async fn drives_every_route() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let client = proxy.client().unwrap();
    assert_eq!(client.version().await.unwrap(), "2.12.0");
    assert!(client.proxies().await.unwrap().is_empty());

    let created = client
        .create_proxy(&NewProxy::new("db", "127.0.0.1:0", upstream.to_string()))
        .await
        .unwrap();
    assert!(created.enabled);
    let listen = created.listen.clone();
    let toxic = client
        .add_toxic(
            "db",
            &NewToxic::new(
                Stream::Downstream,
                ToxicKind::Latency {
                    latency: 150,
                    jitter: 0,
                },
            )
            .named("slow"),
        )
        .await
        .unwrap();
    assert_eq!(toxic.name, "slow");
    assert_eq!(toxic.toxicity, 1.0);
    let mut connection = TcpStream::connect(&listen).await.unwrap();
    let start = Instant::now();
    echo_round_trip(&mut connection, b"q").await;
    assert!(start.elapsed() >= Duration::from_millis(150));

    let update = ToxicUpdate {
        toxicity: Some(0.25),
        attributes: [("jitter".to_string(), 10)].into(),
    };
    let updated = client.update_toxic("db", "slow", &update).await.unwrap();
    assert_eq!(
        updated.kind,
        ToxicKind::Latency {
            latency: 150,
            jitter: 10
        }
    );
    assert_eq!(updated.toxicity, 0.25);
    assert_eq!(client.toxics("db").await.unwrap(), vec![updated.clone()]);
    assert_eq!(client.toxic("db", "slow").await.unwrap(), updated);
    client.remove_toxic("db", "slow").await.unwrap();

    let down = client.set_enabled("db", false).await.unwrap();
    assert!(!down.enabled);
    assert!(TcpStream::connect(&listen).await.is_err());
    let up = client
        .update_proxy(
            "db",
            &ProxyUpdate {
                enabled: Some(true),
                ..ProxyUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(up.enabled);
    let populated = client
        .populate(&[NewProxy::new("cache", "127.0.0.1:0", "127.0.0.1:1")])
        .await
        .unwrap();
    assert_eq!(populated.len(), 1);
    assert_eq!(client.proxies().await.unwrap().len(), 2);
    client.reset().await.unwrap();
    client.delete_proxy("cache").await.unwrap();
    assert_eq!(client.proxy("db").await.unwrap().name, "db");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn errors_carry_status_and_message() {
    let proxy = start_proxy().await;
    let client = Client::new(&proxy.api_url()).unwrap();
    let missing = client.proxy("nope").await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(missing.to_string().contains("proxy not found"), "{missing}");
    client
        .create_proxy(&NewProxy::new("p", "127.0.0.1:0", "127.0.0.1:1"))
        .await
        .unwrap();
    let duplicate = client
        .create_proxy(&NewProxy::new("p", "127.0.0.1:0", "x:1"))
        .await
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(409));
    let stalled = client
        .add_toxic(
            "p",
            &NewToxic::new(Stream::Upstream, ToxicKind::Bandwidth { rate: 0 }),
        )
        .await
        .unwrap_err();
    assert_eq!(stalled.status(), Some(400));
    // Names with spaces and slashes are encoded, not misrouted.
    assert_eq!(client.proxy("a b/c").await.unwrap_err().status(), Some(404));
    proxy.stop().await.unwrap();

    // A server that is gone: a transport error, quickly.
    let unreachable = Client::new(&proxy_url_of_closed_port().await)
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let error = unreachable.version().await.unwrap_err();
    assert_eq!(error.status(), None);
}

async fn proxy_url_of_closed_port() -> String {
    let (listener, address) = crate::util::loopback_listener().await;
    drop(listener);
    format!("http://{address}")
}
