#!/usr/bin/env python3
"""Helpers for scripts/bench-listing (standard library only).

  sqlite-grow   grow the needs and projects tables of an SQLite file to given sizes by cloning
                one real need and one real (published) project row, then ANALYZE
  postgres-sql  print the SQL that does the same on PostgreSQL (run it with psql)
  cursor        encode a guide-list cursor: base64url (no padding) of [supporters, rank, "id"]
  wrk           run wrk once, save its output, and note how much CPU other processes took meanwhile
  quiet         wait (bounded) until processes other than the idle server use little CPU
  report        parse the wrk outputs of a run and print the tables and the targets

Generated ids look like the server's UUIDv7 ids: a millisecond timestamp in front (spread
back over the past years, one row a minute for needs and every ten minutes for projects, so
generated rows are older than the real ones), a random middle, and the row number in the
last group, which keeps them unique across successive grows.
"""

import argparse
import base64
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time

# How many rows the id timestamps are spread over (the largest size the benchmark loads).
NEED_SPAN, NEED_STEP_MS = 1_000_000, 60_000
PROJECT_SPAN, PROJECT_STEP_MS = 100_000, 600_000

# Need statuses by share (cumulative upper bounds in percent): ~30 % accepted.
NEED_STATUSES = [
    (30, "accepted"),
    (45, "submitted"),
    (55, "forwarded"),
    (60, "returned"),
    (72, "rejected"),
    (78, "merged"),
    (90, "in_project"),
    (100, "met"),
]
# Project statuses: ~20 % open.
PROJECT_STATUSES = [
    (20, "open"),
    (40, "draft"),
    (60, "evaluating"),
    (75, "cancelled"),
    (85, "awarded"),
    (95, "failed"),
    (100, "contracted"),
]

NEED_COLUMNS = [
    "id", "community_id", "street_id", "district_id", "title", "description", "category", "source",
    "external_ref", "beneficiary_group", "beneficiaries", "urgency", "urgency_rank", "supporters",
    "status", "status_reason", "merged_into", "project_id", "created_by", "version", "created_at",
    "updated_at",
]
PROJECT_COLUMNS = [
    "id", "district_id", "street_id", "region_id", "title", "category", "method", "fund_id",
    "budget_ceiling_fen", "bid_close_at", "spec", "rule_pack", "warnings", "status", "round",
    "seed_sealed", "seed_commitment", "seed", "status_reason", "created_by", "version",
    "created_at", "updated_at", "published_at", "closed_at",
]


def case_by_share(expr, table):
    parts = " ".join(f"WHEN {expr} < {bound} THEN '{name}'" for bound, name in table[:-1])
    return f"CASE {parts} ELSE '{table[-1][1]}' END"


# ---------------------------------------------------------------------------------------------
# SQLite


def sqlite_uuid(g, base_ms, span, step):
    ts = f"({base_ms} - ({span} - {g}) * {step})"
    return (
        f"printf('%08x-%04x-7%03x-%04x-%012x', {ts} >> 16, {ts} & 65535, "
        f"abs(random()) % 4096, 32768 + abs(random()) % 16384, {g})"
    )


