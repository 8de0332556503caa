//! The `gameday proxy` command: loopback default, `--allow-remote`, `--config`,
//! the raised open-file limit.

use super::start_proxy_process;

#[tokio::test]
async fn serves_the_api_with_proxies_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("proxies.json");
    std::fs::write(
        &config,
        r#"[{"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379"},{"name":"pg","listen":"127.0.0.1:0","upstream":"127.0.0.1:5432","enabled":false}]"#,
    )
    .unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
    command
        .args(["proxy", "--seed", "7", "--config"])
        .arg(&config);
    let (mut child, client) = start_proxy_process(command).await;
    let proxies = client.proxies().await.unwrap();
    assert_eq!(proxies.len(), 2);
    assert!(proxies["redis"].enabled);
    assert!(!proxies["pg"].enabled);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn raises_its_open_file_soft_limit_to_the_hard_limit() {
    // Started with a soft limit of 256 (the hard limit is inherited).
    let mut command = tokio::process::Command::new("sh");
    command
        .args(["-c", r#"ulimit -Sn 256 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_gameday"))
        .arg("proxy");
    let (mut child, _client) = start_proxy_process(command).await;
    let pid = child.id().unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open-file limit in {limits}"));
    // "Max open files  <soft>  <hard>  files"
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[3], fields[4], "{line}");
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
