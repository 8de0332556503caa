//! The top level of a scenario file and its simple sections: target,
//! toxiproxy, traffic, prices, alerts and halt conditions.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::model::{
    AlertRule, Arrivals, ExternalTarget, HeaderTemplate, Mix, Paths, Price, Rule, Scenario,
    ScenarioSource, Target, Toxiproxy, Traffic, builtin_alerts,
};
use super::super::template;
use super::super::tree::{Node, Value};
use super::super::values;
use super::{Decoder, expect, fault, monitoring};

/// Every top-level key, in documentation order.
pub(crate) const TOP_LEVEL_KEYS: [&str; 14] = [
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
    "monitoring",
];

/// Defaults, documented in docs/scenarios.md.
pub(crate) const DEFAULT_AVAILABILITY: f64 = 0.999;
pub(crate) const DEFAULT_RECOVERY: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_WARMUP: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_CONVERSATIONS: u32 = 100;
pub(crate) const DEFAULT_MAX_IN_FLIGHT: u32 = 1000;
pub(crate) const DEFAULT_MIX: Mix = Mix {
    chat: 80.0,
    chat_stream: 15.0,
    history: 5.0,
};

/// Decodes the whole file. Broken sections are replaced by placeholders and
/// left out of the returned [`Clean`] set, so that validation can still
/// check the sections that are sound in the same pass.
pub(crate) fn decode_scenario(
    decoder: &mut Decoder,
    root: &Node,
    file: &str,
    text: &str,
) -> Option<(Scenario, Clean)> {
    if !matches!(root.value, Value::Map(_)) {
        decoder.wrong_type(
            root,
            "the scenario",
            "a mapping of sections (name, target, traffic, ...)",
        );
        return None;
    }
    let fields = decoder.fields(root, "", &TOP_LEVEL_KEYS)?;
    // Each section is decoded even when an earlier one failed, so that one
    // pass reports the problems of every section.
    let name = fields
        .required(decoder, "name")
        .and_then(|node| decoder.string(node, "name"));
    let description = match fields.get("description") {
        Some(node) => decoder.string(node, "description").map(Some),
        None => Some(None),
    };
    let availability = match fields.get("availability") {
        Some(node) => decoder.percent(node, "availability"),
        None => Some(DEFAULT_AVAILABILITY),
    };
    let target = match fields.get("target") {
        Some(node) => decode_target(decoder, node),
        None => Some((Target::Lab, None)),
    };
    let toxiproxy_top = match fields.get("toxiproxy") {
        Some(node) => decode_toxiproxy(decoder, node, "toxiproxy").map(Some),
        None => Some(None),
    };
    let traffic = fields
        .required(decoder, "traffic")
        .and_then(|node| decode_traffic(decoder, node));
    let production_rate = match fields.get("production_rate") {
        Some(node) => decoder.rate(node, "production_rate").map(Some),
        None => Some(None),
    };
    let prices = match fields.get("prices") {
        Some(node) => decode_prices(decoder, node),
        None => Some(BTreeMap::new()),
    };
    // The timeline and the expectations keep their sound entries even when
    // others are broken: validation checks those too, in the same pass.
    let (timeline, timeline_indices, timeline_ok) = match fields.get("timeline") {
        // Not a list: nothing decoded, and `false` marks the section broken.
        Some(node) => fault::decode_timeline(decoder, node).unwrap_or_default(),
        None => (Vec::new(), Vec::new(), true),
    };
    let (expect, expect_ok) = match fields.get("expect") {
        Some(node) => expect::decode_expectations(decoder, node).unwrap_or((Vec::new(), false)),
        None => (Vec::new(), true),
    };
    let alerts = match fields.get("alerts") {
        Some(node) => decode_alerts(decoder, node),
        None => Some(Vec::new()),
    };
    let halt = match fields.get("halt") {
        Some(node) => decode_halt(decoder, node),
        None => Some(Vec::new()),
    };
    let recovery = match fields.get("recovery") {
        Some(node) => decoder.duration(node, "recovery"),
        None => Some(DEFAULT_RECOVERY),
    };
    let monitoring = match fields.get("monitoring") {
        Some(node) => monitoring::decode_monitoring(decoder, node).map(Some),
        None => Some(None),
    };

    // Which sections decoded cleanly: validation only trusts those.
    let mut clean = Clean::default();
    clean.note("name", name.is_some());
    clean.note("description", description.is_some());
    clean.note("availability", availability.is_some());
    clean.note("target", target.is_some());
    clean.note("toxiproxy", toxiproxy_top.is_some());
    clean.note("traffic", traffic.is_some());
    clean.note("production_rate", production_rate.is_some());
    clean.note("prices", prices.is_some());
    clean.note("timeline", timeline_ok);
    clean.note("expect", expect_ok);
    clean.timeline_indices = timeline_indices;
    clean.note("alerts", alerts.is_some());
    clean.note("halt", halt.is_some());
    clean.note("recovery", recovery.is_some());
    clean.note("monitoring", monitoring.is_some());

    let (target, toxiproxy_in_target) = target.unwrap_or((Target::Lab, None));
    let toxiproxy_top = toxiproxy_top.unwrap_or(None);
    let toxiproxy = match (&target, toxiproxy_in_target, toxiproxy_top) {
        (_, Some(_), Some(_)) => {
            if let Some(node) = fields.get("toxiproxy") {
                decoder.error(
                    node.position,
                    "`toxiproxy` is set both here and in `target`; keep one",
                );
            }
            clean.note("toxiproxy", false);
            None
        }
        (Target::External(_), None, Some(Toxiproxy::Embedded)) => {
            if let Some(node) = fields.get("toxiproxy") {
                decoder.error_with_help(
                    node.position,
                    "the embedded proxy sits only in front of the lab's dependencies",
                    "give the URL of the Toxiproxy in front of the target's dependencies"
                        .to_string(),
                );
            }
            clean.note("toxiproxy", false);
            None
        }
        (_, Some(inner), None) | (_, None, Some(inner)) => Some(inner),
        (Target::Lab, None, None) => Some(Toxiproxy::Embedded),
        (Target::External(_), None, None) => None,
    };
    let mut all_alerts = builtin_alerts();
    all_alerts.extend(alerts.unwrap_or_default());
    let scenario = Scenario {
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        availability: availability.unwrap_or(DEFAULT_AVAILABILITY),
        target,
        toxiproxy,
        traffic: traffic.unwrap_or_else(placeholder_traffic),
        production_rate: production_rate.unwrap_or_default(),
        prices: prices.unwrap_or_default(),
        timeline,
        expect,
        alerts: all_alerts,
        halt: halt.unwrap_or_default(),
        recovery: recovery.unwrap_or(DEFAULT_RECOVERY),
        source: ScenarioSource {
            path: file.to_string(),
            text: text.to_string(),
        },
        monitoring: monitoring.unwrap_or_default(),
    };
    Some((scenario, clean))
}

