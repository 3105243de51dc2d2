#!/bin/sh
# Stands in for the seed's cross builds (rust-musl-cross for the tier-2 targets, -Z build-std for mips):
# writes the daemon and the CLI where `cargo build --release --target T` would, as tiny shell scripts
# that say which build they are. `./build.sh TARGET…` builds those targets only (a CI job per target).
set -eu
[ $# -gt 0 ] || set -- x86_64-unknown-linux-musl i686-unknown-linux-musl aarch64-unknown-linux-musl \
    armv7-unknown-linux-musleabihf mips-unknown-linux-musl mipsel-unknown-linux-musl
for target in "$@"; do
    out="target/$target/release"
    mkdir -p "$out"
    for bin in tunneld tunnelc; do
        printf '#!/bin/sh\necho "%s %s for %s"\n' "$bin" "$(git describe --tags --always 2>/dev/null || echo dev)" "$target" > "$out/$bin"
        chmod 0755 "$out/$bin"
    done
done
