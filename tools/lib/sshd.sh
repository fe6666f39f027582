# Sourced by tools/*: a throwaway OpenSSH server on loopback for the rclone backend's `sftp`
# remote (key login only, its own host key, config and folder), stopped and removed at exit.
# Exports KURA_TEST_SFTP_PORT, KURA_TEST_SFTP_USER and KURA_TEST_SFTP_KEY (the client's private
# key); the tests define the rclone remote from them in rclone's environment variables.
kura_start_sshd() {
    kura_install_packages openssh-server
    KURA_SSHD_DIR=$(mktemp -d /tmp/kura-sshd.XXXXXX)
    local port=$((30000 + RANDOM % 9000))
    ssh-keygen -q -t ed25519 -N '' -f "$KURA_SSHD_DIR/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$KURA_SSHD_DIR/client_key"
    cp "$KURA_SSHD_DIR/client_key.pub" "$KURA_SSHD_DIR/authorized_keys"
    chmod 600 "$KURA_SSHD_DIR/authorized_keys"
    cat > "$KURA_SSHD_DIR/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $KURA_SSHD_DIR/host_key
AuthorizedKeysFile $KURA_SSHD_DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PidFile $KURA_SSHD_DIR/sshd.pid
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
CONFIG
    kura_at_exit kura_stop_sshd
    mkdir -p /run/sshd
    if ! /usr/sbin/sshd -f "$KURA_SSHD_DIR/sshd_config" -E "$KURA_SSHD_DIR/log"; then
        cat "$KURA_SSHD_DIR/log" >&2; echo "sshd did not start" >&2; return 1
    fi
    export KURA_TEST_SFTP_PORT=$port KURA_TEST_SFTP_USER=$(id -un) KURA_TEST_SFTP_KEY="$KURA_SSHD_DIR/client_key"
    echo "sshd (sftp) at 127.0.0.1:$port" >&2
}

kura_stop_sshd() {
    [ -n "${KURA_SSHD_DIR:-}" ] || return 0
    if [ -f "$KURA_SSHD_DIR/sshd.pid" ]; then kill "$(cat "$KURA_SSHD_DIR/sshd.pid")" 2>/dev/null || true; fi
    rm -rf "$KURA_SSHD_DIR"
    return 0
}
