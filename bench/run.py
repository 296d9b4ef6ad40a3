#!/usr/bin/env python3
"""The shop benchmark: the service against what PostgreSQL itself can do.

    python3 bench/run.py              # full run (about 5 minutes), writes bench/results/latest.md
    python3 bench/run.py --smoke      # a few seconds on a tiny seed, debug build; fails on any non-2xx (CI)
    python3 bench/run.py --pooler postgres://postgres@127.0.0.1:6432/postgres   # also through PgBouncer
    python3 bench/run.py --binary /tmp/before/target/release/shop   # an earlier build, for a guard

It builds the release binary, creates a fresh PostgreSQL database, seeds
10,000 products and 1,000 carts of 20 lines, starts the service, warms up,
then alternates rounds of the HTTP mix (wrk, bench/mix.lua) with rounds of
the same mix as bare SQL (pgbench -M prepared, bench/pgbench/*.sql), both at
concurrency 16. It reports requests per second, p50/p99, non-2xx responses,
the service's peak RSS and CPU time per request, the statements each request
kind sends, and the same mix on the embedded SQLite database.

Needs: cargo, psql, pgbench, wrk (Debian: postgresql, wrk) and a
PostgreSQL that SHOP_BENCH_POSTGRES_URL reaches (default
postgres://postgres@127.0.0.1:5432/postgres) with the right to create databases.
"""

import argparse
import hashlib
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BINARY = ROOT / "target" / "release" / "shop"  # target/debug/shop for --smoke
PORT = 18090
DATABASE = f"shop_bench_{uuid.uuid4().hex[:12]}"  # this run's own, dropped at the end
CONCURRENCY = 16
MIX = [("cart_read.sql", 70), ("add.sql", 18), ("put.sql", 2)]  # + 5 product pages at 2 each


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs).stdout


def uid(kind, n):
    """The id the SQL seed gives row n: md5('<kind>' || n)::uuid."""
    return str(uuid.UUID(hashlib.md5(f"{kind}{n}".encode()).hexdigest()))


class Seed:
    def __init__(self, products, carts, lines):
        self.products, self.carts, self.lines = products, carts, lines

    def line_pairs(self):
        for c in range(self.carts):
            for j in range(self.lines):
                yield uid("cart", c), uid("product", (c * self.lines + j) % self.products)


# ---------------------------------------------------------------- databases

def postgres_url(admin, database):
    base, _, query = admin.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


def create_postgres(admin, seed):
    run(["psql", admin, "-qc", f"CREATE DATABASE {DATABASE}"])
    url = postgres_url(admin, DATABASE)
    run([str(BINARY), "migrate", "up"], env=service_env(url))
    p, c, n = seed.products, seed.carts, seed.lines
    sql = f"""
SET search_path TO homework;
INSERT INTO products (id, name, name_folded, description, price, created_at, updated_at)
SELECT md5('product' || n)::uuid, 'Product ' || n, 'product ' || n, 'Demo product number ' || n,
       100 + (n % 900), t, t
  FROM generate_series(0, {p - 1}) n, LATERAL (SELECT timestamptz '2026-01-01' + n * interval '1 millisecond' AS t) x;
INSERT INTO carts (id, version, created_at, updated_at)
SELECT md5('cart' || c)::uuid, 0, now(), now() FROM generate_series(0, {c - 1}) c;
INSERT INTO product_cart_association (cart_id, product_id, quantity, added_at)
SELECT md5('cart' || c)::uuid, md5('product' || ((c * {n} + j) % {p}))::uuid, 1,
       timestamptz '2026-01-02' + j * interval '1 second'
  FROM generate_series(0, {c - 1}) c, generate_series(0, {n - 1}) j;
ANALYZE;
"""
    run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
    return url


