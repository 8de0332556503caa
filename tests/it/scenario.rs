//! The scenario language end to end: files on disk through `scenario::load`,
//! every validation rule with a failing example, the JSON Schema, and the
//! `gameday validate` / `gameday schema` commands as a user runs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gameday::lab::llm_proxy::Rule as LlmRule;
use gameday::lab::llm_sim::Mode;
use gameday::lab::services::ServiceKind;
use gameday::plan::Plan;
use gameday::scenario::{
    self, AlertExpectation, AlertRule, Arrivals, BreakerExpectation, BreakerState,
    BudgetExpectation, Capability, CapabilityExpectation, Comparison, Diagnostics, Fault, Mix, Op,
    PhaseExpectations, Price, Rule, RuleMetric, Scenario, Stream, Target, TimelineEntry, Toxic,
    ToxicKind, Toxiproxy, Traffic,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(name)
}

fn load_ok(name: &str) -> Scenario {
    match scenario::load(fixture(name)) {
        Ok(scenario) => scenario,
        Err(diagnostics) => panic!("{name} should be valid:\n{diagnostics}"),
    }
}

fn parse_err(text: &str) -> Diagnostics {
    match scenario::parse_str("test.yaml", text) {
        Ok(scenario) => panic!("should be invalid, got {scenario:?}"),
        Err(diagnostics) => diagnostics,
    }
}

fn seconds(value: u64) -> Duration {
    Duration::from_secs(value)
}

fn millis(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn below<T>(value: T) -> Comparison<T> {
    Comparison { op: Op::Lt, value }
}

#[test]
fn a_full_file_decodes_to_the_expected_model() {
    let scenario = load_ok("full.yaml");
    let attributes = |pairs: &[(&str, i64)]| -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), serde_json::Value::from(*value)))
            .collect()
    };
    let expected_timeline = vec![
        TimelineEntry {
            name: "redis-down".into(),
            at: seconds(60),
            duration: seconds(60),
            maintenance: false,
            fault: Fault::Kill {
                service: ServiceKind::Redis,
            },
        },
        TimelineEntry {
            name: "redis-hang".into(),
            at: seconds(60),
            duration: seconds(20),
            maintenance: false,
            fault: Fault::Freeze {
                service: ServiceKind::Redis,
            },
        },
        TimelineEntry {
            name: "slow-db".into(),
            at: seconds(130),
            duration: seconds(30),
            maintenance: false,
            fault: Fault::Toxic {
                proxy: "postgres".into(),
                toxic: Toxic {
                    kind: ToxicKind::Latency,
                    attributes: attributes(&[("latency", 300), ("jitter", 50)]),
                    stream: Stream::Upstream,
                    toxicity: 0.5,
                },
            },
        },
        TimelineEntry {
            name: "primary-503".into(),
            at: seconds(30),
            duration: seconds(20),
            maintenance: true,
            fault: Fault::Llm {
                provider: "primary".into(),
                mode: LlmRule::all(
                    Mode::parse(r#"{"mode":"errors","rate":1.0,"status":503}"#)
                        .expect("a valid mode"),
                ),
            },
        },
        TimelineEntry {
            name: "node-drain".into(),
            at: seconds(165),
            duration: seconds(10),
            maintenance: false,
            fault: Fault::Exec {
                command: "kubectl cordon node-1".into(),
                revert: "kubectl uncordon node-1".into(),
                timeout: seconds(30),
            },
        },
    ];
    let every =
        |expectation: CapabilityExpectation| -> BTreeMap<Capability, CapabilityExpectation> {
            Capability::ALL
                .into_iter()
                .map(|capability| (capability, expectation))
                .collect()
        };
    let expected_expect = vec![
        PhaseExpectations {
            phase: "baseline".into(),
            error_rate: Some(below(0.001)),
            p99: Some(below(seconds(2))),
            ttft_p95: Some(Comparison {
                op: Op::Le,
                value: millis(800),
            }),
            capabilities: every(CapabilityExpectation::Holds(true)),
            ..PhaseExpectations::default()
        },
        PhaseExpectations {
            phase: "redis-down".into(),
            error_rate: Some(below(0.001)),
            capabilities: BTreeMap::from([
                (
                    Capability::Caching,
                    CapabilityExpectation::Becomes {
                        value: false,
                        within: seconds(5),
                    },
                ),
                (
                    Capability::RealTimeUsage,
                    CapabilityExpectation::Becomes {
                        value: false,
                        within: seconds(5),
                    },
                ),
                (Capability::Chat, CapabilityExpectation::Holds(true)),
            ]),
            breakers: BTreeMap::from([(
                "primary".to_string(),
                BreakerExpectation::Stays(BreakerState::Closed),
            )]),
            providers: BTreeMap::from([(
                "primary".to_string(),
                Comparison {
                    op: Op::Gt,
                    value: 0.9,
                },
            )]),
            ..PhaseExpectations::default()
        },
        PhaseExpectations {
            phase: "primary-503".into(),
            breakers: BTreeMap::from([(
                "primary".to_string(),
                BreakerExpectation::OpensWithin(seconds(10)),
            )]),
            providers: BTreeMap::from([(
                "fallback".to_string(),
                Comparison {
                    op: Op::Gt,
                    value: 0.9,
                },
            )]),
            ..PhaseExpectations::default()
        },
        PhaseExpectations {
            phase: "between".into(),
            error_rate: Some(below(0.01)),
            ..PhaseExpectations::default()
        },
        PhaseExpectations {
            phase: "recovery".into(),
            capabilities: every(CapabilityExpectation::Returns {
                within: seconds(15),
            }),
            recovery_time: Some(below(seconds(30))),
            ..PhaseExpectations::default()
        },
        PhaseExpectations {
            phase: "run".into(),
            budget: Some(BudgetExpectation::Within),
            alerts: BTreeMap::from([
                ("error-rate-1pct-5m".to_string(), AlertExpectation::NotFired),
                ("p95-5s-10m".to_string(), AlertExpectation::NotFired),
                (
                    "error-rate-5pct-30s".to_string(),
                    AlertExpectation::FiredWithin(seconds(120)),
                ),
            ]),
            conclusive: Some(true),
            ..PhaseExpectations::default()
        },
    ];
    let mut expected_alerts = scenario::builtin_alerts();
    expected_alerts.push(AlertRule {
        name: "error-rate-5pct-30s".into(),
        rule: Rule {
            metric: RuleMetric::ErrorRate,
            op: Op::Gt,
            threshold: 0.05,
            window: seconds(30),
        },
        builtin: false,
    });
    let text = std::fs::read_to_string(fixture("full.yaml")).expect("read the fixture");
    let expected = Scenario {
        name: "redis-killed".into(),
        description: Some(
            "Redis dies under load. Chat must keep answering without the cache.".into(),
        ),
        availability: 0.999,
        target: Target::Lab,
        toxiproxy: Some(Toxiproxy::Embedded),
        traffic: Traffic {
            rate: 100.0,
            arrivals: Arrivals::Poisson,
            warmup: seconds(20),
            duration: seconds(180),
            mix: Mix {
                chat: 80.0,
                chat_stream: 15.0,
                history: 5.0,
            },
            conversations: 500,
            turns_per_conversation: Some(8),
            timeout: seconds(10),
            max_in_flight: 2000,
            seed: Some(42),
        },
        production_rate: Some(50.0),
        prices: BTreeMap::from([
            (
                "primary".to_string(),
                Price {
                    input_per_mtok: 0.15,
                    output_per_mtok: 0.6,
                },
            ),
            (
                "fallback".to_string(),
                Price {
                    input_per_mtok: 3.0,
                    output_per_mtok: 15.0,
                },
            ),
        ]),
        timeline: expected_timeline,
        expect: expected_expect,
        alerts: expected_alerts,
        halt: vec![
            Rule {
                metric: RuleMetric::ErrorRate,
                op: Op::Gt,
                threshold: 0.2,
                window: seconds(10),
            },
            Rule {
                metric: RuleMetric::P99,
                op: Op::Gt,
                threshold: 30.0,
                window: seconds(30),
            },
        ],
        recovery: seconds(30),
        source: scenario::ScenarioSource {
            path: fixture("full.yaml").display().to_string(),
            text,
        },
        monitoring: None,
    };
    // Field by field first, for a readable failure; then the whole value.
    assert_eq!(scenario.traffic, expected.traffic);
    assert_eq!(scenario.timeline, expected.timeline);
    assert_eq!(scenario.expect, expected.expect);
    assert_eq!(scenario.alerts, expected.alerts);
    assert_eq!(scenario, expected);
}

