//! `gameday run`: one game day from a scenario file to its verdict.
//!
//! Order: validate → plan → bring up the lab or connect → traffic starts;
//! preflight at the end of warm-up (the steady state must hold, else abort
//! with the reason and inject nothing) → the fault timeline and the
//! observer run alongside the traffic, halt conditions are watched → every
//! fault is rolled back → recovery is observed → verdict → results.json,
//! report.html, junit.xml.
//!
//! Every fault is journaled before it is applied and reverted on every exit
//! path (see [`rollback`]); results.json is rewritten as the run goes.

pub mod cleanup;
pub mod cli;
pub mod effect;
pub mod journal;
pub mod progress;
pub mod quick;
pub mod rollback;
pub mod stale;
pub mod target;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use tokio::time::Instant;

use self::journal::Journal;
use self::rollback::Rollback;
use crate::exit::Exit;
use crate::observe::Observer;
use crate::plan::{Phase, Plan};
use crate::results::{
    FaultRecord, PhaseKind, PhaseWindow, PlanInfo, Preflight, ProxyPathEvidence, Results,
    RunRecord, RunStatus, SCHEMA_VERSION, ScenarioInfo, Verdict,
};
use crate::scenario::model::{Scenario, Target};
use crate::shutdown::Shutdown;
use crate::traffic::{Arrivals, Generator, Mix, TrafficSpec};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where run folders go.
    pub report_dir: PathBuf,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// No progress line.
    pub quiet: bool,
    /// Revert faults left behind by an earlier, dead run on the same target before starting.
    pub cleanup_stale: bool,
}

/// What one run produced.
#[derive(Debug)]
pub struct RunSummary {
    /// The run folder.
    pub dir: PathBuf,
    /// The results written there.
    pub results: Results,
    /// The process exit code this run implies.
    pub exit_code: Exit,
}

/// Runs one scenario end to end. Errors are setup errors (exit 2); the
/// outcome of a run that started is in the summary.
pub async fn run_scenario(
    scenario: Scenario,
    options: &RunOptions,
    signals: Shutdown,
) -> anyhow::Result<RunSummary> {
    refuse_stale(&scenario, options).await?;
    let plan = Arc::new(Plan::from_scenario(&scenario));
    let seed = options
        .seed
        .or(scenario.traffic.seed)
        .unwrap_or_else(|| crate::rng::Rng::from_entropy().next_u64());
    let base_id = format!(
        "{}-{}",
        sanitize(&scenario.name),
        crate::timestamp::compact(std::time::SystemTime::now())
    );
    // A folder of its own, created exclusively: concurrent runs never share one.
    let (run_id, dir) = journal::claim_run_dir(&options.report_dir, &base_id)
        .with_context(|| format!("creating a run folder in {}", options.report_dir.display()))?;
    let record = initial_record(&scenario, &plan, &run_id, seed);
    let journal = Arc::new(
        Journal::create(&dir, record).with_context(|| format!("creating {}", dir.display()))?,
    );
    if !options.quiet {
        crate::errln!("gameday: {} — {}", scenario.name, dir.display());
        crate::errln!("{plan}");
    }

    let prepared = match target::prepare(&scenario, seed).await {
        Ok(prepared) => prepared,
        Err(error) => {
            let message = format!("{error:#}");
            journal.update(|r| {
                r.status = RunStatus::Error {
                    message: message.clone(),
                }
            })?;
            return finish(&scenario, &plan, &journal, options).map(|mut summary| {
                summary.exit_code = Exit::Error;
                summary
            });
        }
    };
    journal.update(|r| r.target = prepared.info.clone())?;

    // The platform's Prometheus must answer before any traffic or fault.
    let monitor = match monitoring_preflight(&scenario, &prepared).await {
        Ok(monitor) => monitor,
        Err(message) => {
            journal.update(|r| {
                r.status = RunStatus::Error {
                    message: message.clone(),
                }
            })?;
            if let Some(lab) = prepared.lab {
                lab.stop().await;
            }
            return finish(&scenario, &plan, &journal, options).map(|mut summary| {
                summary.exit_code = Exit::Error;
                summary
            });
        }
    };

    let start = Instant::now();
    let rollback = Arc::new(Rollback::new(
        prepared.faults.clone(),
        Arc::clone(&journal),
        start,
        &run_id,
    ));
    // A panic anywhere in the run must not skip the rollback below.
    let run = Run {
        scenario: &scenario,
        plan: &plan,
        prepared: &prepared,
        journal: &journal,
        rollback: &rollback,
        start,
        seed,
        options,
        signals,
    };
    let outcome = std::panic::AssertUnwindSafe(run.drive())
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(anyhow::anyhow!("internal error (panic): {message}"))
        });
    // Whatever happened above — including a panic in a task — nothing stays broken.
    rollback.revert_all().await;
    progress::clear();
    match outcome {
        Ok(status) => journal.update(|r| r.status = status)?,
        Err(error) => journal.update(|r| {
            r.status = RunStatus::Error {
                message: format!("{error:#}"),
            }
        })?,
    }
    if let (Some(client), Some(monitoring)) = (&monitor, &scenario.monitoring) {
        let phases = journal.record().plan.phases;
        let end_s = start.elapsed().as_secs_f64();
        let start_unix = crate::monitor::unix_time_of(start);
        let collected =
            crate::monitor::collect(client, monitoring, start_unix, end_s, &phases).await;
        journal.update(|r| r.monitoring = Some(collected))?;
    }
    if let Some(lab) = prepared.lab {
        lab.stop().await;
    }
    finish(&scenario, &plan, &journal, options)
}

