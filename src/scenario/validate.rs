//! Semantic checks: the rules that a well-typed scenario can still break,
//! mostly because they relate one section to another (a fault that ends
//! after the run, an expectation for a phase that does not exist, a proxy
//! the target does not have).
//!
//! [`check`] works on the typed [`Scenario`] alone and returns every
//! [`Problem`] it finds, each with the path of the offending node
//! (`timeline[1].for`); the caller turns paths into lines and columns with
//! the file's `SourceMap`. No I/O happens here.

use std::collections::HashSet;
use std::time::Duration;

use super::diagnostic::{closest, list, suggest};
use super::limits::{
    MAX_COMMAND_BYTES, MAX_CONVERSATIONS, MAX_HEADER_BYTES, MAX_HEADERS, MAX_IN_FLIGHT,
    MAX_LLM_PROXIES, MAX_MIX_WEIGHT, MAX_NAME_CHARS, MAX_PROXIES, MAX_RULES, MAX_TIMELINE_ENTRIES,
    MAX_TURNS_PER_CONVERSATION, MIN_MIX_WEIGHT, MIN_RATE,
};
use super::model::{
    AlertExpectation, BreakerExpectation, CapabilityExpectation, Fault, PhaseExpectations,
    Scenario, Target, format_duration,
};
use super::values::MAX_DURATION;

pub use super::limits::MAX_RATE;

/// The proxies of the built-in lab, one in front of each dependency.
pub const LAB_PROXIES: [&str; 4] = ["redis", "postgres", "primary", "fallback"];

/// The LLM providers of the built-in lab.
pub const LAB_PROVIDERS: [&str; 2] = ["primary", "fallback"];

/// Phase names the plan always defines (`between` only when faults leave gaps).
pub const FIXED_PHASES: [&str; 4] = ["baseline", "between", "recovery", "run"];

/// Which part of a node a problem points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The key (e.g. an unknown phase name).
    Key,
    /// The value.
    Value,
}

/// One semantic problem, located by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the node, e.g. `timeline[1].for` or `expect.redis-down`.
    pub path: String,
    /// Key or value of that node.
    pub site: Site,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// Collects problems.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn value(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(path.into(), Site::Value, message.into(), None);
    }

    fn key(&mut self, path: impl Into<String>, message: impl Into<String>, help: Option<String>) {
        self.push(path.into(), Site::Key, message.into(), help);
    }

    fn value_with_help(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(path.into(), Site::Value, message.into(), Some(help.into()));
    }

    fn push(&mut self, path: String, site: Site, message: String, help: Option<String>) {
        self.0.push(Problem {
            path,
            site,
            message,
            help,
        });
    }

    /// A duration that must be > 0.
    fn positive(&mut self, path: &str, duration: Duration) {
        if duration.is_zero() {
            self.value(path, format!("`{path}` must be longer than 0s"));
        }
    }
}

/// Every semantic problem of a scenario.
pub fn check(scenario: &Scenario) -> Vec<Problem> {
    let file_indices: Vec<usize> = (0..scenario.timeline.len()).collect();
    check_sections(scenario, &|_| true, &file_indices)
}

