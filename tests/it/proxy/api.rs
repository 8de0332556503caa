//! API conformance: each route's status codes, headers and bodies as
//! Toxiproxy 2.12 answers them, errors included.

use super::{call, call_with, create_proxy, echo_server, start_proxy};
use crate::util::loopback_listener;

const TEXT: &str = "text/plain; charset=utf-8";

#[tokio::test]
async fn version_and_empty_list() {
    let proxy = start_proxy().await;
    let version = call(&proxy, "GET", "/version", None).await;
    assert_eq!(version.status, 200);
    // Toxiproxy's answer plus `instance`, this server's random id (an extra
    // field Toxiproxy clients ignore).
    let answer: serde_json::Value = serde_json::from_str(&version.body).expect("JSON");
    assert_eq!(answer["version"], "2.12.0");
    let instance = answer["instance"].as_str().expect("instance id");
    assert_eq!(instance, proxy.server().instance());
    assert_eq!(instance.len(), 32);
    // Random per server, not from the seed: two servers seeded alike differ.
    let other = start_proxy().await;
    assert_ne!(other.server().instance(), instance);
    other.stop().await.unwrap();
    assert!(version.body.ends_with("}\n"));
    assert_eq!(
        version.content_type.as_deref(),
        Some("application/json;charset=utf-8")
    );
    let list = call(&proxy, "GET", "/proxies", None).await;
    assert_eq!((list.status, list.body.as_str()), (200, "{}"));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_browsers() {
    let proxy = start_proxy().await;
    for path in ["/nope", "/proxies/", "/proxies/a/b/c/d"] {
        let answer = call(&proxy, "GET", path, None).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.body, "404 page not found\n");
        assert_eq!(answer.content_type.as_deref(), Some(TEXT));
    }
    for (method, path) in [
        ("DELETE", "/version"),
        ("GET", "/reset"),
        ("PUT", "/proxies"),
        ("HEAD", "/proxies"),
    ] {
        let answer = call(&proxy, method, path, None).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.body, "");
    }
    let unclean = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}//proxies", proxy.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unclean.status().as_u16(), 301);
    assert_eq!(unclean.headers()["location"], "/proxies");
    let browser = call_with(&proxy, "GET", "/proxies", None, Some("Mozilla/5.0 (X11)")).await;
    assert_eq!(browser.status, 403);
    assert_eq!(browser.body, "User agent not allowed\n");
    let request_id = browser
        .headers
        .get("x-toxiproxy-request-id")
        .expect("request id");
    assert_eq!(request_id.len(), 20);
    let cli = call_with(
        &proxy,
        "GET",
        "/proxies",
        None,
        Some("toxiproxy-cli/2.12.0 (linux/amd64)"),
    )
    .await;
    assert_eq!(cli.status, 200);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn create_proxy_answers_201_with_the_bound_address() {
    let proxy = start_proxy().await;
    let created = call(
        &proxy,
        "POST",
        "/proxies",
        Some(
            r#"{"name":"p1","listen":"localhost:0","upstream":"127.0.0.1:1","toxics":[]} trailing"#,
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let value: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    let listen = value["listen"].as_str().unwrap();
    assert!(
        listen.starts_with("127.0.0.1:") && !listen.ends_with(":0"),
        "{listen}"
    );
    assert_eq!(
        created.body,
        format!(
            r#"{{"name":"p1","listen":"{listen}","upstream":"127.0.0.1:1","enabled":true,"Logger":{{}},"toxics":[]}}"#
        )
    );
    let again = call(
        &proxy,
        "POST",
        "/proxies",
        Some(r#"{"name":"p1","upstream":"x:1"}"#),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        "{\"error\":\"proxy already exists\",\"status\":409}\n"
    );
    assert_eq!(again.content_type.as_deref(), Some(TEXT));
    let shown = call(&proxy, "GET", "/proxies/p1", None).await;
    assert_eq!(
        (shown.status, shown.body.as_str()),
        (200, created.body.as_str())
    );
    let listed = call(&proxy, "GET", "/proxies", None).await;
    assert_eq!(listed.body, format!(r#"{{"p1":{}}}"#, created.body));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn create_proxy_errors() {
    let proxy = start_proxy().await;
    let cases = [
        ("", 400, "bad request body: EOF"),
        (r#"{"upstream":"x:1"}"#, 400, "missing required field: name"),
        (r#"{"name":"a"}"#, 400, "missing required field: upstream"),
        (
            r#"{"name":"a","upstream":"x:1","listen":"bogus"}"#,
            500,
            "address bogus: missing port in address",
        ),
    ];
    for (body, status, message) in cases {
        let answer = call(&proxy, "POST", "/proxies", Some(body)).await;
        assert_eq!(answer.status, status, "{body}");
        assert_eq!(
            answer.body,
            format!("{{\"error\":\"{message}\",\"status\":{status}}}\n"),
            "{body}"
        );
    }
    let garbage = call(&proxy, "POST", "/proxies", Some("garbage")).await;
    assert_eq!(garbage.status, 400);
    assert!(
        garbage.body.starts_with("{\"error\":\"bad request body: "),
        "{}",
        garbage.body
    );
    // A port in use: 500 and the proxy is not created.
    let (_taken, address) = loopback_listener().await;
    let body = format!(r#"{{"name":"busy","listen":"{address}","upstream":"x:1"}}"#);
    let busy = call(&proxy, "POST", "/proxies", Some(&body)).await;
    assert_eq!(busy.status, 500, "{}", busy.body);
    assert_eq!(call(&proxy, "GET", "/proxies/busy", None).await.status, 404);
    // Disabled: the listen text is echoed, not resolved.
    let disabled = call(
        &proxy,
        "POST",
        "/proxies",
        Some(r#"{"name":"off","listen":"localhost:3310","upstream":"x:1","enabled":false}"#),
    )
    .await;
    assert_eq!(disabled.status, 201);
    assert!(
        disabled
            .body
            .contains(r#""listen":"localhost:3310","upstream":"x:1","enabled":false"#),
        "{}",
        disabled.body
    );
    let oversized = "x".repeat(2 * 1024 * 1024);
    assert_eq!(
        call(&proxy, "POST", "/proxies", Some(&oversized))
            .await
            .status,
        413
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn update_enable_disable_and_delete() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "p", upstream).await;
    let down = call(&proxy, "PATCH", "/proxies/p", Some(r#"{"enabled":false}"#)).await;
    assert_eq!(down.status, 200);
    assert!(
        down.body.contains(&format!(
            r#""listen":"{listen}","upstream":"{upstream}","enabled":false"#
        )),
        "{}",
        down.body
    );
    assert!(
        tokio::net::TcpStream::connect(listen).await.is_err(),
        "a disabled proxy refuses"
    );
    let up = call(&proxy, "POST", "/proxies/p", Some(r#"{"enabled":true}"#)).await;
    assert_eq!(up.status, 200);
    assert!(up.body.contains(r#""enabled":true"#));
    assert!(
        tokio::net::TcpStream::connect(listen).await.is_ok(),
        "re-enabled on the same port"
    );
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/p", Some("")).await.body,
        "{\"error\":\"bad request body: EOF\",\"status\":400}\n"
    );
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/p", Some(r#"{"listen":"bogus"}"#))
            .await
            .status,
        500
    );
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/zz", Some("{}")).await.body,
        "{\"error\":\"proxy not found\",\"status\":404}\n"
    );
    let deleted = call(&proxy, "DELETE", "/proxies/p", None).await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    assert_eq!(call(&proxy, "DELETE", "/proxies/p", None).await.status, 404);
    assert!(
        tokio::net::TcpStream::connect(listen).await.is_err(),
        "a deleted proxy's port is closed"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn populate_creates_keeps_and_replaces() {
    let proxy = start_proxy().await;
    let (free, port) = {
        let (listener, address) = loopback_listener().await;
        drop(listener);
        (address, address.port())
    };
    let body = format!(
        r#"[{{"name":"a","listen":"127.0.0.1:{port}","upstream":"x:1"}},{{"name":"b","listen":"127.0.0.1:0","upstream":"x:2","enabled":false}}]"#
    );
    let first = call(&proxy, "POST", "/populate", Some(&body)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let value: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(value["proxies"][0]["listen"], free.to_string());
    assert_eq!(value["proxies"][1]["enabled"], false);
    super::add_toxic(
        &proxy,
        "a",
        r#"{"type":"latency","attributes":{"latency":5}}"#,
    )
    .await;
    // Same listen and upstream: kept untouched, toxics included.
    let again = call(&proxy, "POST", "/populate", Some(&body)).await;
    assert_eq!(again.status, 201);
    let value: serde_json::Value = serde_json::from_str(&again.body).unwrap();
    assert_eq!(
        value["proxies"][0]["toxics"].as_array().map(Vec::len),
        Some(1)
    );
    // A different upstream replaces the proxy and drops its toxics.
    let changed = format!(r#"[{{"name":"a","listen":"127.0.0.1:{port}","upstream":"x:9"}}]"#);
    let replaced = call(&proxy, "POST", "/populate", Some(&changed)).await;
    let value: serde_json::Value = serde_json::from_str(&replaced.body).unwrap();
    assert_eq!(value["proxies"][0]["toxics"], serde_json::json!([]));
    assert_eq!(value["proxies"][0]["upstream"], "x:9");

    let empty = call(&proxy, "POST", "/populate", Some("[]")).await;
    assert_eq!(
        (empty.status, empty.body.as_str()),
        (201, r#"{"proxies":[]}"#)
    );
    let object = call(&proxy, "POST", "/populate", Some("{}")).await;
    assert_eq!(object.status, 400);
    let invalid = call(
        &proxy,
        "POST",
        "/populate",
        Some(r#"[{"name":"c","upstream":"x:1"},{"name":"d"}]"#),
    )
    .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body,
        r#"{"error":"missing required field: upstream at proxy 2","status":400,"proxies":null}"#
    );
    assert_eq!(invalid.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        call(&proxy, "GET", "/proxies/c", None).await.status,
        404,
        "nothing created"
    );
    // A bind failure on the second entry: 500 with the first one created.
    let (_taken, busy) = loopback_listener().await;
    let partial = format!(
        r#"[{{"name":"r1","listen":"127.0.0.1:0","upstream":"x:1"}},{{"name":"r2","listen":"{busy}","upstream":"x:1"}},{{"name":"r3","upstream":"x:1"}}]"#
    );
    let failed = call(&proxy, "POST", "/populate", Some(&partial)).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    let value: serde_json::Value = serde_json::from_str(&failed.body).unwrap();
    assert_eq!(value["proxies"].as_array().map(Vec::len), Some(1));
    assert_eq!(value["proxies"][0]["name"], "r1");
    assert_eq!(call(&proxy, "GET", "/proxies/r3", None).await.status, 404);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn reset_enables_everything_and_removes_toxics() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    create_proxy(&proxy, "p", upstream).await;
    super::add_toxic(
        &proxy,
        "p",
        r#"{"type":"latency","attributes":{"latency":5}}"#,
    )
    .await;
    call(&proxy, "PATCH", "/proxies/p", Some(r#"{"enabled":false}"#)).await;
    let reset = call(&proxy, "POST", "/reset", Some("ignored")).await;
    assert_eq!((reset.status, reset.body.as_str()), (204, ""));
    let shown = call(&proxy, "GET", "/proxies/p", None).await;
    assert!(
        shown
            .body
            .contains(r#""enabled":true,"Logger":{},"toxics":[]"#),
        "{}",
        shown.body
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn toxic_create_list_update_delete() {
    let proxy = start_proxy().await;
    let (upstream, _echo) = echo_server().await;
    create_proxy(&proxy, "p", upstream).await;
    let created = call(
        &proxy,
        "POST",
        "/proxies/p/toxics",
        Some(r#"{"type":"latency","attributes":{"latency":100}}"#),
    )
    .await;
    assert_eq!(created.status, 200);
    assert_eq!(
        created.body,
        r#"{"attributes":{"latency":100,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}"#
    );
    let up = call(
        &proxy,
        "POST",
        "/proxies/p/toxics",
        Some(r#"{"name":"cut","type":"limit_data","stream":"UpStream","toxicity":0.5,"attributes":{"bytes":7,"junk":1}}"#),
    )
    .await;
    assert_eq!(
        up.body,
        r#"{"attributes":{"bytes":7},"name":"cut","type":"limit_data","stream":"upstream","toxicity":0.5}"#
    );
    let list = call(&proxy, "GET", "/proxies/p/toxics", None).await;
    assert_eq!(
        list.body,
        format!("[{},{}]", up.body, created.body),
        "upstream toxics first"
    );
    let errors = [
        (
            r#"{"type":"latency","stream":""}"#,
            400,
            "stream was invalid, can be either upstream or downstream",
        ),
        (r#"{"type":"down"}"#, 400, "invalid toxic type"),
        (r#"{"stream":"upstream"}"#, 400, "invalid toxic type"),
        (r#"{"type":"latency"}"#, 409, "toxic already exists"),
        (
            r#"{"name":"cut","type":"noop"}"#,
            409,
            "toxic already exists",
        ),
        (r#"{"type":"bandwidth","attributes":{"rate":0}}"#, 400, ""),
        (r#"{"type":"slicer"}"#, 400, ""),
        ("", 400, "bad request body: EOF"),
    ];
    for (body, status, message) in errors {
        let answer = call(&proxy, "POST", "/proxies/p/toxics", Some(body)).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert!(answer.body.contains(message), "{body}: {}", answer.body);
    }
    let fractional = call(
        &proxy,
        "POST",
        "/proxies/p/toxics",
        Some(r#"{"name":"f","type":"latency","attributes":{"latency":1.5}}"#),
    )
    .await;
    assert_eq!(fractional.status, 400);
    assert!(
        fractional.body.contains("LatencyToxic.attributes.latency"),
        "{}",
        fractional.body
    );
    assert_eq!(
        call(&proxy, "POST", "/proxies/zz/toxics", Some("{}"))
            .await
            .status,
        404
    );

    let updated = call(
        &proxy,
        "PATCH",
        "/proxies/p/toxics/latency_downstream",
        Some(r#"{"name":"ignored","type":"noop","attributes":{"jitter":5}}"#),
    )
    .await;
    assert_eq!(
        updated.body,
        r#"{"attributes":{"latency":100,"jitter":5},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}"#
    );
    let via_post = call(
        &proxy,
        "POST",
        "/proxies/p/toxics/cut",
        Some(r#"{"toxicity":1}"#),
    )
    .await;
    assert!(
        via_post.body.ends_with(r#""toxicity":1}"#),
        "{}",
        via_post.body
    );
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/p/toxics/cut", Some(""))
            .await
            .status,
        400
    );
    assert_eq!(
        call(&proxy, "PATCH", "/proxies/p/toxics/nope", Some("{}"))
            .await
            .body,
        "{\"error\":\"toxic not found\",\"status\":404}\n"
    );
    let shown = call(&proxy, "GET", "/proxies/p/toxics/cut", None).await;
    assert_eq!(shown.status, 200);
    let removed = call(&proxy, "DELETE", "/proxies/p/toxics/cut", None).await;
    assert_eq!((removed.status, removed.body.as_str()), (204, ""));
    assert_eq!(
        call(&proxy, "DELETE", "/proxies/p/toxics/cut", None)
            .await
            .status,
        404
    );
    assert_eq!(
        call(&proxy, "GET", "/proxies/p/toxics/cut", None)
            .await
            .status,
        404
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn toxics_on_a_disabled_proxy_survive_enable() {
    let proxy = start_proxy().await;
    let created = call(
        &proxy,
        "POST",
        "/proxies",
        Some(r#"{"name":"off","listen":"127.0.0.1:0","upstream":"x:1","enabled":false}"#),
    )
    .await;
    assert_eq!(created.status, 201);
    super::add_toxic(
        &proxy,
        "off",
        r#"{"type":"timeout","attributes":{"timeout":10}}"#,
    )
    .await;
    let enabled = call(&proxy, "PATCH", "/proxies/off", Some(r#"{"enabled":true}"#)).await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert!(
        enabled.body.contains(r#""type":"timeout""#),
        "{}",
        enabled.body
    );
    proxy.stop().await.unwrap();
}
