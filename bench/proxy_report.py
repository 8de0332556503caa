#!/usr/bin/env python3
"""Turns bench/proxy.sh samples into the "## Proxy" section of docs/benchmarks.md.

Usage: proxy_report.py SAMPLES.tsv BENCHMARKS.md
Only the "## Proxy" section is replaced; any other section is kept as it is.
"""

import csv
import datetime
import os
import platform
import statistics
import sys
from collections import defaultdict

from benchdoc import write_section


def load(path):
    samples = defaultdict(list)
    with open(path) as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            samples[(row["metric"], row["target"])].append(float(row["value"]))
    return samples


def verdict(ok):
    return "met" if ok else "**missed**"


def section(samples):
    median = {key: statistics.median(values) for key, values in samples.items()}
    rounds = len(samples.get(("iperf_gbit_s", "direct"), []))

    def m(metric, target="proxy"):
        return median[(metric, target)]

    def per_round(metric, a, b, combine):
        """The median over rounds of combine(a, b), each pair measured in the same round."""
        return statistics.median(
            combine(x, y) for x, y in zip(samples[(metric, a)], samples[(metric, b)])
        )

    ratio = lambda x, y: x / y  # noqa: E731
    difference = lambda x, y: x - y  # noqa: E731
    iperf_ratio = per_round("iperf_gbit_s", "proxy", "direct", ratio)
    relay_iperf_ratio = per_round("iperf_gbit_s", "relay", "direct", ratio)
    wrk_vs_relay = per_round("wrk_requests_s", "proxy", "relay", ratio)
    wrk_vs_direct = per_round("wrk_requests_s", "proxy", "direct", ratio)
    added_rtt = per_round("rtt_p50_us", "proxy", "direct", difference)
    relay_added_rtt = per_round("rtt_p50_us", "relay", "direct", difference)
    fds_before, fds_peak, fds_after = m("fds_before"), m("fds_peak"), m("fds_after")
    conns_ok = m("conns_ok")

    rounds_added = [
        proxy - direct
        for proxy, direct in zip(samples[("rtt_p50_us", "proxy")], samples[("rtt_p50_us", "direct")])
    ]
    relay_rounds_added = [
        relay - direct
        for relay, direct in zip(samples[("rtt_p50_us", "relay")], samples[("rtt_p50_us", "direct")])
    ]
    load = ""
    if ("load_start", "machine") in median:
        load = (
            f" The 1-minute load average was {m('load_start', 'machine'):.1f} at the start and "
            f"{m('load_end', 'machine'):.1f} at the end (other builds share the machine)."
        )
        if max(m("load_start", "machine"), m("load_end", "machine")) > (os.cpu_count() or 1):
            load += (
                " With more runnable threads than cores, every process waits for a core now "
                "and then: round trips double in some rounds (direct ones included) and the "
                "latency tails below include that scheduling delay, which no timer can "
                "compensate; the p50 and minimum are the proxy's own precision."
            )

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count()
    lines = [
        "## Proxy",
        "",
        f"Measured by `bench/proxy.sh` on {when}, {cpus} cores ({platform.machine()}), "
        f"median of {rounds} rounds; each round runs direct loopback, `gameday proxy` "
        "(no toxics) and a plain tokio `copy_bidirectional` relay (bench/proxy-tools) "
        "one after the other, in a rotating order. Ratios and differences are taken "
        "within each round (the three targets a few seconds apart) and their median is "
        "reported, next to the median absolute figures. The machine is shared, so absolute "
        "numbers move between runs. Raw samples: "
        f"`bench/results/proxy-latest.tsv`.{load}",
        "",
        "| measure | direct | gameday proxy | tokio relay | ratio | goal | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| iperf3 bulk throughput (Gbit/s) | {m('iperf_gbit_s', 'direct'):.1f} | {m('iperf_gbit_s'):.1f} "
        f"| {m('iperf_gbit_s', 'relay'):.1f} | proxy/direct {iperf_ratio:.2f} (relay/direct {relay_iperf_ratio:.2f}) "
        f"| ≥ 0.5 | {verdict(iperf_ratio >= 0.5)} |",
        f"| wrk -c64 HTTP requests/s | {m('wrk_requests_s', 'direct'):.0f} | {m('wrk_requests_s'):.0f} "
        f"| {m('wrk_requests_s', 'relay'):.0f} | proxy/relay {wrk_vs_relay:.2f} (proxy/direct {wrk_vs_direct:.2f}) "
        f"| ≥ 0.9 of relay | {verdict(wrk_vs_relay >= 0.9)} |",
        f"| one-connection 1-byte round trip, p50 (µs) | {m('rtt_p50_us', 'direct'):.1f} | {m('rtt_p50_us'):.1f} "
        f"| {m('rtt_p50_us', 'relay'):.1f} | proxy adds {added_rtt:.1f} µs (relay adds {relay_added_rtt:.1f}) "
        f"| ≤ 25 µs added | {verdict(added_rtt <= 25)} |",
        f"| same, p99 (µs) | {m('rtt_p99_us', 'direct'):.1f} | {m('rtt_p99_us'):.1f} | {m('rtt_p99_us', 'relay'):.1f} | | | |",
        "",
        "Added round trip per round (µs), proxy: "
        + ", ".join(f"{v:.1f}" for v in rounds_added)
        + "; relay: "
        + ", ".join(f"{v:.1f}" for v in relay_rounds_added)
        + ". Rounds where the machine was busy double every figure, direct included.",
        "",
    ]
    lines += latency_table(samples)
    lines += bandwidth_table(samples)
    lines += [
        f"1,000 concurrent connections through one proxy ({conns_ok:.0f} echoed a byte), then closed: "
        f"the proxy process had {fds_before:.0f} open file descriptors before, {fds_peak:.0f} at the "
        f"peak and {fds_after:.0f} one second after the clients closed "
        f"({verdict(fds_after <= fds_before)}: nothing left behind).",
        "",
    ]
    return "\n".join(lines)