/// The problems found by the rules whose inputs are trustworthy:
/// `is_clean(section)` says whether a top-level section (`traffic`,
/// `timeline`, ...) decoded without problems. The decoder substitutes
/// placeholders for broken sections so that one pass can still check the
/// rest; a rule that reads a placeholder would report nonsense, so it is
/// skipped. The timeline and the expectations may be partial (their broken
/// entries left out); `timeline_indices[i]` is the file index of
/// `scenario.timeline[i]`, so problems point at the right entry.
pub fn check_sections(
    scenario: &Scenario,
    is_clean: &dyn Fn(&str) -> bool,
    timeline_indices: &[usize],
) -> Vec<Problem> {
    let file_index = |index: usize| timeline_indices.get(index).copied().unwrap_or(index);
    let clean = |sections: &[&str]| sections.iter().all(|section| is_clean(section));
    let mut problems = Problems::default();
    if clean(&["name"]) && scenario.name.trim().is_empty() {
        problems.value("name", "`name` must not be empty");
    }
    if clean(&["name"]) && scenario.name.chars().count() > MAX_NAME_CHARS {
        problems.value(
            "name",
            format!(
                "`name` is {} characters; at most {MAX_NAME_CHARS}, because it names the run folder",
                scenario.name.chars().count()
            ),
        );
    }
    if clean(&["availability"]) {
        check_availability(scenario, &mut problems);
    }
    if clean(&["recovery"]) {
        problems.positive("recovery", scenario.recovery);
    }
    if clean(&["production_rate"]) {
        check_production_rate(scenario, &mut problems);
    }
    if clean(&["prices", "target"]) {
        check_prices(scenario, &mut problems);
    }
    if clean(&["target", "toxiproxy"]) {
        check_target(scenario, &mut problems);
    }
    if clean(&["traffic"]) {
        check_traffic(scenario, &mut problems);
    }
    // Per-entry rules hold for the entries that decoded, whatever the others.
    check_timeline(scenario, clean(&["traffic"]), &file_index, &mut problems);
    if clean(&["target", "toxiproxy"]) {
        check_faults(scenario, &file_index, &mut problems);
    }
    if clean(&["alerts", "halt"]) {
        check_rules(scenario, &mut problems);
    }
    check_counts(scenario, &clean, &file_index, &mut problems);
    if clean(&["alerts", "halt", "traffic", "timeline", "recovery"]) {
        check_rule_windows(scenario, &mut problems);
    }
    if clean(&[
        "expect", "timeline", "alerts", "target", "traffic", "recovery",
    ]) {
        check_expectations(scenario, &mut problems);
    }
    if clean(&["monitoring", "timeline", "target", "alerts"]) {
        check_monitoring(scenario, &mut problems);
    }
    problems.0
}

fn check_availability(scenario: &Scenario, problems: &mut Problems) {
    if !(scenario.availability > 0.0 && scenario.availability < 1.0) {
        problems.value_with_help(
            "availability",
            "`availability` must be above 0% and below 100%",
            "100% leaves no error budget to measure; the seed SLO is 99.9%",
        );
    }
}

fn check_production_rate(scenario: &Scenario, problems: &mut Problems) {
    if let Some(rate) = scenario.production_rate
        && !(MIN_RATE..=MAX_RATE).contains(&rate)
    {
        problems.value(
            "production_rate",
            format!(
                "`production_rate` must be between {MIN_RATE}/s and {MAX_RATE}/s, got {rate}/s"
            ),
        );
    }
}

fn check_prices(scenario: &Scenario, problems: &mut Problems) {
    if scenario.target != Target::Lab {
        return;
    }
    for provider in scenario.prices.keys() {
        if !LAB_PROVIDERS.contains(&provider.as_str()) {
            problems.key(
                format!("prices.{provider}"),
                format!("the lab has no LLM provider `{provider}`"),
                Some(suggest(provider, &LAB_PROVIDERS)),
            );
        }
    }
}

fn check_target(scenario: &Scenario, problems: &mut Problems) {
    if let Target::External(external) = &scenario.target
        && let Some(proxies) = &external.proxies
    {
        let mut seen = HashSet::new();
        for (index, proxy) in proxies.iter().enumerate() {
            if !seen.insert(proxy) {
                problems.value(
                    format!("target.proxies[{index}]"),
                    format!("proxy `{proxy}` is listed twice"),
                );
            }
        }
    }
}

