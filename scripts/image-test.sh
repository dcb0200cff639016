#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Docker image, built and run the way the README says, on a Debian 12
# machine as root (CI). Installs docker.io and debootstrap if missing; starts
# its own dockerd (no iptables, no bridge: containers use --network host) with
# its own data root, exec root, pid file and socket; bootstraps a minimal
# bookworm from the mirror the host's apt sources name and imports it as
# debian:bookworm-slim (the root file system is cached in
# /var/cache/autoscale-ci); builds examples/deploy/Dockerfile; then runs the
# image against loopback fakes (scripts/image-test-fakes.py):
#   a. -v HOSTDIR:/data on a fresh root-owned directory: /healthz, /version and
#      the HEALTHCHECK command answer, /data/database.sqlite is created (owned
#      by 10001:10001), EC2 is called;
#   c. a plain `docker stop` while installs are in flight exits 0 in time, and
#      the rows stay `installing` for the next start;
#   b. a root-owned HOSTDIR holding a drone/autoscaler database: the daemon
#      starts, adopts its server, and stops with 0 too.
# Prints each step's duration; removes everything it started (dockerd by its
# pid, the fakes, temporary directories) on exit; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly cache_dir="${AUTOSCALE_CI_CACHE:-/var/cache/autoscale-ci}"
readonly image=autoscale
readonly docker=/usr/bin/docker # Debian's docker.io, not another docker on PATH.
readonly admin_token=image-test-admin-token

if [ "$(id -u)" -ne 0 ]; then
    echo "image-test: must run as root (it starts dockerd)" >&2
    exit 77
fi

step_name=""
step_started=""
step() {
    finish_step
    step_name="$1"
    step_started="$EPOCHREALTIME"
    echo "== image-test: $step_name"
}
finish_step() {
    if [ -n "$step_name" ]; then
        echo "== image-test: $step_name: $(elapsed "$step_started") s"
    fi
    step_name=""
}
# Seconds since $1 (an $EPOCHREALTIME), to a tenth.
elapsed() {
    python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" \
        "$1" "$EPOCHREALTIME"
}
fail() {
    echo "image-test: FAILED: $*" >&2
    exit 1
}

work=""
dockerd_pid=""
fakes_pid=""
containers=()
cleanup() {
    local status=$?
    set +e
    if [ -n "$dockerd_pid" ]; then
        for c in "${containers[@]}"; do
            "$docker" rm -f "$c" >/dev/null 2>&1
        done
        kill -TERM "$dockerd_pid" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$dockerd_pid" 2>/dev/null
        wait "$dockerd_pid" 2>/dev/null
    fi
    if [ -n "$fakes_pid" ]; then
        kill "$fakes_pid" 2>/dev/null
        wait "$fakes_pid" 2>/dev/null
    fi
    if [ -n "$work" ]; then
        # Anything dockerd left mounted under its roots goes first.
        grep -o " $work/[^ ]*" /proc/mounts | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null
        done
        rm -rf "$work"
    fi
    if [ "$status" -ne 0 ]; then
        echo "image-test: failed (exit $status)" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls "$@" every 0.2 s until it succeeds or $1 seconds pass.
wait_for() {
    local seconds="$1"
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# ---- packages ---------------------------------------------------------------
step "packages (docker.io, debootstrap, python3)"
missing=""
for p in docker.io debootstrap python3 ca-certificates; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
if [ ! -x "$docker" ] || [ ! -x /usr/sbin/dockerd ]; then
    fail "docker.io did not install $docker and /usr/sbin/dockerd"
fi

work="$(mktemp -d /tmp/autoscale-image-test.XXXXXX)"
chmod 0755 "$work"

# ---- dockerd ----------------------------------------------------------------
step "dockerd"
/usr/sbin/dockerd --iptables=false --ip6tables=false --bridge=none \
    --data-root "$work/docker" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    -H "unix://$work/docker.sock" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST="unix://$work/docker.sock"
if ! wait_for 60 "$docker" version; then
    tail -20 "$work/dockerd.log" >&2
    fail "dockerd did not answer within 60 s"
fi

# ---- base image -------------------------------------------------------------
step "debian:bookworm-slim from debootstrap"
# The first URI of the host's apt sources that is not a security archive.
mirror=""
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    mirror="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {
        print $i; exit } }' "$f" | grep -v -- '-security' | head -1 || true)"
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        mirror="$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
            grep -v -- '-security' | head -1 || true)"
        [ -n "$mirror" ] && break
    done