/// The top-level sections that decoded without a problem, and where the
/// timeline entries that did decode sit in the file.
#[derive(Debug, Default)]
pub(crate) struct Clean {
    sections: Vec<&'static str>,
    /// For each decoded timeline entry, its index in the file's list.
    pub(crate) timeline_indices: Vec<usize>,
}

impl Clean {
    fn note(&mut self, section: &'static str, ok: bool) {
        self.sections.retain(|known| *known != section);
        if ok {
            self.sections.push(section);
        }
    }

    /// Whether `section` decoded cleanly.
    pub(crate) fn contains(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }
}

/// Stands in for a traffic section that did not decode (never validated).
fn placeholder_traffic() -> Traffic {
    Traffic {
        rate: 1.0,
        arrivals: Arrivals::Poisson,
        warmup: DEFAULT_WARMUP,
        duration: DEFAULT_WARMUP,
        mix: DEFAULT_MIX,
        conversations: DEFAULT_CONVERSATIONS,
        turns_per_conversation: None,
        timeout: DEFAULT_TIMEOUT,
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        seed: None,
    }
}

const TARGET_KEYS: [&str; 6] = [
    "url",
    "paths",
    "headers",
    "toxiproxy",
    "proxies",
    "llm_proxies",
];
const PATH_KEYS: [&str; 5] = [
    "chat",
    "conversations",
    "health",
    "capabilities",
    "breakers",
];

