#!/usr/bin/env bash
# Web UI benchmark (issue "Platform II", point 4): time to first byte and full load in headless
# Chromium of the dashboard and of a run page whose build log has 100,000 lines, the browser's
# JS heap on that page, next to a static file served by the same server (see
# bench/ui_driver.py). Results go to bench/out/ui/sqlite.json and are summed up in
# docs/benchmarks.md by hand.
#
# Usage: bench/ui.sh [--lines N] [--repeat N]   (passed to the driver)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked -p upkeep
out="$PWD/bench/out/ui"
mkdir -p "$out"
python3 bench/ui_driver.py --binary "$PWD/target/release/upkeep" --out "$out/sqlite.json" "$@"