#[test]
fn the_model_round_trips_through_its_json_form() {
    let scenario = load_ok("full.yaml");
    let json = serde_json::to_string(&scenario).expect("serialize");
    let back: Scenario = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, scenario);
}

#[test]
fn defaults_fill_a_minimal_file() {
    let scenario =
        scenario::parse_str("m.yaml", "name: m\ntraffic: { rate: 10/s, duration: 1m }\n")
            .expect("a minimal file is valid");
    assert_eq!(scenario.availability, 0.999);
    assert_eq!(scenario.target, Target::Lab);
    assert_eq!(scenario.toxiproxy, Some(Toxiproxy::Embedded));
    assert_eq!(scenario.traffic.arrivals, Arrivals::Poisson);
    assert_eq!(scenario.traffic.warmup, seconds(10));
    assert_eq!(scenario.traffic.timeout, seconds(10));
    assert_eq!(scenario.recovery, seconds(30));
    let names: Vec<&str> = scenario.alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["error-rate-1pct-5m", "p95-5s-10m"]);
    assert!(scenario.timeline.is_empty());
}

#[test]
fn an_external_target_keeps_header_templates_and_resolves_them_late() {
    let text = "\
name: staging
target:
  url: https://agents.staging.example.com/
  paths: { chat: /api/chat }
  headers: { Authorization: \"Bearer ${GAMEDAY_TEST_TOKEN}\" }
  toxiproxy: http://toxiproxy.staging:8474
  proxies: [redis, postgres]
traffic: { rate: 10/s, duration: 1m }
timeline:
  - { name: cut-db, at: 10s, for: 10s, fault: { proxy_down: postgres } }
  - { name: drain, at: 30s, for: 10s, fault: { exec: 'kubectl cordon n1', revert: 'kubectl uncordon n1' } }
";
    let scenario = scenario::parse_str("s.yaml", text).unwrap_or_else(|d| panic!("{d}"));
    let Target::External(external) = &scenario.target else {
        panic!("external target expected")
    };
    assert_eq!(external.url, "https://agents.staging.example.com");
    assert_eq!(external.paths.chat, "/api/chat");
    assert_eq!(external.paths.health, "/health");
    assert_eq!(external.headers[0].template, "Bearer ${GAMEDAY_TEST_TOKEN}");
    assert_eq!(
        scenario.toxiproxy,
        Some(Toxiproxy::Url("http://toxiproxy.staging:8474".into()))
    );
    let headers = external
        .resolve_headers_with(|name| (name == "GAMEDAY_TEST_TOKEN").then(|| "t0k".to_string()))
        .expect("resolves");
    assert_eq!(headers[0].1.expose(), "Bearer t0k");
    assert!(!format!("{headers:?}").contains("t0k"));
}

#[test]
fn every_url_of_an_external_target_may_read_the_environment() {
    let text = "\
name: staging
target:
  url: https://${GAMEDAY_TEST_HOST}/
  toxiproxy: ${GAMEDAY_TEST_TOXIPROXY}
  llm_proxies: { primary: 'http://127.0.0.1:${GAMEDAY_TEST_GW_PORT}' }
traffic: { rate: 10/s, duration: 1m }
timeline:
  - { name: cut-db, at: 10s, for: 10s, fault: { proxy_down: postgres } }
";
    let scenario = scenario::parse_str("s.yaml", text).unwrap_or_else(|d| panic!("{d}"));
    let Target::External(external) = &scenario.target else {
        panic!("external target expected")
    };
    // Kept as written (the file is read without the environment) ...
    assert_eq!(external.url, "https://${GAMEDAY_TEST_HOST}");
    // ... and filled in when a run starts.
    let lookup = |name: &str| match name {
        "GAMEDAY_TEST_HOST" => Some("agents.staging:8443".to_string()),
        "GAMEDAY_TEST_TOXIPROXY" => Some("http://toxiproxy:8474/".to_string()),
        "GAMEDAY_TEST_GW_PORT" => Some("8611".to_string()),
        _ => None,
    };
    let addresses = external
        .addresses_with(scenario.toxiproxy.as_ref(), &lookup)
        .expect("fills");
    assert_eq!(addresses.url, "https://agents.staging:8443");
    assert_eq!(
        addresses.toxiproxy.as_deref(),
        Some("http://toxiproxy:8474")
    );
    assert_eq!(addresses.llm_proxies["primary"], "http://127.0.0.1:8611");
    let missing = external
        .addresses_with(scenario.toxiproxy.as_ref(), &|_: &str| None)
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "`target.url` needs the environment variable `GAMEDAY_TEST_HOST`, which is not set"
    );

    // What cannot become an http(s) URL is refused where it is written.
    for (bad, message) in [
        (
            "url: agents.staging:8443",
            "must be an http:// or https:// URL",
        ),
        ("url: https://${HOST", "unterminated `${`"),
        ("url: 'http://${1X}'", "not a valid variable reference"),
    ] {
        let diagnostics = parse_err(&text.replacen("url: https://${GAMEDAY_TEST_HOST}/", bad, 1));
        assert!(
            diagnostics
                .iter()
                .any(|d| d.line == 3 && d.message.contains(message)),
            "{bad}: {diagnostics}"
        );
    }
}