/// The scenario's Prometheus (and Alertmanager), checked to answer. `None`
/// without a `monitoring` section. When the section has expectations, a
/// Prometheus that does not answer is an error (the run stops, exit 2);
/// without expectations it is a warning and the run goes on unmonitored.
async fn monitoring_preflight(
    scenario: &Scenario,
    prepared: &target::Prepared,
) -> Result<Option<crate::monitor::PrometheusClient>, String> {
    let Some(monitoring) = &scenario.monitoring else {
        return Ok(None);
    };
    let checked = async {
        let client = crate::monitor::PrometheusClient::for_scenario(
            monitoring,
            prepared.lab_prometheus.as_deref(),
        )?;
        crate::monitor::preflight(&client, monitoring).await?;
        Ok::<_, crate::monitor::MonitorError>(client)
    };
    match checked.await {
        Ok(client) => Ok(Some(client)),
        Err(error) if monitoring.has_expectations() => Err(format!(
            "monitoring preflight: {error}; no fault was injected"
        )),
        Err(error) => {
            eprintln!("warning: monitoring: {error}; the run goes on without it");
            Ok(None)
        }
    }
}

/// Refuses to start while an earlier run on the same external target left
/// faults applied (or is still running), unless `--cleanup-stale` reverts
/// them first. Lab targets have nothing to check: their faults die with the
/// runner that made them.
async fn refuse_stale(scenario: &Scenario, options: &RunOptions) -> anyhow::Result<()> {
    let Target::External(external) = &scenario.target else {
        return Ok(());
    };
    // Unresolvable URLs are reported by the setup, after this check.
    let Ok(addresses) = external.addresses(scenario.toxiproxy.as_ref()) else {
        return Ok(());
    };
    let toxiproxy = addresses.toxiproxy.as_deref();
    let gateways = &addresses.llm_proxies;
    let mut stale = Vec::new();
    for (dir, pending) in stale::scan(&options.report_dir)? {
        let run_target = std::fs::read(dir.join("results.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        let same_url = run_target
            .as_ref()
            .and_then(|r| r["target"]["url"].as_str())
            .is_some_and(|url| url.trim_end_matches('/') == addresses.url);
        let mine: Vec<_> = pending
            .into_iter()
            .filter(|p| p.outlives_runner())
            .filter(|p| match &p.revert {
                crate::faults::action::RevertAction::RemoveToxic { toxiproxy: url, .. }
                | crate::faults::action::RevertAction::EnableProxy { toxiproxy: url, .. } => {
                    Some(url.trim_end_matches('/')) == toxiproxy
                }
                crate::faults::action::RevertAction::Exec { .. } => same_url,
                // A gateway left in a failure mode would be read as this
                // run's "before" mode, and restored at its end.
                crate::faults::action::RevertAction::GatewayMode { admin_url, .. } => {
                    gateways.values().any(|url| url == admin_url)
                }
                _ => false,
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        if let Some(runner) = stale::live_runner(&dir) {
            anyhow::bail!(
                "another gameday run (pid {}, {}) is injecting faults into this target right now",
                runner.pid,
                dir.display()
            );
        }
        stale.push((dir, mine));
    }
    if stale.is_empty() {
        return Ok(());
    }
    let listing: Vec<String> = stale
        .iter()
        .flat_map(|(dir, pending)| {
            pending
                .iter()
                .map(move |p| format!("  {}: {}", dir.display(), p.describe()))
        })
        .collect();
    if !options.cleanup_stale {
        anyhow::bail!(
            "an earlier run left faults applied on this target; nothing was injected:\n{}\n\
             revert them with `gameday cleanup {}` (or run again with --cleanup-stale)",
            listing.join("\n"),
            stale
                .iter()
                .map(|(dir, _)| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    for (dir, _) in &stale {
        let cleaned = cleanup::clean(dir, false).await?;
        anyhow::ensure!(
            cleaned.failed.is_empty(),
            "--cleanup-stale could not revert: {}",
            cleaned.failed.join("; ")
        );
        for line in cleaned.reverted {
            crate::errln!("gameday: reverted stale fault {line}");
        }
    }
    Ok(())
}

/// One run in progress: what each of its steps needs.
struct Run<'a> {
    scenario: &'a Scenario,
    plan: &'a Arc<Plan>,
    prepared: &'a target::Prepared,
    journal: &'a Arc<Journal>,
    rollback: &'a Arc<Rollback>,
    start: Instant,
    seed: u64,
    options: &'a RunOptions,
    signals: Shutdown,
}

/// The tasks that run alongside the timeline, from traffic start to rollback.
struct Running {
    live: crate::traffic::LiveHandle,
    traffic: tokio::task::JoinHandle<crate::results::TrafficRecord>,
    observer: Observer,
    observer_task: tokio::task::JoinHandle<()>,
    progress: Option<tokio::task::JoinHandle<()>>,
    phases: tokio::task::JoinHandle<()>,
    watch: tokio::task::JoinHandle<()>,
}

impl Run<'_> {
    /// Traffic, warm-up and preflight, timeline, rollback, evidence; returns
    /// the final status.
    async fn drive(&self) -> anyhow::Result<RunStatus> {
        let (stop_trigger, stop) = crate::shutdown::channel();
        let running = self.start_tasks(&stop)?;
        let mut status = self.warm_up(&running).await?;
        if matches!(status, RunStatus::Completed) {
            status = self.timeline(&running.live, &stop, &stop_trigger).await;
        }
        stop_trigger.trigger();
        self.roll_back_and_collect(running, status).await
    }

    /// Starts the traffic, the observer, the progress line, the phase
    /// tracker and the check that applied faults stay applied.
    fn start_tasks(&self, stop: &Shutdown) -> anyhow::Result<Running> {
        let spec = traffic_spec(self.scenario, self.plan, self.seed);
        if let Some(warning) = crate::traffic::pool_warning(&spec, Duration::from_millis(200)) {
            crate::errln!("warning: {warning}");
        }
        let generator = Generator::new(
            spec,
            self.prepared.endpoints.clone(),
            self.journal.record().plan.phases,
        )
        .context("setting up traffic")?;
        let live = generator.live();
        let traffic = tokio::spawn(generator.run(self.start, stop.clone().wait()));
        let (observer, observer_task) = Observer::spawn(
            self.prepared.observer.clone(),
            self.start,
            stop.clone().wait(),
        )
        .context("starting the observer")?;
        let progress = (!self.options.quiet).then(|| {
            tokio::spawn(progress::report(
                live.clone(),
                Arc::clone(self.plan),
                Arc::clone(self.rollback),
                self.start,
            ))
        });
        // results.json names the live phase, so a journal read after a kill says where the run was.
        let phases = tokio::spawn(track_phase(
            Arc::clone(self.plan),
            Arc::clone(self.journal),
            self.start,
        ));
        // Faults undone under the run by someone else are noticed and recorded.
        let watch = tokio::spawn({
            let rollback = Arc::clone(self.rollback);
            async move {
                let mut ticker = tokio::time::interval(INTACT_CHECK_EVERY);
                loop {
                    ticker.tick().await;
                    rollback.check_intact().await;
                }
            }
        });
        Ok(Running {
            live,
            traffic,
            observer,
            observer_task,
            progress,
            phases,
            watch,
        })
    }

    /// Warm-up, then preflight: nothing is injected unless the steady state
    /// holds. `Completed` means the timeline may start.
    async fn warm_up(&self, running: &Running) -> anyhow::Result<RunStatus> {
        let warmed = tokio::select! {
            _ = tokio::time::sleep_until(self.start + self.plan.warmup.end) => true,
            _ = self.signals.clone().wait() => false,
        };
        if !warmed {
            return Ok(RunStatus::Aborted {
                reason: format!("{} during warm-up", interrupted(&self.signals)),
            });
        }
        let preflight = preflight(
            self.scenario,
            &running.observer,
            &running.live,
            self.prepared,
        );
        let steady = preflight.steady_state;
        let reasons = preflight.messages.join("; ");
        self.journal.update(|r| r.preflight = preflight)?;
        Ok(if steady {
            RunStatus::Completed
        } else {
            RunStatus::Error {
                message: format!(
                    "preflight: the steady state does not hold ({reasons}); no fault was injected"
                ),
            }
        })
    }

    /// The timeline: one task per fault, overlapping freely, until the plan
    /// ends, a halt condition holds, a signal arrives or the journal fails.
    async fn timeline(
        &self,
        live: &crate::traffic::LiveHandle,
        stop: &Shutdown,
        stop_trigger: &crate::shutdown::ShutdownTrigger,
    ) -> RunStatus {
        let start = self.start;
        let mut faults = tokio::task::JoinSet::new();
        for (index, window) in self.plan.faults.iter().enumerate() {
            let (rollback, window, abort) =
                (Arc::clone(self.rollback), window.clone(), stop.clone());
            faults.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep_until(start + window.window.start) => {}
                    _ = abort.clone().wait() => return,
                }
                rollback.apply(index, &window).await;
                tokio::select! {
                    _ = tokio::time::sleep_until(start + window.window.end) => {}
                    _ = abort.wait() => return,
                }
                rollback.revert(index).await;
            });
        }
        let status = tokio::select! {
            _ = tokio::time::sleep_until(start + self.plan.total) => RunStatus::Completed,
            reason = halted(self.scenario.halt.clone(), live.clone()) => {
                crate::errln!("\ngameday: {reason}; rolling back");
                RunStatus::Aborted { reason }
            }
            _ = self.signals.clone().wait() => {
                let reason = interrupted(&self.signals);
                crate::errln!("\ngameday: {reason}; rolling back");
                RunStatus::Aborted { reason }
            }
            message = self.rollback.journal_failed() => {
                crate::errln!("\ngameday: {message}; rolling back");
                RunStatus::Error { message }
            }
        };
        stop_trigger.trigger();
        while let Some(result) = faults.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a fault task failed");
            }
        }
        status
    }

    /// Reverts every fault, waits for the traffic and the observer, and
    /// journals what they saw with each fault's effect evidence.
    async fn roll_back_and_collect(
        &self,
        running: Running,
        status: RunStatus,
    ) -> anyhow::Result<RunStatus> {
        running.phases.abort();
        running.watch.abort();
        if let Err(error) = self.journal.update(|r| {
            r.status = RunStatus::Running {
                phase: "rollback".to_owned(),
            }
        }) {
            tracing::error!(%error, "cannot write the journal");
        }
        self.rollback.revert_all().await;
        if let Some(progress) = running.progress {
            progress.abort();
        }
        let traffic = running
            .traffic
            .await
            .context("the traffic generator task failed")?;
        let _ = running.observer_task.await;
        let observations = running.observer.observations();
        let faults = &self.prepared.faults;
        let injected = effect::read_injected(&faults.http, &faults.gateways).await;
        let gateway_effects =
            effect::gateway_evidence(self.scenario, &self.prepared.gateway_injected, &injected);
        self.journal.update(|record| {
            record.traffic = traffic;
            record.observations = observations;
            effect::assess_with(record, &gateway_effects);
        })?;
        Ok(status)
    }
}