def sqlite_grow(a):
    t0 = time.monotonic()
    conn = sqlite3.connect(a.db, isolation_level=None, timeout=30)
    conn.executescript(
        "PRAGMA busy_timeout = 30000; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;"
        "PRAGMA temp_store = MEMORY;"
    )
    have_needs = conn.execute("SELECT count(*) FROM needs").fetchone()[0]
    have_projects = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    # Generated rows are numbered after the ones already generated (the real rows are few).
    gen_needs = conn.execute("SELECT count(*) FROM needs WHERE id <> ?", (a.seed_need,)).fetchone()[0]
    gen_projects = conn.execute(
        "SELECT count(*) FROM projects WHERE id <> ?", (a.seed_project,)
    ).fetchone()[0]
    add_needs = max(0, a.needs - have_needs)
    add_projects = max(0, a.projects - have_projects)

    conn.execute("BEGIN IMMEDIATE")
    if add_needs:
        cols = ", ".join(NEED_COLUMNS)
        status = case_by_share("r.st", NEED_STATUSES)
        conn.execute(
            f"""
            WITH RECURSIVE s(g) AS (SELECT {gen_needs + 1} UNION ALL SELECT g + 1 FROM s WHERE g < {gen_needs + add_needs}),
            r AS (SELECT g, 1 + abs(random()) % 3 AS u, abs(random()) % 501 AS sup, abs(random()) % 100 AS st FROM s)
            INSERT INTO needs ({cols})
            SELECT {sqlite_uuid('r.g', a.base_ms, NEED_SPAN, NEED_STEP_MS)}, n.community_id, n.street_id, n.district_id,
                   n.title, n.description, n.category, n.source, n.external_ref, n.beneficiary_group, n.beneficiaries,
                   CASE r.u WHEN 1 THEN 'low' WHEN 2 THEN 'medium' ELSE 'high' END, r.u, r.sup,
                   {status}, NULL, NULL, NULL, n.created_by, 1, n.created_at, n.updated_at
            FROM r, needs n WHERE n.id = ?
            """,
            (a.seed_need,),
        )
    if add_projects:
        cols = ", ".join(PROJECT_COLUMNS)
        status = case_by_share("r.st", PROJECT_STATUSES)
        conn.execute(
            f"""
            WITH RECURSIVE s(g) AS (SELECT {gen_projects + 1} UNION ALL SELECT g + 1 FROM s WHERE g < {gen_projects + add_projects}),
            r AS (SELECT g, {status} AS status FROM (SELECT g, abs(random()) % 100 AS st FROM s) r)
            INSERT INTO projects ({cols})
            SELECT {sqlite_uuid('r.g', a.base_ms, PROJECT_SPAN, PROJECT_STEP_MS)}, p.district_id, p.street_id, p.region_id,
                   p.title, p.category, p.method, p.fund_id, p.budget_ceiling_fen, p.bid_close_at, p.spec,
                   CASE WHEN r.status = 'draft' THEN NULL ELSE p.rule_pack END, p.warnings, r.status, p.round,
                   CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_sealed END,
                   CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_commitment END,
                   NULL, NULL, p.created_by, p.version, p.created_at, p.updated_at,
                   CASE WHEN r.status = 'draft' THEN NULL ELSE p.published_at END, NULL
            FROM r, projects p WHERE p.id = ?
            """,
            (a.seed_project,),
        )
    conn.execute("COMMIT")
    t_insert = time.monotonic() - t0
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = conn.execute("SELECT count(*) FROM needs").fetchone()[0]
    p = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    conn.close()
    size = os.path.getsize(a.db) / 1e6
    print(
        f"sqlite: +{add_needs} needs, +{add_projects} projects in {t_insert:.1f} s, ANALYZE and "
        f"checkpoint {time.monotonic() - t0 - t_insert:.1f} s; now {n} needs, {p} projects, file {size:.0f} MB"
    )


# ---------------------------------------------------------------------------------------------
# PostgreSQL: the same clone as INSERT … SELECT over generate_series, printed for psql.


def pg_uuid(g, base_ms, span, step):
    ts = f"({base_ms}::bigint - ({span} - {g}) * {step}::bigint)"
    return (
        f"lpad(to_hex({ts} >> 16), 8, '0') || '-' || lpad(to_hex({ts} & 65535), 4, '0') || '-7' || "
        f"lpad(to_hex(floor(random() * 4096)::int), 3, '0') || '-' || "
        f"to_hex(32768 + floor(random() * 16384)::int) || '-' || lpad(to_hex({g}), 12, '0')"
    )


