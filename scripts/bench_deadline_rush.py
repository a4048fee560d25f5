#!/usr/bin/env python3
"""Load client of scripts/bench-deadline-rush (standard library only).

  api      set up through the API (district, bureau, fund, organizations, projects), run the
           deadline rush (phase 1), close and reconcile, then the throughput phase (phase 2);
           writes a JSON summary
  durable-sqlite   the durable one-row-per-transaction insert rate of SQLite (WAL,
           synchronous=FULL, one writer) on a scratch file
  pgbench-tps      reads the tps figure out of pgbench's output
  quiet    waits (bounded) until other processes leave the CPU
  report   prints one backend's results and whether the targets hold

Only 127.0.0.1 is ever contacted. Every loop is bounded by a count or a deadline.
"""

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import sqlite3
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

HOST = "127.0.0.1"
KEEPALIVE_IDLE_S = 3.0  # actix closes idle keep-alive connections after 5 s
REQUEST_TIMEOUT_S = 30.0
TRANSPORT_ATTEMPTS = 3

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(rng):
    """A valid 统一社会信用代码 of a civil-affairs registration (民办非企业单位) in 320114."""
    body = "52" + "320114" + "".join(rng.choice("0123456789") for _ in range(9))
    total, w = 0, 1
    for ch in body:
        total += USCC_CHARSET.index(ch) * w
        w = (w * 3) % 31
    return body + USCC_CHARSET[(31 - total % 31) % 31]