/// Resolves with the reason once a halt condition holds (checked every
/// second on the live traffic); never without halt conditions.
async fn halted(rules: Vec<crate::scenario::Rule>, live: crate::traffic::LiveHandle) -> String {
    let mut watch = crate::verdict::RuleWatch::new(rules);
    if watch.is_empty() {
        return std::future::pending().await;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticker.tick().await;
        let new = live.seconds_since(watch.next_t());
        if let Some((rule, at)) = watch.push(new) {
            return format!("halt condition `{rule}` held at {at:.0} s");
        }
    }
}

/// How often applied faults are checked for having been undone under the run.
const INTACT_CHECK_EVERY: Duration = Duration::from_secs(2);

/// The abort reason for a stop by signal (or closed output).
fn interrupted(signals: &Shutdown) -> String {
    format!(
        "interrupted ({})",
        signals
            .cause()
            .unwrap_or_else(|| "a termination signal".to_owned())
    )
}

/// Keeps results.json's `status.phase` on the phase the run is in, from
/// warm-up to the end of the plan (until aborted).
async fn track_phase(plan: Arc<Plan>, journal: Arc<Journal>, start: Instant) {
    let mut boundaries: Vec<Duration> = std::iter::once(plan.warmup.end)
        .chain(
            plan.phases
                .iter()
                .flat_map(|phase| phase.windows.iter().flat_map(|w| [w.start, w.end])),
        )
        .filter(|t| *t < plan.total)
        .collect();
    boundaries.sort();
    boundaries.dedup();
    let mut shown = String::new();
    for at in std::iter::once(Duration::ZERO).chain(boundaries) {
        tokio::time::sleep_until(start + at).await;
        let phase = progress::phase_at(&plan, at);
        if phase != shown {
            let result = journal.update(|r| {
                if matches!(r.status, RunStatus::Running { .. }) {
                    r.status = RunStatus::Running {
                        phase: phase.clone(),
                    };
                }
            });
            if let Err(error) = result {
                tracing::error!(%error, "cannot write the journal");
            }
            shown = phase;
        }
    }
}

