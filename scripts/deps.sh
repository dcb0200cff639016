#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages the build and the tests need, if any is
# missing. As root: apt-get update, then apt-get install -y. Otherwise: prints
# the exact apt-get line and fails.
set -eu

PACKAGES="g++ make meson ninja-build pkg-config cmake python3
libcurl4-openssl-dev libssl-dev libsqlite3-dev libssh2-1-dev rapidjson-dev
libcli11-dev doctest-dev libpugixml-dev libcpp-httplib-dev libpq-dev libyaml-cpp-dev
postgresql-15 postgresql-client-15
openssh-server openssh-client python3-botocore python3-boto3 clang-format chromium"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing
else
    echo "deps: missing Debian packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