fi
mirror="${mirror:-http://deb.debian.org/debian}"
echo "image-test: mirror $mirror"
# apt configuration the host needs to reach it (proxies, snapshot dates, ...).
apt_conf=()
for f in /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] && grep -q -i -E '^[[:space:]]*Acquire' "$f" && apt_conf+=("$f")
done
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sources+=("$f")
done
key="$( (echo "$mirror"; cat "${apt_conf[@]}" "${sources[@]}" </dev/null) | sha256sum | cut -c1-16)"
rootfs="$cache_dir/bookworm-minbase-$key.tar"
if [ ! -s "$rootfs" ]; then
    echo "image-test: no cached root file system; debootstrap (a few minutes)"
    debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    for f in "${sources[@]}"; do
        mkdir -p "$work/root$(dirname "$f")"
        cp "$f" "$work/root$f"
    done
    if [ "${#sources[@]}" -gt 0 ] && [ ! -f /etc/apt/sources.list ]; then
        rm -f "$work/root/etc/apt/sources.list" # The host's sources name the mirror.
    fi
    for f in "${apt_conf[@]}"; do
        cp "$f" "$work/root$f"
    done
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    mkdir -p "$cache_dir"
    tar -C "$work/root" -cf "$rootfs.tmp" .
    mv "$rootfs.tmp" "$rootfs"
    rm -rf "$work/root"
else
    echo "image-test: cached root file system $rootfs"
fi
"$docker" import "$rootfs" debian:bookworm-slim >/dev/null

# ---- docker build -----------------------------------------------------------
step "docker build (cold: no layer cache)"
proxy_args=(--build-arg "COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)")
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!v:-}" ] && proxy_args+=(--build-arg "$v=${!v}")
done
"$docker" build --network host "${proxy_args[@]}" -f examples/deploy/Dockerfile -t "$image" . \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "docker build"; }
"$docker" image ls "$image"
size="$("$docker" image inspect -f '{{.Size}}' "$image")"
echo "image-test: image size $((size / 1000000)) MB"
[ "$("$docker" image inspect -f '{{json .Config.Healthcheck.Test}}' "$image")" != null ] ||
    fail "the image has no HEALTHCHECK"
step "docker build again (layer cache, nothing changed)"
"$docker" build --network host "${proxy_args[@]}" -f examples/deploy/Dockerfile -t "$image" . \
    >"$work/build2.log" 2>&1 || { tail -40 "$work/build2.log" >&2; fail "docker build (cached)"; }

# ---- fakes ------------------------------------------------------------------
step "loopback fakes"
start_fakes() {
    python3 scripts/image-test-fakes.py "$work/fakes" 4 >"$work/fakes.log" 2>&1 &
    fakes_pid=$!
    wait_for 20 test -s "$work/fakes/ports" || fail "the fakes did not start"
    read -r drone_port ec2_port silent_port <"$work/fakes/ports"
}
mkdir -p "$work/fakes"
start_fakes
http_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')"
api="http://127.0.0.1:$http_port"

