#!/usr/bin/env python3
"""The "## Soak" section of docs/benchmarks.md from what bench/soak.sh recorded.

usage: bench/soak_report.py SAMPLES RESULTS_JSON STATUS LEAKED SEEN MARKERS SECONDS RATE PERIOD CYCLE

SAMPLES has one line per 10 s: "elapsed_s rss_kib fds processes epoch_s".
CYCLE is how many faults the scenario cycles through before repeating.

Flatness is judged like with like. Each cycle of CYCLE faults visits every
fault kind once, and what the process holds just before a fault is applied
(60 s after the previous one was reverted) still depends on which fault came
before: idle connections a burst opened are closed after their idle timeout,
a PostgreSQL pool grown by a slow database shrinks again, and so on. So the
figure compared is the median, over one whole cycle, of the last sample taken
before each fault is applied; the first whole cycle after minute 5 against the
last cycle. All samples are shown too.
"""

import datetime
import json
import statistics
import subprocess
import sys


def main():
    (samples_path, results_path, status, leaked, seen, markers,
     seconds, rate, period, cycle) = sys.argv[1:11]
    cycle = int(cycle)
    rows = [tuple(map(int, line.split())) for line in open(samples_path) if len(line.split()) == 5]
    rows = [r for r in rows if r[1] > 0]
    results = json.load(open(results_path))
    faults = results.get("faults", [])
    started = datetime.datetime.fromisoformat(results["started_at"].replace("Z", "+00:00")).timestamp()

    def at(row):
        return row[4] - started

    # The last sample before each applied fault, after the previous revert.
    pre_fault = []
    previous_end = float("-inf")
    for fault in faults:
        applied = fault.get("applied_at_s")
        if applied is None:
            break
        before = [r for r in rows if previous_end <= at(r) < applied]
        pre_fault.append(before[-1] if before else None)
        previous_end = fault.get("reverted_at_s") or float("inf")
    first_index = next((i for i, r in enumerate(pre_fault) if r and r[0] >= 300), None)
    first_cycle = pre_fault[first_index:first_index + cycle] if first_index is not None else []
    last_cycle = pre_fault[-cycle:]
    enough = (first_index is not None and len(pre_fault) - first_index >= 2 * cycle
              and all(first_cycle) and all(last_cycle))

    def cycle_median(picked, col, scale=1.0):
        return statistics.median(r[col] for r in picked) / scale if enough else float("nan")

    def growth(first, last):
        return (last - first) / first * 100 if first else float("nan")

    def cycle_growth(col):
        return growth(cycle_median(first_cycle, col), cycle_median(last_cycle, col))

    # While the lab runs: the last samples, taken as the runner writes its
    # report after stopping the lab (no process below it), are left out.
    after5 = [r for r in rows if r[0] >= 300 and r[3] > 0]

    def ends(col, scale=1.0):
        if not after5:
            return float("nan"), float("nan")
        return (statistics.median(r[col] for r in after5[:6]) / scale,
                statistics.median(r[col] for r in after5[-6:]) / scale)

    def all_growth(col):
        return growth(*ends(col))

    def series(col, scale=1.0, fmt="{:.0f}"):
        picked = [r for r in rows if r[0] % 300 < 10 or r is rows[-1]]
        def label(r):
            return f"{r[0] // 60} min" if r[3] > 0 else f"lab stopped ({r[0]} s)"
        return ", ".join(f"{label(r)}: " + fmt.format(r[col] / scale) for r in picked)

    def ok(good):
        return "met" if good else "**not met**"

    reverted = sum(1 for f in faults if f.get("reverted_at_s") is not None and not f.get("revert_error"))
    observed = sum(1 for f in faults if (f.get("effect") or {}).get("observed"))
    verdict = results.get("verdict") or {}
    outcome = verdict.get("outcome", "?")
    budget = verdict.get("budget") or {}
    requests, spent = budget.get("requests", 0), budget.get("spent", 0.0)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    first5 = [r for r in rows if r[0] < 300]
    rss_growth, fd_growth = cycle_growth(1), cycle_growth(2)
    span = (f"faults {first_index}–{first_index + cycle - 1} against faults {len(pre_fault) - cycle}–{len(pre_fault) - 1}"
            if enough else "too short a run: fewer than two whole cycles after minute 5")

    def line(label, col, scale, fmt, target):
        peak = max((r[col] for r in rows), default=0) / scale
        head = max((r[col] for r in first5), default=0) / scale
        a, b = ends(col, scale)
        cells = [label, fmt.format(head),
                 f"{fmt.format(cycle_median(first_cycle, col, scale))} → {fmt.format(cycle_median(last_cycle, col, scale))}",
                 f"{cycle_growth(col):+.1f}%" if target else "",
                 f"{fmt.format(a)} → {fmt.format(b)}",
                 f"{all_growth(col):+.1f}%" if target else "",
                 fmt.format(peak),
                 f"< 10%: {ok(cycle_growth(col) < 10)}" if target else ""]
        return "| " + " | ".join(cells) + " |"

    section = f"""## Soak

Measured {datetime.date.today()} on {nproc} cores ({cpu}) with `bench/soak.sh {seconds}`: one game day
against the built-in lab, {rate} req/s Poisson (chat 80%, streaming 15%, history 5%) for {int(seconds) // 60} min,
a fault every {period} s for {int(period) // 2} s ({len(faults)} faults cycling through {cycle} kinds: SIGKILL and SIGSTOP of Redis,
PostgreSQL proxy down, latency and reset_peer toxics, LLM 503s, 429 storms, slow streams, and an `exec` fault).
Sampled every 10 s: the runner's resident memory and open fds, and the processes below it.
Run outcome `{outcome}` (exit {status}): {requests:,} requests judged, error rate {spent * 100:.3f}% (the soak's
target is 99%: it measures the tool, not the platform); the whole results.json is kept in
`bench/results/soak-results.json` and the samples in `bench/results/soak-samples.txt` (rerun this
analysis with `bench/soak_report.py`, arguments in its header).

| | first 5 min (peak) | before each fault, median over a cycle: first → last | growth | all samples after 5 min: first → last minute | growth | peak | target |
| --- | --- | --- | --- | --- | --- | --- | --- |
{line("resident memory (MiB)", 1, 1024, "{:.1f}", True)}
{line("open fds", 2, 1, "{:.0f}", True)}
{line("processes below the runner", 3, 1, "{:.0f}", False)}

How flatness is judged ({span}): each cycle of {cycle} faults visits every kind once. The sample taken
just before a fault is applied (60 s after the previous one was reverted) still depends on which fault
came before: a slow PostgreSQL grows the platform's connection pool, slow streams leave idle keep-alive
connections until their idle timeout, and while a fault is applied hundreds of requests are in flight
inside the lab. So the median of those pre-fault samples over the first whole cycle after minute 5 is
compared with the same over the last cycle: like with like. "All samples" compares the medians of the
first and last six samples after minute 5, whatever was going on then.

- Faults reverted: {reverted} of {len(faults)} with no revert error ({ok(reverted == len(faults))}); effect observed for
  {observed} of {len(faults)}; exec marker files left behind: {markers} ({ok(int(markers) == 0)}).
- Leaked processes: {leaked} of {seen} distinct processes seen below the runner still alive after it
  exited ({ok(int(leaked) == 0)}).
- Resident memory every 5 min: {series(1, 1024, "{:.1f}")} MiB.
- Open fds every 5 min: {series(2)}.
- Before each fault (MiB / fds): {", ".join(f"{i}: {r[1] / 1024:.1f} / {r[2]}" for i, r in enumerate(pre_fault) if r)}.
"""
    sys.path.insert(0, "bench")
    from benchdoc import write_section
    write_section(section)
    print(section)


if __name__ == "__main__":
    main()