def canonical(obj):
    """RFC 8785 canonical JSON for the shapes a bid has (strings, ints, bools, null, lists,
    objects with ASCII keys): sorted keys, no whitespace, UTF-8 as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def expected_receipt(bid_body, project_id, organization_id, rnd=1):
    doc = {
        "project_id": project_id,
        "round": rnd,
        "organization_id": organization_id,
        "price": bid_body["price"],
        "plan": bid_body["plan"],
        "team": bid_body["team"],
        "kpis": bid_body["kpis"],
        "matching_funds": bid_body.get("matching_funds"),
    }
    return hashlib.sha256(canonical(doc)).hexdigest()


def rfc3339(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Fatal(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive connection to the server. A request that fails in transport (closed
    keep-alive socket, reset, timeout) is sent again on a fresh connection, at most
    TRANSPORT_ATTEMPTS times; bid POSTs carry an Idempotency-Key, so that is safe."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.conn = None
        self.last_used = 0.0

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def _fresh(self):
        self.close()
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_S)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ensure(self):
        if self.conn is None or time.monotonic() - self.last_used > KEEPALIVE_IDLE_S:
            self._fresh()

    def request(self, method, path, body=None, headers=None):
        """Returns dict(status, headers, body, latency_s, transport_retries, error)."""
        hdrs = {"Accept": "application/json"}
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        retries = 0
        err = None
        self.ensure()
        t0 = time.perf_counter()
        for attempt in range(TRANSPORT_ATTEMPTS):
            try:
                if self.conn is None:
                    self._fresh()
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
                latency = time.perf_counter() - t0
                self.last_used = time.monotonic()
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                return {
                    "status": resp.status,
                    "headers": {k.lower(): v for k, v in resp.getheaders()},
                    "body": raw,
                    "latency_s": latency,
                    "transport_retries": retries,
                    "error": None,
                }
            except (OSError, http.client.HTTPException) as e:
                err = f"{type(e).__name__}: {e}"
                retries += 1
                self.close()
        return {
            "status": 0,
            "headers": {},
            "body": b"",
            "latency_s": time.perf_counter() - t0,
            "transport_retries": retries,
            "error": err,
        }

    # Sends the request and returns without reading the answer (for twin requests).
    def send_only(self, method, path, body, headers):
        hdrs = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        hdrs.update(headers)
        self.ensure()
        self.conn.request(method, path, body=json.dumps(body).encode(), headers=hdrs)

    def read_answer(self, t0):
        resp = self.conn.getresponse()
        raw = resp.read()
        self.last_used = time.monotonic()
        return {
            "status": resp.status,
            "headers": {k.lower(): v for k, v in resp.getheaders()},
            "body": raw,
            "latency_s": time.perf_counter() - t0,
            "transport_retries": 0,
            "error": None,
        }


def jbody(r):
    try:
        return json.loads(r["body"] or b"null")
    except ValueError:
        return None


def must(r, what, expect=(200, 201)):
    if r["status"] not in expect:
        raise Fatal(f"{what}: HTTP {r['status'] or r['error']}: {r['body'][:600]!r}")
    return jbody(r)


SETUP_503 = {"count": 0, "what": {}}
_setup_lock = threading.Lock()


def with_retry(call, what, attempts=6):
    """Setup calls: a 503 (database_unavailable: the server timed out waiting for a pooled
    connection, so nothing ran) is retried after Retry-After, at most `attempts` times; counted."""
    for i in range(attempts):
        r = call()
        if r["status"] != 503 or i == attempts - 1:
            return r
        with _setup_lock:
            SETUP_503["count"] += 1
            key = f"{what.split(' ')[0]} {problem_code(r)}"
            SETUP_503["what"][key] = SETUP_503["what"].get(key, 0) + 1
        try:
            wait = float(r["headers"].get("retry-after", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.2), 5.0))
    return r


def problem_code(r):
    b = jbody(r)
    return b.get("code") if isinstance(b, dict) else None


# ---------------------------------------------------------------------------------------------
# Setup through the API


def login(port, email, password):
    c = Client(port)
    b = must(c.request("POST", "/api/v1/auth/login", {"email": email, "password": password}), f"login {email}")
    c.close()
    return b["access_token"]


def project_spec(title, district, fund, close_ts, ceiling):
    close_day = datetime.fromtimestamp(close_ts, timezone.utc).date()
    start = close_day + timedelta(days=1)
    end = start + timedelta(days=364)
    return {
        "title": title,
        "summary": "为辖区独居老人提供上门探访、助餐与健康管理服务",
        "category": "elderly",
        "region_id": district,
        "need_ids": [],
        "target_group": "辖区 70 岁以上独居老人",
        "services": ["上门探访", "助餐配送"],
        "objectives": [{"indicator": "探访覆盖率", "target": "≥ 95%"}],
        "budget_ceiling": ceiling,
        "fund_id": fund,
        "method": "venture_philanthropy",
        "bid_close_at": rfc3339(close_ts),
        "service_start": start.isoformat(),
        "service_end": end.isoformat(),
        "eligibility": {},
        "evaluation": {"price_points": 20, "criteria": [{"key": "plan", "name": "服务方案", "max_points": 80}]},
        "payment_plan": [
            {"condition": "on_signing", "percent": 30},
            {"condition": "on_completion_passed", "percent": 70},
        ],
    }


def make_projects(port, bureau_token, district, fund, n, close_ts, ceiling, label):
    c = Client(port, bureau_token)
    ids = []
    for i in range(n):
        spec = project_spec(f"{label} {i + 1}", district, fund, close_ts, ceiling)
        p = must(c.request("POST", "/api/v1/projects", spec), f"create project {i + 1}", (201,))
        p = must(c.request("POST", f"/api/v1/projects/{p['id']}/publish", {}), f"publish project {i + 1}", (200,))
        if p.get("status") != "open":
            raise Fatal(f"publish left project {p['id']} {p.get('status')}")
        ids.append(p["id"])
    c.close()
    return ids


def setup(args, rng):
    creds = dict(
        line.split(": ", 1) for line in open(args.admin_creds, encoding="utf-8").read().splitlines() if ": " in line
    )
    admin = login(args.port, creds["email"], creds["password"])
    a = Client(args.port, admin)
    tag = secrets.token_hex(3)
    district = must(a.request("POST", "/api/v1/regions", {"name": f"冲刺区-{tag}", "kind": "district"}), "district", (201,))["id"]
    bureau_email, bureau_pw = f"bureau-{tag}@bench.local", "bench-" + secrets.token_hex(8)
    must(
        a.request(
            "POST",
            "/api/v1/users",
            {"email": bureau_email, "name": "冲刺区民政局", "password": bureau_pw, "role": "bureau", "region_id": district},
        ),
        "bureau user",
        (201,),
    )
    a.close()
    bureau = login(args.port, bureau_email, bureau_pw)
    b = Client(args.port, bureau)
    fund = must(
        b.request(
            "POST",
            "/api/v1/funds",
            {"name": "公益创投资金", "district_id": district, "fiscal_year": datetime.now(timezone.utc).year,
             "source": "lottery_welfare", "total": "9000000000.00"},
        ),
        "fund",
        (201,),
    )["id"]
    b.close()

    org_pw = "bench-org-" + secrets.token_hex(6)
    codes = set()
    while len(codes) < args.orgs:
        codes.add(uscc(rng))
    codes = sorted(codes)

    def one_org(i):
        c = Client(args.port)
        email = f"org{i:03d}-{tag}@bench.local"
        body = {
            "organization": {
                "name": f"冲刺社工服务中心{i:03d}-{tag}", "uscc": codes[i], "org_type": "private_non_enterprise",
                "registered_on": "2019-05-20", "rating": "4A", "rating_awarded_on": "2023-03-01",
                "social_workers": 6, "district_id": district, "contact_email": f"contact{i:03d}-{tag}@bench.local",
            },
            "account": {"email": email, "name": f"负责人{i:03d}", "password": org_pw},
        }
        reg = must(with_retry(lambda: c.request("POST", "/api/v1/organizations/register", body), "register"),
                   f"register org {i}", (201,))
        org_id = reg["organization"]["id"]
        c.token = bureau
        must(with_retry(lambda: c.request("POST", f"/api/v1/organizations/{org_id}/verify", {}), "verify"),
             f"verify org {i}", (200,))
        c.token = None
        tok = must(with_retry(lambda: c.request("POST", "/api/v1/auth/login", {"email": email, "password": org_pw}),
                              "login"), f"login org {i}", (200,))
        c.close()
        return {"id": org_id, "token": tok["access_token"], "name": reg["organization"]["name"]}

    t0 = time.time()
    # Password hashing (argon2) dominates and the server has few cores: 4 at a time.
    with ThreadPoolExecutor(max_workers=4) as ex:
        orgs = list(ex.map(one_org, range(args.orgs)))
    log(f"{args.orgs} organizations registered, verified and signed in ({time.time() - t0:.1f} s)"
        + (f"; {SETUP_503['count']} answers 503 on the way, retried: {SETUP_503['what']}" if SETUP_503["count"] else ""))
    return {"admin": admin, "bureau": bureau, "district": district, "fund": fund, "orgs": orgs}


def log(msg):
    print(f"› {msg}", flush=True)


def bid_body(rng, org_name, ceiling_fen):
    fen = rng.randint(ceiling_fen // 2, ceiling_fen)
    price = f"{fen // 100}.{fen % 100:02d}"
    return {
        "price": price,
        "plan": f"{org_name}：以个案、小组与社区活动相结合，每月上门探访两次，建立健康档案，开展助餐配送。",
        "team": [
            {"name": "王芳", "role": "项目主管", "certified": True},
            {"name": "李强", "role": "社工", "certified": rng.random() < 0.5},
        ],
        "kpis": [{"indicator": "服务人次", "target": str(rng.randint(800, 2000))}, {"indicator": "满意度", "target": "≥ 90%"}],
    }


# ---------------------------------------------------------------------------------------------
# Phase 1: the deadline rush


def run_rush(args, env, rng):
    orgs = env["orgs"]
    ceiling_fen = 30_000_000
    quiet = wait_quiet(args.quiet_wait)
    log(f"machine load before the rush: {quiet:.0f} % busy")
    close_ts = float(int(time.time()) + args.close_in)
    projects = make_projects(args.port, env["bureau"], env["district"], env["fund"], args.projects, close_ts,
                             "300000.00", "截止冲刺项目")
    log(f"{len(projects)} projects open, closing at {rfc3339(close_ts)} ({close_ts - time.time():.1f} s from now)")

    window = min(args.window, close_ts - time.time() - 1.0)
    if window < 10:
        raise Fatal(f"only {window:.1f} s left before the close; setup was too slow")
    start_ts = close_ts - window
    guard = args.guard

    pairs = [(o, p) for o in range(len(orgs)) for p in range(len(projects))]
    rng.shuffle(pairs)
    n_late = round(len(pairs) * args.late_share)
    late_pairs, ontime_pairs = pairs[:n_late], pairs[n_late:]

    plans = {o: [] for o in range(len(orgs))}  # per org: list of events
    bids = {}  # (o, p) -> dict(key, body, kind)

    def ontime_offset():
        # A rush: half the bids spread over the whole window, half in its last 10 seconds.
        span = window - guard
        if rng.random() < 0.5:
            return close_ts - guard - rng.uniform(0, span)
        return close_ts - guard - rng.uniform(0, min(10.0, span))

    for (o, p) in ontime_pairs:
        bids[(o, p)] = {"key": str(uuid.uuid4()), "body": bid_body(rng, orgs[o]["name"], ceiling_fen), "late": False,
                        "at": ontime_offset()}
    for (o, p) in late_pairs:
        bids[(o, p)] = {"key": str(uuid.uuid4()), "body": bid_body(rng, orgs[o]["name"], ceiling_fen), "late": True,
                        "at": close_ts + rng.uniform(0.3, args.late_after)}

    # Retries: share r of all requests, so retries = r / (1 - r) x bids. A fifth of them are twins
    # sent while the first request is still in flight (a client that timed out and sent again on
    # another connection); the rest come later on the same connection.
    n_retry = round(len(pairs) * args.retry_share / (1 - args.retry_share))
    eligible = [k for k, v in bids.items() if not v["late"] and v["at"] <= close_ts - guard - 1.5]
    rng.shuffle(eligible)
    retried = eligible[:n_retry]
    n_twin = len(retried) // 5
    twins = set(retried[:n_twin])
    later = retried[n_twin:]
    for (o, p), v in bids.items():
        kind = "late" if v["late"] else ("twin" if (o, p) in twins else "bid")
        plans[o].append({"at": v["at"], "pair": (o, p), "kind": kind})
    for (o, p) in later:
        first = bids[(o, p)]["at"]
        at = rng.uniform(first + 0.2, min(first + 20.0, close_ts - guard))
        plans[o].append({"at": at, "pair": (o, p), "kind": "retry"})
    for o in plans:
        plans[o].sort(key=lambda e: e["at"])

    n_requests = sum(len(v) for v in plans.values()) + n_twin
    log(f"rush: {len(orgs)} clients, {len(pairs)} bids ({len(ontime_pairs)} on time over the last {window:.0f} s, "
        f"{n_late} after the deadline), {len(retried)} retries ({n_twin} in-flight twins, {len(later)} later) "
        f"= {n_requests} requests")

    records = []
    lock = threading.Lock()
    hard_stop = close_ts + args.late_after + 60.0  # no request is started after this

    def worker(o):
        org = orgs[o]
        c = Client(args.port, org["token"])
        c2 = Client(args.port, org["token"])
        mine = []
        for seq, ev in enumerate(plans[o]):
            delay = ev["at"] - time.time()
            if delay > 0:
                time.sleep(delay)
            if time.time() > hard_stop:
                mine.append({"kind": ev["kind"], "pair": ev["pair"], "status": 0, "error": "not sent: hard stop"})
                continue
            (oo, p) = ev["pair"]
            b = bids[ev["pair"]]
            path = f"/api/v1/projects/{projects[p]}/bids"
            rid = f"rush-{o:03d}-{seq:02d}"
            hdr = {"Idempotency-Key": b["key"], "X-Request-Id": rid}
            sent_at = time.time()
            if ev["kind"] == "twin":
                t0 = time.perf_counter()
                try:
                    c.send_only("POST", path, b["body"], hdr)
                    c2.send_only("POST", path, b["body"], dict(hdr, **{"X-Request-Id": rid + "-b"}))
                    r1 = c.read_answer(t0)
                    r2 = c2.read_answer(t0)
                except (OSError, http.client.HTTPException) as e:
                    c.close()
                    c2.close()
                    # Fall back to plain requests (with the same key) so the bid is not lost.
                    r1 = c.request("POST", path, b["body"], hdr)
                    r2 = c2.request("POST", path, b["body"], dict(hdr, **{"X-Request-Id": rid + "-b"}))
                    r1["error"] = r1["error"] or f"twin send failed first: {type(e).__name__}"
                results = [("twin-a", r1, rid), ("twin-b", r2, rid + "-b")]
            else:
                results = [(ev["kind"], c.request("POST", path, b["body"], hdr), rid)]
            for kind, r, req_id in results:
                mine.append({
                    "rid": req_id,
                    "kind": kind, "pair": ev["pair"], "planned": ev["at"], "sent": sent_at,
                    "status": r["status"], "code": problem_code(r) if r["status"] >= 400 else None,
                    "latency_ms": r["latency_s"] * 1000.0, "replayed": r["headers"].get("idempotent-replayed") == "true",
                    "json": jbody(r) if r["status"] == 201 else None, "transport_retries": r["transport_retries"],
                    "error": r["error"], "after_close": sent_at >= close_ts,
                })
        c.close()
        c2.close()
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=worker, args=(o,), daemon=True) for o in range(len(orgs))]
    meter = CpuMeter(args.server_pid)
    for t in threads:
        t.start()
    pause = start_ts - time.time()
    if pause > 0:
        time.sleep(pause)
    meter.start()

    def close_job():
        a = Client(args.port, env["admin"])
        a.ensure()
        wait = close_ts + (args.close_job_at if args.close_job_at is not None else 0.5) - time.time()
        if wait > 0:
            time.sleep(wait)
        started = time.time() - close_ts
        t0 = time.perf_counter()
        job = must(a.request("POST", "/api/v1/admin/jobs/close_bidding/run", {}), "close_bidding job", (200,))
        ms = (time.perf_counter() - t0) * 1000
        a.close()
        log(f"close_bidding run at close {started:+.3f} s: processed {job.get('processed')}, failed "
            f"{job.get('failed')} ({ms:.0f} ms)")
        return job, ms, started

    if args.close_job_at is not None:  # like the scheduler: at the close, while requests are in flight
        job, close_job_ms, job_started = close_job()
    for t in threads:
        t.join(timeout=max(1.0, hard_stop + REQUEST_TIMEOUT_S * TRANSPORT_ATTEMPTS * 2 - time.time()))
    if any(t.is_alive() for t in threads):
        raise Fatal("rush clients did not finish in time")
    cpu = meter.stop()
    log(f"rush done at close {time.time() - close_ts:+.1f} s; CPU during the rush: {fmt_cpu(cpu)}")
    if args.close_job_at is None:  # after every rush request was answered
        job, close_job_ms, job_started = close_job()

    b = Client(args.port, env["bureau"])
    openings = {}
    for p, pid in enumerate(projects):
        openings[p] = must(b.request("GET", f"/api/v1/projects/{pid}/opening"), f"opening of project {p + 1}", (200,))
    b.close()

    out = reconcile(records, bids, projects, orgs, openings, job, close_job_ms, window, n_requests, close_ts)
    out["close_job"]["started_vs_close_s"] = job_started
    server_ms = server_times(args.server_log)
    srv = [server_ms[r["rid"]] for r in records if r.get("rid") in server_ms]
    out["server_p50_ms"] = pct(srv, 50)
    out["server_p99_ms"] = pct(srv, 99)
    out["server_timed"] = len(srv)
    slow = sorted((r for r in records if r.get("status")), key=lambda r: -r["latency_ms"])[:5]
    out["slowest"] = [
        {"kind": r["kind"], "status": r["status"], "client_ms": round(r["latency_ms"], 1),
         "server_ms": server_ms.get(r["rid"]), "sent_vs_close_s": round(r["sent"] - close_ts, 3),
         "send_lag_ms": round((r["sent"] - r["planned"]) * 1000, 1)}
        for r in slow
    ]
    if args.raw_dir:
        with open(os.path.join(args.raw_dir, "rush-requests.csv"), "w", encoding="utf-8") as f:
            f.write("request_id,kind,org,project,planned_vs_close_s,sent_vs_close_s,status,code,client_ms,server_ms,replayed,transport_retries,error\n")
            for r in sorted(records, key=lambda r: r.get("sent", 0)):
                f.write(",".join(str(x) for x in [
                    r.get("rid", ""), r["kind"], r["pair"][0], r["pair"][1],
                    round(r.get("planned", 0) - close_ts, 3), round(r.get("sent", 0) - close_ts, 3), r["status"],
                    r.get("code") or "", round(r.get("latency_ms", 0), 2), server_ms.get(r.get("rid"), ""),
                    r.get("replayed", ""), r.get("transport_retries", 0), (r.get("error") or "").replace(",", ";")]) + "\n")
    out["cpu"] = cpu
    out["quiet_before"] = quiet
    out["clients"] = len(orgs)
    return out


def reconcile(records, bids, projects, orgs, openings, job, close_job_ms, window, n_requests, close_ts):
    stored = {}  # bid id -> (org id, project index, sha256, status)
    per_pair = {}
    statuses = {}
    for p, op in openings.items():
        for ob in op.get("bids", []):
            stored[ob["bid_id"]] = (ob["organization_id"], p, ob["sha256"], ob["status"])
            per_pair[(ob["organization_id"], p)] = per_pair.get((ob["organization_id"], p), 0) + 1
            statuses[ob["status"]] = statuses.get(ob["status"], 0) + 1
    org_ids = [o["id"] for o in orgs]

    c = {k: 0 for k in ["accepted", "replayed", "late_refused", "late_accepted", "lost", "duplicates", "5xx",
                        "other_errors", "receipt_mismatch", "replay_mismatch", "ontime_refused_deadline",
                        "transport_failures", "transport_retries", "stored_without_2xx", "twin_pairs_ok", "unopened"]}
    other = {}
    acked_ids = set()
    first_201 = {}  # pair -> json of the fresh 201

    def other_error(rec, why):
        c["other_errors"] += 1
        other[why] = other.get(why, 0) + 1

    fresh = [r for r in records if r["status"] == 201 and not r["replayed"]]
    for r in fresh:
        first_201.setdefault(r["pair"], r["json"])

    for r in records:
        c["transport_retries"] += r.get("transport_retries", 0)
        st = r["status"]
        pair = r["pair"]
        if st == 0:
            c["transport_failures"] += 1
            other_error(r, f"no answer ({r.get('error')})")
            continue
        if st >= 500:
            c["5xx"] += 1
            continue
        if r["kind"] == "late":
            if st == 409 and r["code"] == "deadline_passed":
                c["late_refused"] += 1
            elif st == 201:
                c["late_accepted"] += 1
                acked_ids.add(r["json"]["id"])
            else:
                other_error(r, f"late bid answered {st} {r['code']}")
            continue
        if st == 201:
            j = r["json"]
            acked_ids.add(j["id"])
            b = bids[pair]
            want = expected_receipt(b["body"], projects[pair[1]], org_ids[pair[0]])
            if j["receipt"]["sha256"] != want:
                c["receipt_mismatch"] += 1
            if r["replayed"]:
                if j == first_201.get(pair):
                    c["replayed"] += 1
                else:
                    c["replay_mismatch"] += 1
                    other_error(r, "replay differs from the first answer")
            else:
                if r["kind"] in ("retry",):
                    # The first request failed, the retry placed the bid: counted as accepted.
                    pass
                c["accepted"] += 1
            continue
        if st == 409 and r["code"] == "deadline_passed":
            c["ontime_refused_deadline"] += 1
            other_error(r, "409 deadline_passed although sent before the close")
            continue
        other_error(r, f"{st} {r['code']}")

    # Twins: exactly one fresh 201 and one replay.
    by_pair = {}
    for r in records:
        if r["kind"].startswith("twin"):
            by_pair.setdefault(r["pair"], []).append(r)
    for pair, rs in by_pair.items():
        if len(rs) == 2 and sorted(x["replayed"] for x in rs) == [False, True] and all(x["status"] == 201 for x in rs):
            c["twin_pairs_ok"] += 1

    # Every acknowledged receipt must be stored with the same hash (replays name the same bid).
    acked = {(r["json"]["id"], r["json"]["receipt"]["sha256"]) for r in records if r["status"] == 201 and r["json"]}
    for bid_id, sha in acked:
        s = stored.get(bid_id)
        if s is None or s[2] != sha:
            c["lost"] += 1
    c["duplicates"] = sum(n - 1 for n in per_pair.values() if n > 1)
    c["stored_without_2xx"] = sum(1 for bid_id in stored if bid_id not in acked_ids)
    # After the close every live bid must have been opened (qualified or disqualified).
    c["unopened"] = sum(1 for v in stored.values() if v[3] == "submitted")

    # Late pairs have no on-time bid: whatever is stored for them was let in after the deadline.
    late_stored = sum(1 for (o, p), v in bids.items() if v["late"] and per_pair.get((org_ids[o], p), 0) > 0)

    rush_lat = [r["latency_ms"] for r in records if r["status"] != 0]
    lag = [max(0.0, r["sent"] - r["planned"]) * 1000 for r in records if "planned" in r]
    ontime_pairs = sum(1 for v in bids.values() if not v["late"])
    return {
        "window_s": window,
        "requests": len(records),
        "planned_requests": n_requests,
        "bids_planned": len(bids),
        "ontime_pairs": ontime_pairs,
        "late_pairs": len(bids) - ontime_pairs,
        "stored_bids": len(stored),
        "late_stored": late_stored,
        "opening_statuses": statuses,
        "counts": c,
        "other_breakdown": other,
        "p50_ms": pct(rush_lat, 50),
        "p99_ms": pct(rush_lat, 99),
        "max_ms": max(rush_lat) if rush_lat else float("nan"),
        "p50_ms_last_10s": pct([r["latency_ms"] for r in records if r["status"] and close_ts - 10 <= r["sent"] < close_ts], 50),
        "p99_ms_last_10s": pct([r["latency_ms"] for r in records if r["status"] and close_ts - 10 <= r["sent"] < close_ts], 99),
        "send_lag_p99_ms": pct(lag, 99),
        "send_lag_max_ms": max(lag) if lag else 0.0,
        "close_job": {"processed": job.get("processed"), "failed": job.get("failed"), "ms": close_job_ms},
    }


# ---------------------------------------------------------------------------------------------
# Phase 2: throughput


def proc_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy_s():
    """CPU seconds spent busy by the whole machine so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def postgres_cpu_s():
    """CPU seconds used so far by every live process named postgres (all clusters, all databases)."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.find("(") + 1: raw.rfind(")")]
        if name == "postgres" or name.startswith("postgres:"):
            fields = raw.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class CpuMeter:
    """Who used the CPU between start() and stop(): the server, this client, PostgreSQL, the rest."""

    def __init__(self, server_pid):
        self.pid = server_pid

    def _snap(self):
        t = os.times()
        return {"wall": time.time(), "machine": machine_busy_s(), "server": proc_cpu_s(self.pid) if self.pid else 0.0,
                "client": t.user + t.system, "postgres": postgres_cpu_s()}

    def start(self):
        self.a = self._snap()

    def stop(self):
        b = self._snap()
        wall = max(1e-9, b["wall"] - self.a["wall"])
        cores = os.cpu_count() or 1
        d = {k: (b[k] - self.a[k]) / wall / cores * 100 for k in ("machine", "server", "client", "postgres")}
        d["other"] = max(0.0, d["machine"] - d["server"] - d["client"] - d["postgres"])
        d["cores"] = cores
        return d


def fmt_cpu(c):
    return (f"server {c['server']:.0f} %, Python client {c['client']:.0f} %, postgres processes {c['postgres']:.0f} %, "
            f"other processes {c['other']:.0f} % (whole machine {c['machine']:.0f} % of {c['cores']} cores)")


def wait_quiet(max_wait, below=25.0):
    """Waits (at most max_wait s) until the machine is below `below` % busy over 2 s; returns the last reading."""
    end = time.time() + max_wait
    busy = float("nan")
    while True:
        a, t0 = machine_busy_s(), time.time()
        time.sleep(2.0)
        busy = (machine_busy_s() - a) / (time.time() - t0) / (os.cpu_count() or 1) * 100
        if busy < below or time.time() >= end:
            return busy


SERVED = re.compile(r"request_id=(\S+) method=\S+ path=\S+\}: served status=\d+ elapsed_ms=(\d+)")


def server_times(path):
    """request id -> the server's own elapsed_ms, from its log ("served" lines)."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "served" in line:
                m = SERVED.search(line)
                if m:
                    out[m.group(1)] = int(m.group(2))
    return out