/// Where a diagnostic was expected: line, column, a piece of the message and
/// (optionally) of the help.
struct Expected<'a> {
    line: usize,
    column: usize,
    message: &'a str,
    help: Option<&'a str>,
}

fn assert_reported(diagnostics: &Diagnostics, expected: &Expected) {
    let found = diagnostics.iter().any(|diagnostic| {
        diagnostic.line == expected.line
            && diagnostic.column == expected.column
            && diagnostic.message.contains(expected.message)
            && match expected.help {
                Some(help) => diagnostic.help.as_deref().is_some_and(|h| h.contains(help)),
                None => true,
            }
    });
    assert!(
        found,
        "expected {}:{} `{}` (help {:?}) in:\n{diagnostics}",
        expected.line, expected.column, expected.message, expected.help
    );
}

#[test]
fn an_invalid_file_reports_every_problem_located_in_one_pass() {
    let diagnostics = match scenario::load(fixture("invalid.yaml")) {
        Ok(_) => panic!("invalid.yaml must be rejected"),
        Err(diagnostics) => diagnostics,
    };
    let expected = [
        Expected {
            line: 2,
            column: 15,
            message: "`availability` must be above 0% and below 100%",
            help: None,
        },
        Expected {
            line: 6,
            column: 3,
            message: "unknown key `durtion` in `traffic`",
            help: Some("did you mean `duration`?"),
        },
        Expected {
            line: 7,
            column: 11,
            message: "`traffic.warmup` needs a unit",
            help: Some("`10s`"),
        },
        Expected {
            line: 13,
            column: 14,
            message: "unknown key `kil`",
            help: Some("did you mean `kill`?"),
        },
        Expected {
            line: 17,
            column: 57,
            message: "`timeline[1].fault.latency` must be >= 0",
            help: None,
        },
        // A semantic rule on an entry that decoded, next to broken ones.
        Expected {
            line: 21,
            column: 26,
            message: "the lab has no proxy `mysql`",
            help: None,
        },
        Expected {
            line: 24,
            column: 17,
            message: "no comparison operator",
            help: None,
        },
        Expected {
            line: 26,
            column: 33,
            message: "unknown key `cachng`",
            help: Some("did you mean `caching`?"),
        },
    ];
    for item in &expected {
        assert_reported(&diagnostics, item);
    }
    // Rendered like rustc, file:line:col and a caret under the offending text.
    let rendered = diagnostics.to_string();
    assert!(rendered.contains("invalid.yaml:6:3\n"), "{rendered}");
    assert!(
        rendered.contains("6 |   durtion: 3m\n  |   ^^^^^^^\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("= help: did you mean `duration`?"),
        "{rendered}"
    );
    // Sorted by position.
    let lines: Vec<usize> = diagnostics.iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn semantic_problems_of_sound_sections_are_all_reported_together() {
    let diagnostics = match scenario::load(fixture("semantic.yaml")) {
        Ok(_) => panic!("semantic.yaml must be rejected"),
        Err(diagnostics) => diagnostics,
    };
    assert!(diagnostics.len() >= 12, "{diagnostics}");
    assert_reported(
        &diagnostics,
        &Expected {
            line: 25,
            column: 3,
            message: "there is no phase `baselin`",
            help: Some("did you mean `baseline`?"),
        },
    );
    assert_reported(
        &diagnostics,
        &Expected {
            line: 15,
            column: 37,
            message: "the lab has no proxy `postgress`",
            help: Some("did you mean `postgres`?"),
        },
    );
    assert_reported(
        &diagnostics,
        &Expected {
            line: 32,
            column: 15,
            message: "there is no alert rule `error-rate-1pct-5n`",
            help: Some("did you mean `error-rate-1pct-5m`?"),
        },
    );
}

/// A valid base scenario; each rule test changes one part of it.
const BASE: &str = "\
name: base
traffic:
  rate: 10/s
  warmup: 5s
  duration: 2m
timeline:
  - name: redis-down
    at: 10s
    for: 20s
    fault: { kill: redis }
";

/// Replaces `from` in BASE by `to` (which must change it) and expects a
/// diagnostic on `line` whose message contains `message`.
fn check_rule(from: &str, to: &str, line: usize, message: &str) {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    let text = BASE.replacen(from, to, 1);
    let diagnostics = parse_err(&text);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.line == line && d.message.contains(message)),
        "expected line {line} `{message}` for {to:?}, got:\n{diagnostics}"
    );
}

