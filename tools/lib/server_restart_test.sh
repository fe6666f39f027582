# Sourced by tools/test: the object store killed (SIGKILL) and restarted in the middle of a backup
# to it. The backup MUST ride out the outage with its retries and finish; the repository MUST then
# pass `verify --read-data` and restore byte for byte (docs/DESIGN.md, invariant 33). Needs the
# server of tools/lib/seaweedfs.sh, run before the Swift tests (nothing else uses it meanwhile).
kura_server_restart_test() {
    [ -n "${KURA_TEST_S3:-}" ] || { echo "server restart test SKIPPED: no SeaweedFS" >&2; return 0; }
    local work
    work=$(mktemp -d /tmp/kura-restart.XXXXXX)
    # 240 MB of incompressible media: several seconds of uploads on this machine.
    python3 - "$work/media" <<'PY'
import os, random, sys
rng = random.Random(5)
for i in range(60):
    folder = os.path.join(sys.argv[1], f"receipts/{i % 6}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"scan{i}.pdf"), "wb") as f:
        f.write(rng.randbytes(4_000_000))
PY
    # SeaweedFS answers again some 15 s after it is started (18 s down in all, measured in CI):
    # 20 attempts wait 60 s on average (full jitter), 12 waited 28 s — too close.
    # An encrypted repository, as a real offsite copy is.
    (umask 077 && echo "restart test password" > "$work/password")
    local -a run=(env AWS_ACCESS_KEY_ID="$KURA_TEST_S3_ADMIN_KEY" AWS_SECRET_ACCESS_KEY="$KURA_TEST_S3_ADMIN_SECRET"
                  KURA_REPO="s3:$KURA_TEST_S3/$KURA_TEST_S3_BUCKET/restart-$RANDOM" KURA_CACHE="$work/cache" KURA_RETRIES=20
                  KURA_PASSWORD_FILE="$work/password" "$KURA")
    "${run[@]}" init --pack-size 4 >/dev/null
    "${run[@]}" backup --media "$work/media" >"$work/backup.out" 2>"$work/backup.err" &
    local backup=$!
    sleep 1.5
    if ! kill -0 "$backup" 2>/dev/null; then
        echo "FAIL server restart: the backup ended before the server was killed (make the media bigger)" >&2
        cat "$work/backup.err" >&2; rm -rf "$work"; return 1
    fi
    local down=$SECONDS
    kura_restart_seaweedfs 3
    down=$((SECONDS - down))
    local status=0
    wait "$backup" || status=$?
    if [ $status -ne 0 ]; then
        echo "FAIL server restart: the backup exited $status (the server was down about $down s)" >&2; cat "$work/backup.err" >&2; rm -rf "$work"; return 1
    fi
    "${run[@]}" verify --read-data >"$work/verify.out" 2>&1 || { echo "FAIL server restart: verify --read-data" >&2; cat "$work/verify.out" >&2; rm -rf "$work"; return 1; }
    "${run[@]}" restore latest --target "$work/out" >/dev/null
    diff -r "$work/media" "$work/out/media" >/dev/null || { echo "FAIL server restart: the restore differs" >&2; rm -rf "$work"; return 1; }
    echo "server restart: a backup rode out SeaweedFS killed and restarted (down about $down s), verified and restored: OK" >&2
    rm -rf "$work"
}
