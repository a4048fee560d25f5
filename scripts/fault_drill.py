#!/usr/bin/env python3
"""Fault drills of scripts/fault-* (standard library only): each starts the real server, puts
load on it, breaks something on purpose and checks that nothing acknowledged was lost or done
twice. Every drill prints its figures and exits 1 when a check fails, 2 when it could not run.

  kill        kill -9 in the middle of each phase (bids: a bid rush; publish: a publish loop
              reserving fund money; release: a loop of tranche releases), restart, retry every
              request with its key (SQLite or PG)
  term        SIGTERM with 50 slow requests in flight: all must complete, then exit 0
  db          the PostgreSQL cluster stopped for a while mid-load: 503 + Retry-After, then 2xx
  smtp        the SMTP server down for the start of a mail burst: every mail delivered once
  schedulers  two servers with the scheduler on, one PostgreSQL: every job effect once

Only 127.0.0.1 is contacted. Logs and data go under --work (a folder under target/).
"""

import argparse
import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_deadline_rush as bdr  # noqa: E402  (Client, setup, bid bodies, receipts)

Client = bdr.Client
Fatal = bdr.Fatal
jbody = bdr.jbody
must = bdr.must
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(f"› {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# The server under test


class Server:
    """One gongyi process on a free port, its log appended to `log_path`."""

    def __init__(self, binary, work, db_url, name="server", extra_env=None, port=None):
        self.binary = binary
        self.work = work
        self.db_url = db_url
        self.name = name
        self.extra_env = dict(extra_env or {})
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(work, f"{name}.log")
        self.data_dir = os.path.join(work, "data")
        os.makedirs(self.data_dir, exist_ok=True)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GONGYI") and k != "APP_ENV"}
        env.update({
            "GONGYI_CONFIG_DIR": os.path.join(REPO, "config"),
            "GONGYI__DATA_DIR": self.data_dir,
            "GONGYI__DATABASE__URL": self.db_url,
            "GONGYI__SERVER__BIND": f"127.0.0.1:{self.port}",
            "GONGYI__JOBS__SCHEDULER": "false",
            "GONGYI__AUTH__PER_IP_PER_MINUTE": "1000000",
            "GONGYI__AUTH__ACCESS_TTL_SECS": str(30 * 86400),
            "GONGYI__SANDBOX": "true",
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout=90):
        logf = open(self.log_path, "a")
        logf.write(f"\n===== start {datetime.now(timezone.utc).isoformat()}\n")
        logf.flush()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env(), stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise Fatal(f"{self.name} exited at start ({self.proc.returncode}); see {self.log_path}")
            try:
                c = Client(self.port)
                r = c.request("GET", "/readyz")
                c.close()
                if r["status"] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise Fatal(f"{self.name} was not ready within {timeout} s; see {self.log_path}")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def term(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(40) is None:
                self.kill9()

    def admin_creds(self):
        path = os.path.join(self.data_dir, "first-admin.txt")
        for _ in range(50):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.1)
        return path

    def cli(self, *args):
        """Runs `gongyi <args>` against the same database and config; returns (rc, stdout)."""
        p = subprocess.run([self.binary, *args], env=self.env(), capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout + p.stderr


def bootstrap(server, orgs, rng):
    """District, bureau, fund and `orgs` verified organizations with their tokens (the bench's setup)."""
    ns = argparse.Namespace(port=server.port, admin_creds=server.admin_creds(), orgs=orgs)
    env = bdr.setup(ns, rng)
    return env


def clock(server, admin, **body):
    c = Client(server.port, admin)
    r = must(c.request("POST", "/api/v1/admin/clock", body), "set the sandbox clock", (200,))
    c.close()
    return r


def run_job(server, admin, name):
    c = Client(server.port, admin)
    r = must(c.request("POST", f"/api/v1/admin/jobs/{name}/run", {}), f"job {name}", (200,))
    c.close()
    return r


def verify_audit(server, admin):
    """The chain checked twice: by the server (GET /audit/verify) and by `gongyi verify-audit`."""
    c = Client(server.port, admin)
    r = c.request("GET", "/api/v1/audit/verify")
    c.close()
    api = jbody(r) if r["status"] == 200 else {"ok": False, "status": r["status"]}
    rc, out = server.cli("verify-audit")
    return {"api_ok": bool(api.get("ok")), "api_length": api.get("length"), "cli_rc": rc,
            "cli_tail": out.strip().splitlines()[-6:]}


def parallel(items, fn, workers, stop=None):
    """Runs fn(item) on `workers` threads; items not started once `stop` is set are returned unsent."""
    q = queue.Queue()
    for it in items:
        q.put(it)
    done, unsent = [], []
    lock = threading.Lock()

    def run():
        while True:
            try:
                it = q.get_nowait()
            except queue.Empty:
                return
            if stop is not None and stop.is_set():
                with lock:
                    unsent.append(it)
                continue
            res = fn(it)
            with lock:
                done.append(res)

    ts = [threading.Thread(target=run, daemon=True) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return done, unsent


# ---------------------------------------------------------------------------------------------
# kill -9: per phase, (prepare, load with a kill in the middle, retry, check)


def kill_when(server, acked, target, killed, t_kill):
    """Kills the server with SIGKILL once `target` requests are acknowledged."""
    while not killed.is_set():
        if acked[0] >= target:
            t_kill.append(time.time())
            server.kill9()
            killed.set()
            return
        if not server.alive():
            return
        time.sleep(0.002)


def kill_rounds(server, items, send, acked_by, args, label):
    """Sends every item; in each of the first `args.kills` rounds the server is killed -9 once
    `args.kill_at` of that round's requests are acknowledged, restarted, and the next round
    sends again, with the same key, every item without an acknowledgement yet (the unsent too).
    A last round without a kill sends every item once more, acknowledged or not, so replays are
    checked. Returns {item: [answer, ...]} and the rounds' figures."""
    answers = {it: [] for it in items}
    rounds = []
    lock = threading.Lock()
    for rnd in range(args.kills + 1):
        last = rnd == args.kills
        todo = list(items) if last else [it for it in items if not any(acked_by(r) for r in answers[it])]
        acked, killed, t_kill = [0], threading.Event(), []

        def one(it):
            r = send(it, rnd)
            with lock:
                answers[it].append(r)
                if acked_by(r):
                    acked[0] += 1
            return it

        killer = None
        if not last:
            target = max(1, int(len(todo) * args.kill_at))
            killer = threading.Thread(target=kill_when, args=(server, acked, target, killed, t_kill), daemon=True)
            killer.start()
        t0 = time.time()
        done, unsent = parallel(todo, one, args.clients, killed if not last else None)
        fig = {"round": rnd + 1, "sent": len(done), "acknowledged": acked[0], "unsent": len(unsent)}
        if killer is not None:
            killer.join(5)
            if not killed.is_set():
                raise Fatal(f"{label}: round {rnd + 1} ended before the kill; raise the load or lower --kill-at")
            killed.set()
            fig["killed_after_s"] = round(t_kill[0] - t0, 2)
            fig["no_answer"] = sum(1 for it in done if answers[it][-1]["status"] == 0)
            t_restart = time.time()
            server.start()
            fig["restart_s"] = round(time.time() - t_restart, 2)
        rounds.append(fig)
        log(f"{label} round {rnd + 1}: " + ", ".join(f"{k} {v}" for k, v in fig.items() if k != "round")
            + ("" if last else " (kill -9, restart)"))
    return answers, rounds


def req(port, token, method, path, body=None, headers=None):
    """One request on a fresh connection; a refused connection is an answer with status 0."""
    c = Client(port, token)
    try:
        return c.request(method, path, body, headers)
    except OSError as e:
        return {"status": 0, "headers": {}, "body": b"", "latency_s": 0.0, "transport_retries": 0,
                "error": f"{type(e).__name__}: {e}"}
    finally:
        c.close()


def bid_post(port, org, project_id, bid, tag):
    return req(port, org["token"], "POST", f"/api/v1/projects/{project_id}/bids", bid["body"],
               {"Idempotency-Key": bid["key"], "X-Request-Id": tag})


def phase_bids(server, env, args, rng, admin):
    """A bid rush of every (organization, project) pair under kill -9, each retried with its key."""
    orgs = env["orgs"]
    close = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    projects = bdr.make_projects(server.port, env["bureau"], env["district"], env["fund"], args.projects,
                                 close.timestamp(), "300000.00", "断电冲刺项目")
    pairs = [(o, p) for o in range(len(orgs)) for p in range(len(projects))]
    rng.shuffle(pairs)
    bids = {pr: {"key": str(uuid.uuid4()), "body": bdr.bid_body(rng, orgs[pr[0]]["name"], 30_000_000)} for pr in pairs}

    def send(pr, rnd):
        return bid_post(server.port, orgs[pr[0]], projects[pr[1]], bids[pr], f"kill-{rnd}-{pr[0]}-{pr[1]}")

    answers, rounds = kill_rounds(server, pairs, send, lambda r: r["status"] == 201, args, "bids")
    # Open the bids: the sandbox clock past the close, the close job, the openings.
    clock(server, admin, now=rfc3339(close + timedelta(minutes=1)), frozen=True)
    job = run_job(server, admin, "close_bidding")
    b = Client(server.port, env["bureau"])
    stored = {}  # (org id, project id) -> list of (bid id, sha256)
    for pid in projects:
        op = must(b.request("GET", f"/api/v1/projects/{pid}/opening"), "opening", (200,))
        for ob in op.get("bids", []):
            stored.setdefault((ob["organization_id"], pid), []).append((ob["bid_id"], ob["sha256"]))
    b.close()
    f = {"pairs": len(pairs), "requests": sum(len(v) for v in answers.values()), "kills": args.kills,
         "rounds": rounds, "acknowledged": 0, "lost": 0, "doubled": 0, "replay_mismatch": 0,
         "never_acknowledged": 0, "receipt_mismatch": 0, "5xx": 0, "other_answers": {},
         "close_processed": job.get("processed")}
    for pr in pairs:
        have = stored.get((orgs[pr[0]]["id"], projects[pr[1]]), [])
        f["doubled"] += max(0, len(have) - 1)
        receipts = set()
        for r in answers[pr]:
            if r["status"] == 201:
                j = jbody(r)
                receipts.add((j["id"], j["receipt"]["sha256"]))
                # The receipt is the client's own RFC 8785 hash of what it sent.
                want = bdr.expected_receipt(bids[pr]["body"], projects[pr[1]], orgs[pr[0]]["id"])
                f["receipt_mismatch"] += j["receipt"]["sha256"] != want
            elif r["status"] >= 500:
                f["5xx"] += 1
            elif r["status"] != 0:
                k = f"{r['status']} {bdr.problem_code(r)}"
                f["other_answers"][k] = f["other_answers"].get(k, 0) + 1
        if receipts:
            f["acknowledged"] += 1
        else:
            f["never_acknowledged"] += 1
        f["replay_mismatch"] += max(0, len(receipts) - 1)
        f["lost"] += sum(1 for rc in receipts if rc not in have)
    f["ok"] = (f["lost"] == 0 and f["doubled"] == 0 and f["replay_mismatch"] == 0 and f["never_acknowledged"] == 0
               and f["receipt_mismatch"] == 0
               and f["5xx"] == 0 and not f["other_answers"] and f["acknowledged"] == len(pairs))
    return f


def phase_publish(server, env, args, rng, admin):
    """Publishing drafts reserves their ceilings in the fund, under kill -9, every publish retried:
    each project open once, a repeat refused, the fund's reservation the ceilings of what is open."""
    c = Client(server.port, env["bureau"])
    before = must(c.request("GET", f"/api/v1/funds/{env['fund']}"), "fund", (200,))
    close = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    drafts = []
    for i in range(args.drafts):
        spec = bdr.project_spec(f"断电发布项目 {i + 1}", env["district"], env["fund"], close.timestamp(), "10000.00")
        drafts.append(must(c.request("POST", "/api/v1/projects", spec), "draft", (201,))["id"])
    c.close()

    def send(pid, rnd):
        return req(server.port, env["bureau"], "POST", f"/api/v1/projects/{pid}/publish", {},
                   {"X-Request-Id": f"publish-{rnd}-{pid}"})

    # A publish whose answer was lost may have committed: its retry is 409 invalid_state (done once).
    done = lambda r: r["status"] == 200 or (r["status"] == 409 and bdr.problem_code(r) == "invalid_state")  # noqa: E731
    answers, rounds = kill_rounds(server, drafts, send, done, args, "publish")
    c = Client(server.port, env["bureau"])
    after = must(c.request("GET", f"/api/v1/funds/{env['fund']}"), "fund", (200,))
    statuses = {pid: must(c.request("GET", f"/api/v1/projects/{pid}"), "project", (200,))["status"] for pid in drafts}
    c.close()
    f = {"drafts": len(drafts), "requests": sum(len(v) for v in answers.values()), "kills": args.kills,
         "rounds": rounds, "acknowledged": 0, "lost": 0, "doubled": 0, "5xx": 0, "answers": {}}
    for pid in drafts:
        oks = sum(1 for r in answers[pid] if r["status"] == 200)
        for r in answers[pid]:
            k = f"{r['status']} {bdr.problem_code(r) or ''}".strip()
            f["answers"][k] = f["answers"].get(k, 0) + 1
            f["5xx"] += r["status"] >= 500
        f["acknowledged"] += oks > 0
        f["doubled"] += max(0, oks - 1)  # published twice: a second publish must be refused
        f["lost"] += oks > 0 and statuses[pid] != "open"
    fen = lambda m: int(round(float(m) * 100))  # noqa: E731
    n_open = sum(1 for p in drafts if statuses[p] == "open")
    want = fen(before["reserved"]) + n_open * 1_000_000
    f["open"] = n_open
    f["fund_reserved"] = after["reserved"]
    f["fund_reserved_expected"] = f"{want // 100}.{want % 100:02d}"
    f["fund_consistent"] = fen(after["reserved"]) == want and fen(after["available"]) == (
        fen(after["total"]) - fen(after["reserved"]) - fen(after["committed"]))
    f["ok"] = (f["lost"] == 0 and f["doubled"] == 0 and f["5xx"] == 0 and n_open == len(drafts)
               and f["fund_consistent"])
    return f


def phase_release(server, env, args, rng, admin):
    """Releasing tranches under kill -9, every release retried with its own key: each tranche
    paid exactly once with its payment reference, one ledger row each, the ledger reconciled."""
    out = os.path.join(args.work, "seeded-release.json")
    rc, text = server.cli("seed-contracts", "--count", str(args.contracts), "--tranches", "1", "--out", out)
    if rc != 0:
        raise Fatal(f"seed-contracts exited {rc}: {text[-1500:]}")
    seeded = json.load(open(out, encoding="utf-8"))
    bureau = bdr.login(server.port, seeded["bureau_email"], seeded["bureau_password"])
    tranches = seeded["tranche_ids"]
    rng.shuffle(tranches)
    sends = {t: {"key": str(uuid.uuid4()), "ref": f"GK-{i:05d}-{rng.randrange(10**6):06d}"} for i, t in enumerate(tranches)}

    def send(t, rnd):
        return req(server.port, bureau, "POST", f"/api/v1/tranches/{t}/release", {"payment_reference": sends[t]["ref"]},
                   {"Idempotency-Key": sends[t]["key"], "X-Request-Id": f"release-{rnd}-{t}"})

    # A release whose answer was lost may have committed: its retry, with the same key, replays it.
    answers, rounds = kill_rounds(server, tranches, send, lambda r: r["status"] == 200, args, "release")
    c = Client(server.port, bureau)
    fund_id = seeded["fund_id"]
    fund = must(c.request("GET", f"/api/v1/funds/{fund_id}"), "fund", (200,))
    recon = must(c.request("GET", f"/api/v1/funds/{fund_id}/reconcile"), "reconcile", (200,))
    rows = [e for e in paged(c, f"/api/v1/funds/{fund_id}/ledger") if e.get("kind") == "release"]
    f = {"tranches": len(tranches), "requests": sum(len(v) for v in answers.values()), "kills": args.kills,
         "rounds": rounds, "acknowledged": 0, "lost": 0, "doubled": 0, "replay_mismatch": 0, "never_acknowledged": 0,
         "reference_mismatch": 0, "replayed_after_kill": 0, "5xx": 0, "other_answers": {}}
    per_tranche = {}
    for e in rows:
        per_tranche[e.get("tranche_id")] = per_tranche.get(e.get("tranche_id"), 0) + 1
    stored = {}  # tranche id -> its row as the contract's tranche list shows it now
    for t in tranches:
        oks = [jbody(r) for r in answers[t] if r["status"] == 200]
        for r in answers[t]:
            if r["status"] >= 500:
                f["5xx"] += 1
            elif r["status"] not in (0, 200):
                k = f"{r['status']} {bdr.problem_code(r)}"
                f["other_answers"][k] = f["other_answers"].get(k, 0) + 1
        if not oks:
            f["never_acknowledged"] += 1
            continue
        f["acknowledged"] += 1
        # Committed while its answer was lost to the kill: the retry with its key replayed it.
        first = next(r for r in answers[t] if r["status"] == 200)
        f["replayed_after_kill"] += first["headers"].get("idempotent-replayed") == "true"
        f["replay_mismatch"] += sum(1 for b in oks[1:] if b != oks[0])
        cid = oks[0]["contract_id"]
        if t not in stored:
            items = must(c.request("GET", f"/api/v1/contracts/{cid}/tranches"), "tranches", (200,))["items"]
            stored.update({x["id"]: x for x in items})
        now = stored.get(t, {})
        if now.get("status") != "released":
            f["lost"] += 1
        elif now.get("payment_reference") != sends[t]["ref"] or oks[0].get("payment_reference") != sends[t]["ref"]:
            f["reference_mismatch"] += 1
    c.close()
    f["doubled"] = sum(n - 1 for n in per_tranche.values() if n > 1)
    f["release_rows"] = len(rows)
    f["rows_for_other_tranches"] = sum(n for t, n in per_tranche.items() if t not in sends)
    fen = lambda m: int(round(float(m) * 100))  # noqa: E731
    f["fund_released"] = fund["released"]
    f["fund_released_expected"] = f"{len(tranches) * fen(seeded['amount_each']) / 100:.2f}"
    f["reconcile_ok"] = bool(recon.get("ok"))
    rc, text = server.cli("verify-ledger")
    f["verify_ledger_rc"] = rc
    if rc != 0:
        f["verify_ledger_tail"] = text.strip().splitlines()[-8:]
    f["ok"] = (f["lost"] == 0 and f["doubled"] == 0 and f["replay_mismatch"] == 0 and f["never_acknowledged"] == 0
               and f["reference_mismatch"] == 0 and f["5xx"] == 0 and not f["other_answers"]
               and f["acknowledged"] == len(tranches) and len(rows) == len(tranches)
               and f["rows_for_other_tranches"] == 0
               and fen(fund["released"]) == len(tranches) * fen(seeded["amount_each"])
               and f["reconcile_ok"] and rc == 0)
    return f


KILL_PHASES = {"bids": phase_bids, "publish": phase_publish, "release": phase_release}


def cmd_kill(args):
    import random
    rng = random.Random(args.seed)
    server = Server(args.binary, args.work, args.db_url)
    server.start()
    env = bootstrap(server, args.orgs, rng)
    admin = bdr.login(server.port, *creds(server))
    results = {}
    for name in args.phases.split(","):
        t0 = time.time()
        log(f"phase {name}")
        results[name] = KILL_PHASES[name](server, env, args, rng, admin)
        results[name]["seconds"] = round(time.time() - t0, 1)
        print(f"  {name}: " + json.dumps(results[name], ensure_ascii=False), flush=True)
    audit = verify_audit(server, admin)
    server.stop()
    audit_ok = audit["api_ok"] and audit["cli_rc"] == 0
    print(f"  audit chain: GET /audit/verify ok={audit['api_ok']} length={audit['api_length']}; "
          f"gongyi verify-audit exit {audit['cli_rc']}", flush=True)
    ok = audit_ok and all(r["ok"] for r in results.values())
    summary = {"phases": results, "audit": audit, "ok": ok}
    with open(os.path.join(args.work, "fault-kill.json"), "w") as fh:
        json.dump(summary, fh, indent=1, ensure_ascii=False)
    print("fault-kill: " + ("PASS" if ok else "FAIL") + " — " + "; ".join(
        f"{n}: lost {r['lost']}, doubled {r['doubled']}" for n, r in results.items()), flush=True)
    return 0 if ok else 1


def creds(server):
    d = dict(line.split(": ", 1) for line in open(server.admin_creds(), encoding="utf-8").read().splitlines()
             if ": " in line)
    return d["email"], d["password"]


# ---------------------------------------------------------------------------------------------
# SIGTERM with slow requests in flight


class SlowRequest:
    """A POST whose body trickles in: the headers and the first half now, the rest later."""

    def __init__(self, port, method, path, body, headers):
        self.port, self.method, self.path = port, method, path
        self.body = json.dumps(body).encode()
        self.headers = headers
        self.sock = None
        self.result = None

    def begin(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        head = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(self.body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        half = len(self.body) // 2
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + self.body[:half])

    def finish(self, trickle_s):
        try:
            rest = self.body[len(self.body) // 2:]
            step = max(1, len(rest) // 10)
            for i in range(0, len(rest), step):
                time.sleep(trickle_s / 10)
                self.sock.sendall(rest[i:i + step])
            import http.client
            resp = http.client.HTTPResponse(self.sock)
            resp.begin()
            raw = resp.read()
            self.result = {"status": resp.status, "body": raw}
        except OSError as e:
            self.result = {"status": 0, "body": b"", "error": f"{type(e).__name__}: {e}"}
        finally:
            self.sock.close()
        return self.result


def cmd_term(args):
    import random
    rng = random.Random(args.seed)
    # As `serve` runs in production: the scheduler on (every job every few seconds, so one may be
    # running when SIGTERM comes).
    server = Server(args.binary, args.work, f"sqlite://{args.work}/gongyi.db", extra_env={
        "GONGYI__JOBS__SCHEDULER": "true", "GONGYI__JOBS__SEND_MAIL_CRON": "*/1 * * * * *",
        "GONGYI__JOBS__CLOSE_BIDDING_CRON": "*/2 * * * * *", "GONGYI__JOBS__FINALIZE_AWARDS_CRON": "*/2 * * * * *",
        "GONGYI__JOBS__EXPIRE_INVITATIONS_CRON": "*/2 * * * * *"})
    server.start()
    env = bootstrap(server, args.orgs, rng)
    close = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    projects = bdr.make_projects(server.port, env["bureau"], env["district"], env["fund"], args.projects,
                                 close.timestamp(), "300000.00", "停机项目")
    pairs = [(o, p) for o in range(len(env["orgs"])) for p in range(len(projects))][: args.requests]
    if len(pairs) < args.requests:
        raise Fatal(f"only {len(pairs)} (organization, project) pairs; raise --orgs or --projects")
    slow = []
    for (o, p) in pairs:
        org = env["orgs"][o]
        body = bdr.bid_body(rng, org["name"], 30_000_000)
        slow.append(((o, p), SlowRequest(server.port, "POST", f"/api/v1/projects/{projects[p]}/bids", body,
                                          {"Authorization": "Bearer " + org["token"], "Idempotency-Key": str(uuid.uuid4())})))
    for _, s in slow:
        s.begin()
    time.sleep(0.3)
    t_term = time.time()
    server.term()
    log(f"SIGTERM sent with {len(slow)} requests in flight (headers and half a body each; the rest trickles "
        f"over {args.trickle:.1f} s)")
    time.sleep(0.3)
    # A newcomer after SIGTERM: the listener should be closed (refused), not half-served.
    pr = req(server.port, None, "GET", "/healthz")
    threads = [threading.Thread(target=s.finish, args=(args.trickle,)) for _, s in slow]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    t_done = max(time.time(), t_term)
    rc = server.wait(60)
    t_exit = time.time()
    answers = {}
    for _, s in slow:
        k = str(s.result["status"]) if s.result else "none"
        answers[k] = answers.get(k, 0) + 1
    # Every 201 must be a stored bid: read each one back after a restart, as its organization.
    server.start()
    stored = 0
    for (o, p), s in slow:
        if s.result and s.result["status"] == 201:
            bid = json.loads(s.result["body"])
            c = Client(server.port, env["orgs"][o]["token"])
            r = c.request("GET", f"/api/v1/bids/{bid['id']}")
            c.close()
            stored += r["status"] == 200 and jbody(r).get("receipt", {}).get("sha256") == bid["receipt"]["sha256"]
    server.stop()
    completed = answers.get("201", 0)
    f = {"in_flight": len(slow), "completed_201": completed, "answers": answers, "stored_after_restart": stored,
         "newcomer_after_sigterm": pr["status"] or pr["error"], "exit_code": rc,
         "exit_after_sigterm_s": round(t_exit - t_term, 2), "last_answer_after_sigterm_s": round(t_done - t_term, 2)}
    ok = completed == len(slow) and stored == completed and rc == 0
    print("  " + json.dumps(f, ensure_ascii=False))
    print(f"fault-term: {'PASS' if ok else 'FAIL'} — {completed}/{len(slow)} in-flight requests completed, "
          f"{stored} stored, exit code {rc} {f['exit_after_sigterm_s']} s after SIGTERM", flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# The database away mid-load


def cmd_db(args):
    import random
    rng = random.Random(args.seed)
    server = Server(args.binary, args.work, args.db_url)
    server.start()
    pid0 = server.pid
    env = bootstrap(server, args.orgs, rng)
    admin = bdr.login(server.port, *creds(server))
    close = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    projects = bdr.make_projects(server.port, env["bureau"], env["district"], env["fund"], args.projects,
                                 close.timestamp(), "300000.00", "断库项目")
    orgs = env["orgs"]
    pairs = [(o, p) for o in range(len(orgs)) for p in range(len(projects))]
    rng.shuffle(pairs)
    bids = {pr: {"key": str(uuid.uuid4()), "body": bdr.bid_body(rng, orgs[pr[0]]["name"], 30_000_000)} for pr in pairs}
    records = []  # (kind, sent, answered, status, retry_after)
    lock = threading.Lock()
    stop = threading.Event()
    acked = {}
    todo = queue.Queue()
    for pr in pairs:
        todo.put(pr)

    def note(kind, t0, r):
        with lock:
            records.append((kind, t0, time.time(), r["status"], r["headers"].get("retry-after")))

    def reader():
        c = Client(server.port, env["bureau"])
        while not stop.is_set():
            t0 = time.time()
            r = c.request("GET", "/api/v1/projects?limit=20")
            note("read", t0, r)
            time.sleep(0.05 if r["status"] == 200 else 0.2)
        c.close()

    def writer():
        while not stop.is_set():
            try:
                pr = todo.get_nowait()
            except queue.Empty:
                time.sleep(0.1)
                continue
            while not stop.is_set():
                t0 = time.time()
                r = bid_post(server.port, orgs[pr[0]], projects[pr[1]], bids[pr], f"db-{pr[0]}-{pr[1]}")
                note("write", t0, r)
                if r["status"] == 201:
                    with lock:
                        acked[pr] = jbody(r)
                    break
                if r["status"] not in (503, 0):
                    with lock:
                        acked[pr] = None
                    break
                time.sleep(0.2)
            time.sleep(0.3)  # a steady trickle, so some are left for after the outage

    ts = [threading.Thread(target=reader, daemon=True) for _ in range(args.readers)]
    ts += [threading.Thread(target=writer, daemon=True) for _ in range(args.writers)]
    for t in ts:
        t.start()
    time.sleep(args.before)
    t_stop = time.time()
    subprocess.run(args.stop_cmd, shell=True, check=True)
    t_stopped = time.time()
    log(f"PostgreSQL stopped ({t_stopped - t_stop:.1f} s to stop); away for {args.outage:.0f} s")
    time.sleep(max(0.0, args.outage - (time.time() - t_stop)))
    t_start = time.time()
    subprocess.run(args.start_cmd, shell=True, check=True)
    t_back = time.time()
    log(f"PostgreSQL started again ({t_back - t_start:.1f} s to start)")
    time.sleep(args.after)
    stop.set()
    for t in ts:
        t.join(30)
    # The rest of the bids, then the opening: every acknowledged bid stored once.
    while not todo.empty():
        pr = todo.get()
        r = bid_post(server.port, orgs[pr[0]], projects[pr[1]], bids[pr], "db-rest")
        acked[pr] = jbody(r) if r["status"] == 201 else None
    clock(server, admin, now=rfc3339(close + timedelta(minutes=1)), frozen=True)
    run_job(server, admin, "close_bidding")
    b = Client(server.port, env["bureau"])
    stored = {}
    for pid in projects:
        op = must(b.request("GET", f"/api/v1/projects/{pid}/opening"), "opening", (200,))
        for ob in op.get("bids", []):
            stored.setdefault((ob["organization_id"], pid), []).append((ob["bid_id"], ob["sha256"]))
    b.close()
    lost = sum(1 for pr, a in acked.items() if a is not None and
               (a["id"], a["receipt"]["sha256"]) not in stored.get((orgs[pr[0]]["id"], projects[pr[1]]), []))
    doubled = sum(len(v) - 1 for v in stored.values() if len(v) > 1)
    same_process = server.alive() and server.pid == pid0
    server.stop()

    during = [r for r in records if r[2] >= t_stop and r[1] < t_start]
    first_503 = min((r[2] for r in during if r[3] == 503), default=None)
    fivexx = [r for r in records if r[3] >= 500]
    other_5xx = sum(1 for r in fivexx if r[3] != 503)
    no_retry_after = sum(1 for r in fivexx if r[3] == 503 and not r[4])
    hung = max((r[2] - max(r[1], t_stop) for r in during), default=0.0)
    hung_by = {k: round(max((r[2] - max(r[1], t_stop) for r in during if r[0] == k), default=0.0), 2)
               for k in ("read", "write")}
    after = [r for r in records if r[1] >= t_back]
    first_ok = {k: min((r[2] for r in after if r[0] == k and 200 <= r[3] < 300), default=None) for k in ("read", "write")}
    no_answer = sum(1 for r in records if r[3] == 0)
    f = {"requests": len(records), "reads": sum(r[0] == "read" for r in records),
         "writes": sum(r[0] == "write" for r in records), "acknowledged_bids": sum(a is not None for a in acked.values()),
         "answers_during_outage": {str(s): sum(1 for r in during if r[3] == s) for s in sorted({r[3] for r in during})},
         "first_503_after_stop_s": round(first_503 - t_stop, 2) if first_503 else None,
         "slowest_answer_during_outage_s": round(hung, 2), "slowest_by_kind_s": hung_by,
         "503_after_stop_s_by_kind": {k: round(min((r[2] - t_stop for r in during if r[0] == k and r[3] == 503),
                                                    default=-1), 2) for k in ("read", "write")},
         "503_without_retry_after": no_retry_after,
         "other_5xx": other_5xx, "no_answer": no_answer,
         "first_2xx_read_after_return_s": round(first_ok["read"] - t_back, 2) if first_ok["read"] else None,
         "first_2xx_write_after_return_s": round(first_ok["write"] - t_back, 2) if first_ok["write"] else None,
         "lost": lost, "doubled": doubled, "same_server_process": same_process}
    ok = (first_503 is not None and first_503 - t_stop <= 5.0 and hung <= 5.0 and no_retry_after == 0
          and other_5xx == 0 and no_answer == 0 and all(v is not None and v - t_back <= 10.0 for v in first_ok.values())
          and lost == 0 and doubled == 0 and same_process)
    print("  " + json.dumps(f, ensure_ascii=False))
    print(f"fault-db: {'PASS' if ok else 'FAIL'} — first 503 {f['first_503_after_stop_s']} s after the stop, "
          f"2xx {f['first_2xx_read_after_return_s']} s (read) / {f['first_2xx_write_after_return_s']} s (write) after "
          f"the return, other 5xx {other_5xx}, lost {lost}, doubled {doubled}, no restart: {same_process}", flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# SMTP: a sink that counts Message-IDs, down (refusing, or hanging) for a while


async def smtp_session(reader, writer, out, lock, hang_until):
    if time.time() < hang_until:  # accepts the connection and never greets, like a wedged server
        try:
            await asyncio.sleep(hang_until - time.time() + 30)
        finally:
            writer.close()
        return
    writer.write(b"220 fault-sink ESMTP\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line[:4].upper()
        if cmd == b"EHLO":
            writer.write(b"250-fault-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif cmd == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            msg = []
            while True:
                dl = await reader.readline()
                if not dl or dl == b".\r\n":
                    break
                msg.append(dl)
            mid = None
            for h in msg:
                if h.lower().startswith(b"message-id:"):
                    mid = h.split(b":", 1)[1].strip().decode()
                    break
            async with lock:
                out.write(json.dumps({"at": time.time(), "message_id": mid}) + "\n")
                out.flush()
            writer.write(b"250 OK queued\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:  # HELO, MAIL, RCPT, RSET, NOOP
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


def cmd_smtp_sink(args):
    async def main():
        out = open(args.out, "a")
        lock = asyncio.Lock()
        hang_until = time.time() + args.hang_for
        srv = await asyncio.start_server(lambda r, w: smtp_session(r, w, out, lock, hang_until), "127.0.0.1", args.port)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


class Sink:
    def __init__(self, work, port, name="smtp-sink"):
        self.port, self.out = port, os.path.join(work, f"{name}.jsonl")
        self.log = os.path.join(work, f"{name}.log")
        self.proc = None

    def start(self, hang_for=0.0):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--binary", "-", "--work", "-",
                                      "smtp-sink", "--port", str(self.port), "--out", self.out,
                                      "--hang-for", str(hang_for)],
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise Fatal("the SMTP sink did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def received(self):
        if not os.path.exists(self.out):
            return []
        return [json.loads(line) for line in open(self.out) if line.strip()]


def outbox_counts(db_path):
    import sqlite3
    conn = sqlite3.connect(db_path, timeout=10)
    rows = conn.execute("SELECT id, status, attempts FROM outbox").fetchall()
    conn.close()
    return rows


def cmd_smtp(args):
    import random
    rng = random.Random(args.seed)
    sink = Sink(args.work, free_port())
    db_path = os.path.join(args.work, "gongyi.db")
    server = Server(args.binary, args.work, f"sqlite://{db_path}", extra_env={
        "GONGYI__MAIL__SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "GONGYI__JOBS__SCHEDULER": "true",
        "GONGYI__JOBS__SEND_MAIL_CRON": args.cron,
    })
    t_down = time.time()
    if args.mode == "hang":
        sink.start(hang_for=args.down)  # up, but wedged for the outage
    server.start()
    try:
        env = bootstrap(server, args.orgs, rng)
        close = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
        projects = bdr.make_projects(server.port, env["bureau"], env["district"], env["fund"], args.projects,
                                     close.timestamp(), "300000.00", "邮件项目")
        orgs = env["orgs"]
        pairs = [(o, p) for o in range(len(orgs)) for p in range(len(projects))]
        bids = {pr: {"key": str(uuid.uuid4()), "body": bdr.bid_body(rng, orgs[pr[0]]["name"], 30_000_000)} for pr in pairs}
        res = {}

        def send(pr):
            res[pr] = bid_post(server.port, orgs[pr[0]], projects[pr[1]], bids[pr], "mail")["status"]
        t_burst = time.time()
        parallel(pairs, send, 16)
        placed = sum(1 for s in res.values() if s == 201)
        log(f"mail burst: {placed} bids placed in {time.time() - t_burst:.1f} s, one receipt mail each, "
            f"SMTP {args.mode} since {time.time() - t_down:.0f} s ago")
        wait = args.down - (time.time() - t_down)
        if wait > 0:
            log(f"SMTP stays {'down' if args.mode == 'refuse' else 'wedged'} for {wait:.0f} s more")
            time.sleep(wait)
        t_back = time.time()
        if args.mode == "refuse":
            sink.start()
        log("SMTP is back; waiting for the outbox to drain")
        deadline = t_back + args.drain_max
        while time.time() < deadline:
            rows = outbox_counts(db_path)
            if rows and all(r[1] != "pending" for r in rows):
                break
            time.sleep(2)
        time.sleep(args.settle)  # any late duplicate would arrive now
        rows = outbox_counts(db_path)
        got = sink.received()
    finally:
        server.stop()
        sink.stop()
    by_id = {}
    for g in got:
        by_id[g["message_id"]] = by_id.get(g["message_id"], 0) + 1
    ids = {f"<{r[0]}@gongyi>" for r in rows}
    status = {}
    for r in rows:
        status[r[1]] = status.get(r[1], 0) + 1
    after_back = [g["at"] for g in got]
    f = {"outbox_rows": len(rows), "receipts_placed": placed, "outbox_status": status,
         "failed_attempts_before_return": sum(max(0, r[2] - 1) for r in rows if r[1] == "sent"),
         "received": len(got), "distinct_delivered": len(set(by_id) & ids),
         "duplicates": sum(n - 1 for n in by_id.values() if n > 1), "missing": len(ids - set(by_id)),
         "unknown": len(set(by_id) - ids), "smtp_down_s": round(t_back - t_down, 1),
         "last_delivery_after_return_s": round(max(after_back) - t_back, 1) if after_back else None,
         "first_delivery_after_return_s": round(min(after_back) - t_back, 1) if after_back else None}
    ok = (placed >= args.min_mails and f["missing"] == 0 and f["duplicates"] == 0 and f["unknown"] == 0
          and status.get("sent", 0) == len(rows))
    print("  " + json.dumps(f, ensure_ascii=False))
    print(f"fault-smtp ({args.mode}): {'PASS' if ok else 'FAIL'} — {len(rows)} mails, {f['distinct_delivered']} "
          f"delivered, {f['duplicates']} duplicated, {f['missing']} missing; SMTP down {f['smtp_down_s']} s, last "
          f"delivery {f['last_delivery_after_return_s']} s after its return", flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# Two servers with the scheduler on over one PostgreSQL


def psql(db_url, sql):
    p = subprocess.run(["psql", db_url, "-AtqX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Fatal(f"psql: {p.stderr.strip()}")
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def paged(client, path):
    items, cursor = [], None
    for _ in range(100):
        sep = "&" if "?" in path else "?"
        r = must(client.request("GET", f"{path}{sep}limit=100" + (f"&cursor={cursor}" if cursor else "")), path, (200,))
        items += r["items"]
        cursor = r.get("next_cursor")
        if not cursor:
            return items
    return items


def job_reports(log_path):
    """processed per job name from the scheduler's "job ran" lines of one server log."""
    import re
    out = {}
    for line in open(log_path, encoding="utf-8", errors="replace"):
        if "job ran" not in line:
            continue
        m, n = re.search(r'job="?(\w+)', line), re.search(r"processed=(\d+)", line)
        if m and n:
            out[m.group(1)] = out.get(m.group(1), 0) + int(n.group(1))
    return out


def cmd_schedulers(args):
    import random
    rng = random.Random(args.seed)
    sink = Sink(args.work, free_port())
    sink.start()
    crons = {"GONGYI__JOBS__SCHEDULER": "true", "GONGYI__MAIL__SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
             "GONGYI__JOBS__SEND_MAIL_CRON": "*/2 * * * * *", "GONGYI__JOBS__CLOSE_BIDDING_CRON": "*/5 * * * * *",
             "GONGYI__JOBS__FINALIZE_AWARDS_CRON": "*/5 * * * * *",
             "GONGYI__JOBS__EXPIRE_INVITATIONS_CRON": "*/5 * * * * *"}
    # Two replicas: one database, one data folder (the same signing and sealing keys).
    a = Server(args.binary, args.work, args.db_url, name="server-a", extra_env=crons)
    b = Server(args.binary, args.work, args.db_url, name="server-b", extra_env=crons)
    a.start()
    b.start()
    t_begin = time.time()
    try:
        env = bootstrap(a, args.orgs, rng)
        admin = bdr.login(a.port, *creds(a))
        ac = Client(a.port, admin)
        pw = "fault-expert-" + uuid.uuid4().hex[:8]
        experts = []
        for i in range(args.experts):
            email = f"expert{i}-{uuid.uuid4().hex[:4]}@fault.local"
            must(ac.request("POST", "/api/v1/experts", {"email": email, "name": f"专家{i}", "password": pw,
                                                         "title": "副教授", "specialties": ["elderly"]}), "expert", (201,))
            experts.append(email)
        ac.close()
        close_ts = float(int(time.time()) + args.close_in)
        projects = bdr.make_projects(a.port, env["bureau"], env["district"], env["fund"], args.projects, close_ts,
                                     "300000.00", "双调度项目")
        orgs = env["orgs"]
        pairs = [(o, p) for o in range(len(orgs)) for p in range(len(projects))]
        bid_ids = {}

        def send(pr):
            srv = a if (pr[0] + pr[1]) % 2 == 0 else b
            bid = {"key": str(uuid.uuid4()), "body": bdr.bid_body(rng, orgs[pr[0]]["name"], 30_000_000)}
            r = bid_post(srv.port, orgs[pr[0]], projects[pr[1]], bid, "sched")
            if r["status"] == 201:
                bid_ids[pr] = jbody(r)["id"]
        parallel(pairs, send, 8)
        if time.time() > close_ts:
            raise Fatal("the bids took longer than --close-in; raise it")
        log(f"{len(bid_ids)} bids on {len(projects)} projects closing at {rfc3339(datetime.fromtimestamp(close_ts, timezone.utc))}; "
            f"both schedulers close them")
        bc = Client(a.port, env["bureau"])
        deadline = close_ts + 60
        while time.time() < deadline:
            st = [must(bc.request("GET", f"/api/v1/projects/{pid}"), "project", (200,))["status"] for pid in projects]
            if all(x != "open" for x in st):
                break
            time.sleep(1)
        log(f"closed by the schedulers {time.time() - close_ts:.1f} s after the deadline: {sorted(set(st))}")
        # Evaluation and award of some, by hand (experts and the bureau), so finalize has work.
        tokens = [bdr.login(a.port, e, pw) for e in experts]
        to_award = projects[: args.awards]
        for t in tokens:
            ec = Client(a.port, t)
            for seat in paged(ec, "/api/v1/me/assignments"):
                if seat["project_id"] in to_award and seat["status"] == "invited":
                    must(ec.request("POST", f"/api/v1/assignments/{seat['id']}/accept", {"declaration": "no_conflict"}),
                         "accept", (200,))
            for pi, pid in enumerate(to_award):
                for o in range(len(orgs)):
                    bid = bid_ids.get((o, pi))
                    if bid:
                        r = ec.request("PUT", f"/api/v1/bids/{bid}/score",
                                       {"points": {"plan": rng.randint(40, 80)}, "comment": "可行"})
                        if r["status"] not in (200, 201):
                            raise Fatal(f"score: {r['status']} {r['body'][:300]!r}")
            ec.close()
        deadlines = []
        for pid in to_award:
            ev = must(bc.request("GET", f"/api/v1/projects/{pid}/evaluation"), "evaluation", (200,))
            aw = must(bc.request("POST", f"/api/v1/projects/{pid}/award", {"bid_id": ev["ranking"][0]["bid_id"]}),
                      "award", (200, 201))
            deadlines.append(datetime.fromisoformat(aw["objection_deadline"].replace("Z", "+00:00")))
        bc.close()
        # Both sandbox clocks past the objection windows, running on from there — once no mail is
        # in flight: a clock jump makes every claim taken before it look lapsed to the other
        # process, which is a sandbox artefact, not two schedulers.
        for _ in range(60):
            if int(psql(args.db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]) == 0:
                break
            time.sleep(1)
        time.sleep(2.5)
        target = max(deadlines) + timedelta(seconds=1)
        for srv in (a, b):
            clock(srv, admin, now=target.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), frozen=False)
        log(f"{len(to_award)} awards; both clocks moved past their objection windows; waiting for finalize and mail")
        pending = None
        end = time.time() + args.drain_max
        while time.time() < end:
            fin = psql(args.db_url, "SELECT count(*) FROM awards WHERE status = 'final'")[0][0]
            pending = int(psql(args.db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0])
            if int(fin) == len(to_award) and pending == 0 and time.time() - t_begin >= args.min_run:
                break
            time.sleep(2)
        time.sleep(args.settle)
        alive = a.alive() and b.alive()
        audit = verify_audit(a, admin)
    finally:
        a.stop()
        b.stop()
        sink.stop()
    run_s = time.time() - t_begin
    twice = psql(args.db_url, "SELECT action, count(*) FROM (SELECT action, entity_id FROM audit_events "
                              "WHERE action IN ('project.bidding_closed', 'award.finalized', 'panel.drawn') "
                              "GROUP BY action, entity_id "
                              "HAVING count(*) > 1) d GROUP BY action")
    per_action = dict(tuple(r) for r in psql(args.db_url,
                      "SELECT action, count(*) FROM audit_events WHERE action IN ('project.bidding_closed', "
                      "'award.finalized') OR action LIKE '%expire%' OR action LIKE '%draw%' GROUP BY action"))
    finals = int(psql(args.db_url, "SELECT count(*) FROM awards WHERE status = 'final'")[0][0])
    draws = int(psql(args.db_url, "SELECT count(*) FROM panel_draws")[0][0])
    expired_seats = int(psql(args.db_url, "SELECT count(*) FROM panel_seats WHERE status = 'expired'")[0][0])
    outbox = dict(tuple(r) for r in psql(args.db_url, "SELECT status, count(*) FROM outbox GROUP BY status"))
    ids = {f"<{r[0]}@gongyi>" for r in psql(args.db_url, "SELECT id FROM outbox")}
    got = sink.received()
    by_id = {}
    for g in got:
        by_id[g["message_id"]] = by_id.get(g["message_id"], 0) + 1
    ra, rb = job_reports(a.log_path), job_reports(b.log_path)
    closed = int(per_action.get("project.bidding_closed", 0))
    f = {"run_s": round(run_s, 1), "projects": len(projects), "bids": len(bid_ids), "awards": len(to_award),
         "closed_events": closed, "panel_draws": draws, "final_awards": finals,
         "finalized_events": int(per_action.get("award.finalized", 0)), "expired_seats": expired_seats,
         "seat_expired_events": int(per_action.get("panel.seat_expired", 0)), "events_twice": dict(tuple(r) for r in twice),
         "outbox": outbox, "mails_received": len(got), "mail_duplicates": sum(n - 1 for n in by_id.values() if n > 1),
         "mail_missing": len(ids - set(by_id)), "jobs_processed_by_a": ra, "jobs_processed_by_b": rb,
         "both_alive": alive, "audit_ok": audit["api_ok"] and audit["cli_rc"] == 0, "audit_length": audit["api_length"],
         "audit_actions": per_action}
    ok = (closed == len(projects) and draws == len(projects) and finals == len(to_award)
          and f["finalized_events"] == len(to_award) and not twice
          and f["seat_expired_events"] == expired_seats and f["mail_duplicates"] == 0
          and f["mail_missing"] == 0 and outbox.get("pending") is None and alive and f["audit_ok"])
    print("  " + json.dumps(f, ensure_ascii=False))
    print(f"fault-schedulers: {'PASS' if ok else 'FAIL'} — {closed} closes for {len(projects)} projects, {draws} draws, "
          f"{f['finalized_events']} finalizations for {len(to_award)} awards, {len(got)} mails for {len(ids)} outbox rows "
          f"({f['mail_duplicates']} duplicated, {f['mail_missing']} missing), work split A {ra} / B {rb}", flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kill")
    k.add_argument("--db-url", required=True)
    k.add_argument("--phases", default=",".join(KILL_PHASES))
    k.add_argument("--orgs", type=int, default=60)
    k.add_argument("--projects", type=int, default=5)
    k.add_argument("--drafts", type=int, default=100)
    k.add_argument("--contracts", type=int, default=1000, help="release phase: contracts of one tranche to seed")
    k.add_argument("--clients", type=int, default=16)
    k.add_argument("--kills", type=int, default=3, help="kill -9 rounds per phase")
    k.add_argument("--kill-at", type=float, default=0.4, help="kill once this share of a round is acknowledged")
    t = sub.add_parser("term")
    t.add_argument("--orgs", type=int, default=10)
    t.add_argument("--projects", type=int, default=5)
    t.add_argument("--requests", type=int, default=50)
    t.add_argument("--trickle", type=float, default=3.0, help="seconds over which the rest of each body is sent")
    d = sub.add_parser("db")
    d.add_argument("--db-url", required=True)
    d.add_argument("--stop-cmd", required=True)
    d.add_argument("--start-cmd", required=True)
    d.add_argument("--orgs", type=int, default=20)
    d.add_argument("--projects", type=int, default=10)
    d.add_argument("--readers", type=int, default=4)
    d.add_argument("--writers", type=int, default=4)
    d.add_argument("--before", type=float, default=8.0)
    d.add_argument("--outage", type=float, default=20.0)
    d.add_argument("--after", type=float, default=15.0)
    m = sub.add_parser("smtp")
    m.add_argument("--mode", choices=["refuse", "hang"], default="refuse")
    m.add_argument("--down", type=float, default=120.0, help="seconds from the start the SMTP server is down")
    m.add_argument("--orgs", type=int, default=25)
    m.add_argument("--projects", type=int, default=20)
    m.add_argument("--min-mails", type=int, default=500)
    m.add_argument("--cron", default="*/5 * * * * *")
    m.add_argument("--drain-max", type=float, default=900.0)
    m.add_argument("--settle", type=float, default=20.0)
    sc = sub.add_parser("schedulers")
    sc.add_argument("--db-url", required=True)
    sc.add_argument("--orgs", type=int, default=6)
    sc.add_argument("--experts", type=int, default=3)
    sc.add_argument("--projects", type=int, default=24)
    sc.add_argument("--awards", type=int, default=12)
    sc.add_argument("--close-in", type=int, default=40)
    sc.add_argument("--min-run", type=float, default=60.0)
    sc.add_argument("--drain-max", type=float, default=180.0)
    sc.add_argument("--settle", type=float, default=10.0)
    ss = sub.add_parser("smtp-sink")
    ss.add_argument("--port", type=int, required=True)
    ss.add_argument("--out", required=True)
    ss.add_argument("--hang-for", type=float, default=0.0)
    args = ap.parse_args()
    if args.cmd == "smtp-sink":
        return cmd_smtp_sink(args)
    os.makedirs(args.work, exist_ok=True)
    try:
        return {"kill": cmd_kill, "term": cmd_term, "db": cmd_db, "smtp": cmd_smtp, "schedulers": cmd_schedulers}[args.cmd](args)
    except Fatal as e:
        print(f"fault_drill: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
