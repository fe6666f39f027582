# Sourced by tools/*: a throwaway PostgreSQL cluster in a temp folder, listening only on a unix
# socket, stopped (and removed) when the calling script exits. Exports KURA_TEST_POSTGRES, a
# libpq URL of the server for the superuser `postgres` (tests create their own databases), and
# KURA_TEST_POSTGRES_PASSWORD_ROLE: a role `kura_pw` with password `secret` that must log in
# with it (for wrong-password tests).
kura_start_postgres() {
    kura_install_packages postgresql
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    KURA_PG_DIR=$(mktemp -d /tmp/kura-pg.XXXXXX)
    chown postgres "$KURA_PG_DIR"
    local port=$((20000 + RANDOM % 20000))
    runuser -u postgres -- "$bin/initdb" -D "$KURA_PG_DIR/data" -A trust -U postgres >/dev/null
    cat > "$KURA_PG_DIR/data/pg_hba.conf" <<HBA
local all kura_pw scram-sha-256
local all all trust
HBA
    runuser -u postgres -- "$bin/pg_ctl" -D "$KURA_PG_DIR/data" -l "$KURA_PG_DIR/log" -w \
        -o "-k $KURA_PG_DIR -p $port -c listen_addresses='' -c fsync=off" start >/dev/null
    kura_at_exit kura_stop_postgres
    export KURA_TEST_POSTGRES="postgresql:///postgres?host=$KURA_PG_DIR&port=$port&user=postgres"
    "$bin/psql" -q "$KURA_TEST_POSTGRES" -c "CREATE ROLE kura_pw LOGIN CREATEDB PASSWORD 'secret'"
    export KURA_PG_BIN="$bin"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running at $KURA_TEST_POSTGRES" >&2
}

kura_stop_postgres() {
    [ -n "${KURA_PG_DIR:-}" ] || return 0
    runuser -u postgres -- "$KURA_PG_BIN/pg_ctl" -D "$KURA_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$KURA_PG_DIR"
}
