#!/usr/bin/env bash
# Installs what tacws needs to build, test and run its demo on Debian 12 (as root, or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates curl \
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev zlib1g-dev libjson-c-dev libinih-dev libcunit1-dev libssl-dev \
  libsqlite3-dev libpq-dev libcurl4-openssl-dev \
  sqlite3 postgresql postgresql-client redis-server libhiredis-dev \
  cppcheck clang libclang-rt-14-dev valgrind \
  chromium >/dev/null
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# The browser test drives Debian's chromium with playwright-core (no browser download).
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
echo "tacws: dependencies installed"