fn check_traffic(scenario: &Scenario, problems: &mut Problems) {
    let traffic = &scenario.traffic;
    if !(MIN_RATE..=MAX_RATE).contains(&traffic.rate) {
        problems.value_with_help(
            "traffic.rate",
            format!(
                "`traffic.rate` must be between {MIN_RATE}/s and {MAX_RATE}/s, got {}/s",
                traffic.rate
            ),
            "the generator schedules in thousandths of a request per second and records every arrival",
        );
    }
    problems.positive("traffic.warmup", traffic.warmup);
    problems.positive("traffic.duration", traffic.duration);
    problems.positive("traffic.timeout", traffic.timeout);
    if traffic.warmup.saturating_add(traffic.duration) > MAX_DURATION {
        problems.value(
            "traffic.duration",
            "warm-up plus duration is longer than the 7-day limit",
        );
    }
    let mix = &traffic.mix;
    if mix.chat + mix.chat_stream + mix.history <= 0.0 {
        problems.value_with_help(
            "traffic.mix",
            "every weight of `traffic.mix` is zero: no request would be sent",
            "e.g. `mix: { chat: 80, chat_stream: 15, history: 5 }`",
        );
    } else if mix.history > 0.0 && mix.chat + mix.chat_stream <= 0.0 {
        problems.value_with_help(
            "traffic.mix",
            "`traffic.mix` reads history but sends no turn: gameday reads only conversations \
             it has written to",
            "give `chat` or `chat_stream` a weight above 0",
        );
    }
    for (key, weight) in [
        ("chat", mix.chat),
        ("chat_stream", mix.chat_stream),
        ("history", mix.history),
    ] {
        if weight != 0.0 && !(MIN_MIX_WEIGHT..=MAX_MIX_WEIGHT).contains(&weight) {
            problems.value_with_help(
                format!("traffic.mix.{key}"),
                format!(
                    "`traffic.mix.{key}` must be 0 or between {MIN_MIX_WEIGHT} and {MAX_MIX_WEIGHT}, got {weight}"
                ),
                "weights are relative and kept in thousandths: scale them, e.g. 80/15/5",
            );
        }
    }
    if traffic.conversations == 0 {
        problems.value(
            "traffic.conversations",
            "`traffic.conversations` must be at least 1",
        );
    }
    if traffic.turns_per_conversation == Some(0) {
        problems.value(
            "traffic.turns_per_conversation",
            "`traffic.turns_per_conversation` must be at least 1",
        );
    }
    if traffic.max_in_flight == 0 {
        problems.value(
            "traffic.max_in_flight",
            "`traffic.max_in_flight` must be at least 1",
        );
    }
    let over = [
        (
            "conversations",
            u64::from(traffic.conversations),
            u64::from(MAX_CONVERSATIONS),
            "the generator keeps every conversation of the pool in memory",
        ),
        (
            "turns_per_conversation",
            u64::from(traffic.turns_per_conversation.unwrap_or(0)),
            u64::from(MAX_TURNS_PER_CONVERSATION),
            "every turn resends the conversation's history",
        ),
        (
            "max_in_flight",
            u64::from(traffic.max_in_flight),
            u64::from(MAX_IN_FLIGHT),
            "each request in flight holds a connection and a task",
        ),
    ];
    for (key, value, limit, reason) in over {
        if value > limit {
            problems.value(
                format!("traffic.{key}"),
                format!("`traffic.{key}` is {value}; at most {limit}, because {reason}"),
            );
        }
    }
}

/// The bounds on list lengths and string sizes (see `scenario::limits`).
fn check_counts(
    scenario: &Scenario,
    clean: &dyn Fn(&[&str]) -> bool,
    file_index: &dyn Fn(usize) -> usize,
    problems: &mut Problems,
) {
    if scenario.timeline.len() > MAX_TIMELINE_ENTRIES {
        problems.value(
            "timeline",
            format!(
                "the timeline has {} entries; at most {MAX_TIMELINE_ENTRIES}, because a run records \
                 at most 64 phases (each fault and each gap between faults is one)",
                scenario.timeline.len()
            ),
        );
    }
    for (index, entry) in scenario.timeline.iter().enumerate() {
        if let Fault::Exec {
            command, revert, ..
        } = &entry.fault
        {
            for (key, text) in [("exec", command), ("revert", revert)] {
                if text.len() > MAX_COMMAND_BYTES {
                    problems.value(
                        format!("timeline[{}].fault.{key}", file_index(index)),
                        format!(
                            "the command is {} bytes; at most {MAX_COMMAND_BYTES}, because the \
                             kernel limits one argument of `sh -c` to 128 KiB",
                            text.len()
                        ),
                    );
                }
            }
        }
    }
    if clean(&["alerts", "halt"]) {
        for (key, count) in [
            ("alerts", scenario.alerts.len()),
            ("halt", scenario.halt.len()),
        ] {
            if count > MAX_RULES {
                problems.value(
                    key,
                    format!(
                        "`{key}` has {count} rules (built-in ones included); at most {MAX_RULES}, \
                         because every rule is evaluated every second"
                    ),
                );
            }
        }
    }
    if let Target::External(external) = &scenario.target
        && clean(&["target"])
    {
        if external.headers.len() > MAX_HEADERS {
            problems.value(
                "target.headers",
                format!(
                    "{} headers; at most {MAX_HEADERS} are sent on every request",
                    external.headers.len()
                ),
            );
        }
        for header in &external.headers {
            if header.template.len() > MAX_HEADER_BYTES {
                problems.value(
                    format!("target.headers.{}", header.name),
                    format!(
                        "the header is {} bytes; at most {MAX_HEADER_BYTES}, because servers refuse \
                         longer header lines",
                        header.template.len()
                    ),
                );
            }
        }
        if let Some(proxies) = &external.proxies
            && proxies.len() > MAX_PROXIES
        {
            problems.value(
                "target.proxies",
                format!("{} proxies; at most {MAX_PROXIES}", proxies.len()),
            );
        }
        if external.llm_proxies.len() > MAX_LLM_PROXIES {
            problems.value(
                "target.llm_proxies",
                format!(
                    "{} LLM gateways; at most {MAX_LLM_PROXIES}",
                    external.llm_proxies.len()
                ),
            );
        }
    }
}