def loads(samples):
    """The numbers of other connections measured, ascending."""
    return sorted(
        {int(target[len("others"):]) for metric, target in samples if metric == "lat_p50_us"}
    )


def latency_table(samples):
    """The latency toxic's accuracy at each load, baseline subtracted per round."""
    levels = loads(samples)
    if not levels:
        return []

    def rounds(metric, load):
        return samples[(metric, f"others{load}")]

    def added(quantile, load):
        """Per round: the proxied round trip minus the baseline's, at one quantile (ms)."""
        return [
            (proxied - base) / 1000
            for proxied, base in zip(rounds(f"lat_{quantile}_us", load), rounds(f"lat_base_{quantile}_us", load))
        ]

    lines = [
        "A 100 ms `latency` toxic (downstream) in front of an echo server, measured by one client "
        "ping-ponging a byte through it while 0, 100, 1,000 or 5,000 other connections do the "
        "same (so that many chunks wait in the toxic at all times). Beside it, in the same "
        "seconds, a baseline client pings the echo server directly and sleeps 100 ms between "
        "round trips: its round trip is this machine's own wake-up delay at that moment. "
        "*Added* is the proxied round trip minus the baseline's at the same quantile, per round, "
        "then the median over the rounds (*min* is the lowest over the rounds: never early "
        "means at least 100 ms). Raw round trips are shown too, so nothing hides in the "
        "subtraction.",
        "",
        "| other connections | releases/s | added p50 | added p99 | added min | "
        "raw p50 / p99 / max | baseline p50 / p99 | load avg | goal | |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for load in levels:
        p50 = statistics.median(added("p50", load))
        p99 = statistics.median(added("p99", load))
        low = min(added("min", load))
        releases = rounds("lat_releases_s", load)
        rate = f"{statistics.median(releases):,.0f}" if releases else "—"
        raw = (
            f"{statistics.median(rounds('lat_p50_us', load)) / 1000:.2f} / "
            f"{statistics.median(rounds('lat_p99_us', load)) / 1000:.2f} / "
            f"{max(rounds('lat_max_us', load)) / 1000:.2f} ms"
        )
        base = (
            f"{statistics.median(rounds('lat_base_p50_us', load)) / 1000:.2f} / "
            f"{statistics.median(rounds('lat_base_p99_us', load)) / 1000:.2f} ms"
        )
        load_avg = f"{statistics.median(rounds('lat_load', load)):.1f}"
        if load == 0:
            goal = "p50 100.0–101.5, p99 ≤ 103, ≥ 100"
            ok = 100.0 <= p50 <= 101.5 and p99 <= 103.0 and low >= 100.0
        elif load == 1000:
            goal = "p50 ≤ 101.5, p99 ≤ 105, ≥ 100"
            ok = p50 <= 101.5 and p99 <= 105.0 and low >= 100.0
        else:
            goal, ok = "(curve) ≥ 100", low >= 100.0
        lines.append(
            f"| {load:,} | {rate} | {p50:.2f} ms | {p99:.2f} ms | {low:.2f} ms | {raw} | {base} "
            f"| {load_avg} | {goal} | {verdict(ok)} |"
        )
    per_round = "; ".join(
        f"{load:,}: " + ", ".join(f"{v:.2f}" for v in added("p99", load)) for load in levels
    )
    lines += ["", f"Added p99 per round (ms), by other connections: {per_round}.", ""]
    return lines


def bandwidth_table(samples):
    """The bandwidth toxic's delivered rate on one and on each of many connections."""
    counts = sorted(
        {int(target[len("conns"):]) for metric, target in samples if metric == "bw_median_kb_s"}
    )
    if not counts:
        return []
    lines = [
        "A 100 KB/s `bandwidth` toxic (downstream) in front of a server that sends 400 kB and "
        "closes; each connection's rate is its bytes after the first read over the time from its "
        "first read to its last (medians over the rounds; the goal is 100 KB/s ± 5% on every "
        "connection):",
        "",
        "| connections at once | slowest connection | median | fastest | goal | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for count in counts:
        low = statistics.median(samples[("bw_min_kb_s", f"conns{count}")])
        mid = statistics.median(samples[("bw_median_kb_s", f"conns{count}")])
        high = statistics.median(samples[("bw_max_kb_s", f"conns{count}")])
        lines.append(
            f"| {count} | {low:.1f} KB/s | {mid:.1f} KB/s | {high:.1f} KB/s | 95–105 KB/s "
            f"| {verdict(95.0 <= low and high <= 105.0)} |"
        )
    return lines + [""]


def main():
    samples_path, document_path = sys.argv[1], sys.argv[2]
    write_section(section(load(samples_path)), document_path)


if __name__ == "__main__":
    main()
