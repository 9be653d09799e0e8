#!/bin/sh
# `npm test` drives Debian's Chromium (the browser tests, through playwright-core). The README's
# two commands are the whole set-up, so the test command installs it when it is missing.
set -eu
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get): install Debian's chromium package" >&2
  exit 1
fi
echo "npm test: installing Debian's chromium for the browser tests" >&2
apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