fn check_timeline(
    scenario: &Scenario,
    traffic_is_clean: bool,
    file_index: &dyn Fn(usize) -> usize,
    problems: &mut Problems,
) {
    let run_end = scenario.traffic.duration;
    let mut names = HashSet::new();
    for (index, entry) in scenario.timeline.iter().enumerate() {
        let path = format!("timeline[{}]", file_index(index));
        if entry.name.trim().is_empty() {
            problems.value(format!("{path}.name"), "a timeline entry needs a name");
        } else if FIXED_PHASES.contains(&entry.name.as_str()) {
            problems.value(
                format!("{path}.name"),
                format!(
                    "`{}` is a reserved phase name; name the fault after what it breaks",
                    entry.name
                ),
            );
        } else if !names.insert(entry.name.as_str()) {
            problems.value(
                format!("{path}.name"),
                format!(
                    "the name `{}` is used by an earlier timeline entry; names must be unique",
                    entry.name
                ),
            );
        }
        problems.positive(&format!("{path}.for"), entry.duration);
        if traffic_is_clean && entry.end() > run_end {
            problems.value_with_help(
                format!("{path}.for"),
                format!(
                    "`{}` ends at {} after the warm-up, but the measured run ends at {}",
                    entry.name,
                    format_duration(entry.end()),
                    format_duration(run_end)
                ),
                "shorten the fault, start it earlier, or lengthen `traffic.duration`",
            );
        }
    }
}

fn check_faults(scenario: &Scenario, file_index: &dyn Fn(usize) -> usize, problems: &mut Problems) {
    for (index, entry) in scenario.timeline.iter().enumerate() {
        let path = format!("timeline[{}].fault", file_index(index));
        match (&entry.fault, &scenario.target) {
            (Fault::Toxic { proxy, .. } | Fault::ProxyDown { proxy }, target) => {
                let key = if matches!(entry.fault, Fault::Toxic { .. }) {
                    "proxy"
                } else {
                    "proxy_down"
                };
                check_proxy(scenario, target, proxy, &format!("{path}.{key}"), problems);
            }
            (
                Fault::Kill { .. } | Fault::Freeze { .. } | Fault::Restart { .. },
                Target::External(_),
            ) => {
                problems.value_with_help(
                    path,
                    format!(
                        "`{}` acts on a process of the lab; an external target's processes are not gameday's",
                        entry.fault.kind()
                    ),
                    "use `exec` with the command that does it in your environment, e.g. \
                     `{ exec: \"kubectl delete pod redis-0\", revert: \"true\" }`",
                );
            }
            (Fault::Llm { provider, mode }, target) => {
                check_llm(target, provider, mode, &path, problems);
            }
            (
                Fault::Exec {
                    command,
                    revert,
                    timeout,
                },
                _,
            ) => {
                if command.trim().is_empty() {
                    problems.value(format!("{path}.exec"), "the `exec` command is empty");
                }
                if revert.trim().is_empty() {
                    problems.value_with_help(
                        format!("{path}.revert"),
                        "the `revert` command is empty",
                        "a fault that cannot be reverted is not allowed; write `revert: \"true\"` \
                         if the fault heals by itself",
                    );
                }
                problems.positive(&format!("{path}.timeout"), *timeout);
            }
            _ => {}
        }
    }
}

/// The lab's LLM simulators, which its `llm` faults name.
pub const LAB_SIMULATORS: [&str; 2] = ["primary", "fallback"];