/// Appends `extra` to BASE and expects a diagnostic on `line` containing `message`.
fn check_appended(extra: &str, line: usize, message: &str) {
    let text = format!("{BASE}{extra}");
    let diagnostics = parse_err(&text);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.line == line && d.message.contains(message)),
        "expected line {line} `{message}` for {extra:?}, got:\n{diagnostics}"
    );
}

#[test]
fn the_base_scenario_is_valid() {
    assert!(scenario::parse_str("base.yaml", BASE).is_ok());
}

#[test]
fn every_semantic_rule_has_a_failing_example() {
    // Durations > 0 and sane.
    check_rule("warmup: 5s", "warmup: 0s", 4, "must be longer than 0s");
    check_rule("duration: 2m", "duration: 30000h", 5, "7-day limit");
    check_rule("duration: 2m", "duration: 2y", 5, "unknown unit");
    check_rule("rate: 10/s", "rate: 1000000000/s", 3, "and 1000000/s");
    check_rule("rate: 10/s", "rate: 0/s", 3, "between 0.001/s and");
    // `for` = 0, and a fault that ends after the run.
    check_rule("for: 20s", "for: 0s", 9, "must be longer than 0s");
    check_rule("at: 10s", "at: 110s", 9, "ends at 130s after the warm-up");
    // Negative toxic latency.
    check_rule(
        "fault: { kill: redis }",
        "fault: { toxic: latency, proxy: redis, latency: -300ms }",
        10,
        "negative",
    );
    check_rule(
        "fault: { kill: redis }",
        "fault: { toxic: bandwidth, proxy: redis, rate: 0 }",
        10,
        "must be > 0",
    );
    check_rule(
        "fault: { kill: redis }",
        "fault: { toxic: latency, proxy: redis }",
        10,
        "needs `latency`",
    );
    // Duplicate timeline names.
    check_appended(
        "  - { name: redis-down, at: 40s, for: 5s, fault: { freeze: redis } }\n",
        11,
        "used by an earlier timeline entry",
    );
    // Expectation phases that name no phase.
    check_appended(
        "expect:\n  redis-dwn: { error_rate: < 1% }\n",
        12,
        "no phase `redis-dwn`",
    );
    check_appended(
        "expect:\n  between: { error_rate: < 1% }\n",
        12,
        "no `between` phase",
    );
    // Proxies must exist in the lab.
    check_rule(
        "fault: { kill: redis }",
        "fault: { proxy_down: mysql }",
        10,
        "no proxy `mysql`",
    );
    // Exec commands non-empty.
    check_rule(
        "fault: { kill: redis }",
        "fault: { exec: '', revert: 'true' }",
        10,
        "`exec` command is empty",
    );
    check_rule(
        "fault: { kill: redis }",
        "fault: { exec: 'true', revert: ' ' }",
        10,
        "`revert` command is empty",
    );
    // Mix weights not all zero.
    check_rule(
        "duration: 2m",
        "duration: 2m\n  mix: { chat: 0, history: 0 }",
        6,
        "every weight of `traffic.mix` is zero",
    );
    // History reads need turns to read.
    check_rule(
        "duration: 2m",
        "duration: 2m\n  mix: { chat: 0, chat_stream: 0, history: 5 }",
        6,
        "reads history but sends no turn",
    );
    // Capability names from the six.
    check_appended(
        "expect:\n  redis-down:\n    capabilities: { cache: false }\n",
        13,
        "unknown key `cache`",
    );
    // Percentages 0..100%.
    check_appended(
        "expect:\n  run: { error_rate: < 120% }\n",
        12,
        "outside 0%..100%",
    );
    // Availability in (0, 100).
    check_appended("availability: 100%\n", 11, "below 100%");
    check_appended("availability: 0%\n", 11, "above 0%");
    // Breakers and provider shares of unknown providers.
    check_appended(
        "expect:\n  redis-down:\n    breakers: { openai: { opens_within: 5s } }\n",
        13,
        "no LLM provider `openai`",
    );
    check_appended(
        "expect:\n  run:\n    providers: { backup: \"> 10%\" }\n",
        13,
        "no LLM provider `backup`",
    );
    // Alert expectations name defined rules, and only in `run`.
    check_appended(
        "expect:\n  run:\n    alerts: { error-rate-1pct: fired }\n",
        13,
        "no alert rule `error-rate-1pct`",
    );
    check_appended(
        "expect:\n  redis-down:\n    alerts: { p95-5s-10m: fired }\n",
        13,
        "apply to the whole run",
    );
    // Rules.
    check_appended(
        "halt:\n  - error_rat > 5% for 10s\n",
        12,
        "unknown metric `error_rat`",
    );
    check_appended("halt:\n  - error_rate > 5% for 0s\n", 12, "longer than 0s");
    check_appended(
        "alerts:\n  - { name: p95-5s-10m, when: p95 > 1s for 1m }\n",
        12,
        "already defined",
    );
    // Deadlines > 0 and within the phase they count from.
    check_appended(
        "expect:\n  redis-down:\n    capabilities: { caching: { becomes: false, within: 90s } }\n",
        13,
        "longer than the phase `redis-down` (20s)",
    );
    check_appended(
        "expect:\n  redis-down:\n    breakers: { primary: { opens_within: 0s } }\n",
        13,
        "deadline must be longer than 0s",
    );
    // Rules whose window is longer than the run, and expectations that
    // cannot be measured.
    check_appended(
        "halt:\n  - error_rate > 5% for 1h\n",
        12,
        "can never trigger",
    );
    check_appended(
        "expect:\n  run:\n    alerts: { p95-5s-10m: fired }\n",
        13,
        "cannot fire",
    );
    check_rule(
        "duration: 2m",
        "duration: 2m\n  mix: { chat: 1 }\nexpect:\n  run: { ttft_p95: < 1s }",
        8,
        "no `chat_stream`",
    );
    // Reserved phase names.
    check_rule(
        "name: redis-down",
        "name: recovery",
        7,
        "reserved phase name",
    );
}