/// The steady state at the end of warm-up: every capability on, health not
/// unhealthy, requests answered with at most 1% errors; plus the proxy path of
/// each proxied dependency.
fn preflight(
    scenario: &Scenario,
    observer: &Observer,
    live: &crate::traffic::LiveHandle,
    prepared: &target::Prepared,
) -> Preflight {
    let latest = observer.latest();
    let mut problems = Vec::new();
    let mut messages = Vec::new();
    match &latest.capabilities {
        Some(caps) => {
            let off: Vec<&str> = caps
                .iter()
                .filter(|(_, on)| !**on)
                .map(|(n, _)| n.as_str())
                .collect();
            if off.is_empty() {
                messages.push("every capability on".to_owned());
            } else {
                problems.push(format!("capabilities off: {}", off.join(", ")));
            }
        }
        None => problems.push(format!(
            "the capabilities route did not answer{}",
            observer
                .last_error(&prepared.observer.capabilities_path)
                .map(|error| format!(" ({error})"))
                .unwrap_or_default()
        )),
    }
    match &latest.health {
        Some((status, _)) if status == "unhealthy" => {
            problems.push("health is unhealthy".to_owned())
        }
        Some((status, _)) => messages.push(format!("health {status}")),
        None => problems.push(format!(
            "the health route did not answer{}",
            observer
                .last_error(&prepared.observer.health_path)
                .map(|error| format!(" ({error})"))
                .unwrap_or_default()
        )),
    }
    let snapshot = live.snapshot();
    if snapshot.completed == 0 {
        problems.push("no request completed during warm-up".to_owned());
    } else {
        let rate = snapshot.errors as f64 / snapshot.completed as f64;
        messages.push(format!(
            "warm-up: {} requests, {} errors",
            snapshot.completed, snapshot.errors
        ));
        if rate > 0.01 {
            problems.push(format!(
                "{} errors in {} warm-up requests ({:.1}%){}",
                snapshot.errors,
                snapshot.completed,
                rate * 100.0,
                top_failures(live)
            ));
        }
    }
    let proxy_paths = match &scenario.target {
        Target::Lab => ["redis", "postgres", "primary", "fallback"]
            .iter()
            .map(|name| ProxyPathEvidence {
                proxy: (*name).to_owned(),
                passes_through: Some(true),
                detail: "the lab wires the platform to this proxy's listen address".to_owned(),
            })
            .collect(),
        Target::External(_) => scenario
            .timeline
            .iter()
            .filter_map(|entry| match &entry.fault {
                crate::scenario::model::Fault::Toxic { proxy, .. }
                | crate::scenario::model::Fault::ProxyDown { proxy } => Some(proxy.clone()),
                _ => None,
            })
            .map(|proxy| ProxyPathEvidence {
                proxy,
                passes_through: None,
                detail: format!(
                    "nothing measured: {} exposes no traffic counters, so gameday cannot see \
                     this dependency's traffic cross it; see each fault's effect evidence",
                    prepared.info.toxiproxy.as_deref().unwrap_or("no Toxiproxy")
                ),
            })
            .collect(),
    };
    let steady = problems.is_empty();
    messages.extend(problems);
    Preflight {
        steady_state: steady,
        messages,
        proxy_paths,
    }
}