/// `lab`, or an external target with its own (optional) Toxiproxy.
fn decode_target(decoder: &mut Decoder, node: &Node) -> Option<(Target, Option<Toxiproxy>)> {
    if let Value::String(_) = node.value {
        decoder.choice(node, "target", &["lab"])?;
        return Some((Target::Lab, None));
    }
    let fields = decoder.fields(node, "target", &TARGET_KEYS)?;
    let url = fields
        .required(decoder, "url")
        .and_then(|url| http_url(decoder, url, "target.url"));
    let paths = match fields.get("paths") {
        Some(paths) => decode_paths(decoder, paths),
        None => Some(Paths::default()),
    };
    let headers = match fields.get("headers") {
        Some(headers) => decode_headers(decoder, headers),
        None => Some(Vec::new()),
    };
    let toxiproxy = match fields.get("toxiproxy") {
        Some(toxiproxy) => match decode_toxiproxy(decoder, toxiproxy, "target.toxiproxy") {
            Some(Toxiproxy::Embedded) => {
                decoder.error_with_help(
                    toxiproxy.position,
                    "the embedded proxy sits only in front of the lab's dependencies",
                    "give the URL of the Toxiproxy in front of the target's dependencies"
                        .to_string(),
                );
                None
            }
            other => other.map(Some),
        },
        None => Some(None),
    };
    let proxies = match fields.get("proxies") {
        Some(proxies) => string_list(decoder, proxies, "target.proxies").map(Some),
        None => Some(None),
    };
    let llm_proxies = match fields.get("llm_proxies") {
        Some(gateways) => decode_llm_proxies(decoder, gateways),
        None => Some(BTreeMap::new()),
    };
    Some((
        Target::External(ExternalTarget {
            url: url?,
            paths: paths?,
            headers: headers?,
            proxies: proxies?,
            llm_proxies: llm_proxies?,
        }),
        toxiproxy?,
    ))
}

/// `target.llm_proxies`: gateway names to base URLs (templates, see [`http_url`]).
fn decode_llm_proxies(decoder: &mut Decoder, node: &Node) -> Option<BTreeMap<String, String>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(
            node,
            "target.llm_proxies",
            "a mapping of gateway names to URLs, e.g. `{ primary: http://127.0.0.1:8611 }`",
        );
        return None;
    };
    let mut gateways = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(name) = &key.value else {
            continue;
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            decoder.error(
                key.position,
                format!(
                    "`{name}` is not a valid gateway name; names are letters, digits, `_` and `-`"
                ),
            );
            ok = false;
        }
        let what = format!("target.llm_proxies.{name}");
        let url = http_url(decoder, value, &what);
        match url {
            Some(url) => {
                gateways.insert(name.clone(), url);
            }
            None => ok = false,
        }
    }
    ok.then_some(gateways)
}

/// An `http://` or `https://` URL with a host, without its trailing slash.
/// It may hold `${VAR}` parts, filled when a run starts (see
/// [`template`]): then its syntax is checked here, and that it can be such a
/// URL once filled in (`https://${HOST}`, or `${BASE_URL}` as a whole).
pub(super) fn http_url(decoder: &mut Decoder, node: &Node, what: &str) -> Option<String> {
    let url = decoder.string(node, what)?;
    if let Err(message) = template::check_template(&url) {
        decoder.error(node.position, format!("`{what}`: {message}"));
        return None;
    }
    if template::plausible_url(&url) {
        return Some(url.trim_end_matches('/').to_string());
    }
    decoder.error_with_help(
        node.position,
        format!("`{what}` must be an http:// or https:// URL with a host, got `{url}`"),
        "e.g. `https://platform.staging.example.com`, or `${STAGING_URL}` filled from the \
         environment when the run starts"
            .to_string(),
    );
    None
}

fn decode_paths(decoder: &mut Decoder, node: &Node) -> Option<Paths> {
    let fields = decoder.fields(node, "target.paths", &PATH_KEYS)?;
    let mut paths = Paths::default();
    let mut ok = true;
    for (name, _, value) in fields.iter() {
        let what = fields.path(name);
        let Some(path) = decoder.string(value, &what) else {
            ok = false;
            continue;
        };
        if !path.starts_with('/') {
            decoder.error(value.position, format!("`{what}` must start with `/`"));
            ok = false;
            continue;
        }
        match name {
            "chat" => paths.chat = path,
            "conversations" => paths.conversations = path,
            "health" => paths.health = path,
            "capabilities" => paths.capabilities = path,
            _ => paths.breakers = path,
        }
    }
    ok.then_some(paths)
}