#[test]
fn lab_only_faults_are_refused_on_an_external_target() {
    let external = "\
name: ext
target: { url: 'https://example.com', toxiproxy: 'http://tp:8474', proxies: [redis] }
traffic: { rate: 1/s, duration: 1m }
timeline:
  - { name: a, at: 1s, for: 1s, fault: { kill: redis } }
  - { name: b, at: 1s, for: 1s, fault: { restart: postgres } }
  - { name: c, at: 1s, for: 1s, fault: { llm: fallback, mode: hang } }
  - { name: d, at: 1s, for: 1s, fault: { toxic: timeout, proxy: postgres, timeout: 0 } }
";
    let diagnostics = parse_err(external);
    for (line, message) in [
        (5, "acts on a process of the lab"),
        (6, "acts on a process of the lab"),
        (7, "the target declares no LLM gateways"),
        (8, "not in `target.proxies`"),
    ] {
        assert!(
            diagnostics
                .iter()
                .any(|d| d.line == line && d.message.contains(message)),
            "line {line}: {message}\n{diagnostics}"
        );
    }
}

#[test]
fn a_misspelt_required_key_is_reported_once_as_the_typo() {
    let diagnostics = parse_err("nme: x\ntraffic: { rate: 1/s, durration: 1m }\n");
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown top-level key `nme`",
            "unknown key `durration` in `traffic`"
        ],
        "{diagnostics}"
    );
}

#[test]
fn yaml_syntax_errors_are_located() {
    let diagnostics = parse_err("name: x\ntraffic: [1, 2\nexpect: {\n");
    assert_eq!(diagnostics.len(), 1);
    let only = diagnostics.iter().next().expect("one");
    assert!(only.message.starts_with("invalid YAML"), "{only}");
    assert!(only.line >= 2, "{only}");
    // The one trap of the value syntax: `> 90%` unquoted is a folded block.
    let folded = parse_err("name: x\nexpect:\n  run:\n    providers: { fallback: > 90% }\n");
    let only = folded.iter().next().expect("one");
    assert_eq!((only.line, only.column), (4, 28), "{folded}");
    assert_eq!(
        only.help.as_deref(),
        Some("a value starting with `>` must be quoted: `\"> 90%\"`")
    );
    let duplicate = parse_err("name: x\nname: y\ntraffic: { rate: 1/s, duration: 1m }\n");
    assert!(duplicate.to_string().contains("duplicate"), "{duplicate}");
}