/// The most frequent distinct failures of the warm-up, as `: 11× history
/// HTTP 404 not_found: ...; 2× chat timeout: ...` (empty when none is known).
fn top_failures(live: &crate::traffic::LiveHandle) -> String {
    const SHOWN: usize = 3;
    let (failures, others) = live.failures_so_far("warmup");
    if failures.is_empty() {
        return String::new();
    }
    let mut lines: Vec<String> = failures.iter().take(SHOWN).map(|f| f.line()).collect();
    let more: u64 = failures.iter().skip(SHOWN).map(|f| f.count).sum::<u64>() + others;
    if more > 0 {
        lines.push(format!("{more} more"));
    }
    format!(": {}", lines.join("; "))
}

/// Verdict, results.json, report.html, junit.xml, index; the summary. A run
/// that could not run prints why on stderr first, before any summary.
fn finish(
    scenario: &Scenario,
    plan: &Plan,
    journal: &Journal,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let mut record = journal.record();
    if let RunStatus::Error { message } = &record.status {
        eprintln!("error: {}: {message}", scenario.name);
    }
    record.ended_at = Some(crate::timestamp::now_rfc3339());
    let verdict: Verdict = crate::verdict::judge(scenario, plan, &record);
    let exit_code = crate::verdict::exit_code(&verdict);
    let results = Results {
        record,
        verdict: Some(verdict),
    };
    let dir = journal.dir().to_owned();
    journal::write_results(&dir, &results).context("writing results.json")?;
    crate::report::write_run_reports(&results, &dir).context("writing the report")?;
    if let Err(error) = crate::report::write_index(&options.report_dir) {
        tracing::warn!(%error, "could not update the reports index");
    }
    Ok(RunSummary {
        dir,
        results,
        exit_code,
    })
}