# The README's docker run, with --network host (no bridge here) and the
# variables pointing at the fakes.
run_image() {
    local name="$1" hostdir="$2"
    "$docker" run -d --name "$name" --network host -v "$hostdir:/data" \
        -e DRONE_SERVER_PROTO=http -e DRONE_SERVER_HOST="127.0.0.1:$drone_port" \
        -e DRONE_SERVER_TOKEN="$admin_token" -e DRONE_AGENT_TOKEN=image-test-rpc-secret \
        -e DRONE_AMAZON_IMAGE=ami-0123456789abcdef0 -e DRONE_AMAZON_PRIVATE_IP=true \
        -e DRONE_AMAZON_SUBNET_ID=subnet-0123 -e DRONE_AMAZON_SECURITY_GROUP=sg-0123 \
        -e DRONE_POOL_MIN=0 -e DRONE_POOL_MAX=4 -e DRONE_AGENT_CONCURRENCY=2 \
        -e DRONE_INTERVAL=1s -e DRONE_HTTP_PORT="127.0.0.1:$http_port" \
        -e AWS_ENDPOINT_URL_EC2="http://127.0.0.1:$ec2_port" -e AWS_REGION=us-east-1 \
        -e AWS_ACCESS_KEY_ID=AKIAIMAGETEST0000000 \
        -e AWS_SECRET_ACCESS_KEY=image-test-secret-access-key-000000000000 \
        -e AWS_EC2_METADATA_DISABLED=true \
        "$image" >/dev/null
    containers+=("$name")
}
healthy() { python3 - "$api/healthz" <<'EOF'
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=5).status == 200 else 1)
EOF
}
# GET $1 with the admin token, printing the body.
get() {
    python3 - "$api$1" "$admin_token" <<'EOF'
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(urllib.request.urlopen(r, timeout=5).read().decode())
EOF
}
# The servers' states, one per line.
states() { get /api/servers | python3 -c 'import json, sys
for s in json.load(sys.stdin): print(s["name"], s["state"], s.get("error", ""))'; }
ec2_called() { grep -q "\"action\": \"$1\"" "$work/fakes/ec2.jsonl"; }
# At least $2 servers in state $1 (an alternation: our name|drone/autoscaler's).
in_state() { [ "$(states | grep -c -E "^[^ ]+ ($1)( |$)")" -ge "$2" ]; }
show_logs() { "$docker" logs "$1" 2>&1 | tail -30 >&2; }

# ---- (a) a fresh root-owned HOSTDIR -----------------------------------------
step "(a) docker run -v HOSTDIR:/data, HOSTDIR fresh and root-owned"
fresh="$work/fresh"
mkdir -m 0755 "$fresh" # As Docker creates a missing host directory.
run_image fresh "$fresh"
wait_for 30 healthy || { show_logs fresh; fail "(a) /healthz did not answer 200 within 30 s"; }
version="$(python3 -c "import urllib.request
print(urllib.request.urlopen('$api/version', timeout=5).read().decode())")"
echo "image-test: /version $version"
echo "$version" | grep -q '"version":"' || fail "(a) /version: $version"
echo "$version" | grep -q '"commit":"[0-9a-f]' || fail "(a) /version has no commit: $version"
"$docker" exec fresh /usr/local/bin/autoscaler healthcheck ||
    fail "(a) the HEALTHCHECK command failed"
[ -f "$fresh/database.sqlite" ] || fail "(a) /data/database.sqlite was not created"
owner="$(stat -c %u:%g "$fresh/database.sqlite")"
[ "$owner" = 10001:10001 ] || fail "(a) database.sqlite is owned by $owner, not 10001:10001"
wait_for 30 ec2_called RunInstances || { show_logs fresh; fail "(a) no RunInstances reached EC2"; }
grep -q '"signed": true' "$work/fakes/ec2.jsonl" || fail "(a) EC2 requests are not signed"
uid="$("$docker" exec fresh sh -c 'stat -c %u:%g /proc/1')"
[ "$uid" = 10001:10001 ] || fail "(a) the daemon runs as $uid, not 10001:10001"
"$docker" logs fresh 2>&1 | grep -q -e image-test-secret-access-key -e image-test-rpc-secret \
    -e "$admin_token" && fail "(a) a secret reached the log"

# ---- (c) docker stop while installs are in flight ---------------------------
step "(c) plain docker stop while installs are in flight"
wait_for 60 in_state 'installing|staging' 2 || { states; show_logs fresh; fail "(c) no installs in flight"; }
sleep 2 # Two more cycles: the installs are waiting for SSH from the silent instances.
before="$(states)"
echo "$before" | sed 's/^/image-test:   /'
t0="$EPOCHREALTIME"
"$docker" stop fresh >/dev/null
took="$(elapsed "$t0")"
code="$("$docker" inspect -f '{{.State.ExitCode}}' fresh)"
echo "image-test: docker stop took $took s; exit status $code"
[ "$code" = 0 ] || { show_logs fresh; fail "(c) exit status $code after docker stop"; }
python3 -c "import sys; sys.exit(0 if $took < 9 else 1)" || fail "(c) docker stop took $took s"
rows="$(python3 - "$fresh/database.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for name, state in db.execute("SELECT server_name, server_state FROM autoscale_servers"):
    print(name, state)
EOF
)"
echo "$rows" | sed 's/^/image-test:   stored: /'
[ "$(echo "$rows" | grep -c -E ' (installing|staging)$')" -ge 2 ] ||
    fail "(c) the in-flight installs were not left installing for the next start"

