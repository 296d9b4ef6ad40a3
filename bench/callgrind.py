#!/usr/bin/env python3
"""Instructions per request, by request kind, under callgrind: the figure the
guards compare, since it does not move with the machine's noise as time does.

    python3 bench/callgrind.py                                 # this checkout's release build
    python3 bench/callgrind.py --binary /tmp/before/target/release/shop   # another build, same seed

It seeds a fresh PostgreSQL database as bench/run.py does (smaller: 1,000
products, 100 carts of 20 lines), runs the service under
`valgrind --tool=callgrind`, and for each kind sends 30 requests of warm-up,
zeroes the counters, sends `--requests` sequential requests on one
keep-alive connection, and dumps. Background work in those seconds (the
sweepers, the pool) is counted too; it is the same for every build.

Needs: valgrind (callgrind_control), psql, a PostgreSQL as for bench/run.py.
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the seed, the database and the service's environment)

KINDS = [
    ("GET cart", "GET", lambda cart, product: f"/api/v1/carts/{cart}", None),
    ("POST item (add 1, a line in the cart)", "POST", lambda cart, product: f"/api/v1/carts/{cart}/items",
     lambda cart, product: {"product_id": product, "quantity": 1}),
    ("GET product page (50)", "GET", lambda cart, product: "/api/v1/products?limit=50", None),
]


def send(connection, method, path, body):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status}")


def instructions(dump):
    """The total `Ir` of a callgrind dump."""
    text = Path(dump).read_text()
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, help="the service's binary (default: build this checkout's release)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per kind (default 300)")
    args = parser.parse_args()
    if args.binary:
        bench.BINARY = args.binary.resolve()
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "shop"], cwd=bench.ROOT, check=True)
    admin = os.environ.get("SHOP_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    seed = bench.Seed(1_000, 100, 20)
    work = Path(tempfile.mkdtemp(prefix="shop-callgrind-"))
    url = bench.create_postgres(admin, seed)
    process = None
    try:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.out", str(bench.BINARY), "serve"]
        log = open(work / "service.log", "w")
        process = subprocess.Popen(command, env=bench.service_env(url), stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 120
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", bench.PORT, timeout=5)
                send(probe, "GET", "/health/ready", None)
                break
            except (OSError, RuntimeError):
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the service did not start under valgrind; see {work}/service.log")
                time.sleep(0.5)
        cart, product = next(iter(seed.line_pairs()))
        rows = []
        for n, (name, method, path, body) in enumerate(KINDS, start=1):
            connection = http.client.HTTPConnection("127.0.0.1", bench.PORT, timeout=60)
            target, payload = path(cart, product), body(cart, product) if body else None
            for _ in range(30):
                send(connection, method, target, payload)
            bench.run(["callgrind_control", "--zero", str(process.pid)])
            for _ in range(args.requests):
                send(connection, method, target, payload)
            bench.run(["callgrind_control", "--dump", str(process.pid)])
            dump = f"{work}/cg.out.{n}"
            rows.append((name, instructions(dump) / args.requests))
            bench.log(f"{name}: {rows[-1][1] / 1000:.1f} k instructions per request")
        print(f"Instructions per request (callgrind, {args.requests} sequential requests after 30 of warm-up), "
              f"{bench.BINARY}:\n")
        print("| request kind | instructions |\n|---|---|")
        for name, count in rows:
            print(f"| {name} | {count / 1000:.1f} k |")
    finally:
        if process and process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        bench.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {bench.DATABASE} WITH (FORCE)"])


if __name__ == "__main__":
    main()