def postgres_sql(a):
    q = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731
    need_cols = ", ".join(NEED_COLUMNS)
    project_cols = ", ".join(PROJECT_COLUMNS)
    out = [
        "\\set ON_ERROR_STOP on",
        "\\timing off",
        "SET synchronous_commit = off;",
        "SET maintenance_work_mem = '256MB';",
        "SET work_mem = '64MB';",
        "BEGIN;",
        f"""CREATE TEMP TABLE bench_counts ON COMMIT DROP AS SELECT
            (SELECT count(*) FROM needs WHERE id <> {q(a.seed_need)}) AS gen_needs,
            (SELECT count(*) FROM needs) AS have_needs,
            (SELECT count(*) FROM projects WHERE id <> {q(a.seed_project)}) AS gen_projects,
            (SELECT count(*) FROM projects) AS have_projects;""",
        f"""INSERT INTO needs ({need_cols})
SELECT {pg_uuid('r.g', a.base_ms, NEED_SPAN, NEED_STEP_MS)}, n.community_id, n.street_id, n.district_id,
       n.title, n.description, n.category, n.source, n.external_ref, n.beneficiary_group, n.beneficiaries,
       (ARRAY['low','medium','high'])[r.u], r.u, r.sup, {case_by_share('r.st', NEED_STATUSES)},
       NULL, NULL, NULL, n.created_by, 1, n.created_at, n.updated_at
FROM bench_counts c
CROSS JOIN LATERAL (
    SELECT g, 1 + floor(random() * 3)::int AS u, floor(random() * 501)::bigint AS sup, floor(random() * 100)::int AS st
    FROM generate_series(c.gen_needs + 1, c.gen_needs + greatest(0, {a.needs} - c.have_needs)) AS g
) r
JOIN needs n ON n.id = {q(a.seed_need)};""",
        f"""INSERT INTO projects ({project_cols})
SELECT {pg_uuid('r.g', a.base_ms, PROJECT_SPAN, PROJECT_STEP_MS)}, p.district_id, p.street_id, p.region_id,
       p.title, p.category, p.method, p.fund_id, p.budget_ceiling_fen, p.bid_close_at, p.spec,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.rule_pack END, p.warnings, r.status, p.round,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_sealed END,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_commitment END,
       NULL, NULL, p.created_by, p.version, p.created_at, p.updated_at,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.published_at END, NULL
FROM bench_counts c
CROSS JOIN LATERAL (
    SELECT g, {case_by_share('st', PROJECT_STATUSES)} AS status
    FROM (SELECT g, floor(random() * 100)::int AS st
          FROM generate_series(c.gen_projects + 1, c.gen_projects + greatest(0, {a.projects} - c.have_projects)) AS g) x
) r
JOIN projects p ON p.id = {q(a.seed_project)};""",
        "COMMIT;",
        "VACUUM (ANALYZE) needs;",
        "VACUUM (ANALYZE) projects;",
        # Write the load's dirty pages now, as the SQLite path checkpoints its WAL, so a
        # checkpoint triggered by the load does not run during the measurements.
        "CHECKPOINT;",
        "SELECT format('postgres: now %s needs, %s projects, database %s MB', "
        "(SELECT count(*) FROM needs), (SELECT count(*) FROM projects), "
        "pg_database_size(current_database()) / 1000000);",
    ]
    print("\n".join(out))


# ---------------------------------------------------------------------------------------------