def sqlite_timestamp(seconds):
    """The text sqlx writes for a DateTime<Utc> (RFC 3339, +00:00)."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(seconds)))
    millis = round((seconds - int(seconds)) * 1000)
    return f"{whole}.{millis:03d}+00:00" if millis else f"{whole}+00:00"


def create_sqlite(directory, seed):
    path = Path(directory) / "shop.db"
    url = f"sqlite://{path}?mode=rwc"
    run([str(BINARY), "migrate", "up"], env=service_env(url))
    db = sqlite3.connect(path)
    start = 1767225600.0  # 2026-01-01T00:00:00Z
    blob = lambda text: uuid.UUID(text).bytes
    db.executemany(
        "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (blob(uid("product", n)), f"Product {n}", f"product {n}", f"Demo product number {n}", 100 + n % 900,
             sqlite_timestamp(start + n / 1000), sqlite_timestamp(start + n / 1000))
            for n in range(seed.products)
        ),
    )
    now = sqlite_timestamp(time.time())
    db.executemany("INSERT INTO carts VALUES (?, 0, ?, ?)", ((blob(uid("cart", c)), now, now) for c in range(seed.carts)))
    db.executemany(
        "INSERT INTO product_cart_association VALUES (?, ?, 1, ?)",
        (
            (blob(cart), blob(product), sqlite_timestamp(start + 86400 + i % seed.lines))
            for i, (cart, product) in enumerate(seed.line_pairs())
        ),
    )
    db.commit()
    db.close()
    return url


# ---------------------------------------------------------------- the service

def service_env(url, extra=None):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SHOP__DATABASE__URL": url,
        "SHOP__SERVER__PORT": str(PORT),
        "SHOP__DATABASE__MAX_CONNECTIONS": str(CONCURRENCY),
        "RUST_LOG": "info",
    }
    env.update(extra or {})
    return env


class Service:
    running = []  # stopped at exit, whatever happens

    def __init__(self, url, log_path, extra_env=None):
        if port_taken():
            raise RuntimeError(f"port {PORT} is taken: stop whatever listens there first")
        self.log_path = log_path
        self.log_file = open(log_path, "w")
        self.process = subprocess.Popen(
            [str(BINARY), "serve"], env=service_env(url, extra_env), stdout=subprocess.DEVNULL, stderr=self.log_file
        )
        Service.running.append(self)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited; see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the service did not become ready; see {log_path}")

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def peak_rss_mib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log_file.close()
        if self in Service.running:
            Service.running.remove(self)


def port_taken():
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", PORT)) == 0


def get_json(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as response:
        return json.load(response)


def write_targets(directory, seed):
    lines = Path(directory) / "lines.txt"
    lines.write_text("".join(f"{cart} {product}\n" for cart, product in seed.line_pairs()))
    pages, path = [], "/api/v1/products?limit=50"
    for _ in range(5):  # the first five pages, following real cursors
        pages.append(path)
        cursor = get_json(path)["next_cursor"]
        if cursor is None:
            break
        path = f"/api/v1/products?limit=50&cursor={cursor}"
    page_file = Path(directory) / "pages.txt"
    page_file.write_text("".join(p + "\n" for p in pages))
    return lines, page_file


# ---------------------------------------------------------------- load

def to_ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(seconds, lines, argument, script="mix.lua"):
    """A wrk run of `script`, given the lines file and `argument` (mix.lua: the pages file; adds.lua: plain or keyed)."""
    out = run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", str(BENCH / script),
         f"http://127.0.0.1:{PORT}", "--", str(lines), str(argument)]
    )
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": to_ms(percentiles["50"]),
        "p99_ms": to_ms(percentiles["99"]),
        "non_2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def pgbench(url, seconds, seed, page_scripts):
    scripts = [f"{BENCH / 'pgbench' / name}@{weight}" for name, weight in MIX] + [f"{p}@2" for p in page_scripts]
    command = ["pgbench", "-n", "-M", "prepared", f"-c{CONCURRENCY}", "-j2", f"-T{seconds}",
               "-D", f"carts={seed.carts}", "-D", f"lines={seed.lines}", "-D", f"products={seed.products}"]
    for script in scripts:
        command += ["-f", script]
    out = run(command + [url], env={**os.environ, "PGOPTIONS": "-c search_path=homework"})
    return {
        "tps": float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1)),
        "latency_ms": float(re.search(r"latency average = ([\d.]+) ms", out).group(1)),
        "failed": int((re.search(r"number of failed transactions: (\d+)", out) or [0, 0])[1]),
    }


def page_scripts(directory, seed):
    """Five keyset page queries with the real cursors of the seed (product 50k-1 ends page k)."""
    template = (BENCH / "pgbench" / "page.sql.in").read_text()
    scripts = []
    for page in range(5):
        if page == 0:
            cursor = "true"
        else:
            n = min(50 * page - 1, seed.products - 1)
            cursor = (f"(created_at, id) > (timestamptz '2026-01-01' + {n} * interval '1 millisecond', "
                      f"md5('product' || {n})::uuid)")
        path = Path(directory) / f"page{page + 1}.sql"
        path.write_text(template.replace("@CURSOR@", cursor))
        scripts.append(path)
    return scripts


def statement_census(url, directory, seed, lines):
    """Statements per request kind, counted from the driver's statement log."""
    log_path = Path(directory) / "statements.log"
    service = Service(url, log_path, {"SHOP__DATABASE__LOG_STATEMENTS": "true", "RUST_LOG": "warn,sqlx::query=debug"})
    cart, product = next(iter(seed.line_pairs()))
    kinds = [
        ("GET cart", "GET", f"/api/v1/carts/{cart}", None),
        ("POST item (add 1)", "POST", f"/api/v1/carts/{cart}/items", {"product_id": product, "quantity": 1}),
        ("PUT item (set 1..3)", "PUT", f"/api/v1/carts/{cart}/items/{product}", None),
        ("GET product page", "GET", "/api/v1/products?limit=50", None),
        ("POST item with an Idempotency-Key", "POST", f"/api/v1/carts/{cart}/items", {"product_id": product, "quantity": 1}),
    ]
    counts = {}
    try:
        for name, method, path, body in kinds:
            before = log_path.read_text().count("summary=")
            for i in range(10):
                payload = body if method != "PUT" else {"quantity": 1 + i % 3}
                data = json.dumps(payload).encode() if payload is not None else None
                headers = {"Content-Type": "application/json"}
                if "Idempotency-Key" in name:
                    headers["Idempotency-Key"] = f"census-{uuid.uuid4()}"
                request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method,
                                                 headers=headers)
                urllib.request.urlopen(request, timeout=10).read()
            time.sleep(0.2)
            counts[name] = (log_path.read_text().count("summary=") - before) / 10
    finally:
        service.stop()
    return counts


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="service and pgbench rounds each (default 3)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per round (default 20)")
    parser.add_argument("--smoke", action="store_true", help="tiny seed, one short round, fail on any non-2xx")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--binary", type=Path, help="measure this build of the service (e.g. an earlier commit's) "
                                                    "instead of building this checkout's")
    parser.add_argument("--pooler", metavar="URL",
                        help="also run the mix with the service behind this PgBouncer (transaction mode, "
                             "in front of the same server), e.g. postgres://postgres@127.0.0.1:6432/postgres")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration = 1, 3
    seed = Seed(200, 20, 5) if args.smoke else Seed(10_000, 1_000, 20)
    admin = os.environ.get("SHOP_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

    global BINARY
    if args.binary:
        BINARY = args.binary.resolve()
    elif args.smoke:  # checks the harness and that nothing fails, no figures: no need to wait for fat LTO
        BINARY = ROOT / "target" / "debug" / "shop"
        log("building the debug binary")
        subprocess.run(["cargo", "build", "--quiet", "-p", "shop"], cwd=ROOT, check=True)
    else:
        log("building the release binary")
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "shop"], cwd=ROOT, check=True)
    try:
        measure(args, seed, admin)
    finally:
        for leftover in list(Service.running):
            leftover.stop()
        run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"])


