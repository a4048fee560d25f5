#!/usr/bin/env python3
"""The OCDS release feed read end to end at N releases (issue 14), for scripts/bench-open-data.

One backend per run: `gongyi seed-demo` fills a fresh database (its releases are real ones:
tenders, awards, contracts, payments), then the feed is bulk-made to N releases by copying
those releases under new sequence numbers and project ids (one INSERT … SELECT in the
database), the server starts (release build, scheduler off) and a reader follows `links.next`
from the first page to the last, twice (the first pass warms the caches; the second is
measured). Printed: pages/s and releases/s over the whole feed, p50/p99 per page over the
first and the last tenth of the feed, and p99 growth (last / first; target <= 1.5); errors;
and the releases counted against the rows made (lost).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

from fault_drill import free_port


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


BULK_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n} - 1),
s AS (SELECT row_number() OVER (ORDER BY seq) - 1 AS k, project_id, date, tag, body FROM ocds_releases)
INSERT INTO ocds_releases (seq, project_id, date, tag, body)
SELECT 100000000 + n.i, s.project_id || '-b' || (n.i / {m}), s.date, s.tag, s.body
FROM n JOIN s ON s.k = n.i % {m};
"""

BULK_PG = """
WITH s AS (SELECT row_number() OVER (ORDER BY seq) - 1 AS k, project_id, date, tag, body FROM ocds_releases)
INSERT INTO ocds_releases (seq, project_id, date, tag, body)
SELECT 100000000 + i, s.project_id || '-b' || (i / {m}), s.date, s.tag, s.body
FROM generate_series(0, {n} - 1) AS i JOIN s ON s.k = i % {m};
ANALYZE ocds_releases;
"""


def sql(backend, db_url, work, statement):
    if backend == "sqlite":
        import sqlite3

        path = db_url.removeprefix("sqlite://")
        conn = sqlite3.connect(path)
        out = None
        for part in [p for p in statement.split(";\n") if p.strip()]:
            cur = conn.execute(part)
            out = cur.fetchall()
        conn.commit()
        conn.close()
        return out
    res = subprocess.run(["psql", db_url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", statement],
                         capture_output=True, text=True, check=True)
    return [tuple(line.split("|")) for line in res.stdout.splitlines() if line]


def read_feed(base, limit):
    url = f"{base}/api/v1/ocds/releases?limit={limit}"
    times, counts, errors, ids = [], [], 0, set()
    start = time.perf_counter()
    while url:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                body = r.read()
                ok = r.status == 200
        except Exception:  # noqa: BLE001 - counted, and the page is read again
            errors += 1
            if errors > 20:
                break
            continue
        times.append(time.perf_counter() - t0)
        if not ok:
            errors += 1
            break
        page = json.loads(body)
        counts.append(len(page["releases"]))
        for rel in page["releases"]:
            ids.add((rel["ocid"], rel["id"]))
        url = page.get("links", {}).get("next")
    return time.perf_counter() - start, times, counts, errors, ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--db-url", required=True)
    ap.add_argument("--config-dir", required=True)
    ap.add_argument("--releases", type=int, default=100_000)
    ap.add_argument("--limit", type=int, default=100)
    a = ap.parse_args()

    env = dict(os.environ)
    env.update({
        "GONGYI__DATA_DIR": f"{a.work}/data",
        "GONGYI__DATABASE__URL": a.db_url,
        "GONGYI__JOBS__SCHEDULER": "false",
        "GONGYI_CONFIG_DIR": a.config_dir,
    })
    subprocess.run([a.binary, "seed-demo"], env=env, check=True, capture_output=True)
    sample = int(sql(a.backend, a.db_url, a.work, "SELECT count(*) FROM ocds_releases")[0][0])
    if sample == 0:
        print("seed-demo made no releases", file=sys.stderr)
        return 2
    made = a.releases - sample
    t0 = time.perf_counter()
    sql(a.backend, a.db_url, a.work, (BULK_SQLITE if a.backend == "sqlite" else BULK_PG).format(n=made, m=sample))
    total = int(sql(a.backend, a.db_url, a.work, "SELECT count(*) FROM ocds_releases")[0][0])
    print(f"feed: {total} releases ({sample} from seed-demo, {made} copied in {time.perf_counter() - t0:.1f} s)")

    port = free_port()
    env["GONGYI__SERVER__BIND"] = f"127.0.0.1:{port}"
    log = open(f"{a.work}/server.log", "w")
    server = subprocess.Popen([a.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=1)
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.2)
        read_feed(base, a.limit)  # warm
        elapsed, times, counts, errors, ids = read_feed(base, a.limit)
    finally:
        server.terminate()
        server.wait(timeout=10)
    pages = len(times)
    read = sum(counts)
    tenth = max(1, pages // 10)
    first, last = times[:tenth], times[-tenth:]
    p99_first, p99_last = pct(first, 99), pct(last, 99)
    growth = p99_last / p99_first if p99_first else float("nan")
    lost = total - len(ids)
    print(f"read end to end: {pages} pages of {a.limit} in {elapsed:.1f} s: {pages / elapsed:,.0f} pages/s, "
          f"{read / elapsed:,.0f} releases/s")
    print(f"per page, first tenth: p50 {pct(first, 50) * 1000:.1f} ms, p99 {p99_first * 1000:.1f} ms; "
          f"last tenth: p50 {pct(last, 50) * 1000:.1f} ms, p99 {p99_last * 1000:.1f} ms; "
          f"p99 growth {growth:.2f}x (target <= 1.5x)")
    print(f"errors {errors}, releases read {len(ids)} of {total} (lost {lost}, served twice {read - len(ids)})")
    summary = {"backend": a.backend, "releases": total, "pages": pages, "pages_per_s": pages / elapsed,
               "p50_first_ms": pct(first, 50) * 1000, "p99_first_ms": p99_first * 1000,
               "p50_last_ms": pct(last, 50) * 1000, "p99_last_ms": p99_last * 1000,
               "p99_growth": growth, "errors": errors, "lost": lost, "twice": read - len(ids),
               "median_page_ms": statistics.median(times) * 1000}
    with open(f"{a.work}/summary.json", "w") as f:
        json.dump(summary, f)
    return 1 if lost or errors or read != len(ids) else 0


if __name__ == "__main__":
    sys.exit(main())
