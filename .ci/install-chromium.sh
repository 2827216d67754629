#!/usr/bin/env bash
# Installs Debian's chromium for the node's browser tests (internal/node,
# TestPageInBrowser), which drive it headless with chromedp. Idempotent:
# does nothing when /usr/bin/chromium is already there. Needs root (CI and
# the development machines run as root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
/usr/bin/chromium --version