fn decode_headers(decoder: &mut Decoder, node: &Node) -> Option<Vec<HeaderTemplate>> {
    decode_headers_at(decoder, node, "target.headers")
}

/// Header name → value template (`${VAR}` filled at run time), for the section at `section`.
pub(super) fn decode_headers_at(
    decoder: &mut Decoder,
    node: &Node,
    section: &str,
) -> Option<Vec<HeaderTemplate>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(node, section, "a mapping of header names to values");
        return None;
    };
    let mut headers = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(name) = &key.value else {
            continue;
        };
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
        if !valid_name {
            decoder.error(
                key.position,
                format!("`{name}` is not a valid HTTP header name"),
            );
            ok = false;
        }
        let what = format!("{section}.{name}");
        let Some(template) = decoder.string(value, &what) else {
            ok = false;
            continue;
        };
        if let Err(message) = template::check_template(&template) {
            decoder.error(value.position, format!("`{what}`: {message}"));
            ok = false;
            continue;
        }
        headers.push(HeaderTemplate {
            name: name.clone(),
            template,
        });
    }
    ok.then_some(headers)
}

/// `embedded` or a URL.
fn decode_toxiproxy(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Toxiproxy> {
    if node.value == Value::String("embedded".to_string()) {
        return Some(Toxiproxy::Embedded);
    }
    if let Value::String(text) = &node.value
        && !text.contains("://")
        && !text.starts_with("${")
    {
        decoder.error_with_help(
            node.position,
            format!("`{what}` must be `embedded` or a URL, got `{text}`"),
            "e.g. `toxiproxy: http://toxiproxy.staging:8474`".to_string(),
        );
        return None;
    }
    http_url(decoder, node, what).map(Toxiproxy::Url)
}

const TRAFFIC_KEYS: [&str; 10] = [
    "rate",
    "arrivals",
    "warmup",
    "duration",
    "mix",
    "conversations",
    "turns_per_conversation",
    "timeout",
    "max_in_flight",
    "seed",
];
const MIX_KEYS: [&str; 3] = ["chat", "chat_stream", "history"];

fn decode_traffic(decoder: &mut Decoder, node: &Node) -> Option<Traffic> {
    let fields = decoder.fields(node, "traffic", &TRAFFIC_KEYS)?;
    let rate = fields
        .required(decoder, "rate")
        .and_then(|value| decoder.rate(value, "traffic.rate"));
    let arrivals = match fields.get("arrivals") {
        Some(value) => match decoder.choice(value, "traffic.arrivals", &["poisson", "constant"]) {
            Some("constant") => Some(Arrivals::Constant),
            Some(_) => Some(Arrivals::Poisson),
            None => None,
        },
        None => Some(Arrivals::Poisson),
    };
    let warmup = optional_duration(decoder, &fields, "warmup", DEFAULT_WARMUP);
    let duration = fields
        .required(decoder, "duration")
        .and_then(|value| decoder.duration(value, "traffic.duration"));
    let mix = match fields.get("mix") {
        Some(value) => decode_mix(decoder, value),
        None => Some(DEFAULT_MIX),
    };
    let conversations = match fields.get("conversations") {
        Some(value) => decoder.count::<u32>(value, "traffic.conversations"),
        None => Some(DEFAULT_CONVERSATIONS),
    };
    let turns_per_conversation = match fields.get("turns_per_conversation") {
        Some(value) => decoder
            .count::<u32>(value, "traffic.turns_per_conversation")
            .map(Some),
        None => Some(None),
    };
    let timeout = optional_duration(decoder, &fields, "timeout", DEFAULT_TIMEOUT);
    let max_in_flight = match fields.get("max_in_flight") {
        Some(value) => decoder.count::<u32>(value, "traffic.max_in_flight"),
        None => Some(DEFAULT_MAX_IN_FLIGHT),
    };
    let seed = match fields.get("seed") {
        Some(value) => decoder.count::<u64>(value, "traffic.seed").map(Some),
        None => Some(None),
    };
    Some(Traffic {
        rate: rate?,
        arrivals: arrivals?,
        warmup: warmup?,
        duration: duration?,
        mix: mix?,
        conversations: conversations?,
        turns_per_conversation: turns_per_conversation?,
        timeout: timeout?,
        max_in_flight: max_in_flight?,
        seed: seed?,
    })
}

fn optional_duration(
    decoder: &mut Decoder,
    fields: &super::Fields,
    key: &str,
    default: Duration,
) -> Option<Duration> {
    match fields.get(key) {
        Some(value) => decoder.duration(value, &fields.path(key)),
        None => Some(default),
    }
}

fn decode_mix(decoder: &mut Decoder, node: &Node) -> Option<Mix> {
    let fields = decoder.fields(node, "traffic.mix", &MIX_KEYS)?;
    let mut weight = |key: &str| -> Option<f64> {
        match fields.get(key) {
            Some(value) => {
                let what = fields.path(key);
                let number = decoder.number(value, &what)?;
                if number < 0.0 {
                    decoder.error(value.position, format!("`{what}` must not be negative"));
                    return None;
                }
                Some(number)
            }
            None => Some(0.0),
        }
    };
    let chat = weight("chat");
    let chat_stream = weight("chat_stream");
    let history = weight("history");
    Some(Mix {
        chat: chat?,
        chat_stream: chat_stream?,
        history: history?,
    })
}

const PRICE_KEYS: [&str; 2] = ["input_per_mtok", "output_per_mtok"];

fn decode_prices(decoder: &mut Decoder, node: &Node) -> Option<BTreeMap<String, Price>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(node, "prices", "a mapping of provider names to prices");
        return None;
    };
    let mut prices = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(provider) = &key.value else {
            continue;
        };
        let what = format!("prices.{provider}");
        let Some(fields) = decoder.fields(value, &what, &PRICE_KEYS) else {
            ok = false;
            continue;
        };
        let mut price = |key: &str| -> Option<f64> {
            let node = fields.required(decoder, key)?;
            let what = fields.path(key);
            let number = decoder.number(node, &what)?;
            if number < 0.0 {
                decoder.error(node.position, format!("`{what}` must not be negative"));
                return None;
            }
            Some(number)
        };
        let input = price("input_per_mtok");
        let output = price("output_per_mtok");
        match (input, output) {
            (Some(input_per_mtok), Some(output_per_mtok)) => {
                prices.insert(
                    provider.clone(),
                    Price {
                        input_per_mtok,
                        output_per_mtok,
                    },
                );
            }
            _ => ok = false,
        }
    }
    ok.then_some(prices)
}

