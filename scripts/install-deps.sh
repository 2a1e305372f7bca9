#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, each only if missing: the tansu broker,
# wrk (the benchmark smoke run), systemd-analyze (verifies deploy/systemd's unit) and Python's
# confluent-kafka (the Python consumer example).
# Fails loudly: a missing tool is a failed run, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tansu.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() { # package
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
}
command -v wrk >/dev/null 2>&1 || { echo "installing wrk..." >&2; apt_install wrk; }
command -v systemd-analyze >/dev/null 2>&1 || { echo "installing systemd (systemd-analyze)..." >&2; apt_install systemd; }
if ! python3 -c 'import confluent_kafka' 2>/dev/null; then
  echo "installing confluent-kafka for python3..." >&2
  python3 -m pip install --quiet --disable-pip-version-check -r examples/python/requirements.txt
fi
