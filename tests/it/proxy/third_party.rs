//! A third-party Toxiproxy client (the `toxiproxy_rust` crate, which is
//! synchronous) driving our server exactly as it drives a real Toxiproxy.
//! It lets us pick the address, so no fixed port is needed.

use std::io::{Read, Write};
use std::time::Duration;

use toxiproxy_rust::client::Client;
use toxiproxy_rust::proxy::ProxyPack;

use super::{echo_server, start_proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_drives_our_server() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let api = proxy.api_addr();
    let listen = {
        let (listener, address) = crate::util::loopback_listener().await;
        drop(listener);
        address
    };
    tokio::task::spawn_blocking(move || {
        let client = Client::new(api);
        assert!(client.is_running());
        assert!(client.version().unwrap().contains("2.12.0"));
        let proxies = client
            .populate(vec![ProxyPack::new(
                "echo".into(),
                listen.to_string(),
                upstream.to_string(),
            )])
            .unwrap();
        assert_eq!(proxies.len(), 1);
        assert_eq!(proxies[0].proxy_pack.listen, listen.to_string());

        let echo = |message: &[u8]| {
            let mut stream = std::net::TcpStream::connect(listen).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.write_all(message).unwrap();
            let mut back = vec![0; message.len()];
            stream.read_exact(&mut back).map(|()| back)
        };

        let found = client.find_and_reset_proxy("echo").unwrap();
        found
            .with_latency("downstream".into(), 200, 0, 1.0)
            .apply(|| {
                let start = tokio::time::Instant::now();
                assert_eq!(echo(b"hi").unwrap(), b"hi");
                assert!(start.elapsed() >= Duration::from_millis(200));
            })
            .unwrap();
        assert!(
            found.toxics().unwrap().is_empty(),
            "apply removes its toxics"
        );

        found
            .with_limit_data("downstream".into(), 2, 1.0)
            .apply(|| {
                assert!(echo(b"abcd").is_err(), "cut after 2 bytes");
            })
            .unwrap();

        // Every toxic builder it has is accepted, and it parses our list back.
        found
            .with_bandwidth("upstream".into(), 32, 1.0)
            .with_slow_close("downstream".into(), 10, 0.5)
            .with_timeout("upstream".into(), 0, 0.0)
            .with_slicer("downstream".into(), 2048, 128, 0, 0.8);
        let listed = found.toxics().unwrap();
        let mut kinds: Vec<String> = listed.iter().map(|toxic| toxic.r#type.clone()).collect();
        kinds.sort();
        assert_eq!(kinds, ["bandwidth", "slicer", "slow_close", "timeout"]);
        let slicer = listed
            .iter()
            .find(|toxic| toxic.r#type == "slicer")
            .unwrap();
        assert_eq!(slicer.attributes["average_size"], 2048);
        assert_eq!(slicer.attributes["size_variation"], 128);
        found.delete_all_toxics().unwrap();

        found
            .with_down(|| {
                assert!(std::net::TcpStream::connect(listen).is_err());
            })
            .unwrap();
        assert_eq!(echo(b"up again").unwrap(), b"up again");

        let all = client.all().unwrap();
        assert!(all.contains_key("echo"));
        client.reset().unwrap();
        found.delete().unwrap();
        assert!(client.find_proxy("echo").is_err());
    })
    .await
    .unwrap();
    proxy.stop().await.unwrap();
}