#[test]
fn mangled_files_never_panic() {
    let text = std::fs::read_to_string(fixture("full.yaml")).expect("read");
    let mut variants: Vec<String> = Vec::new();
    // Every prefix at a few hundred cut points (on char boundaries).
    let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).collect();
    for cut in boundaries.iter().step_by(11) {
        variants.push(text[..*cut].to_string());
    }
    // Each line deleted, duplicated, or indented one step more or less.
    let lines: Vec<&str> = text.lines().collect();
    for index in 0..lines.len() {
        let mut without = lines.clone();
        without.remove(index);
        variants.push(without.join("\n"));
        let mut doubled = lines.clone();
        doubled.insert(index, lines[index]);
        variants.push(doubled.join("\n"));
        let mut shifted: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        shifted[index] = format!("  {}", shifted[index]);
        variants.push(shifted.join("\n"));
        shifted[index] = lines[index].trim_start().to_string();
        variants.push(shifted.join("\n"));
    }
    // Characters with meaning in YAML or in our value languages swapped in.
    let mut generator = gameday::rng::Rng::new(7);
    for _ in 0..200 {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..3 {
            let at = generator.range_i64(0, chars.len() as i64 - 1) as usize;
            let replacements = [
                ':', '-', '{', '}', '[', ']', '%', '/', '<', '"', '\'', '&', '*', '!', '\t', '0',
                'x', '\n', '#', '|', '>', '9', 'é',
            ];
            let pick = generator.range_i64(0, replacements.len() as i64 - 1) as usize;
            chars[at] = replacements[pick];
        }
        variants.push(chars.into_iter().collect());
    }
    variants.push("\u{0}\u{1}garbage".to_string());
    variants.push("- just\n- a list\n".to_string());
    variants.push("&a [*a]".to_string());
    variants.push("a: &a {b: *a}".to_string());
    variants.push("[".repeat(10_000));
    let mut rejected = 0;
    for variant in &variants {
        // A panic fails the test; either outcome is fine otherwise.
        if let Err(diagnostics) = scenario::parse_str("mangled.yaml", variant) {
            // A rejection always says why, and where when it can.
            assert!(!diagnostics.is_empty(), "{variant}");
            rejected += 1;
        }
    }
    assert!(
        rejected > variants.len() / 2,
        "{rejected} of {}",
        variants.len()
    );
}

#[test]
fn the_schema_is_json_with_every_top_level_key() {
    let schema: serde_json::Value =
        serde_json::from_str(&scenario::schema()).expect("the schema is valid JSON");
    let properties = schema["properties"].as_object().expect("properties");
    for key in [
        "name",
        "description",
        "availability",
        "target",
        "toxiproxy",
        "traffic",
        "production_rate",
        "prices",
        "timeline",
        "expect",
        "alerts",
        "halt",
        "recovery",
    ] {
        assert!(properties.contains_key(key), "schema lacks {key}");
    }
    assert_eq!(schema["required"], serde_json::json!(["name", "traffic"]));
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}

#[test]
fn valid_fixtures_also_fit_the_schema_types() {
    // The schema is generated from the `spec` types; deserializing every
    // valid example into them catches the schema drifting from the decoder.
    for name in ["full.yaml", "external.yaml"] {
        let text = std::fs::read_to_string(fixture(name)).expect("read");
        let parsed: Result<scenario::spec::ScenarioSpec, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        assert!(scenario::parse_str(name, &text).is_ok());
    }
    // The bundled external game days, and an `llm` fault in its nested form.
    let external = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("external");
    let mut texts: Vec<(String, String)> = std::fs::read_dir(&external)
        .expect("scenarios/external")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            (path.display().to_string(), text)
        })
        .collect();
    assert!(texts.len() >= 2, "{texts:?}");
    texts.push((
        "nested.yaml".to_owned(),
        "name: nested\ntarget: { url: http://127.0.0.1:8700, llm_proxies: { primary: \"${GW}\" } }\n\
         traffic: { rate: 1/s, duration: 1m }\n\
         timeline:\n  - { name: a, at: 1s, for: 1s, fault: { llm: { provider: primary, mode: { mode: errors, match: { model: m } } } } }\n"
            .to_owned(),
    ));
    for (name, text) in texts {
        let parsed: Result<scenario::spec::ScenarioSpec, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        let decoded = scenario::parse_str(&name, &text);
        assert!(decoded.is_ok(), "{name}: {:?}", decoded.err());
    }
    let typo = std::fs::read_to_string(fixture("invalid.yaml")).expect("read");
    assert!(serde_saphyr::from_str::<scenario::spec::ScenarioSpec>(&typo).is_err());
}

#[test]
fn the_plan_of_the_full_file_has_every_phase() {
    let plan = Plan::from_scenario(&load_ok("full.yaml"));
    let names: Vec<&str> = plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "baseline",
            "primary-503",
            "redis-down",
            "redis-hang",
            "slow-db",
            "node-drain",
            "between",
            "recovery",
            "run"
        ]
    );
    // Warm-up 20s; first fault at 30s after it; traffic 3m; last revert at
    // 20+175 = 195s, recovery 30s -> traffic extended to 225s.
    assert_eq!(
        plan.phase("baseline").expect("baseline").windows[0].end,
        seconds(50)
    );
    assert_eq!(plan.total, seconds(225));
    assert!(plan.in_maintenance(seconds(60)));
    assert!(!plan.in_maintenance(seconds(90)));
    assert_eq!(
        plan.phases_at(seconds(90)),
        ["redis-down", "redis-hang", "run"]
    );
}

fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("run gameday");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn validate_exits_0_for_valid_files() {
    let (code, stdout, stderr) = run(gameday()
        .arg("validate")
        .arg(fixture("full.yaml"))
        .arg(fixture("external.yaml")));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok: 2 scenarios"), "{stdout}");
}

#[test]
fn validate_exits_2_and_reports_every_file() {
    let (code, stdout, stderr) = run(gameday()
        .arg("validate")
        .arg(fixture("invalid.yaml"))
        .arg(fixture("full.yaml"))
        .arg(fixture("semantic.yaml")));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("invalid.yaml:6:3"), "{stderr}");
    assert!(stderr.contains("semantic.yaml:25:3"), "{stderr}");
    assert!(stderr.contains("2 of 3 scenarios invalid"), "{stderr}");
    assert!(!stdout.contains("ok:"), "{stdout}");
    // A folder is its .yaml files; an empty folder is an error.
    let (folder, _, stderr) = run(gameday().arg("validate").arg(fixture("")));
    assert_eq!(folder, 2, "{stderr}");
    assert!(stderr.contains("2 of 4 scenarios invalid"), "{stderr}");
    let empty = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(gameday().arg("validate").arg(empty.path()));
    assert_eq!(code, 2);
    assert!(stderr.contains("no .yaml or .yml files"), "{stderr}");
    let (missing, _, stderr) = run(gameday().arg("validate").arg("/nonexistent/x.yaml"));
    assert_eq!(missing, 2);
    assert!(stderr.contains("cannot read the file"), "{stderr}");
}

