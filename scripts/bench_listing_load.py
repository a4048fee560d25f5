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
# Generated rows spread over every category (needs and projects) and method (projects), budgets
# of 10,000 to 9,999,000 yuan and bidding closes up to 400 days either side of the seed row's,
# so that each listing filter picks out a part of the table and the planners must choose an
# index for it (one region only: the loader creates one street and one community).
CATEGORIES = ["elderly", "children_youth", "disability", "hardship", "community_governance",
              "culture_sports", "mediation", "health", "volunteering", "other"]
METHODS = ["venture_philanthropy", "consultation", "tender"]


def pick(expr, values):
    return "CASE " + " ".join(f"WHEN {expr} = {i} THEN '{v}'" for i, v in enumerate(values[:-1])) + f" ELSE '{values[-1]}' END"


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
            r AS (SELECT g, 1 + abs(random()) % 3 AS u, abs(random()) % 501 AS sup, abs(random()) % 100 AS st,
                         abs(random()) % {len(CATEGORIES)} AS cat FROM s)
            INSERT INTO needs ({cols})
            SELECT {sqlite_uuid('r.g', a.base_ms, NEED_SPAN, NEED_STEP_MS)}, n.community_id, n.street_id, n.district_id,
                   n.title, n.description, {pick('r.cat', CATEGORIES)}, n.source, n.external_ref, n.beneficiary_group, n.beneficiaries,
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
            r AS (SELECT g, {status} AS status, cat, m, budget, days FROM (SELECT g, abs(random()) % 100 AS st,
                         abs(random()) % {len(CATEGORIES)} AS cat, abs(random()) % {len(METHODS)} AS m,
                         (10000 + abs(random()) % 9990000) * 100 AS budget, abs(random()) % 801 - 400 AS days FROM s) r)
            INSERT INTO projects ({cols})
            SELECT {sqlite_uuid('r.g', a.base_ms, PROJECT_SPAN, PROJECT_STEP_MS)}, p.district_id, p.street_id, p.region_id,
                   p.title, {pick('r.cat', CATEGORIES)}, {pick('r.m', METHODS)}, p.fund_id, r.budget,
                   strftime('%Y-%m-%d %H:%M:%S', p.bid_close_at, r.days || ' days'), p.spec,
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
       n.title, n.description, {pick('r.cat', CATEGORIES)}, n.source, n.external_ref, n.beneficiary_group, n.beneficiaries,
       (ARRAY['low','medium','high'])[r.u], r.u, r.sup, {case_by_share('r.st', NEED_STATUSES)},
       NULL, NULL, NULL, n.created_by, 1, n.created_at, n.updated_at
FROM bench_counts c
CROSS JOIN LATERAL (
    SELECT g, 1 + floor(random() * 3)::int AS u, floor(random() * 501)::bigint AS sup, floor(random() * 100)::int AS st,
           floor(random() * {len(CATEGORIES)})::int AS cat
    FROM generate_series(c.gen_needs + 1, c.gen_needs + greatest(0, {a.needs} - c.have_needs)) AS g
) r
JOIN needs n ON n.id = {q(a.seed_need)};""",
        f"""INSERT INTO projects ({project_cols})
SELECT {pg_uuid('r.g', a.base_ms, PROJECT_SPAN, PROJECT_STEP_MS)}, p.district_id, p.street_id, p.region_id,
       p.title, {pick('r.cat', CATEGORIES)}, {pick('r.m', METHODS)}, p.fund_id, r.budget,
       p.bid_close_at + r.days * interval '1 day', p.spec,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.rule_pack END, p.warnings, r.status, p.round,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_sealed END,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.seed_commitment END,
       NULL, NULL, p.created_by, p.version, p.created_at, p.updated_at,
       CASE WHEN r.status = 'draft' THEN NULL ELSE p.published_at END, NULL
