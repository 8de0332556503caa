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
    # The round trip a client idle between requests sees without the proxy.
    direct_rtt_ms = m("idle_rtt_p50_us", "direct") / 1000
    lat_p50 = m("latency100_p50_us") / 1000 - direct_rtt_ms
    lat_p99 = m("latency100_p99_us") / 1000 - direct_rtt_ms
    lat_min = m("latency100_min_us") / 1000 - direct_rtt_ms
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
        "A 100 ms `latency` toxic (downstream), 300 one-byte round trips on one connection, "
        f"minus the median direct round trip of a client that also idles 100 ms between "
        f"round trips ({m('idle_rtt_p50_us', 'direct'):.0f} µs; its p99 is "
        f"{m('idle_rtt_p99_us', 'direct'):.0f} µs, which is how late this machine wakes sleeping "
        "processes without any proxy):",
        "",
        "| added latency | measured | goal | |",
        "| --- | --- | --- | --- |",
        f"| p50 | {lat_p50:.2f} ms | 100.0–101.5 ms | {verdict(100.0 <= lat_p50 <= 101.5)} |",
        f"| p99 | {lat_p99:.2f} ms | ≤ 103 ms | {verdict(lat_p99 <= 103.0)} |",
        f"| min | {lat_min:.2f} ms | never early (≥ 100 ms) | {verdict(lat_min >= 100.0)} |",
        "",
        "The same while 1,000 other connections through the toxic keep about 1,000 chunks "
        f"waiting at all times ({m('loaded_pings') / 40:.0f} releases/s on average over the 40 s):",
        "",
        "| added latency | measured | goal | |",
        "| --- | --- | --- | --- |",
        f"| p50 | {m('loaded_latency100_p50_us') / 1000 - direct_rtt_ms:.2f} ms | 100.0–101.5 ms "
        f"| {verdict(100.0 <= m('loaded_latency100_p50_us') / 1000 - direct_rtt_ms <= 101.5)} |",
        f"| p99 | {m('loaded_latency100_p99_us') / 1000 - direct_rtt_ms:.2f} ms | ≤ 103 ms "
        f"| {verdict(m('loaded_latency100_p99_us') / 1000 - direct_rtt_ms <= 103.0)} |",
        f"| min | {m('loaded_latency100_min_us') / 1000 - direct_rtt_ms:.2f} ms | never early "
        f"| {verdict(m('loaded_latency100_min_us') / 1000 - direct_rtt_ms >= 100.0)} |",
        "",
        f"1,000 concurrent connections through one proxy ({conns_ok:.0f} echoed a byte), then closed: "
        f"the proxy process had {fds_before:.0f} open file descriptors before, {fds_peak:.0f} at the "
        f"peak and {fds_after:.0f} one second after the clients closed "
        f"({verdict(fds_after <= fds_before)}: nothing left behind).",
        "",
    ]
    return "\n".join(lines)


def main():
    samples_path, document_path = sys.argv[1], sys.argv[2]
    write_section(section(load(samples_path)), document_path)


if __name__ == "__main__":
    main()