#[test]
fn validate_plan_prints_the_resolved_timeline() {
    let (code, stdout, stderr) = run(gameday()
        .arg("validate")
        .arg("--plan")
        .arg(fixture("full.yaml")));
    assert_eq!(code, 0, "{stderr}");
    for piece in [
        "plan: redis-killed",
        "apply  redis-down: kill redis",
        "revert redis-down",
        "T+1:20",
        "between",
        "recovery",
        "expected wall time: 3m45s",
    ] {
        assert!(stdout.contains(piece), "missing {piece:?} in:\n{stdout}");
    }
}

#[test]
fn validate_plan_warns_where_a_rate_check_cannot_be_conclusive() {
    // Issue 17, item 7: at the staging template's 50 requests/s, a 20 s
    // baseline sends about 1,000 requests, and 0 errors prove `< 0.1%`
    // only from 3,688: say so before the run.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("short.yaml");
    std::fs::write(
        &file,
        "name: short\n\
         traffic: { rate: 50/s, warmup: 5s, duration: 120s }\n\
         timeline:\n  - { name: redis-down, at: 20s, for: 30s, fault: { kill: redis } }\n\
         expect:\n  baseline: { error_rate: < 0.1% }\n  redis-down: { error_rate: < 5% }\n\
         \x20 run: { budget: within }\n",
    )
    .expect("write scenario");
    let (code, stdout, stderr) = run(gameday().arg("validate").arg("--plan").arg(&file));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rate checks at 50/s"), "{stdout}");
    let line = |phase: &str, check: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(phase) && line.contains(check))
            .unwrap_or_else(|| panic!("no {phase} {check} row in:\n{stdout}"))
            .to_string()
    };
    let baseline = line("baseline", "error_rate");
    assert!(
        baseline.contains("1,000 requests") && baseline.contains("3,688"),
        "{baseline}"
    );
    let budget = line("run", "budget");
    assert!(budget.contains("6,000 requests"), "{budget}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("error_rate in baseline (< 0.1%)"),
        "{stdout}"
    );
    assert!(
        warnings[0].contains("a perfect result needs 3,688"),
        "{stdout}"
    );
    assert!(stdout.contains("ok: 1 scenario"), "{stdout}");
}

#[test]
fn schema_prints_json() {
    let (code, stdout, _) = run(gameday().arg("schema"));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(schema["title"], "gameday scenario");
}

#[test]
fn toxic_attributes_are_normalized_to_toxiproxy_units() {
    let text = "\
name: toxics
traffic: { rate: 1/s, duration: 10m }
timeline:
  - { name: a, at: 0, for: 1s, fault: { toxic: latency, proxy: redis, latency: 1.5s } }
  - { name: b, at: 0s, for: 1s, fault: { toxic: slicer, proxy: redis, average_size: 64, delay: 10ms } }
  - { name: c, at: 0s, for: 1s, fault: { toxic: bandwidth, proxy: primary, rate: 100, toxicity: 25% } }
  - { name: d, at: 0s, for: 1s, fault: { toxic: reset_peer, proxy: fallback } }
  - { name: e, at: 0s, for: 1s, fault: { llm: fallback, mode: hang } }
  - { name: f, at: 0s, for: 1s, fault: { exec: 'true', revert: 'true' } }
";
    let scenario = scenario::parse_str("t.yaml", text).unwrap_or_else(|d| panic!("{d}"));
    let toxic = |index: usize| match &scenario.timeline[index].fault {
        Fault::Toxic { toxic, .. } => toxic.clone(),
        other => panic!("a toxic, got {other:?}"),
    };
    let json = |toxic: &Toxic| serde_json::Value::Object(toxic.attributes.clone());
    assert_eq!(
        json(&toxic(0)),
        serde_json::json!({"latency": 1500, "jitter": 0})
    );
    assert_eq!(
        json(&toxic(1)),
        serde_json::json!({"average_size": 64, "size_variation": 0, "delay": 10_000})
    );
    assert_eq!(json(&toxic(2)), serde_json::json!({"rate": 100}));
    assert_eq!(toxic(2).toxicity, 0.25);
    assert_eq!(toxic(2).stream, Stream::Downstream);
    assert_eq!(json(&toxic(3)), serde_json::json!({"timeout": 0}));
    assert_eq!(
        scenario.timeline[4].fault,
        Fault::Llm {
            provider: "fallback".into(),
            mode: LlmRule::all(Mode::Hang)
        }
    );
    assert_eq!(
        scenario.timeline[5].fault,
        Fault::Exec {
            command: "true".into(),
            revert: "true".into(),
            timeout: seconds(30)
        }
    );
    assert_eq!(scenario.timeline[0].at, Duration::ZERO);
}

