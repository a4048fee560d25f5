#!/usr/bin/env python3
"""Helpers for scripts/bench-signin (standard library only).

  flood  N parallel sign-ins for S seconds (half the right password, half a wrong one), each
         worker on its own keep-alive connection; prints a JSON line of status counts.
  probe  GET one URL back to back (a pause between) for S seconds on one connection; prints a
         JSON line of latencies (ms) and statuses.

Each runs in its own process, so the probe's timings do not include the flood's event loop.
"""

import argparse
import asyncio
import http.client
import json
import sys
import time
import urllib.parse


async def read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if n:
        await reader.readexactly(n)
    return status, headers


async def flood_worker(i, a, deadline, counts):
    u = urllib.parse.urlsplit(a.base)
    password = a.password if i % 2 == 0 else "wrong-password-" + str(i)
    body = json.dumps({"email": a.email, "password": password}).encode()
    request = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(u.hostname, u.port)
            writer.write(request)
            await writer.drain()
            status, headers = await asyncio.wait_for(read_response(reader), a.timeout)
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            counts["error"] = counts.get("error", 0) + 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)
            continue
        counts[str(status)] = counts.get(str(status), 0) + 1
        if status == 503 and a.honour_retry_after:
            await asyncio.sleep(float(headers.get("retry-after", "1")))
    if writer is not None:
        writer.close()


async def flood(a):
    counts = {}
    deadline = time.monotonic() + a.seconds
    t0 = time.monotonic()
    await asyncio.gather(*(flood_worker(i, a, deadline, counts) for i in range(a.parallel)))
    counts["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(counts), flush=True)


def probe(a):
    u = urllib.parse.urlsplit(a.url)
    path = u.path + ("?" + u.query if u.query else "")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
    latencies, statuses = [], {}
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            status = str(resp.status)
        except (OSError, http.client.HTTPException):
            status = "error"
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(a.pause)
    print(json.dumps({"url": a.url, "latencies": latencies, "statuses": statuses}), flush=True)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def report(a):
    rows = []
    for path in a.probes:
        with open(path) as f:
            d = json.loads(f.read())
        lat = d["latencies"]
        rows.append((path, d["url"], len(lat), percentile(lat, 50), percentile(lat, 99), max(lat or [0]), d["statuses"]))
    for path, url, n, p50, p99, mx, st in rows:
        label = path.rsplit("/", 1)[-1].replace(".json", "")
        print(f"  {label:<22} {n:>6} req  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {mx:7.1f} ms  {st}")
    with open(a.flood) as f:
        d = json.loads(f.read())
    secs = d.pop("seconds")
    answered = d.get("200", 0) + d.get("401", 0)
    print(f"flood answers over {secs} s: {d}")
    print(f"  sign-ins checked (200 + 401): {answered / secs:.1f}/s; 503 overloaded: {d.get('503', 0)}")
    worst = max((r[4] for r in rows if "during" in r[0]), default=float("nan"))
    print(f"  worst p99 during the flood: {worst:.1f} ms (target < 50 ms: {'met' if worst < 50 else 'MISSED'})")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--base", required=True)
    f.add_argument("--email", required=True)
    f.add_argument("--password", required=True)
    f.add_argument("--parallel", type=int, default=200)
    f.add_argument("--seconds", type=float, default=12)
    f.add_argument("--timeout", type=float, default=30)
    f.add_argument("--honour-retry-after", action="store_true")
    q = sub.add_parser("probe")
    q.add_argument("--url", required=True)
    q.add_argument("--seconds", type=float, default=10)
    q.add_argument("--pause", type=float, default=0.02)
    q.add_argument("--timeout", type=float, default=30)
    r = sub.add_parser("report")
    r.add_argument("--flood", required=True)
    r.add_argument("probes", nargs="+")
    a = p.parse_args()
    if a.cmd == "flood":
        asyncio.run(flood(a))
    elif a.cmd == "probe":
        probe(a)
    else:
        report(a)


if __name__ == "__main__":
    sys.exit(main())
