//! The `gameday proxy` command: loopback default, `--allow-remote`, `--config`.

use std::process::Stdio;
use std::time::Duration;

use gameday::faults::toxiproxy::Client;

#[tokio::test]
async fn serves_the_api_with_proxies_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("proxies.json");
    std::fs::write(
        &config,
        r#"[{"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379"},{"name":"pg","listen":"127.0.0.1:0","upstream":"127.0.0.1:5432","enabled":false}]"#,
    )
    .unwrap();
    let port = {
        let (listener, address) = crate::util::loopback_listener().await;
        drop(listener);
        address.port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "proxy",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--seed",
            "7",
            "--config",
        ])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = Client::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let mut proxies = None;
    for _ in 0..200 {
        if let Ok(found) = client.proxies().await {
            proxies = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let proxies = proxies.expect("the API comes up within 10 s");
    assert_eq!(proxies.len(), 2);
    assert!(proxies["redis"].enabled);
    assert!(!proxies["pg"].enabled);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn refuses_a_remote_api_without_the_flag() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["proxy", "--listen", "0.0.0.0:0"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[tokio::test]
async fn rejects_an_invalid_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.json");
    std::fs::write(&config, r#"[{"name":"x"}]"#).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("missing required field: upstream at proxy 1"),
        "{stderr}"
    );
}