/// An `llm` fault names one of the lab's simulators or one of the external
/// target's gateways; only a gateway takes a `match`.
fn check_llm(
    target: &Target,
    provider: &str,
    mode: &crate::lab::llm_proxy::Rule,
    path: &str,
    problems: &mut Problems,
) {
    let provider_path = format!("{path}.llm.provider");
    match target {
        Target::Lab => {
            if !LAB_SIMULATORS.contains(&provider) {
                problems.value_with_help(
                    provider_path,
                    format!("the lab has no LLM simulator `{provider}`"),
                    suggest(provider, &LAB_SIMULATORS),
                );
            }
            if mode.matcher.is_some() {
                problems.value_with_help(
                    format!("{path}.mode.match"),
                    "`match` needs a `gameday llm-proxy` gateway; the lab's simulators fail every request",
                    "remove `match`, or run the game day on an external target through gateways \
                     (see docs/llm-proxy.md)",
                );
            }
        }
        Target::External(external) => {
            let known: Vec<&str> = external.llm_proxies.keys().map(String::as_str).collect();
            if known.is_empty() {
                problems.value_with_help(
                    provider_path,
                    format!("`llm` fault on `{provider}`, but the target declares no LLM gateways"),
                    "declare the `gameday llm-proxy` gateways in front of the target's providers, \
                     e.g. `llm_proxies: { primary: http://127.0.0.1:8611 }` in `target` \
                     (see docs/llm-proxy.md)",
                );
            } else if !known.contains(&provider) {
                let help = match closest(provider, known.iter().copied()) {
                    Some(candidate) => {
                        format!(
                            "did you mean `{candidate}`? known gateways: {}",
                            list(&known)
                        )
                    }
                    None => format!("known gateways: {}", list(&known)),
                };
                problems.value_with_help(
                    provider_path,
                    format!("no LLM gateway `{provider}` in `target.llm_proxies`"),
                    help,
                );
            }
        }
    }
}

fn check_proxy(
    scenario: &Scenario,
    target: &Target,
    proxy: &str,
    path: &str,
    problems: &mut Problems,
) {
    match target {
        Target::Lab => {
            if !LAB_PROXIES.contains(&proxy) {
                problems.value_with_help(
                    path,
                    format!("the lab has no proxy `{proxy}`"),
                    suggest(proxy, &LAB_PROXIES),
                );
            }
        }
        Target::External(external) => {
            if scenario.toxiproxy.is_none() {
                problems.value_with_help(
                    path,
                    format!("proxy `{proxy}` needs a Toxiproxy, and this target names none"),
                    "set `toxiproxy: http://host:8474` in `target`",
                );
            }
            if let Some(proxies) = &external.proxies
                && !proxies.iter().any(|known| known == proxy)
            {
                let known: Vec<&str> = proxies.iter().map(String::as_str).collect();
                problems.value_with_help(
                    path,
                    format!("proxy `{proxy}` is not in `target.proxies`"),
                    suggest(proxy, &known),
                );
            }
        }
    }
}

fn check_rules(scenario: &Scenario, problems: &mut Problems) {
    let mut names: HashSet<&str> = HashSet::new();
    let mut custom_index = 0;
    for alert in &scenario.alerts {
        if alert.builtin {
            names.insert(&alert.name);
            continue;
        }
        let path = format!("alerts[{custom_index}]");
        custom_index += 1;
        if alert.name.trim().is_empty() {
            problems.value(format!("{path}.name"), "an alert rule needs a name");
        } else if !names.insert(&alert.name) {
            problems.value(
                format!("{path}.name"),
                format!("an alert rule named `{}` is already defined (built-in rules: error-rate-1pct-5m, p95-5s-10m)", alert.name),
            );
        }
        problems.positive(&format!("{path}.when"), alert.rule.window);
    }
    for (index, rule) in scenario.halt.iter().enumerate() {
        problems.positive(&format!("halt[{index}]"), rule.window);
    }
}

/// A rule whose window is longer than the measured run can never hold:
/// a halt that cannot trigger, an alert that cannot fire.
fn check_rule_windows(scenario: &Scenario, problems: &mut Problems) {
    let measured = crate::plan::Plan::from_scenario(scenario).measured.length();
    let too_long = |window: Duration| window > measured;
    let custom = scenario.alerts.iter().filter(|alert| !alert.builtin);
    for (index, alert) in custom.enumerate() {
        if too_long(alert.rule.window) {
            problems.value(
                format!("alerts[{index}].when"),
                format!(
                    "the window {} is longer than the measured run ({}): `{}` can never fire",
                    format_duration(alert.rule.window),
                    format_duration(measured),
                    alert.name
                ),
            );
        }
    }
    for (index, rule) in scenario.halt.iter().enumerate() {
        if too_long(rule.window) {
            problems.value(
                format!("halt[{index}]"),
                format!(
                    "the window {} is longer than the measured run ({}): this halt can never trigger",
                    format_duration(rule.window),
                    format_duration(measured)
                ),
            );
        }
    }
}

