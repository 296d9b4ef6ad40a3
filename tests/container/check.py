#!/usr/bin/env python3
"""Static checks of Dockerfile and docker-compose.yml, for machines without a
Docker engine (CI runs this; hadolint lints the Dockerfile beside it).

    python3 tests/container/check.py [repository]   # needs PyYAML

It asserts what the README promises of the container and the compose file;
it cannot show that the image builds or that the services start.
"""

import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def seconds(duration):
    """Compose durations such as 30s, 1m30s."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(duration))
    return sum(float(value) * units[unit] for value, unit in parts)


dockerfile = (ROOT / "Dockerfile").read_text()
check("COPY . ." not in dockerfile, "Dockerfile: copies only what the build reads, not the whole context")
check("--mount=type=cache,target=/src/target" in dockerfile, "Dockerfile: compiled dependencies in a cache mount")
check("CARGO_PROFILE_RELEASE_STRIP=true" in dockerfile, "Dockerfile: the binary is stripped")
check(re.search(r'HEALTHCHECK .*\n?.*CMD \["shop", "healthcheck"\]', dockerfile), "Dockerfile: HEALTHCHECK runs shop healthcheck")
check(re.search(r"^USER 10001$", dockerfile, re.M), "Dockerfile: the service runs as an unprivileged user")
for copied in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
    check(copied == "Cargo.toml" or (ROOT / copied).exists(), f"Dockerfile: COPY {copied} exists")

compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
services = compose["services"]
text = (ROOT / "docker-compose.yml").read_text()
check("change-me" not in text, "compose: no default admin token")
check("${SHOP_ADMIN_TOKEN:?" in text, "compose: the admin token is required (${SHOP_ADMIN_TOKEN:?...})")

built = [name for name, service in services.items() if "build" in service]
check(built == ["shop"], f"compose: one image, built once by `shop` (built by: {built})")
for name, service in services.items():
    if service.get("image") == services["shop"].get("image") and name != "shop":
        check(service.get("pull_policy") == "never", f"compose: {name} uses the built image, never pulls it")
    for dependency in service.get("depends_on", {}):
        check(dependency in services, f"compose: {name} depends on an existing service ({dependency})")
    for port in service.get("ports", []):
        check(str(port).startswith("127.0.0.1:"), f"compose: {name} publishes {port} on loopback only")
check("ports" not in services["postgres"], "compose: PostgreSQL's port is not published")
check(services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy", "compose: migrate waits for PostgreSQL")
check(
    services["shop"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
    "compose: shop starts after the migrations",
)

shop = services["shop"]
defaults = tomllib.loads((ROOT / "config/default.toml").read_text())
environment = {**services["migrate"]["environment"], **{k: v for k, v in shop["environment"].items() if k != "<<"}}
shutdown = float(environment.get("SHOP__SERVER__SHUTDOWN_TIMEOUT_SECS", defaults["server"]["shutdown_timeout_secs"]))
check(
    seconds(shop.get("stop_grace_period", "10s")) > shutdown,
    f"compose: stop_grace_period longer than the shutdown timeout ({shutdown:g} s)",
)
check(shop.get("healthcheck", {}).get("test") == ["CMD", "shop", "healthcheck"], "compose: shop has a healthcheck")
check(shop.get("restart") in ("unless-stopped", "always", "on-failure"), "compose: shop restarts when it fails")
check(environment.get("SHOP_ENV") == "production", "compose: the production profile")

if failures:
    print("\n".join(f"FAIL {failure}" for failure in failures))
    sys.exit(1)
print("Dockerfile and docker-compose.yml: every static check passed")