#[test]
fn every_count_and_size_has_a_bound_that_validate_enforces() {
    // Rates: one set of limits, the generator's (1e-300/s validated, then
    // `run` refused it).
    check_rule("rate: 10/s", "rate: 1e-300/s", 3, "between 0.001/s and");
    // Counts of the traffic section (4e9 conversations aborted `run` while
    // allocating 32 GB).
    let traffic = |key: &str, value: &str, message: &str| {
        check_rule(
            "duration: 2m",
            &format!("duration: 2m\n  {key}: {value}"),
            6,
            message,
        )
    };
    traffic(
        "conversations",
        "4000000000",
        "at most 1000000, because the generator keeps",
    );
    traffic(
        "turns_per_conversation",
        "4000000000",
        "at most 100000, because every turn",
    );
    traffic(
        "max_in_flight",
        "4000000000",
        "at most 1000000, because each request",
    );
    traffic("mix", "{ chat: 0.0001 }", "must be 0 or between 0.001");
    traffic("mix", "{ chat: 1e12 }", "must be 0 or between 0.001");
    // The name becomes a folder name.
    check_rule(
        "name: base",
        &format!("name: {}", "n".repeat(101)),
        1,
        "at most 100, because it names the run folder",
    );
    // Toxic attributes, in their units.
    let toxic = |fault: &str, message: &str| {
        check_rule(
            "fault: { kill: redis }",
            &format!("fault: {{ {fault} }}"),
            10,
            message,
        )
    };
    toxic(
        "toxic: latency, proxy: redis, latency: 9223372036854775807",
        "at most 604800000 ms",
    );
    toxic(
        "toxic: slicer, proxy: redis, average_size: 64, delay: 9000000000000",
        "at most 604800000000 us",
    );
    toxic(
        "toxic: bandwidth, proxy: redis, rate: 99999999999",
        "at most 10000000 KB/s",
    );
    toxic(
        "toxic: limit_data, proxy: redis, bytes: 4398046511104",
        "at most 1073741824 bytes",
    );
    // An exec command longer than one argument of `sh -c` may be.
    toxic(
        &format!("exec: '{}', revert: 'true'", "x".repeat(70_000)),
        "at most 65536, because the kernel limits",
    );
    // More timeline entries than a run records phases for.
    let mut text = BASE.replace("duration: 2m", "duration: 10m");
    for index in 0..31 {
        text.push_str(&format!(
            "  - {{ name: f{index}, at: {}s, for: 1s, fault: {{ kill: redis }} }}\n",
            40 + index * 3
        ));
    }
    let diagnostics = parse_err(&text);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.line == 7 && d.message.contains("32 entries; at most 30")),
        "{diagnostics}"
    );
    // More halt rules than are evaluated every second.
    let halt: String = (0..101)
        .map(|_| "  - error_rate > 50% for 10s\n".to_string())
        .collect();
    let diagnostics = parse_err(&format!("{BASE}halt:\n{halt}"));
    assert!(
        diagnostics
            .iter()
            .any(|d| d.line > 10 && d.message.contains("`halt` has 101 rules")),
        "{diagnostics}"
    );
}

#[test]
fn validate_prints_a_capped_number_of_problems_in_linear_time() {
    // About 1 MB of unknown keys: 100,000 problems. This took minutes and
    // printed 737k lines while each excerpt rescanned the text.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.yaml");
    let mut text = String::from("name: many\n");
    for index in 0..99_990 {
        text.push_str(&format!("k{index:05}: 1\n"));
    }
    assert!(text.len() < 1024 * 1024);
    std::fs::write(&path, &text).expect("write");
    let started = std::time::SystemTime::now();
    let (code, _, stderr) = run(gameday().arg("validate").arg(&path));
    let elapsed = started.elapsed().unwrap_or_default();
    assert_eq!(code, 2);
    // 99,990 unknown keys and the missing `traffic`.
    let printed = stderr.matches(" --> ").count();
    assert_eq!(
        printed,
        gameday::cli_validate::MAX_PRINTED_PROBLEMS,
        "{}",
        &stderr[..2000]
    );
    assert!(
        stderr.contains("and 99941 more problems in"),
        "{}",
        &stderr[stderr.len().saturating_sub(2000)..]
    );
    assert!(
        stderr.lines().count() < 1000,
        "{} lines",
        stderr.lines().count()
    );
    // Generous, for a debug build on a busy machine: linear takes about
    // 15 s unoptimised (well under a second optimised); the quadratic
    // excerpts took 151 s of CPU optimised, hours unoptimised.
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
}

#[test]
fn validate_and_report_read_at_most_the_limit_from_any_input() {
    // A device that never ends.
    let (code, _, stderr) = run(gameday().arg("validate").arg("/dev/zero"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("larger than 1048576 bytes"), "{stderr}");
    // A pipe (as `<(...)` gives) with 50 MB behind it.
    let mut child = gameday()
        .args(["validate", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b'#'; 1024 * 1024];
        // Stops with a broken pipe once gameday has read its fill.
        for _ in 0..50 {
            if stdin.write_all(&chunk).is_err() {
                return false;
            }
        }
        true
    });
    let output = child.wait_with_output().expect("wait");
    let wrote_everything = writer.join().expect("writer");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 1048576 bytes"), "{stderr}");
    assert!(!wrote_everything, "gameday read the whole 50 MB stream");
    // `gameday report` likewise.
    let (code, _, stderr) = run(gameday().arg("report").arg("/dev/zero"));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
}

#[test]
fn validate_escapes_control_characters_from_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("esc.yaml");
    std::fs::write(&path, "name: x\n\u{1b}]0;owned\u{7}: 1\n").expect("write");
    let (code, _, stderr) = run(gameday().arg("validate").arg(&path));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}"), "{stderr}");
}
