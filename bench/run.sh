#!/usr/bin/env bash
# Run the hub benchmark from the repository root: `bench/run.sh` (both databases, 10 s per scenario) or with the
# options of `omnicanal bench --help`, e.g. `bench/run.sh --database postgresql --seconds 30`.
# Installs wrk (the load generator) when it is missing and apt-get can; otherwise the Python client is used.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)) >/dev/null 2>&1 \
    || echo "wrk could not be installed: the Python load generator will be used" >&2
fi
omnicanal=.venv/bin/omnicanal
[ -x "$omnicanal" ] || omnicanal=omnicanal
exec "$omnicanal" bench "$@"