/// Every phase name an expectation may use.
fn known_phases(scenario: &Scenario) -> Vec<&str> {
    let mut phases: Vec<&str> = FIXED_PHASES.to_vec();
    phases.extend(scenario.timeline.iter().map(|entry| entry.name.as_str()));
    phases
}

fn check_expectations(scenario: &Scenario, problems: &mut Problems) {
    let phases = known_phases(scenario);
    let alert_names: Vec<&str> = scenario
        .alerts
        .iter()
        .map(|alert| alert.name.as_str())
        .collect();
    let plan = crate::plan::Plan::from_scenario(scenario);
    let lab = scenario.target == Target::Lab;
    for expectations in &scenario.expect {
        let phase = expectations.phase.as_str();
        let path = format!("expect.{phase}");
        if !phases.contains(&phase) {
            let help = match closest(phase, phases.iter().copied()) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => format!("phases: {}", list(&phases)),
            };
            problems.key(
                path.clone(),
                format!("there is no phase `{phase}`"),
                Some(help),
            );
            continue;
        }
        if phase == "between" && !plan.phases.iter().any(|p| p.name == "between") {
            problems.key(
                path.clone(),
                "there is no `between` phase: the faults leave no gap between them",
                None,
            );
        }
        if phase != "run" {
            if !expectations.alerts.is_empty() {
                problems.key(
                    format!("{path}.alerts"),
                    "alert expectations apply to the whole run; move them to `expect.run`",
                    None,
                );
            }
            if expectations.conclusive.is_some() {
                problems.key(
                    format!("{path}.conclusive"),
                    "`conclusive` applies to the whole run; move it to `expect.run`",
                    None,
                );
            }
        }
        if phase == "baseline" && expectations.recovery_time.is_some() {
            problems.key(
                format!("{path}.recovery_time"),
                "`recovery_time` is measured after a fault is reverted; the baseline has none",
                None,
            );
        }
        if expectations.ttft_p95.is_some() && scenario.traffic.mix.chat_stream <= 0.0 {
            problems.key(
                format!("{path}.ttft_p95"),
                "`ttft_p95` measures streaming turns, and `traffic.mix` has no `chat_stream`",
                Some("give `chat_stream` a weight, or drop `ttft_p95`".to_string()),
            );
        }
        for (alert, expectation) in &expectations.alerts {
            if let Some(rule) = scenario.alert(alert)
                && !matches!(expectation, AlertExpectation::NotFired)
                && rule.rule.window > plan.measured.length()
            {
                problems.value(
                    format!("{path}.alerts.{alert}"),
                    format!(
                        "`{alert}` needs its condition to hold for {}, longer than the measured run ({}): it cannot fire",
                        format_duration(rule.rule.window),
                        format_duration(plan.measured.length())
                    ),
                );
            }
            if !alert_names.contains(&alert.as_str()) {
                problems.key(
                    format!("{path}.alerts.{alert}"),
                    format!("there is no alert rule `{alert}`"),
                    Some(suggest(alert, &alert_names)),
                );
            }
        }
        if lab {
            for provider in expectations.breakers.keys() {
                check_lab_provider(provider, &format!("{path}.breakers.{provider}"), problems);
            }
            for provider in expectations.providers.keys() {
                check_lab_provider(provider, &format!("{path}.providers.{provider}"), problems);
            }
        }
        let phase_length = plan.phase(phase).map(|planned| planned.length());
        check_deadlines(expectations, phase_length, &path, problems);
    }
}

fn check_lab_provider(provider: &str, path: &str, problems: &mut Problems) {
    if !LAB_PROVIDERS.contains(&provider) {
        problems.key(
            path,
            format!("the lab has no LLM provider `{provider}`"),
            Some(suggest(provider, &LAB_PROVIDERS)),
        );
    }
}