FROM bench_counts c
CROSS JOIN LATERAL (
    SELECT g, {case_by_share('st', PROJECT_STATUSES)} AS status, cat, m, budget, days
    FROM (SELECT g, floor(random() * 100)::int AS st, floor(random() * {len(CATEGORIES)})::int AS cat,
                 floor(random() * {len(METHODS)})::int AS m, (10000 + floor(random() * 9990000))::bigint * 100 AS budget,
                 floor(random() * 801)::int - 400 AS days
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
    return parse_wrk_text(open(path, encoding="utf-8", errors="replace").read(), path)


def parse_wrk_text(text, path="wrk"):
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
    server_us = re.search(r"server_cpu_us: ([\d.]+)", text)
    db_us = re.search(r"db_cpu_us: ([\d.]+)", text)
    ceiling = re.search(r"ceiling_tps: ([\d.]+)", text)
    ceiling_db = re.search(r"ceiling_db_cpu_us: ([\d.]+)", text)
    return {
        "server_us": float(server_us.group(1)) if server_us else None,
        "db_us": float(db_us.group(1)) if db_us else None,
        "ceiling": float(ceiling.group(1)) if ceiling else None,
        "ceiling_db_us": float(ceiling_db.group(1)) if ceiling_db else None,
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
    r = parse_wrk_text(out)
    tck = os.sysconf("SC_CLK_TCK")
    server_us = 1e6 * (server1 - server0) / tck / max(1, r["requests"])
    db_us = 1e6 * pg / tck / max(1, r["requests"])
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(out)
        f.write(f"\nother_cpu_percent: {share:.1f}\nserver_cpu_us: {server_us:.1f}\ndb_cpu_us: {db_us:.1f}\n")
    r = parse_wrk(a.out)
    print(f"    {r['rps']:.0f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, errors {r['errors']}, "
          f"other processes {share:.0f}% CPU")


# ---------------------------------------------------------------------------------------------
# The statements a request runs, bare: traced by the server (GONGYI_SQL_TRACE), explained and
# run by pgbench or two SQLite processes for the ceiling.

BIG_TABLES = ("needs", "projects")


def split_binds(text):
    """The bind values of a traced line's `[...]` (Rust Debug): strings unquoted, numbers as
    they are, true/false/None as SQL literals, anything else (a timestamp) as a string."""
    inner = text.strip()[1:-1]
    out, cur, quoted, esc = [], "", False, False
    for ch in inner:
        if quoted:
            if esc:
                cur += {"n": "\n", "t": "\t"}.get(ch, ch)
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                quoted = False
                out.append(("str", cur))
                cur = None
            else:
                cur += ch
        elif ch == '"':
            quoted, cur = True, ""
        elif ch == ",":
            if cur is not None and cur.strip():
                out.append(("raw", cur.strip()))
            cur = ""
        else:
            if cur is None:
                cur = ""
            cur += ch
    if cur is not None and cur.strip():
        out.append(("raw", cur.strip()))
    return out


def literal(kind, v):
    if kind == "raw":
        if re.fullmatch(r"-?\d+(\.\d+)?", v):
            return v
        if v in ("true", "false"):
            return v.upper()
        if v == "None":
            return "NULL"
        m = re.fullmatch(r"Some\((.*)\)", v)
        if m:
            return literal("raw", m.group(1))
        v = v.replace("T", " ")
    return "'" + v.replace("'", "''") + "'"


def bare(line):
    """A traced line as SQL with its bind values written in."""
    sql, _, binds = line.rpartition(" -- binds: ")
    if not sql:
        sql, binds = line, "[]"
    values = [literal(k, v) for k, v in split_binds(binds)]
    if re.search(r"\$\d+", sql):
        return re.sub(r"\$(\d+)", lambda m: values[int(m.group(1)) - 1], sql)
    it = iter(values)
    return re.sub(r"\?", lambda m: next(it), sql)


def statements(path):
    with open(path, encoding="utf-8") as f:
        return [bare(l.rstrip("\n")) for l in f if l.strip()]


def pg_scan_nodes(plan, out):
    rel = plan.get("Relation Name")
    if rel in BIG_TABLES and "Scan" in plan.get("Node Type", ""):
        loops = plan.get("Actual Loops", 1)
        read = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
                + plan.get("Rows Removed by Index Recheck", 0)) * loops
        out.append((plan["Node Type"], rel, plan.get("Index Name", ""), read))
    for child in plan.get("Plans", []):
        pg_scan_nodes(child, out)


def explain_pg(url, sql):
    out = subprocess.run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c",
                          "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise ValueError(f"EXPLAIN failed: {out.stderr.strip()[:300]}\n  {sql[:300]}")
    nodes = []
    top = json.loads(out.stdout)[0]["Plan"]
    pg_scan_nodes(top, nodes)
    seq = [n for n in nodes if n[0] == "Seq Scan"]
    read = sum(n[3] for n in nodes)
    pages = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    how = ", ".join(f"{n[0]} {n[2] or n[1]}".strip() for n in nodes) or "no scan of a big table"
    how = f"{pages:>5} pages  {how}"
    return (not seq), read, how


def explain_sqlite(a, sqls):
    """Plans and best-of-20 timings from the server's own SQLite library (`gongyi explain-sqlite`,
    ANALYZE first, as STAT4 statistics come from that library)."""
    path = os.path.join(a.dir, "all.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(sqls) + "\n")
    env = dict(os.environ, GONGYI__DATABASE__URL=f"sqlite://{a.db}")
    out = subprocess.run([a.bin, "explain-sqlite", "--analyze", path], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise ValueError(f"gongyi explain-sqlite failed: {out.stderr.strip()[-400:]}")
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def plans(a):
    """EXPLAINs every traced statement of every case on the grown tables and prints whether
    each reads a big table through an index and how much it read. PostgreSQL: EXPLAIN ANALYZE,
    rows read by the scans of the big tables (target: no Seq Scan, at most --max-rows).
    SQLite: EXPLAIN QUERY PLAN and the best of 20 runs by the server's own library (target: no
    full SCAN, at most 10x the time of the plain listing of that table: the status=open page
    for projects, the guide list for needs)."""
    ok = True
    cases = [l.rstrip("\n").split("|", 1) for l in open(os.path.join(a.dir, "cases.txt"), encoding="utf-8") if l.strip()]
    work = []  # (name, label, sql)
    for name, label in cases:
        sqls = [q for q in statements(os.path.join(a.dir, f"{name}.sql"))
                if re.search(r'FROM [`"](%s)[`"]' % "|".join(BIG_TABLES), q)]
        if not sqls:
            work.append((name, label, None))
        work.extend((name, label, q) for q in sqls)
    unit = "rows read" if a.backend == "postgres" else "µs (best)"
    print(f"\n--- {a.backend}: the plans of every listing filter at this size ({unit})")
    w = max(len(c[1]) for c in cases)
    if a.backend == "postgres":
        rows = []
        for name, label, q in work:
            rows.append(None if q is None else explain_pg(a.url, q))
    else:
        found = iter(explain_sqlite(a, [q for _, _, q in work if q is not None]))
        rows = []
        for _, _, q in work:
            if q is None:
                rows.append(None)
                continue
            p = next(found)
            details = p["plan"]
            bare_scan = any(re.fullmatch(r"SCAN (%s)" % "|".join(BIG_TABLES), d.strip()) for d in details)
            how = "; ".join(d for d in details if any(t in d for t in BIG_TABLES)) or "; ".join(details)
            rows.append((not bare_scan, p["best_us"], how))
        base = {}
        for (name, _, q), r in zip(work, rows):
            if r is not None and name in ("projects_open", "needs_guide"):
                base["projects" if name.startswith("projects") else "needs"] = r[1]
    for (name, label, q), r in zip(work, rows):
        if r is None:
            print(f"{label:<{w}}  MISSED  no statement of a big table traced")
            ok = False
            continue
        indexed, cost, how = r
        if a.backend == "postgres":
            good = indexed and cost <= a.max_rows
            shown = f"{cost:>9}"
        else:
            limit = 10 * base.get("projects" if name.startswith("projects") else "needs", float("inf"))
            good = indexed and cost <= limit
            shown = f"{cost:>9.0f}"
        ok &= good
        print(f"{label:<{w}}  {'ok    ' if good else 'MISSED'}  {shown}  {how[:140]}")
    verdict = "every filter reads through an index" if ok else "NOT every filter reads through an index"
    print(f"\n{a.backend}: plans: {verdict}")
    if a.summary:
        with open(a.summary, "a", encoding="utf-8") as f:
            f.write(f"{a.backend}: plans: {verdict}\n")


def ceiling(a):
    """The same statements a request runs, run bare as fast as the database allows: pgbench
    (extended protocol, a statement parsed per execution as the server's are, --clients
    connections over the server's own host) or, for SQLite, two processes each running them in
    a loop on the same file. Prints `ceiling_tps` and the database CPU per transaction."""
    sqls = statements(a.stmts)
    if a.backend == "postgres":
        script = a.stmts + ".pgbench"
        with open(script, "w", encoding="utf-8") as f:
            for sql in sqls:
                f.write(sql + ";\n")
        pg0 = pg_backends(a.pg_db)
        proc = subprocess.Popen(["pgbench", "-n", "-M", "extended", "-c", str(a.clients), "-j", "2",
                                 "-T", str(a.seconds), "-f", script, a.url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # pgbench's backends end with it: their CPU is the last reading taken while they ran.
        pg1 = dict(pg0)
        while proc.poll() is None:
            pg1.update(pg_backends(a.pg_db))
            time.sleep(0.2)
        stdout, stderr = proc.communicate()
        out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        if out.returncode != 0:
            raise ValueError(f"pgbench failed: {out.stderr.strip()[-400:]}")
        m = re.search(r"tps = ([\d.]+)", out.stdout)
        tps = float(m.group(1)) if m else 0.0
        txs = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
        n = int(txs.group(1)) if txs else 0
        db_j = sum(j - pg0.get(pid, 0) for pid, j in pg1.items())
        db_us = 1e6 * db_j / os.sysconf("SC_CLK_TCK") / max(1, n)
    else:
        import multiprocessing

        def loop(db, seconds, q):
            conn = sqlite3.connect(db)
            cur = conn.cursor()
            n, end = 0, time.monotonic() + seconds
            t0 = time.process_time()
            while time.monotonic() < end:
                for sql in sqls:
                    cur.execute(sql).fetchall()
                n += 1
            q.put((n, time.process_time() - t0))

        q = multiprocessing.Queue()
        ps = [multiprocessing.Process(target=loop, args=(a.db, a.seconds, q)) for _ in range(2)]
        for p in ps:
            p.start()
        res = [q.get() for _ in ps]
        for p in ps:
            p.join()
        n = sum(r[0] for r in res)
        tps = n / a.seconds
        db_us = 1e6 * sum(r[1] for r in res) / max(1, n)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(f"ceiling_tps: {tps:.1f}\nceiling_db_cpu_us: {db_us:.1f}\nstatements: {len(sqls)}\n")
    print(f"    ceiling: {tps:.0f} transactions/s of the {len(sqls)} statement(s), database CPU {db_us:.0f} µs each")


ENDPOINTS = [
    ("healthz", "GET /healthz"),
    ("projects_open", "GET /api/v1/projects?status=open (anonymous)"),
    ("needs_guide", "GET /api/v1/needs?status=accepted&region_id=D (bureau)"),
    ("needs_deep", "  same, cursor at ~90 % of the accepted needs"),
]
LISTINGS = ["projects_open", "needs_guide", "needs_deep"]


def report(a):
    backend = a.backend
    share_target = {"sqlite": 25.0, "postgres": 50.0}[backend]
    sizes = a.sizes.split(",")
    results = {}
    for size in sizes:
        for key, _ in ENDPOINTS:
            r = parse_wrk(os.path.join(a.results, f"{size}__{key}.txt"))
            c = os.path.join(a.results, f"{size}__{key}.ceiling")
            if os.path.exists(c):
                t = open(c, encoding="utf-8").read()
                r["ceiling"] = float(re.search(r"ceiling_tps: ([\d.]+)", t).group(1))
                r["ceiling_db_us"] = float(re.search(r"ceiling_db_cpu_us: ([\d.]+)", t).group(1))
            results[(size, key)] = r
    ok = True
    w = max(len(label) for _, label in ENDPOINTS)
    fmt = lambda v, spec: "?" if v is None else format(v, spec)  # noqa: E731
    print()
    print(f"=== {backend}: wrk {a.wrk_args} (2 cores shared by wrk, the server and the database)")
    for size in sizes:
        label = open(os.path.join(a.results, f"{size}__label.txt")).read().strip()
        print(f"\n--- {backend}, {label}")
        print(
            f"{'endpoint':<{w}}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'errors':>6}  {'ceiling/s':>9}  {'% ceil':>6}"
            f"  {'server µs':>9}  {'db µs':>6}  {'bare db µs':>10}  {'other CPU':>9}"
        )
        for key, name in ENDPOINTS:
            r = results[(size, key)]
            share = 100.0 * r["rps"] / r["ceiling"] if r.get("ceiling") else None
            other = "?" if r["other_cpu"] is None else f"{r['other_cpu']:.0f}%"
            print(
                f"{name:<{w}}  {r['rps']:>8.0f}  {r['p50']:>7.2f}  {r['p99']:>7.2f}  {r['errors']:>6d}  {fmt(r.get('ceiling'), '>9.0f')}"
                f"  {fmt(share, '>5.1f')}%  {fmt(r['server_us'], '>9.0f')}  {fmt(r['db_us'], '>6.0f')}  {fmt(r.get('ceiling_db_us'), '>10.0f')}  {other:>9}"
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
    print(f"\n--- {backend}: public listing req/s as % of its statements run bare  [target >= {share_target:.0f}%]")
    for size in sizes:
        r = results[(size, "projects_open")]
        if not r.get("ceiling"):
            print(f"{size:>4}  no ceiling measured  MISSED")
            ok = False
            continue
        share = 100.0 * r["rps"] / r["ceiling"]
        ok &= share >= share_target
        print(f"{size:>4}  {share:>6.1f}%  {'ok' if share >= share_target else 'MISSED'}")
    print(f"\n--- {backend}: cost per request (server + database CPU) against the public listing's  [target <= 1.5x]")
    for size in sizes:
        base = results[(size, "projects_open")]
        if base["server_us"] is None:
            continue
        base_cost = base["server_us"] + (base["db_us"] or 0.0)
        for key in ("needs_guide", "needs_deep"):
            r = results[(size, key)]
            cost = r["server_us"] + (r["db_us"] or 0.0)
            ratio = cost / max(base_cost, 1e-9)
            ok &= ratio <= 1.5
            name = dict(ENDPOINTS)[key].strip()
            print(f"{size:>4}  {name:<{w}}  {cost:>6.0f} µs vs {base_cost:.0f} µs  {ratio:>5.2f}x  {'ok' if ratio <= 1.5 else 'MISSED'}")
    busy = max((r["other_cpu"] or 0.0) for r in results.values())
    print(
        "\n(ceiling: the statements one request runs, traced from the server, run bare: pgbench -M extended with as many"
        "\n connections as the server's pool, over the same host; SQLite: two processes looping on the same file."
        "\n server µs / db µs: CPU per request of the server process and of its PostgreSQL backends; bare db µs: the"
        "\n database's CPU per bare run. other CPU: share of all cores used by other processes during the run"
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
    pl = sub.add_parser("plans")
    pl.add_argument("--backend", required=True, choices=["sqlite", "postgres"])
    pl.add_argument("--dir", required=True, help="cases.txt and one <case>.sql of traced statements each")
    pl.add_argument("--db", help="SQLite file")
    pl.add_argument("--url", help="PostgreSQL URL")
    pl.add_argument("--max-rows", type=int, default=1000)
    pl.add_argument("--bin", help="the gongyi binary (SQLite: explain-sqlite)")
    pl.add_argument("--summary")
    ce = sub.add_parser("ceiling")
    ce.add_argument("--backend", required=True, choices=["sqlite", "postgres"])
    ce.add_argument("--stmts", required=True)
    ce.add_argument("--out", required=True)
    ce.add_argument("--db")
    ce.add_argument("--url")
    ce.add_argument("--pg-db", default="")
    ce.add_argument("--clients", type=int, default=16)
    ce.add_argument("--seconds", type=int, default=10)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--backend", required=True, choices=["sqlite", "postgres"])
    r.add_argument("--sizes", required=True, help="comma-separated size tags, smallest first")
    r.add_argument("--wrk-args", default="")
    r.add_argument("--summary")
    a = ap.parse_args()
    if a.cmd == "wrk" and a.args[:1] == ["--"]:
        a.args = a.args[1:]
    {"sqlite-grow": sqlite_grow, "postgres-sql": postgres_sql, "cursor": cursor, "wrk": run_wrk, "quiet": quiet, "report": report, "plans": plans, "ceiling": ceiling}[a.cmd](a)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError, sqlite3.Error) as e:
        print(f"bench_listing_load.py: {e}", file=sys.stderr)
        sys.exit(2)
