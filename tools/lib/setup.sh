# Sourced by tools/*: installs the Debian packages Kura builds against and builds it (release).
kura_install_packages() {
    local need=()
    for pkg in libsqlite3-dev libpq-dev zlib1g-dev libssl-dev libzstd-dev libcurl4-openssl-dev pkg-config "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

kura_build() {
    swift build -c release --product kura >&2
    KURA="$(swift build -c release --show-bin-path)/kura"
    export KURA
}

# Runs `$1` (a command without arguments) when the script exits, after those registered before:
# each throwaway server registers its stop here, so that one EXIT trap stops them all.
KURA_EXIT_ACTIONS=()
kura_at_exit() {
    KURA_EXIT_ACTIONS+=("$1")
    trap 'for kura_action in "${KURA_EXIT_ACTIONS[@]}"; do $kura_action || true; done' EXIT
}
