#!/usr/bin/env bash
# Checks that vendor/sqlx-core is what vendor/README.md says it is, so an
# upgrade cannot silently drop or change the patches:
#   1. cargo builds the vendored crate (a `[patch]` that no longer matches the
#      version in Cargo.lock is only a warning to cargo);
#   2. the vendored files are the crate published on crates.io (checksum from
#      the registry's index) plus vendor/sqlx-core.patch, and nothing else,
#      apart from the two licence files, which hold the texts themselves.
# Needs cargo, curl, python3, patch. Run from anywhere: bash vendor/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' vendor/sqlx-core/Cargo.toml | head -1)

cargo metadata --format-version 1 --locked --filter-platform "$(rustc -vV | sed -n "s/^host: //p")" | python3 -c '
import json, sys
resolved = {node["id"] for node in json.load(sys.stdin)["resolve"]["nodes"]}
vendored = [id for id in resolved if "/vendor/sqlx-core#" in id]
if not vendored:
    sys.exit("vendor/sqlx-core is not in the crate graph: the [patch] in Cargo.toml was not used")
print("in the crate graph:", vendored[0])'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -sSfL -o "$work/crate.tar.gz" "https://static.crates.io/crates/sqlx-core/sqlx-core-$version.crate"
expected=$(curl -sSf https://index.crates.io/sq/lx/sqlx-core | python3 -c '
import json, sys
print(next(entry["cksum"] for entry in map(json.loads, sys.stdin) if entry["vers"] == sys.argv[1]))' "$version")
actual=$(sha256sum "$work/crate.tar.gz" | cut -d' ' -f1)
[ "$actual" = "$expected" ] || { echo "sqlx-core $version: checksum $actual, the index says $expected"; exit 1; }
tar xzf "$work/crate.tar.gz" -C "$work"
published="$work/sqlx-core-$version"
patch --quiet -p1 -d "$published" < vendor/sqlx-core.patch
if ! diff -r -x 'LICENSE-*' "$published" vendor/sqlx-core; then
  echo "vendor/sqlx-core differs from sqlx-core $version plus vendor/sqlx-core.patch (above)"
  exit 1
fi
for licence in LICENSE-APACHE LICENSE-MIT; do
  [ "$(wc -l < "vendor/sqlx-core/$licence")" -gt 10 ] || { echo "vendor/sqlx-core/$licence is not the licence text"; exit 1; }
done
echo "vendor/sqlx-core = sqlx-core $version from crates.io + vendor/sqlx-core.patch ($(grep -c '^@@' vendor/sqlx-core.patch) hunks)"