def cursor(a):
    key = [int(a.supporters), int(a.urgency_rank), a.id]
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    print(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read latency {text!r}")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    if not (rps and p50 and p99):
        raise ValueError(f"{path}: not a complete wrk --latency output")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    total = re.search(r"(\d+) requests in", text)
    other = re.search(r"other_cpu_percent: ([\d.]+)", text)
    return {
        "other_cpu": float(other.group(1)) if other else None,
        "rps": float(rps.group(1)),
        "p50": to_ms(p50.group(1)),
        "p99": to_ms(p99.group(1)),
        "errors": errors,
        "requests": int(total.group(1)) if total else 0,
    }


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine. Busy is user + nice + system + steal (another
    guest ran); interrupt time is left out, as it is not charged to any process."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v + [0] * (8 - len(v))
    return user + nice + system + steal, sum(v)


def proc_jiffies(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def quiet(a):
    """Waits up to --max seconds, in one-second looks, for the machine to be nearly idle."""
    deadline = time.monotonic() + a.max
    while True:
        busy0, total0 = cpu_jiffies()
        time.sleep(1)
        busy1, total1 = cpu_jiffies()
        share = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
        if share < a.below:
            return
        if time.monotonic() >= deadline:
            print(f"    the machine stays busy ({share:.0f}% CPU used by other processes): measuring anyway")
            return


def pg_backends(db):
    """Jiffies of the PostgreSQL backends serving database `db` (part of the system measured)."""
    out = {}
    if not db:
        return out
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres: ") and f" {db} " in cmd:
            out[pid] = proc_jiffies(pid)
    return out


def run_wrk(a):
    """Runs wrk (bounded by a timeout), writes its output to --out with a trailer line
    `other_cpu_percent: X`: the share of all cores that processes other than the server, its
    PostgreSQL backends and wrk used during the run (a busy machine makes the figures low)."""
    cmd = ["wrk"] + a.args
    busy0, total0 = cpu_jiffies()
    server0 = proc_jiffies(a.server_pid)
    pg0 = pg_backends(a.pg_db)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ValueError(f"wrk did not finish within {a.timeout} s")
    busy1, total1 = cpu_jiffies()
    server1 = proc_jiffies(a.server_pid)
    pg1 = pg_backends(a.pg_db)
    if proc.returncode != 0:
        raise ValueError(f"wrk exited with {proc.returncode}: {out.strip()[:400]}")
    wrk_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is this process's only child
    wrk_jiffies = (wrk_cpu.ru_utime + wrk_cpu.ru_stime) * os.sysconf("SC_CLK_TCK")
    pg = sum(j - pg0.get(pid, 0) for pid, j in pg1.items())
    other = max(0.0, (busy1 - busy0) - (server1 - server0) - pg - wrk_jiffies)
    share = 100.0 * other / max(1, total1 - total0)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(out)
        f.write(f"\nother_cpu_percent: {share:.1f}\n")
    r = parse_wrk(a.out)
    print(f"    {r['rps']:.0f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, errors {r['errors']}, "
          f"other processes {share:.0f}% CPU")


ENDPOINTS = [
    ("healthz", "GET /healthz"),
    ("projects_open", "GET /api/v1/projects?status=open (anonymous)"),
    ("needs_guide", "GET /api/v1/needs?status=accepted&region_id=D (bureau)"),
    ("needs_deep", "  same, cursor at ~90 % of the accepted needs"),
]
LISTINGS = ["projects_open", "needs_guide", "needs_deep"]


def report(a):
    backend = a.backend
    share_target = {"sqlite": 6.5, "postgres": 3.5}[backend]
    sizes = a.sizes.split(",")
    results = {}
    for size in sizes:
        for key, _ in ENDPOINTS:
            results[(size, key)] = parse_wrk(os.path.join(a.results, f"{size}__{key}.txt"))
    ok = True
    w = max(len(label) for _, label in ENDPOINTS)
    print()
    print(f"=== {backend}: wrk {a.wrk_args} (2 cores shared by wrk and the server)")
    for size in sizes:
        label = open(os.path.join(a.results, f"{size}__label.txt")).read().strip()
        print(f"\n--- {backend}, {label}")
        print(
            f"{'endpoint':<{w}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>7}  {'% healthz':>9}  {'other CPU':>9}"
        )
        base = results[(size, "healthz")]["rps"]
        for key, name in ENDPOINTS:
            r = results[(size, key)]
            share = 100.0 * r["rps"] / base if base else 0.0
            other = "?" if r["other_cpu"] is None else f"{r['other_cpu']:.0f}%"
            print(
                f"{name:<{w}}  {r['rps']:>9.0f}  {r['p50']:>8.2f}  {r['p99']:>8.2f}  {r['errors']:>7d}  {share:>8.1f}%  {other:>9}"
            )
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        print(f"\n--- {backend}: growth, p99({big}) / p99({small})  [target <= 1.5]")
        for key, name in ENDPOINTS[1:]:
            a_, b_ = results[(small, key)], results[(big, key)]
            if a_["requests"] == 0 or b_["requests"] == 0:
                ok = False
                print(f"{name:<{w}}  {'n/a':>7}  MISSED (no request completed)")
                continue
            ratio = b_["p99"] / max(a_["p99"], 1e-9)
            verdict = "ok" if ratio <= 1.5 else "MISSED"
            if a_["errors"] or b_["errors"]:
                verdict = "MISSED (failed requests: p99 leaves them out)"
            ok &= verdict == "ok"
            print(f"{name:<{w}}  {ratio:>6.2f}x  {verdict}")
    print(f"\n--- {backend}: listing req/s as % of /healthz  [target >= {share_target}%]")
    for size in sizes:
        base = results[(size, "healthz")]["rps"]
        for key in LISTINGS:
            share = 100.0 * results[(size, key)]["rps"] / base if base else 0.0
            verdict = "ok" if share >= share_target else "MISSED"
            ok &= share >= share_target
            name = dict(ENDPOINTS)[key].strip()
            print(f"{size:>4}  {name:<{w}}  {share:>6.1f}%  {verdict}")
    busy = max((r["other_cpu"] or 0.0) for r in results.values())
    print(
        "\n(other CPU: share of all cores used during the run by processes other than the server, its PostgreSQL"
        "\n backends and wrk"
        + (f"; up to {busy:.0f}% here, so some figures are low: rerun on a quiet machine)" if busy >= 10 else ")")
    )
    errors = sum(r["errors"] for r in results.values())
    if errors:
        print(f"\n{backend}: {errors} failed requests (non-2xx/3xx or socket errors) during the runs")
        ok = False
    print(f"\n{backend}: targets {'all hold' if ok else 'NOT all met'}")
    if a.summary:
        with open(a.summary, "a", encoding="utf-8") as f:
            f.write(f"{backend}: targets {'all hold' if ok else 'NOT all met'}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("sqlite-grow", "postgres-sql"):
        s = sub.add_parser(name)
        if name == "sqlite-grow":
            s.add_argument("--db", required=True)
        s.add_argument("--seed-need", required=True)
        s.add_argument("--seed-project", required=True)
        s.add_argument("--needs", type=int, required=True, help="rows the needs table should hold")
        s.add_argument("--projects", type=int, required=True, help="rows the projects table should hold")
        s.add_argument("--base-ms", type=int, required=True, help="unix ms of the newest generated id")
    c = sub.add_parser("cursor")
    c.add_argument("supporters")
    c.add_argument("urgency_rank")
    c.add_argument("id")
    wk = sub.add_parser("wrk")
    wk.add_argument("--out", required=True)
    wk.add_argument("--server-pid", type=int, required=True)
    wk.add_argument("--timeout", type=int, default=300)
    wk.add_argument("--pg-db", default="", help="PostgreSQL database whose backends count as the server")
    wk.add_argument("args", nargs=argparse.REMAINDER, help="-- then the wrk arguments")
    qt = sub.add_parser("quiet")
    qt.add_argument("--max", type=float, default=30)
    qt.add_argument("--below", type=float, default=10)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--backend", required=True, choices=["sqlite", "postgres"])
    r.add_argument("--sizes", required=True, help="comma-separated size tags, smallest first")
    r.add_argument("--wrk-args", default="")
    r.add_argument("--summary")
    a = ap.parse_args()
    if a.cmd == "wrk" and a.args[:1] == ["--"]:
        a.args = a.args[1:]
    {"sqlite-grow": sqlite_grow, "postgres-sql": postgres_sql, "cursor": cursor, "wrk": run_wrk, "quiet": quiet, "report": report}[a.cmd](a)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError, sqlite3.Error) as e:
        print(f"bench_listing_load.py: {e}", file=sys.stderr)
        sys.exit(2)