/// Deadlines must be > 0 and, when they count from the phase start, fit in
/// the phase: "becomes false within 90s" cannot be judged in a 60s window.
fn check_deadlines(
    expectations: &PhaseExpectations,
    phase_length: Option<Duration>,
    path: &str,
    problems: &mut Problems,
) {
    let mut check = |within: Duration, path: String, counts_from_start: bool| {
        if within.is_zero() {
            problems.value(path, "a deadline must be longer than 0s");
        } else if let Some(length) = phase_length
            && counts_from_start
            && within > length
        {
            problems.value(
                path,
                format!(
                    "the deadline {} is longer than the phase `{}` ({})",
                    format_duration(within),
                    expectations.phase,
                    format_duration(length)
                ),
            );
        }
    };
    for (capability, expectation) in &expectations.capabilities {
        if let CapabilityExpectation::Becomes { within, .. }
        | CapabilityExpectation::Returns { within } = expectation
        {
            // `all` expands to six entries at one place; identical
            // diagnostics are merged when they are sorted.
            check(
                *within,
                format!("{path}.capabilities.{}", capability.name()),
                true,
            );
        }
    }
    for (provider, expectation) in &expectations.breakers {
        let breaker_path = format!("{path}.breakers.{provider}");
        match expectation {
            BreakerExpectation::OpensWithin(within) => check(*within, breaker_path, true),
            BreakerExpectation::ClosesWithin(within) => check(*within, breaker_path, false),
            BreakerExpectation::Stays(_) => {}
        }
    }
    for (alert, expectation) in &expectations.alerts {
        if let AlertExpectation::FiredWithin(within) = expectation {
            check(*within, format!("{path}.alerts.{alert}"), false);
        }
    }
}

/// The `monitoring` section: `prometheus: lab` needs the lab; phases exist;
/// `fires_within` only where a fault is applied, `resolves_within` where one
/// is reverted (a fault phase, or `recovery`); deadlines are positive;
/// `compare_with` names an alert rule of the scenario.
fn check_monitoring(scenario: &Scenario, problems: &mut Problems) {
    use super::monitoring::PrometheusSource;
    let Some(monitoring) = &scenario.monitoring else {
        return;
    };
    if monitoring.prometheus == PrometheusSource::Lab && scenario.target != Target::Lab {
        problems.value_with_help(
            "monitoring.prometheus",
            "`prometheus: lab` reads the lab's Prometheus, but the target is not the lab",
            "give the Prometheus that scrapes the platform: `prometheus: { url: https://prometheus.example.com }`",
        );
    }
    let phases = known_phases(scenario);
    for expectations in &monitoring.expect {
        let phase = expectations.phase.as_str();
        let path = format!("monitoring.expect.{phase}");
        if !phases.contains(&phase) {
            let help = match closest(phase, phases.iter().copied()) {
                Some(meant) => format!("did you mean `{meant}`?"),
                None => format!("phases: {}", list(&phases)),
            };
            problems.key(path, format!("there is no phase `{phase}`"), Some(help));
            continue;
        }
        let is_fault = scenario.timeline.iter().any(|entry| entry.name == phase);
        for (name, watch) in &expectations.alerts {
            let alert_path = format!("{path}.alerts.{name}");
            if let Some(within) = watch.fires_within {
                if !is_fault {
                    problems.value_with_help(
                        format!("{alert_path}.fires_within"),
                        format!(
                            "`fires_within` counts from a fault's apply; `{phase}` has no fault"
                        ),
                        "put it under the fault's phase, or expect `silent` here".to_string(),
                    );
                } else {
                    problems.positive(&format!("{alert_path}.fires_within"), within);
                }
            }
            if let Some(within) = watch.resolves_within {
                if !is_fault && phase != "recovery" {
                    problems.value_with_help(
                        format!("{alert_path}.resolves_within"),
                        format!(
                            "`resolves_within` counts from a fault's revert; `{phase}` has none"
                        ),
                        "put it under the fault's phase, or under `recovery` (from the last revert)"
                            .to_string(),
                    );
                } else {
                    problems.positive(&format!("{alert_path}.resolves_within"), within);
                }
            }
            if let Some(rule) = &watch.compare_with
                && scenario.alert(rule).is_none()
            {
                let names: Vec<&str> = scenario.alerts.iter().map(|a| a.name.as_str()).collect();
                problems.value_with_help(
                    format!("{alert_path}.compare_with"),
                    format!("there is no alert rule `{rule}`"),
                    format!("alert rules: {}", list(&names)),
                );
            }
        }
    }
}
