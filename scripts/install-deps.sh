#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, each only if missing: the tansu broker,
# wrk (the benchmark smoke run), systemd-analyze (verifies deploy/systemd's unit), Debian's
# prometheus package (promtool and prometheus: tests/monitoring.rs checks and runs the alert
# rules), Python's confluent-kafka (the Python consumer example) and the benchmark peers'
# dependencies (benches/peers/: aiohttp + confluent-kafka; node >= 20 with fastify + kafkajs from
# the committed package-lock.json).
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
# openssl makes tests/tls.rs's test CA; curl is one of its TLS clients (and the demo's).
command -v openssl >/dev/null 2>&1 || { echo "installing openssl..." >&2; apt_install openssl; }
command -v curl >/dev/null 2>&1 || { echo "installing curl..." >&2; apt_install curl; }
command -v systemd-analyze >/dev/null 2>&1 || { echo "installing systemd (systemd-analyze)..." >&2; apt_install systemd; }
# --no-install-recommends: the server and promtool, not node-exporter. Nothing is started: the
# tests run their own prometheus on 127.0.0.1.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "installing prometheus (prometheus, promtool)..." >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
fi
if ! python3 -c 'import confluent_kafka' 2>/dev/null; then
  echo "installing confluent-kafka for python3..." >&2
  python3 -m pip install --quiet --disable-pip-version-check -r examples/python/requirements.txt
fi
if ! python3 -c 'import aiohttp, confluent_kafka' 2>/dev/null; then
  echo "installing the Python peer's dependencies (aiohttp, confluent-kafka)..." >&2
  python3 -m pip install --quiet --disable-pip-version-check -r benches/peers/python/requirements.txt
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing node and npm (the Node peer)..." >&2
  apt_install nodejs; command -v npm >/dev/null 2>&1 || apt_install npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "the Node peer (fastify 5) needs node >= 20, found $(node --version)" >&2; exit 1; }
if [ ! -d benches/peers/node/node_modules ]; then
  echo "installing the Node peer's modules (npm ci)..." >&2
  npm ci --prefix benches/peers/node --no-audit --no-fund --loglevel=error >/dev/null
fi