class WaitSampler:
    """Samples what the active PostgreSQL backends of the bench database wait on, every 0.5 s,
    for at most `seconds` + 10 s, through one psql session kept open (a psql started per sample
    would cost the shared cores a process, a backend and a handshake each time)."""

    QUERY = ("SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running'), count(*) "
             "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
             "AND pid <> pg_backend_pid() AND backend_type = 'client backend' GROUP BY 1 "
             "UNION ALL SELECT 'tuple-lock queue on ' || l.relation::regclass::text, count(*) FROM pg_locks l "
             "JOIN pg_database d ON d.oid = l.database AND d.datname = current_database() "
             "WHERE l.locktype = 'tuple' GROUP BY l.relation")
    END = "--end-of-sample--"

    def __init__(self, url, seconds):
        self.url = url
        self.max_samples = int((seconds + 10) * 2)
        self.stop_evt = threading.Event()
        self.totals = {}
        self.samples = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        import subprocess
        try:
            psql = subprocess.Popen(["psql", self.url, "-qAtX", "-F", "|"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError:
            return
        try:
            for _ in range(self.max_samples):
                if self.stop_evt.is_set():
                    break
                psql.stdin.write(f"{self.QUERY};\n\\echo {self.END}\n")
                psql.stdin.flush()
                lines = []
                while True:
                    line = psql.stdout.readline()
                    if not line or line.strip() == self.END:
                        break
                    lines.append(line)
                if not line:
                    break  # psql has gone
                self.samples += 1
                for line in lines:
                    if "|" in line:
                        k, n = line.rsplit("|", 1)
                        self.totals[k] = self.totals.get(k, 0) + int(n)
                self.stop_evt.wait(0.5)
        except (OSError, ValueError):
            pass
        finally:
            try:
                psql.stdin.close()
            except OSError:
                pass
            try:
                psql.wait(timeout=5)
            except subprocess.SubprocessError:
                psql.kill()

    def stop(self):
        self.stop_evt.set()
        self.thread.join(timeout=10)
        n = max(1, self.samples)
        return {"samples": self.samples,
                "mean_backends": dict(sorted(((k, round(v / n, 2)) for k, v in self.totals.items()), key=lambda kv: -kv[1]))}


async def exchange(conn, request):
    """Sends one HTTP/1.1 request on an asyncio (reader, writer) pair and reads the answer:
    (status, body, whether the server closes the connection)."""
    reader, writer = conn
    writer.write(request)
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("the server closed the connection")
    status = int(line.split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection" and value == b"close":
            close = True
    if not chunked:
        return status, await reader.readexactly(length) if length else b"", close
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return status, bytes(body), close
        body += await reader.readexactly(size)
        await reader.readline()


def run_throughput(args, env, rng):
    orgs = env["orgs"]
    ceiling_fen = 30_000_000
    quiet = wait_quiet(args.quiet_wait)
    log(f"machine load before the throughput phase: {quiet:.0f} % busy")
    close_ts = float(int(time.time()) + args.tp_close_in)
    t0 = time.time()
    projects = make_projects(args.port, env["bureau"], env["district"], env["fund"], args.tp_projects, close_ts,
                             "300000.00", "吞吐量项目")
    log(f"throughput: {len(projects)} fresh projects (closing in {args.tp_close_in // 60} min, made in "
        f"{time.time() - t0:.1f} s) -> {len(projects) * len(orgs)} possible bids; {len(orgs)} clients as fast as "
        f"they can for up to {args.tp_seconds} s")

    # One event loop drives the 200 keep-alive connections: 200 Python threads spent much of
    # the shared cores on switching and the GIL, CPU the server and PostgreSQL then lacked.
    records = []
    meter = CpuMeter(args.server_pid)
    sampler = WaitSampler(args.pg_url, args.tp_seconds) if args.pg_url else None
    box = {}

    async def worker(o, start):
        org = orgs[o]
        order = list(range(len(projects)))
        random.Random(o).shuffle(order)
        conn = None
        await start.wait()
        for i, p in enumerate(order):  # bounded: at most one bid per project
            if time.time() >= box["end"]:
                break
            body = json.dumps(bid_body(rng, org["name"], ceiling_fen)).encode()
            rid = f"tp-{o:03d}-{i:03d}"
            head = (f"POST /api/v1/projects/{projects[p]}/bids HTTP/1.1\r\nHost: {HOST}\r\n"
                    f"Authorization: Bearer {org['token']}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json\r\nIdempotency-Key: {uuid.uuid4()}\r\n"
                    f"X-Request-Id: {rid}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            status, raw, err = 0, b"", None
            for _ in range(TRANSPORT_ATTEMPTS):  # same key on a resend: safe
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(asyncio.open_connection(HOST, args.port), REQUEST_TIMEOUT_S)
                        conn[1].get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    status, raw, close = await asyncio.wait_for(exchange(conn, head + body), REQUEST_TIMEOUT_S)
                    if close:
                        conn[1].close()
                        conn = None
                    err = None
                    break
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                    err = f"{type(e).__name__}: {e}"
                    if conn is not None:
                        conn[1].close()
                        conn = None
            code = problem_code({"body": raw}) if status >= 400 else None
            records.append((time.time(), status, code, (time.perf_counter() - t0) * 1000, err, rid))
        if conn is not None:
            conn[1].close()

    async def main():
        start = asyncio.Event()
        tasks = [asyncio.create_task(worker(o, start)) for o in range(len(orgs))]
        await asyncio.sleep(0.5)
        meter.start()
        box["begin"] = time.time()
        box["end"] = box["begin"] + args.tp_seconds
        start.set()
        if sampler:
            sampler.start()
        limit = args.tp_seconds + REQUEST_TIMEOUT_S * TRANSPORT_ATTEMPTS + 5
        done, pending = await asyncio.wait(tasks, timeout=limit)
        if pending:
            raise Fatal("throughput clients did not finish in time")
        for t in done:
            t.result()
        box["finish"] = time.time()

    asyncio.run(main())
    begin, finish = box["begin"], box["finish"]
    cpu = meter.stop()
    elapsed = finish - begin
    waits = sampler.stop() if sampler else None
    server_ms = server_times(args.server_log)
    srv = [server_ms[r[5]] for r in records if r[5] in server_ms]

    ok = [r for r in records if r[1] == 201]
    warm = begin + args.tp_warmup
    last_ok = max((r[0] for r in ok), default=finish)
    steady = [r for r in ok if r[0] >= warm]
    if last_ok - warm >= 1.0 and steady:
        sustained = len(steady) / (last_ok - warm)
    else:  # all bids placed before the warm-up ended: only the whole-phase figure exists
        sustained = len(ok) / elapsed if elapsed > 0 else 0.0
    errors = {}
    for r in records:
        if r[1] != 201:
            k = f"{r[1]} {r[2]}" if r[1] else f"no answer ({r[4]})"
            errors[k] = errors.get(k, 0) + 1
    lat = [r[3] for r in records if r[1]]
    exhausted = len(records) >= len(projects) * len(orgs)
    return {
        "projects": len(projects),
        "possible": len(projects) * len(orgs),
        "requests": len(records),
        "accepted": len(ok),
        "elapsed_s": elapsed,
        "bids_per_s_overall": len(ok) / elapsed if elapsed > 0 else 0.0,
        "bids_per_s": sustained,
        "warmup_s": args.tp_warmup,
        "exhausted": exhausted,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "errors": errors,
        "error_count": sum(errors.values()),
        "fivexx": sum(v for k, v in errors.items() if k[:1] == "5"),
        "cpu": cpu,
        "quiet_before": quiet,
        "clients": len(orgs),
        "server_p50_ms": pct(srv, 50),
        "server_p99_ms": pct(srv, 99),
        "pg_waits": waits,
    }


def cmd_api(args):
    rng = random.Random(args.seed if args.seed is not None else secrets.randbits(32))
    out = {"ok": False}
    try:
        env = setup(args, rng)
        out["setup_503"] = dict(SETUP_503)
        out["rush"] = run_rush(args, env, rng)
        rc = out["rush"]["counts"]
        log(f"reconciled: accepted {rc['accepted']}, replayed {rc['replayed']}, late refused {rc['late_refused']}, "
            f"lost {rc['lost']}, duplicates {rc['duplicates']}")
        if args.tp_seconds > 0:
            out["throughput"] = run_throughput(args, env, rng)
            t = out["throughput"]
            log(f"throughput: {t['accepted']} bids in {t['elapsed_s']:.1f} s, sustained {t['bids_per_s']:.1f} bids/s")
        out["ok"] = True
    finally:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, default=str)
    return 0


# ---------------------------------------------------------------------------------------------
# Durable insert rates


def cmd_durable_sqlite(args):
    path = os.path.join(args.dir, "durable-probe.db")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    conn = sqlite3.connect(path, isolation_level=None)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    conn.execute("PRAGMA synchronous=FULL")
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, at TEXT NOT NULL)")
    payload = "x" * 600  # about the size of a sealed bid row
    n = 0
    t0 = time.perf_counter()
    end = t0 + args.seconds
    while time.perf_counter() < end and n < 10_000_000:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO probe (key, payload, at) VALUES (?, ?, ?)", (uuid.uuid4().hex, payload, datetime.now(timezone.utc).isoformat()))
        conn.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - t0
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    res = {"method": f"python3 sqlite3, journal_mode={mode}, synchronous={sync} (2=FULL), one row per committed "
                     f"transaction, one writer, {elapsed:.1f} s", "rows": n, "seconds": elapsed, "rate": n / elapsed}
    with open(args.out, "w") as f:
        json.dump(res, f)
    print(f"› durable insert rate (SQLite): {res['rate']:.0f} rows/s ({n} rows in {elapsed:.1f} s)")
    return 0


def cmd_pgbench_tps(args):
    text = open(args.log, encoding="utf-8", errors="replace").read()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text) or re.search(r"tps = ([0-9.]+)", text)
    if not m:
        print(text[-2000:], file=sys.stderr)
        raise Fatal("no tps figure in the pgbench output")
    tx = re.search(r"number of transactions actually processed: (\d+)", text)
    res = {"method": f"pgbench -n -c {args.clients} -j 2 -T {args.seconds}, a one-row INSERT per transaction "
                     f"(autocommit), on the bench database", "rows": int(tx.group(1)) if tx else None,
           "seconds": args.seconds, "rate": float(m.group(1))}
    with open(args.out, "w") as f:
        json.dump(res, f)
    print(f"› durable insert rate (PostgreSQL): {res['rate']:.0f} rows/s")
    return 0


# ---------------------------------------------------------------------------------------------
# Report


def yn(ok):
    return "yes" if ok else "NO"


def cmd_quiet(args):
    busy = wait_quiet(args.max)
    log(f"machine load before the insert probe: {busy:.0f} % busy")
    return 0


def cmd_report(args):
    res = json.load(open(args.results, encoding="utf-8"))
    dur = json.load(open(args.durable, encoding="utf-8")) if args.durable and os.path.exists(args.durable) else None
    r = res["rush"]
    c = r["counts"]
    lines = []
    add = lines.append
    if res.get("setup_503", {}).get("count"):
        add(f"--- {args.backend}: setup: {res['setup_503']['count']} answers 503 database_unavailable, retried "
            f"({res['setup_503']['what']})")
    add(f"--- {args.backend}: phase 1, the deadline rush")
    add(f"  {r['requests']} requests ({r['bids_planned']} bids: {r['ontime_pairs']} on time over the last "
        f"{r['window_s']:.0f} s, {r['late_pairs']} after the deadline; the rest retries with the same Idempotency-Key)")
    add(f"  accepted {c['accepted']}   replayed {c['replayed']}   late-refused {c['late_refused']}   lost {c['lost']}   "
        f"duplicates {c['duplicates']}   5xx {c['5xx']}   other errors {c['other_errors']}")
    add(f"  latency p50 {r['p50_ms']:.1f} ms   p99 {r['p99_ms']:.1f} ms   max {r['max_ms']:.1f} ms   "
        f"(last 10 s before the close: p50 {r['p50_ms_last_10s']:.1f}, p99 {r['p99_ms_last_10s']:.1f}); "
        f"server's own elapsed_ms: p50 {r['server_p50_ms']:.0f}, p99 {r['server_p99_ms']:.0f} ({r['server_timed']} requests)")
    add(f"  checks: stored bids {r['stored_bids']} (opening statuses {r['opening_statuses']}), "
        f"in-flight twin pairs answered once fresh + once replayed {c['twin_pairs_ok']}, replays differing "
        f"{c['replay_mismatch']}, receipts differing from the client's own RFC 8785 hash {c['receipt_mismatch']}, "
        f"late bids accepted {c['late_accepted']} (stored {r['late_stored']}), stored without a 2xx "
        f"{c['stored_without_2xx']}, left unopened by the close {c['unopened']}, on-time bids refused as late "
        f"{c['ontime_refused_deadline']}, "
        f"transport resends {c['transport_retries']}")
    if r["other_breakdown"]:
        add(f"  other errors: {r['other_breakdown']}")
    add(f"  close_bidding (run at close {r['close_job']['started_vs_close_s']:+.2f} s): processed "
        f"{r['close_job']['processed']}, failed {r['close_job']['failed']} in {r['close_job']['ms']:.0f} ms; client send lag behind schedule p99 {r['send_lag_p99_ms']:.0f} ms, "
        f"max {r['send_lag_max_ms']:.0f} ms")
    add(f"  CPU during the rush: {fmt_cpu(r['cpu'])}; before it the machine was {r['quiet_before']:.0f} % busy")
    add("  slowest: " + "; ".join(
        f"{x['kind']} {x['status']} {x['client_ms']:.0f} ms (server {x['server_ms']} ms, sent at close{x['sent_vs_close_s']:+.2f} s)"
        for x in r["slowest"]))
    t = res.get("throughput")
    tp_ok = None
    if t:
        add(f"--- {args.backend}: phase 2, throughput")
        add(f"  {t['accepted']} bids accepted in {t['elapsed_s']:.1f} s by {t['clients']} clients on {t['projects']} projects "
            f"({t['possible']} possible{'; ALL USED before the time was up' if t['exhausted'] else ''})")
        add(f"  sustained {t['bids_per_s']:.1f} bids/s (after {t['warmup_s']:.0f} s warm-up; whole phase "
            f"{t['bids_per_s_overall']:.1f})   p50 {t['p50_ms']:.1f} ms   p99 {t['p99_ms']:.1f} ms   errors "
            f"{t['error_count']}{' ' + json.dumps(t['errors'], ensure_ascii=False) if t['errors'] else ''}; "
            f"server's own elapsed_ms p50 {t['server_p50_ms']:.0f}, p99 {t['server_p99_ms']:.0f}")
        if t.get("pg_waits"):
            w = t["pg_waits"]
            add(f"  PostgreSQL active backends by wait event (mean over {w['samples']} samples): "
                + ", ".join(f"{k} {v}" for k, v in list(w["mean_backends"].items())[:6]))
        add(f"  CPU during the phase: {fmt_cpu(t['cpu'])}; before it the machine was {t['quiet_before']:.0f} % busy")
        if dur:
            share = t["bids_per_s"] / dur["rate"] * 100 if dur["rate"] else float("nan")
            add(f"  durable insert rate: {dur['rate']:.0f} rows/s ({dur['method']})")
            add(f"  bids/s = {share:.1f} % of the durable insert rate")
            tp_ok = share >= 25.0
    targets = [
        ("lost = 0", c["lost"] == 0),
        ("duplicates = 0", c["duplicates"] == 0),
        ("5xx = 0 in the rush", c["5xx"] == 0),
        (f"rush p99 < 250 ms ({r['p99_ms']:.0f} ms)", r["p99_ms"] < 250),
        ("every late bid refused", c["late_accepted"] == 0 and r["late_stored"] == 0 and c["late_refused"] == r["late_pairs"]),
        ("(extra) every stored bid opened by the close job", c["unopened"] == 0),
    ]
    if tp_ok is not None:
        targets.append((f"sustained bids/s >= 25 % of the durable insert rate "
                        f"({t['bids_per_s'] / dur['rate'] * 100:.1f} %)", tp_ok))
    add(f"--- {args.backend}: targets")
    for name, ok in targets:
        add(f"  {yn(ok):3s}  {name}")
    text = "\n".join(lines)
    print(text)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(text + "\n\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("api")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--admin-creds", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--server-pid", type=int)
    a.add_argument("--server-log", help="the server's log, for its own elapsed_ms per request id")
    a.add_argument("--pg-url", help="PostgreSQL only: sample pg_stat_activity wait events during phase 2")
    a.add_argument("--raw-dir", help="write the rush's per-request CSV here")
    a.add_argument("--orgs", type=int, default=200)
    a.add_argument("--projects", type=int, default=5)
    a.add_argument("--close-in", type=int, default=65)
    a.add_argument("--window", type=float, default=60.0)
    a.add_argument("--guard", type=float, default=0.5, help="last on-time send, seconds before the close")
    a.add_argument("--late-share", type=float, default=0.05)
    a.add_argument("--close-job-at", type=float,
                   help="run close_bidding this many seconds after the close, while the rush goes on (default: after it)")
    a.add_argument("--late-after", type=float, default=5.0)
    a.add_argument("--retry-share", type=float, default=0.20)
    a.add_argument("--tp-projects", type=int, default=250)
    a.add_argument("--quiet-wait", type=float, default=45.0,
                   help="seconds to wait at most for other processes to leave the CPU before each phase")
    a.add_argument("--tp-seconds", type=int, default=30)
    a.add_argument("--tp-warmup", type=float, default=2.0)
    a.add_argument("--tp-close-in", type=int, default=600)
    a.add_argument("--seed", type=int)
    d = sub.add_parser("durable-sqlite")
    d.add_argument("--dir", required=True)
    d.add_argument("--seconds", type=float, default=10.0)
    d.add_argument("--out", required=True)
    g = sub.add_parser("pgbench-tps")
    g.add_argument("--log", required=True)
    g.add_argument("--clients", type=int, default=8)
    g.add_argument("--seconds", type=int, default=10)
    g.add_argument("--out", required=True)
    q = sub.add_parser("quiet")
    q.add_argument("--max", type=float, default=45.0)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--durable")
    r.add_argument("--backend", required=True)
    r.add_argument("--summary")
    args = ap.parse_args()
    try:
        return {"api": cmd_api, "durable-sqlite": cmd_durable_sqlite, "pgbench-tps": cmd_pgbench_tps,
                "report": cmd_report, "quiet": cmd_quiet}[args.cmd](args)
    except Fatal as e:
        print(f"bench_deadline_rush: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
