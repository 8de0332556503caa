#!/usr/bin/env python3
"""N concurrent streamed chat completions against one server, for bench/llm_proxy.sh.

Opens N connections at once, sends one streamed OpenAI chat completion on
each (HTTP/1.1, `Connection: close`), and waits until every stream has its
response head, so that all N are open together (the upstream simulator holds
the first token back for a few seconds). It then samples the server's
resident memory and descriptors, reads every stream to its end (a stream
succeeds on a 200 whose body ends in `data: [DONE]`), and waits (polling, at
most SETTLE seconds) until the server holds none of these connections any
more. Prints one JSON object.

Descriptors are classified through /proc/PID/net/tcp{,6}: `client` sockets
are the server's side of this script's own connections (other clients of
the server, such as a gateway's keep-alive pool in front of a simulator, do
not count), `upstream` sockets are connections to UPSTREAM_PORT (a
gateway's keep-alive pool).

usage: llm_proxy_streams.py URL PID STREAMS [UPSTREAM_PORT]
Standard library only.
"""

import asyncio
import json
import os
import sys
import time
import urllib.parse

SETTLE = 15.0  # seconds to wait for the server to close its client sockets
HEADS_TIMEOUT = 60.0  # seconds for all N response heads


def status_kib(pid, field):
    """A `VmRSS`-style field of /proc/PID/status, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def tcp_sockets(pid):
    """inode -> (local port, remote port, state) for the pid's network namespace."""
    sockets = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as table:
                next(table)
                for line in table:
                    fields = line.split()
                    local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                    sockets[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), state)
        except FileNotFoundError:
            pass
    return sockets


def descriptors(pid, port, upstream_port, ours):
    """Counts of the pid's open descriptors: all, sockets of our connections
    (client ports in `ours`), upstream sockets."""
    tcp = tcp_sockets(pid)
    total = client = upstream = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed while we listed
        total += 1
        if target.startswith("socket:["):
            local, remote, state = tcp.get(target[8:-1], (None, None, None))
            if local == port and remote in ours and state != "0A":  # 0A: LISTEN
                client += 1
            elif upstream_port is not None and remote == upstream_port:
                upstream += 1
    return {"fds": total, "client_sockets": client, "upstream_sockets": upstream}


def sample(pid, port, upstream_port, ours=frozenset()):
    return {
        **descriptors(pid, port, upstream_port, ours),
        "rss_kib": status_kib(pid, "VmRSS"),
        "threads": int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[17]),
    }


async def one_stream(host, port, index, state):
    """One stream; `state`: the set of streams open now, and a countdown of
    streams still waiting for their head, which sets the event at zero."""
    body = json.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": f"concurrent stream {index}"}],
            "stream": True,
        }
    ).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    waiting = True

    def head_decided():
        nonlocal waiting
        if waiting:
            waiting = False
            state["waiting"] -= 1
            if state["waiting"] == 0:
                state["all_heads"].set()

    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        state["ports"].add(writer.get_extra_info("sockname")[1])
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        state["open"].add(index)
        head_decided()
        try:
            rest = await reader.read()  # to EOF: Connection: close
        finally:
            state["open"].discard(index)
        return head.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in rest
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return False
    finally:
        head_decided()
        if writer is not None:
            writer.close()


async def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.split("\n\n")[-2])
    url = urllib.parse.urlsplit(sys.argv[1])
    pid, streams = int(sys.argv[2]), int(sys.argv[3])
    upstream_port = int(sys.argv[4]) if len(sys.argv) == 5 else None
    host, port = url.hostname, url.port

    before = sample(pid, port, upstream_port)
    state = {"open": set(), "ports": set(), "waiting": streams, "all_heads": asyncio.Event()}
    started = time.monotonic()
    tasks = [asyncio.create_task(one_stream(host, port, i, state)) for i in range(streams)]
    try:
        await asyncio.wait_for(state["all_heads"].wait(), HEADS_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    heads_in = time.monotonic() - started
    open_at_peak = len(state["open"])
    peak = sample(pid, port, upstream_port, state["ports"])
    results = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started

    settle_start = time.monotonic()
    after = sample(pid, port, upstream_port, state["ports"])
    while after["client_sockets"] > 0 and time.monotonic() - settle_start < SETTLE:
        await asyncio.sleep(0.05)
        after = sample(pid, port, upstream_port, state["ports"])
    print(
        json.dumps(
            {
                "streams": streams,
                "ok": sum(results),
                "errors": streams - sum(results),
                "open_at_peak": open_at_peak,
                "heads_in_s": round(heads_in, 3),
                "seconds": round(elapsed, 3),
                "settled_in_s": round(time.monotonic() - settle_start, 3),
                "before": before,
                "peak": peak,
                "after": after,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