# ---- (b) a HOSTDIR left by drone/autoscaler ---------------------------------
step "(b) docker run -v HOSTDIR:/data, HOSTDIR holding a drone/autoscaler database"
kill "$fakes_pid"
wait "$fakes_pid" 2>/dev/null || true
fakes_pid=""
rm -rf "$work/fakes"
mkdir -p "$work/fakes"
# drone/autoscaler tagged its instances with the user's tags and Name only.
echo '{"i-0legacy00000000001": {"Name": "agent-legacy01"}}' >"$work/fakes/instances.json"
start_fakes
legacy="$work/legacy"
mkdir -m 0755 "$legacy"
python3 - "$legacy/database.sqlite" "$silent_port" <<'EOF'
import sqlite3, sys, time
# drone/autoscaler's schema (store/migrate/sqlite/files/001_create_table_servers.sql).
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE IF NOT EXISTS migrations (name VARCHAR(255), UNIQUE(name));
CREATE TABLE IF NOT EXISTS servers (
 server_name TEXT PRIMARY KEY, server_id TEXT, server_provider TEXT, server_state TEXT,
 server_image TEXT, server_region TEXT, server_size TEXT, server_platform TEXT,
 server_address TEXT, server_capacity INTEGER, server_secret TEXT, server_error TEXT,
 server_ca_key TEXT, server_ca_cert TEXT, server_tls_key TEXT, server_tls_cert TEXT,
 server_created INTEGER, server_updated INTEGER, server_started INTEGER,
 server_stopped INTEGER);
CREATE INDEX IF NOT EXISTS ix_servers_id ON servers (server_id);
CREATE INDEX IF NOT EXISTS ix_servers_state ON servers (server_state);
INSERT INTO migrations VALUES ('create-table-servers'), ('create-index-server-id'),
 ('create-index-server-state');
""")
now = int(time.time()) - 3600
db.execute("INSERT INTO servers VALUES ('agent-legacy01', 'i-0legacy00000000001', 'amazon',"
           " 'running', 'ami-0legacy', 'us-east-1a', 't3.medium', '',"
           " '127.0.0.1:' || ?, 2, 'secret', '',"
           " '-----BEGIN RSA PRIVATE KEY-----legacy', 'ca', 'key', 'cert', ?, ?, ?, 0)",
           (sys.argv[2], now, now, now))
db.commit()
EOF
chmod 0644 "$legacy/database.sqlite" # As drone/autoscaler (running as root) left it.
run_image legacy "$legacy"
wait_for 30 healthy || { show_logs legacy; fail "(b) /healthz did not answer 200 within 30 s"; }
adopted="$(states | grep '^agent-legacy01 ' || true)"
echo "image-test: adopted: $adopted"
[ -n "$adopted" ] || { show_logs legacy; fail "(b) the drone/autoscaler server was not adopted"; }
get /api/servers/agent-legacy01 | grep -q 'PRIVATE KEY' && fail "(b) the API shows a TLS key"
if echo "$adopted" | grep -q vanished && ! ec2_called TerminateInstances; then
    # Reported, not failed here: the engine's sweep lists instances by our
    # pool and owner tags, which drone/autoscaler's instances do not carry.
    echo "image-test: KNOWN DEFECT: the adopted drone/autoscaler server was closed as" \
        "vanished while its instance still runs (not terminated, not drained)"
fi
owner="$(stat -c %u:%g "$legacy/database.sqlite")"
[ "$owner" = 10001:10001 ] || fail "(b) database.sqlite is owned by $owner, not 10001:10001"
t0="$EPOCHREALTIME"
"$docker" stop legacy >/dev/null
took="$(elapsed "$t0")"
code="$("$docker" inspect -f '{{.State.ExitCode}}' legacy)"
echo "image-test: docker stop took $took s; exit status $code"
[ "$code" = 0 ] || { show_logs legacy; fail "(b) exit status $code after docker stop"; }

finish_step
echo "image-test: all checks passed"