def measure(args, seed, admin):
    work = Path(tempfile.mkdtemp(prefix="shop-bench-"))

    log(f"seeding PostgreSQL: {seed.products} products, {seed.carts} carts x {seed.lines} lines")
    url = create_postgres(admin, seed)
    service = Service(url, work / "service.log")
    lines, pages = write_targets(work, seed)
    pages_sql = page_scripts(work, seed)
    warm = max(2, args.duration // 4)
    log(f"warming up ({warm} s each)")
    wrk(warm, lines, pages)
    pgbench(url, warm, seed, pages_sql)

    rounds = []
    for r in range(args.rounds):
        cpu_before = service.cpu_seconds()
        http = wrk(args.duration, lines, pages)
        http["cpu_us_per_request"] = (service.cpu_seconds() - cpu_before) / max(http["requests"], 1) * 1e6
        sql = pgbench(url, args.duration, seed, pages_sql)
        rounds.append({"service": http, "pgbench": sql, "ratio": http["rps"] / sql["tps"]})
        log(f"round {r + 1}: service {http['rps']:.0f} rps (p99 {http['p99_ms']:.2f} ms, non-2xx {http['non_2xx']}), "
            f"pgbench {sql['tps']:.0f} tps, ratio {http['rps'] / sql['tps']:.2f}")
    log("adds alone, without and with an Idempotency-Key")
    adds = {kind: wrk(max(2, args.duration // 2), lines, kind, script="adds.lua") for kind in ("plain", "keyed")}
    rss = service.peak_rss_mib()
    service.stop()
    census = statement_census(url, work, seed, lines)
    pooled = behind_pooler(args, url, work, lines, pages) if args.pooler else []

    sqlite_rounds = []
    if not args.skip_sqlite:
        log("the same mix on the embedded SQLite database")
        sqlite_url = create_sqlite(work, seed)
        service = Service(sqlite_url, work / "service-sqlite.log")
        wrk(warm, lines, pages)
        for _ in range(args.rounds):
            sqlite_rounds.append(wrk(args.duration, lines, pages))
        sqlite_rss = service.peak_rss_mib()
        service.stop()
        locked = (work / "service-sqlite.log").read_text().count("database is locked")
    else:
        sqlite_rss, locked = float("nan"), 0

    result = {
        "rounds": rounds,
        "median_service_rps": statistics.median(r["service"]["rps"] for r in rounds),
        "median_pgbench_tps": statistics.median(r["pgbench"]["tps"] for r in rounds),
        "median_ratio": statistics.median(r["ratio"] for r in rounds),
        "median_p50_ms": statistics.median(r["service"]["p50_ms"] for r in rounds),
        "median_p99_ms": statistics.median(r["service"]["p99_ms"] for r in rounds),
        "non_2xx": sum(r["service"]["non_2xx"] + r["service"]["socket_errors"] for r in rounds)
        + sum(a["non_2xx"] + a["socket_errors"] for a in adds.values())
        + sum(r["non_2xx"] + r["socket_errors"] for r in pooled),
        "peak_rss_mib": rss,
        "median_cpu_us_per_request": statistics.median(r["service"]["cpu_us_per_request"] for r in rounds),
        "statements_per_request": census,
        "adds": adds,
        "pooled": pooled,
        "sqlite": sqlite_rounds,
        "sqlite_peak_rss_mib": sqlite_rss,
        "sqlite_locked_errors": locked,
        "sqlite_non_2xx": sum(r["non_2xx"] + r["socket_errors"] for r in sqlite_rounds),
    }
    report = render(result, seed, args)
    print(report)
    if not args.smoke:
        (BENCH / "results").mkdir(exist_ok=True)
        (BENCH / "results" / "latest.md").write_text(report)
        (BENCH / "results" / "latest.json").write_text(json.dumps(result, indent=2))
    failures = result["non_2xx"] + result["sqlite_non_2xx"] + result["sqlite_locked_errors"]
    if failures:
        log(f"FAILED: {failures} non-2xx responses, socket errors or 'database is locked' errors")
        sys.exit(1)


def behind_pooler(args, url, work, lines, pages):
    """The same mix with the service connected through PgBouncer (database.behind_pooler)."""
    log(f"the same mix through the pooler at {args.pooler}")
    # What the service sets per session when it is not behind a pooler.
    run(["psql", url, "-qc", f"ALTER DATABASE {DATABASE} SET search_path = homework",
         "-qc", f"ALTER DATABASE {DATABASE} SET statement_timeout = '27000ms'"])
    service = Service(postgres_url(args.pooler, DATABASE), work / "service-pooled.log",
                      {"SHOP__DATABASE__BEHIND_POOLER": "true"})
    wrk(max(2, args.duration // 4), lines, pages)
    rounds = []
    for _ in range(args.rounds):
        cpu_before = service.cpu_seconds()
        http = wrk(args.duration, lines, pages)
        http["cpu_us_per_request"] = (service.cpu_seconds() - cpu_before) / max(http["requests"], 1) * 1e6
        rounds.append(http)
    service.stop()
    return rounds


def render(result, seed, args):
    out = [
        f"Seed: {seed.products} products, {seed.carts} carts x {seed.lines} lines; concurrency {CONCURRENCY}; "
        f"{args.rounds} rounds of {args.duration} s each, service and pgbench alternating.",
        "",
        "| round | service rps | p50 ms | p99 ms | non-2xx | CPU µs/req | pgbench tps | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(result["rounds"], 1):
        s, p = r["service"], r["pgbench"]
        out.append(f"| {i} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['non_2xx'] + s['socket_errors']} "
                   f"| {s['cpu_us_per_request']:.0f} | {p['tps']:.0f} | {r['ratio']:.2f} |")
    out += [
        f"| **median** | **{result['median_service_rps']:.0f}** | {result['median_p50_ms']:.2f} | "
        f"**{result['median_p99_ms']:.2f}** | {result['non_2xx']} | {result['median_cpu_us_per_request']:.0f} | "
        f"**{result['median_pgbench_tps']:.0f}** | **{result['median_ratio']:.2f}** |",
        "",
        f"Service peak RSS: {result['peak_rss_mib']:.1f} MiB.",
        "",
        "| request kind | SQL statements sent by the service |",
        "|---|---|",
    ]
    out += [f"| {kind} | {count:g} |" for kind, count in result["statements_per_request"].items()]
    out += ["", "Adds alone (`bench/adds.lua`), without and with a new `Idempotency-Key` per request:", "",
            "| adds | rps | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|"]
    for kind, a in result["adds"].items():
        out.append(f"| {kind} | {a['rps']:.0f} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {a['non_2xx'] + a['socket_errors']} |")
    if result["pooled"]:
        direct = result["median_service_rps"]
        out += ["", f"The same mix behind PgBouncer ({args.pooler}), after the rounds above:", "",
                "| round | rps | p50 ms | p99 ms | non-2xx | CPU µs/req | vs direct median |", "|---|---|---|---|---|---|---|"]
        for i, s in enumerate(result["pooled"], 1):
            out.append(f"| {i} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                       f"{s['non_2xx'] + s['socket_errors']} | {s['cpu_us_per_request']:.0f} | {s['rps'] / direct:.2f} |")
    if result["sqlite"]:
        out += ["", "SQLite (embedded), same mix:", "", "| round | rps | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|"]
        for i, s in enumerate(result["sqlite"], 1):
            out.append(f"| {i} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['non_2xx'] + s['socket_errors']} |")
        out.append(f"\nSQLite peak RSS {result['sqlite_peak_rss_mib']:.1f} MiB; "
                   f"'database is locked' errors: {result['sqlite_locked_errors']}.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