const ALERT_KEYS: [&str; 2] = ["name", "when"];

fn decode_alerts(decoder: &mut Decoder, node: &Node) -> Option<Vec<AlertRule>> {
    let items = decoder.sequence(node, "alerts")?;
    let mut alerts = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let what = format!("alerts[{index}]");
        let Some(fields) = decoder.fields(item, &what, &ALERT_KEYS) else {
            ok = false;
            continue;
        };
        let name = fields
            .required(decoder, "name")
            .and_then(|value| decoder.string(value, &fields.path("name")));
        let rule = fields
            .required(decoder, "when")
            .and_then(|value| rule(decoder, value, &fields.path("when")));
        match (name, rule) {
            (Some(name), Some(rule)) => alerts.push(AlertRule {
                name,
                rule,
                builtin: false,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(alerts)
}

fn decode_halt(decoder: &mut Decoder, node: &Node) -> Option<Vec<Rule>> {
    if let Value::Map(_) = node.value {
        decoder.error_with_help(
            node.position,
            "`halt` must be a list of rules",
            "write e.g.\n  halt:\n    - error_rate > 20% for 10s".to_string(),
        );
        return None;
    }
    let items = decoder.sequence(node, "halt")?;
    let mut rules = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        match rule(decoder, item, &format!("halt[{index}]")) {
            Some(parsed) => rules.push(parsed),
            None => ok = false,
        }
    }
    ok.then_some(rules)
}

fn rule(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Rule> {
    let text = decoder.string(node, what)?;
    match values::rule(&text) {
        Ok(rule) => Some(rule),
        Err((message, Some(help))) => {
            decoder.error_with_help(node.position, message, help);
            None
        }
        Err((message, None)) => {
            decoder.error(node.position, format!("`{what}`: {message}"));
            None
        }
    }
}

/// A list of strings.
pub(super) fn string_list(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Vec<String>> {
    let items = decoder.sequence(node, what)?;
    let mut strings = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        match decoder.string(item, &format!("{what}[{index}]")) {
            Some(text) => strings.push(text),
            None => ok = false,
        }
    }
    ok.then_some(strings)
}
