#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The image's entrypoint. Started as root (the default): gives /data and
# everything in it that is not yet theirs to uid:gid 10001:10001 (a host
# directory Docker created, or one drone/autoscaler left, is owned by root),
# then runs `autoscaler ARGS` as that user with no capabilities and
# no_new_privs. Started as any other user (`docker run --user`): runs it as is.
# The daemon replaces this shell (exec), so `docker stop` signals it directly.
set -eu

uid=10001
gid=10001
data=/data

if [ "$(id -u)" != 0 ]; then
    exec /usr/local/bin/autoscaler "$@"
fi

if [ -d "$data" ]; then
    # -xdev: never crosses into another mount under /data; -h: a symbolic link
    # is given away itself, never what it points to.
    if ! find "$data" -xdev \( ! -user "$uid" -o ! -group "$gid" \) \
            -exec chown -h "$uid:$gid" {} + ; then
        echo "docker-entrypoint: cannot give $data to $uid:$gid; run the container" \
            "with --user and a volume that user can write" >&2
        exit 1
    fi
fi

# The user's home is /data, as when the image ran as that user.
if [ "${HOME:-/root}" = /root ]; then
    export HOME="$data"
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --no-new-privs \
    -- /usr/local/bin/autoscaler "$@"