fn traffic_spec(scenario: &Scenario, plan: &Plan, seed: u64) -> TrafficSpec {
    let traffic = &scenario.traffic;
    let weight = |w: f64| (w.max(0.0) * 1000.0).round() as u32;
    TrafficSpec {
        rate: traffic.rate,
        arrivals: match traffic.arrivals {
            crate::scenario::model::Arrivals::Constant => Arrivals::Constant,
            crate::scenario::model::Arrivals::Poisson => Arrivals::Poisson,
        },
        warmup: plan.warmup.end,
        duration: plan.measured.length(),
        recovery: plan.total.saturating_sub(plan.measured.end),
        mix: Mix {
            chat: weight(traffic.mix.chat),
            chat_stream: weight(traffic.mix.chat_stream),
            history: weight(traffic.mix.history),
        },
        conversations: traffic.conversations,
        turns_per_conversation: traffic.turns_per_conversation,
        timeout: traffic.timeout,
        max_in_flight: traffic.max_in_flight as usize,
        seed,
    }
}

fn initial_record(scenario: &Scenario, plan: &Plan, run_id: &str, seed: u64) -> RunRecord {
    let mut phases = vec![PhaseWindow {
        name: "warmup".to_owned(),
        kind: PhaseKind::Warmup,
        start_s: plan.warmup.start.as_secs_f64(),
        end_s: plan.warmup.end.as_secs_f64(),
        maintenance: false,
    }];
    for phase in &plan.phases {
        phases.extend(phase_windows(phase));
    }
    let faults = plan
        .faults
        .iter()
        .map(|window| FaultRecord {
            name: window.name.clone(),
            kind: window.fault.kind().to_owned(),
            target: window.fault.target(),
            description: window.fault.to_string(),
            planned_at_s: window.window.start.as_secs_f64(),
            planned_end_s: window.window.end.as_secs_f64(),
            maintenance: window.maintenance,
            applied_at_s: None,
            apply_error: None,
            reverted_at_s: None,
            revert_error: None,
            effect: None,
            lost: None,
        })
        .collect();
    let mut environment = crate::results::Environment {
        hostname: hostname(),
        runner: stale::current_runner(),
        ..Default::default()
    };
    let other = &mut environment.other;
    other.insert("os".to_owned(), std::env::consts::OS.to_owned());
    other.insert("arch".to_owned(), std::env::consts::ARCH.to_owned());
    if let Ok(cores) = std::thread::available_parallelism() {
        other.insert("cores".to_owned(), cores.to_string());
    }
    RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_owned(),
        gameday_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone().unwrap_or_default(),
            file: Some(scenario.source.path.clone()),
            source: scenario.source.text.clone(),
            availability: scenario.availability,
        },
        target: crate::results::TargetInfo {
            kind: match scenario.target {
                Target::Lab => "lab".to_owned(),
                Target::External(_) => "external".to_owned(),
            },
            // As filled in when it can be (the setup reports it when not).
            url: match &scenario.target {
                Target::Lab => String::new(),
                Target::External(external) => external
                    .addresses(scenario.toxiproxy.as_ref())
                    .map(|addresses| addresses.url)
                    .unwrap_or_else(|_| external.url.clone()),
            },
            toxiproxy: None,
        },
        started_at: crate::timestamp::now_rfc3339(),
        ended_at: None,
        seed,
        status: RunStatus::Running {
            phase: "setup".to_owned(),
        },
        plan: PlanInfo {
            warmup_s: plan.warmup.length().as_secs_f64(),
            duration_s: plan.measured.length().as_secs_f64(),
            recovery_s: plan.recovery.as_secs_f64(),
            phases,
        },
        preflight: Preflight::default(),
        faults,
        traffic: Default::default(),
        observations: Default::default(),
        monitoring: None,
        environment,
    }
}

