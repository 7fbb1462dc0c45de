#!/usr/bin/env bash
# Browser tests (tests/browser, marker `browser`): Debian's headless Chromium driven by Playwright.
# Sourced by .ci/run before pytest; REQUIRE_BROWSER=1 turns a missing browser into a test failure.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
fi
mkdir -p test-artifacts
export REQUIRE_BROWSER=1
