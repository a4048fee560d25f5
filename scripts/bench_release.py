#!/usr/bin/env python3
"""Load client of scripts/bench-release (standard library only).

  run   start the server (fault_drill.Server), seed contracts with `gongyi seed-contracts` while
        it runs, sign in as their bureau, release distinct tranches from many clients at once
        (each request its own Idempotency-Key), check the ledger (the fund's `released`, GET
        /funds/{id}/reconcile, `gongyi verify-ledger`), then measure the durable single-row
        insert rate of the same database as bench-deadline-rush does, and print the report

The HTTP client, CPU meter, wait sampler, percentiles and the SQLite insert probe are
bench_deadline_rush's; the server process is fault_drill's. Only 127.0.0.1 is contacted. Every
loop is bounded by a count or a deadline.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_deadline_rush as bdr  # noqa: E402  (Client, CpuMeter, WaitSampler, pct, probes)
import fault_drill as fd  # noqa: E402  (Server)

HOST = bdr.HOST
log = bdr.log
pct = bdr.pct


def gongyi(server, *args, timeout=900):
    """`gongyi <args>` on the server's database and config: (exit code, stdout, stderr)."""
    p = subprocess.run([server.binary, *args], env=server.env(), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def seed(server, count, tranches, out):
    t0 = time.time()
    rc, _, err = gongyi(server, "seed-contracts", "--count", str(count), "--tranches", str(tranches), "--out", out)
    if rc != 0:
        raise bdr.Fatal(f"seed-contracts exited {rc}: {err[-2000:]}")
    seeded = json.load(open(out, encoding="utf-8"))
    return seeded, time.time() - t0


async def exchange(conn, request):
    """bench_deadline_rush.exchange, also returning the headers (for Idempotent-Replayed)."""
    reader, writer = conn
    writer.write(request)
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("the server closed the connection")
    status = int(line.split(b" ", 2)[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    if "chunked" in headers.get("transfer-encoding", ""):
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
        body = bytes(body)
    else:
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
    return status, headers, body


def release_load(args, port, token, tranches, server_pid, pg_url):
    """`args.clients` connections release the tranches in order, each tranche once with its own
    key (a transport failure resends it with the same key), for at most `args.seconds`."""
    records = []  # (time answered, status, code, latency ms, tranche, replayed, error, request id)
    box = {"next": 0}
    meter = bdr.CpuMeter(server_pid)
    sampler = bdr.WaitSampler(pg_url, args.seconds) if pg_url else None

    async def worker(w, start):
        conn = None
        await start.wait()
        while time.time() < box["end"] and box["next"] < len(tranches):
            i = box["next"]
            box["next"] += 1
            t = tranches[i]
            body = json.dumps({"payment_reference": f"GK-{i:06d}-{t[-12:]}"}).encode()
            rid = f"rel-{w:02d}-{i:06d}"
            head = (f"POST /api/v1/tranches/{t}/release HTTP/1.1\r\nHost: {HOST}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json\r\nIdempotency-Key: {uuid.uuid4()}\r\n"
                    f"X-Request-Id: {rid}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            status, headers, raw, err = 0, {}, b"", None
            for _ in range(bdr.TRANSPORT_ATTEMPTS):  # the same key on a resend: safe
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(asyncio.open_connection(HOST, port), bdr.REQUEST_TIMEOUT_S)
                        conn[1].get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    status, headers, raw = await asyncio.wait_for(exchange(conn, head + body), bdr.REQUEST_TIMEOUT_S)
                    if headers.get("connection", "").lower() == "close":
                        conn[1].close()
                        conn = None
                    err = None
                    break
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                    err = f"{type(e).__name__}: {e}"
                    if conn is not None:
                        conn[1].close()
                        conn = None
            code = bdr.problem_code({"body": raw}) if status >= 400 else None
            records.append((time.time(), status, code, (time.perf_counter() - t0) * 1000, t,
                            headers.get("idempotent-replayed") == "true", err, rid))
        if conn is not None:
            conn[1].close()

    async def main():
        start = asyncio.Event()
        tasks = [asyncio.create_task(worker(w, start)) for w in range(args.clients)]
        await asyncio.sleep(0.5)
        meter.start()
        box["begin"] = time.time()
        box["end"] = box["begin"] + args.seconds
        start.set()
        if sampler:
            sampler.start()
        limit = args.seconds + bdr.REQUEST_TIMEOUT_S * bdr.TRANSPORT_ATTEMPTS + 5
        done, pending = await asyncio.wait(tasks, timeout=limit)
        if pending:
            raise bdr.Fatal("release clients did not finish in time")
        for t in done:
            t.result()
        box["finish"] = time.time()

    asyncio.run(main())
    cpu = meter.stop()
    waits = sampler.stop() if sampler else None
    return records, box["begin"], box["finish"], cpu, waits


def durable_pg(args, work):
    """The PostgreSQL probe of bench-deadline-rush: pgbench, 8 clients, one-row INSERT per
    transaction on a scratch table of the bench database."""
    probe = os.path.join(work, "probe.sql")
    with open(probe, "w") as f:
        f.write("INSERT INTO bench_durable_probe (key, payload) VALUES (md5(random()::text || clock_timestamp()::text), "
                "repeat('x', 600));\n")
    fd.psql(args.db_url, "CREATE TABLE bench_durable_probe (id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, "
                         "payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())")
    pglog = os.path.join(work, "pgbench.log")
    with open(pglog, "w") as out:
        p = subprocess.run([args.pgbench, "-n", "-c", "8", "-j", "2", "-T", str(int(args.durable_seconds)), "-f", probe,
                            "-h", args.pg_host, "-p", str(args.pg_port), "-U", "postgres", args.pg_db],
                           stdout=out, stderr=subprocess.STDOUT, timeout=args.durable_seconds + 60)
    if p.returncode != 0:
        raise bdr.Fatal(f"pgbench failed: {open(pglog).read()[-2000:]}")
    fd.psql(args.db_url, "DROP TABLE bench_durable_probe")
    dur = os.path.join(work, "durable.json")
    bdr.cmd_pgbench_tps(argparse.Namespace(log=pglog, clients=8, seconds=int(args.durable_seconds), out=dur))
    return json.load(open(dur))


def durable(args, work):
    bdr.cmd_quiet(argparse.Namespace(max=args.quiet_wait))
    log(f"measuring the durable single-row insert rate for {args.durable_seconds:.0f} s (server stopped)")
    if args.backend == "sqlite":
        dur = os.path.join(work, "durable.json")
        bdr.cmd_durable_sqlite(argparse.Namespace(dir=work, seconds=args.durable_seconds, out=dur))
        return json.load(open(dur))
    return durable_pg(args, work)


def cmd_run(args):
    work = args.work
    server = fd.Server(args.binary, work, args.db_url, extra_env={
        "GONGYI__SANDBOX": "false",
        "RUST_LOG": "info,actix_server=warn,tokio_cron_scheduler=warn",
    })
    server.start()
    try:
        seeded, seed_s = seed(server, args.count, 1, os.path.join(work, "seeded.json"))
        tranches = seeded["tranche_ids"]
        amount_fen = round(float(seeded["amount_each"]) * 100)
        log(f"seed-contracts (server running): {seeded['contracts']} contracts, {len(tranches)} releasable tranches "
            f"in {seed_s:.1f} s")
        token = bdr.login(server.port, seeded["bureau_email"], seeded["bureau_password"])
        quiet = bdr.wait_quiet(args.quiet_wait)
        log(f"machine load before the releases: {quiet:.0f} % busy; {args.clients} clients for up to {args.seconds} s")
        records, begin, finish, cpu, waits = release_load(args, server.port, token, tranches, server.pid,
                                                          args.db_url if args.backend == "postgres" else None)
        log(f"{len(records)} releases sent in {finish - begin:.1f} s; CPU: {bdr.fmt_cpu(cpu)}")
        c = bdr.Client(server.port, token)
        fund = bdr.must(c.request("GET", f"/api/v1/funds/{seeded['fund_id']}"), "fund", (200,))
        recon = bdr.must(c.request("GET", f"/api/v1/funds/{seeded['fund_id']}/reconcile"), "reconcile", (200,))
        c.close()
        t0 = time.time()
        ledger_rc, ledger_out, ledger_err = gongyi(server, "verify-ledger")
        ledger_s = time.time() - t0
        try:
            ledger = json.loads(ledger_out)
        except ValueError:
            ledger = {"ok": False, "first_mismatch": f"unreadable output: {ledger_out[-300:]} {ledger_err[-300:]}"}
        server_ms = bdr.server_times(server.log_path)
    finally:
        server.stop()
    dur = durable(args, work)

    ok = [r for r in records if r[1] == 200]
    fresh = {}
    for r in ok:
        if not r[5]:
            fresh[r[4]] = fresh.get(r[4], 0) + 1
    acked = {r[4] for r in ok}
    released_fen = round(float(fund["released"]) * 100)
    released_n = released_fen // amount_fen if amount_fen else 0
    doubles = sum(n - 1 for n in fresh.values() if n > 1) + max(0, released_n - len(acked))
    warm = begin + args.warmup
    last_ok = max((r[0] for r in ok), default=finish)
    steady = [r for r in ok if r[0] >= warm]
    rate = len(steady) / (last_ok - warm) if last_ok - warm >= 1.0 and steady else len(ok) / max(1e-9, finish - begin)
    lat = [r[3] for r in records if r[1]]
    srv = [server_ms[r[7]] for r in records if r[7] in server_ms]
    errors = {}
    for r in records:
        if r[1] != 200:
            k = f"{r[1]} {r[2]}" if r[1] else f"no answer ({r[6]})"
            errors[k] = errors.get(k, 0) + 1
    fivexx = sum(v for k, v in errors.items() if k[:1] == "5")
    share = rate / dur["rate"] * 100 if dur.get("rate") else float("nan")
    p99 = pct(lat, 99)
    lines = [
        f"--- {args.backend}: releases ({args.clients} clients, distinct tranches, one Idempotency-Key each)",
        f"  seeded {seeded['contracts']} contracts / {len(tranches)} tranches with seed-contracts beside the running "
        f"server in {seed_s:.1f} s",
        f"  {len(ok)} released in {finish - begin:.1f} s ({len(records)} requests"
        f"{'; ALL tranches used before the time was up' if len(records) >= len(tranches) else ''}): "
        f"sustained {rate:.1f} releases/s (after {args.warmup:.0f} s warm-up; whole phase "
        f"{len(ok) / max(1e-9, finish - begin):.1f})",
        f"  latency p50 {pct(lat, 50):.1f} ms   p99 {p99:.1f} ms   max {max(lat) if lat else float('nan'):.1f} ms; "
        f"server's own elapsed_ms p50 {pct(srv, 50):.0f}, p99 {pct(srv, 99):.0f} ({len(srv)} requests)",
        f"  errors {sum(errors.values())}{' ' + json.dumps(errors) if errors else ''}   5xx {fivexx}",
        f"  double releases {doubles} (tranches answered 200 fresh twice: "
        f"{sum(1 for n in fresh.values() if n > 1)}; ledger releases {released_n} vs tranches acknowledged "
        f"{len(acked)})",
        f"  ledger: GET /funds/{{id}}/reconcile ok={recon.get('ok')} ({recon.get('ledger_rows')} rows); "
        f"gongyi verify-ledger exit {ledger_rc}, ok={ledger.get('ok')} ({ledger.get('contracts')} contracts, "
        f"{ledger_s:.1f} s){'; first mismatch: ' + str(ledger.get('first_mismatch')) if not ledger.get('ok') else ''}",
        f"  CPU during the releases: {bdr.fmt_cpu(cpu)}; before them the machine was {quiet:.0f} % busy",
    ]
    if waits:
        lines.append(f"  PostgreSQL active backends by wait event (mean over {waits['samples']} samples): "
                     + ", ".join(f"{k} {v}" for k, v in list(waits["mean_backends"].items())[:6]))
    lines += [
        f"  durable insert rate: {dur['rate']:.0f} rows/s ({dur['method']})",
        f"  releases/s = {share:.1f} % of the durable insert rate",
        f"--- {args.backend}: targets",
    ]
    targets = [
        ("0 double releases", doubles == 0),
        ("0 5xx", fivexx == 0),
        (f"p99 < 100 ms ({p99:.0f} ms)", p99 < 100),
        (f"releases/s >= 25 % of the durable insert rate ({share:.1f} %)", share >= 25.0),
        ("(extra) ledger reconciles (API and verify-ledger)", bool(recon.get("ok")) and ledger_rc == 0),
        ("(extra) no errors", not errors),
    ]
    lines += [f"  {bdr.yn(good):3s}  {name}" for name, good in targets]
    text = "\n".join(lines)
    print(text, flush=True)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(text + "\n\n")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"rate": rate, "p50_ms": pct(lat, 50), "p99_ms": p99, "errors": errors, "doubles": doubles,
                   "durable": dur, "share": share, "cpu": cpu, "pg_waits": waits, "ledger_ok": ledger.get("ok")}, f)
    broken = doubles > 0 or not recon.get("ok") or ledger_rc != 0
    return 1 if broken else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--binary", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    r.add_argument("--db-url", required=True)
    r.add_argument("--count", type=int, default=20000, help="contracts (one tranche each) to seed")
    r.add_argument("--clients", type=int, default=50)
    r.add_argument("--seconds", type=float, default=30.0)
    r.add_argument("--warmup", type=float, default=2.0)
    r.add_argument("--durable-seconds", type=float, default=10.0)
    r.add_argument("--quiet-wait", type=float, default=45.0)
    r.add_argument("--pgbench", default="pgbench")
    r.add_argument("--pg-host", default="127.0.0.1")
    r.add_argument("--pg-port", type=int, default=5432)
    r.add_argument("--pg-db")
    r.add_argument("--summary")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        return {"run": cmd_run}[args.cmd](args)
    except bdr.Fatal as e:
        print(f"bench_release: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