fn phase_windows(phase: &Phase) -> Vec<PhaseWindow> {
    let kind = match phase.kind {
        crate::plan::PhaseKind::Baseline => PhaseKind::Baseline,
        crate::plan::PhaseKind::Fault => PhaseKind::Fault,
        crate::plan::PhaseKind::Between => PhaseKind::Between,
        crate::plan::PhaseKind::Recovery => PhaseKind::Recovery,
        crate::plan::PhaseKind::Run => PhaseKind::Run,
    };
    phase
        .windows
        .iter()
        .map(|window| PhaseWindow {
            name: phase.name.clone(),
            kind,
            start_s: window.start.as_secs_f64(),
            end_s: window.end.as_secs_f64(),
            maintenance: phase.maintenance,
        })
        .collect()
}

/// The machine's host name (`gethostname`), if it has one.
fn hostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the result is NUL-terminated
    // unless truncated, which the search for NUL below handles.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// Scenario names become folder names: keep them to safe characters.
fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "scenario".to_owned()
    } else {
        cleaned
    }
}

/// Scenario files named by the arguments: files as given, folders expanded to
/// their `*.yaml` / `*.yml` files in name order.
pub fn expand_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| is_scenario_file(p))
                .collect();
            found.sort();
            anyhow::ensure!(
                !found.is_empty(),
                "{} holds no .yaml scenario",
                path.display()
            );
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn is_scenario_file(path: &Path) -> bool {
    path.is_file()
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        )
}
