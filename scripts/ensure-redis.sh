#!/usr/bin/env bash
# Make sure `redis-server` is on the PATH: the distributed crawl's tests start one
# (tests/test_distributed.py). A no-op when it is there already; otherwise Debian's
# redis-server package is installed with apt-get (through sudo when not root).
#
# The package's own service is left alone: the tests start a private server on a free
# port of 127.0.0.1 and stop it afterwards. Exit status: 0 when redis-server is available
# afterwards, 1 when it could not be installed (no apt-get, no sudo, no network).
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: redis-server is missing and apt-get is not available;" \
        "install Redis (>= 6.2) by hand" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "ensure-redis: redis-server is missing, and installing it needs root or sudo" >&2
    exit 1
fi

echo "ensure-redis: installing Debian's redis-server package" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d-free containers: the package's post-install may fail to start the service;
# that is fine, the binary is what the tests need.
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null || true

if ! command -v redis-server >/dev/null 2>&1; then
    echo "ensure-redis: installing redis-server failed" >&2
    exit 1
fi
