#!/usr/bin/env bash
# Installs the tansu broker (0.6.0, with its storage features: without them it stores nothing
# and every produce hangs) unless it is already there. Fails loudly.
set -euo pipefail
if command -v tansu >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/tansu" ]; then
  exit 0
fi
echo "installing tansu 0.6.0 (about 10 minutes on 2 cores)..." >&2
cargo install tansu --locked --version 0.6.0 --features dynostore,libsql
