#!/bin/sh
# Installs @PROJECT@ from its package repositories, made and signed by wharf.
#
#   curl -fsSL @BASE_URL@/install.sh | sh
#   sh install.sh [--channel NAME] [--version V] [--method M] [--dry-run]
#
# Detects the package manager (apt, dnf, zypper, apk, opkg, pacman), adds the repository with its signing key, and
# installs the packages; without a package manager it downloads the release tarball instead. Every key and
# file it downloads is checked against the SHA-256 written into this script (or the release's SHA256SUMS,
# itself checked); any mismatch stops it before anything is installed.
set -eu

# ---- written by `wharf release`; regenerated with every release ----
@HEADER@
# ---- end of generated values ----

usage() {
    cat <<EOF
Usage: install.sh [OPTIONS]

Installs ${PACKAGES} (${PROJECT}) from ${BASE_URL}.

Options:
  --channel NAME   release channel: ${CHANNELS} (default: ${DEFAULT_CHANNEL})
  --version V      install this version instead of the channel's newest
  --method M       auto (default), apt, dnf, zypper, apk, opkg, pacman or tarball
  --prefix DIR     where the tarball method installs (default: /usr/local)
  --root DIR       install into another root (dnf/zypper --installroot, apk/pacman --root, the tarball's prefix);
                   for apt, point APT_CONFIG at that root's configuration instead
  --dry-run        print what would be done; change nothing
  -h, --help       this text
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}

CHANNEL=$DEFAULT_CHANNEL
WANT_VERSION=
METHOD=auto
PREFIX=/usr/local
ROOT=
DRY_RUN=0
need_value() { [ "$2" -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case $1 in
    --channel) need_value "$1" $# && CHANNEL=$2 && shift 2 ;;
    --channel=*) CHANNEL=${1#*=} && shift ;;
    --version) need_value "$1" $# && WANT_VERSION=$2 && shift 2 ;;
    --version=*) WANT_VERSION=${1#*=} && shift ;;
    --method) need_value "$1" $# && METHOD=$2 && shift 2 ;;
    --method=*) METHOD=${1#*=} && shift ;;
    --prefix) need_value "$1" $# && PREFIX=$2 && shift 2 ;;
    --prefix=*) PREFIX=${1#*=} && shift ;;
    --root) need_value "$1" $# && ROOT=${2%/} && shift 2 ;;
    --root=*) ROOT=${1#*=} && ROOT=${ROOT%/} && shift ;;
    --dry-run) DRY_RUN=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done

case " $CHANNELS " in
*" $CHANNEL "*) ;;
*) die "no channel '$CHANNEL' here; the channels are: $CHANNELS" ;;
esac
# The root channel is published at the top of the repository; the others under <channel>/ (apt: as suites).
if [ "$CHANNEL" = "$ROOT_CHANNEL" ]; then
    TREE=$BASE_URL
    APT_SUITE=$ROOT_SUITE
    POINTER=latest
else
    TREE=$BASE_URL/$CHANNEL
    APT_SUITE=$CHANNEL
    POINTER=latest-$CHANNEL
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

SUDO=
if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else die "run as root (or install sudo)"; fi
fi

# Runs a command that changes the system (printed instead with --dry-run).
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ %s\n' "$*"
    elif [ -n "$SUDO" ]; then
        "$SUDO" "$@"
    else
        "$@"
    fi
}

# Installs a verified file from $TMP at its destination, mode 0644.
place() {
    run mkdir -p "$(dirname "$2")"
    run cp "$1" "$2"
    run chmod 0644 "$2"
}

fetch() {
    case $1 in
    file://*) cp "${1#file://}" "$2" 2>/dev/null || die "cannot read $1" ;;
    *)
        if command -v curl >/dev/null 2>&1; then
            curl -fsSL --proto '=https,http' -o "$2" "$1" || die "cannot download $1"
        elif command -v wget >/dev/null 2>&1; then
            wget -q -O "$2" "$1" || die "cannot download $1"
        else
            die "neither curl nor wget is installed"
        fi
        ;;
    esac
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
    else
        die "no sha256sum, shasum or openssl to verify downloads with"
    fi
}

# verify FILE SHA256 WHAT: stops on any mismatch.
verify() {
    got=$(sha256_of "$1")
    [ "$got" = "$2" ] || die "checksum mismatch for $3: expected $2, got $got; nothing was installed"
}

# fetch_verified URL SHA256 DEST WHAT
fetch_verified() {
    fetch "$1" "$3"
    verify "$3" "$2" "$4"
}

# The pinned SHA-256 of release $1's SHA256SUMS, if this script has one.
pinned_sums() {
    for pin in $SUMS_PINS; do
        if [ "${pin%%=*}" = "$1" ]; then
            printf '%s\n' "${pin#*=}"
            return 0
        fi
    done
    return 1
}

# The packages to install, pinned to --version in the family's syntax ($1: the separator).
package_args() {
    for p in $PACKAGES; do
        if [ -n "$WANT_VERSION" ]; then printf '%s%s%s\n' "$p" "$1" "$WANT_VERSION"; else printf '%s\n' "$p"; fi
    done
}

setup_apt() {
    [ -n "$HAS_APT" ] || die "this project publishes no apt repository; try --method tarball"
    eval "$(apt-config shell APT_ETC Dir::Etc/d APT_PARTS Dir::Etc::sourceparts/d)"
    keyring=${APT_ETC%/}/keyrings/$ORIGIN.gpg
    fetch_verified "$BASE_URL/archive-keyring.gpg" "$OPENPGP_KEYRING_SHA256" "$TMP/key.gpg" "the repository key"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n' \
        "$BASE_URL" "$APT_SUITE" "$APT_COMPONENT" "$keyring" >"$TMP/source"
    place "$TMP/key.gpg" "$keyring"
    place "$TMP/source" "${APT_PARTS%/}/$ORIGIN.sources"
    if [ "$DRY_RUN" = 1 ]; then
        run apt-get update
    else
        # apt exits 0 on some failures (a repository it could not verify): read what it says.
        run apt-get update >"$TMP/update.log" 2>&1 || {
            cat "$TMP/update.log" >&2
            die "apt-get update failed"
        }
        if grep -E "^(W|E|Err):.*$BASE_URL" "$TMP/update.log" >&2; then
            die "apt could not use $BASE_URL (see above)"
        fi
    fi
    # shellcheck disable=SC2046 # one word per package
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y $(package_args '=')
}

# The rpm-md repository for this system: <id>-<version>-<arch>, <id>-<major>-<arch>, linux-<arch>, any <arch>.
pick_rpm_repo() {
    arch=$(uname -m)
    id= && ver=
    for f in "$ROOT/etc/os-release" /etc/os-release; do
        if [ -r "$f" ]; then
            id=$(sed -n 's/^ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f")
            ver=$(sed -n 's/^VERSION_ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f")
            break
        fi
    done
    for want in "$id-$ver-$arch" "$id-${ver%%.*}-$arch" "linux-$arch"; do
        for r in $RPM_REPOS; do [ "$r" = "$want" ] && echo "$r" && return 0; done
    done
    for r in $RPM_REPOS; do
        case $r in *-"$arch") echo "$r" && return 0 ;; esac
    done
    die "no rpm repository here for ${id:-this system} ${ver} $arch; the repositories are: $RPM_REPOS (or try --method tarball)"
}

setup_rpm() {
    [ -n "$RPM_REPOS" ] || die "this project publishes no rpm repository; try --method tarball"
    repo=$(pick_rpm_repo)
    keyfile=$ROOT/etc/pki/rpm-gpg/RPM-GPG-KEY-$ORIGIN
    fetch_verified "$TREE/RPM-GPG-KEY-$ORIGIN" "$RPM_KEY_SHA256" "$TMP/key.asc" "the repository key"
    printf '[%s]\nname=%s (%s)\nbaseurl=%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://%s\n' \
        "$ORIGIN-$CHANNEL" "$PROJECT" "$CHANNEL" "$TREE/$repo" "$keyfile" >"$TMP/repo"
    place "$TMP/key.asc" "$keyfile"
    if [ "$1" = dnf ]; then
        place "$TMP/repo" "$ROOT/etc/yum.repos.d/$ORIGIN-$CHANNEL.repo"
        set -- -y
        if [ -n "$ROOT" ]; then
            set -- "$@" "--installroot=$ROOT" "--setopt=reposdir=$ROOT/etc/yum.repos.d" "--releasever=wharf"
        fi
        # shellcheck disable=SC2046 # one word per package
        run dnf "$@" install $(package_args -)
    else
        place "$TMP/repo" "$ROOT/etc/zypp/repos.d/$ORIGIN-$CHANNEL.repo"
        run rpmkeys --root "${ROOT:-/}" --import "$keyfile"
        # shellcheck disable=SC2046 # one word per package
        run zypper --root "${ROOT:-/}" --non-interactive install $(package_args -)
    fi
}

setup_apk() {
    set --
    [ -z "$ROOT" ] || set -- --root "$ROOT"
    if apk --version 2>/dev/null | grep -q '^apk-tools 3'; then
        [ -n "$APK3_KEY" ] || die "this project publishes no apk v3 repository; try --method tarball"
        arch=$(cat "$ROOT/etc/apk/arch")
        fetch_verified "$TREE/apk3/keys/$APK3_KEY" "$APK3_KEY_SHA256" "$TMP/key" "the repository key"
        place "$TMP/key" "$ROOT/etc/apk/keys/$APK3_KEY"
        line=$TREE/apk3/$arch/packages.adb
        list=$ROOT/etc/apk/repositories.d/$ORIGIN.list
    else
        [ -n "$APK_KEY" ] || die "this project publishes no apk repository; try --method tarball"
        fetch_verified "$TREE/apk/keys/$APK_KEY" "$APK_KEY_SHA256" "$TMP/key" "the repository key"
        place "$TMP/key" "$ROOT/etc/apk/keys/$APK_KEY"
        line=$TREE/apk
        list=$ROOT/etc/apk/repositories
    fi
    if ! grep -qxF "$line" "$list" 2>/dev/null; then
        if [ "$DRY_RUN" = 1 ]; then
            printf '+ echo %s >> %s\n' "$line" "$list"
        else
            run mkdir -p "$(dirname "$list")"
            printf '%s\n' "$line" | run tee -a "$list" >/dev/null
        fi
    fi
    run apk "$@" update
    # shellcheck disable=SC2046 # one word per package
    run apk "$@" add $(package_args '=')
}

setup_opkg() {
    [ -n "$OPKG_KEY" ] || die "this project publishes no opkg feed; try --method tarball"
    arch=$(opkg print-architecture | awk '$2 != "all" && $2 != "noarch" { a = $2 } END { print a }')
    [ -n "$arch" ] || die "opkg names no architecture"
    fetch_verified "$TREE/opkg/keys/$OPKG_KEY" "$OPKG_KEY_SHA256" "$TMP/key" "the feed key"
    place "$TMP/key" "$ROOT/etc/opkg/keys/$OPKG_KEY"
    # usign names keys `%016"PRIx64` (leading zeros kept); releases before that dropped them.
    legacy=$(printf '%s' "$OPKG_KEY" | sed 's/^0*//')
    legacy=${legacy:-0}
    [ "$legacy" = "$OPKG_KEY" ] || place "$TMP/key" "$ROOT/etc/opkg/keys/$legacy"
    line="src/gz $ORIGIN-$CHANNEL $TREE/opkg/$arch"
    conf=$ROOT/etc/opkg/customfeeds.conf
    if ! grep -qxF "$line" "$conf" 2>/dev/null; then
        if [ "$DRY_RUN" = 1 ]; then
            printf '+ echo %s >> %s\n' "$line" "$conf"
        else
            printf '%s\n' "$line" | run tee -a "$conf" >/dev/null
        fi
    fi
    run opkg update
    # opkg takes no version pins; it installs the feed's newest.
    # shellcheck disable=SC2086 # one word per package
    run opkg install $PACKAGES
}

setup_pacman() {
    [ -n "$PACMAN_KEY" ] || die "this project publishes no pacman repository; try --method tarball"
    fetch_verified "$TREE/pacman/keys/$PACMAN_KEY" "$PACMAN_KEY_SHA256" "$TMP/key.asc" "the repository key"
    conf=$ROOT/etc/pacman.conf
    set --
    gpg=
    if [ -n "$ROOT" ]; then
        gpg=$ROOT/etc/pacman.d/gnupg
        set -- --root "$ROOT" --config "$conf" --dbpath "$ROOT/var/lib/pacman" --gpgdir "$gpg" \
            --cachedir "$ROOT/var/cache/pacman/pkg"
    fi
    # The key is trusted for this repository's signatures: added and locally signed, as pacman-key does it.
    run pacman-key ${gpg:+--gpgdir "$gpg"} --add "$TMP/key.asc"
    run pacman-key ${gpg:+--gpgdir "$gpg"} --lsign-key "${PACMAN_KEY%.asc}"
    # pacman fetches <section>.db: the section is the repository's name. `$arch` is pacman's, left as is.
    # shellcheck disable=SC2016
    server='Server = '$TREE'/pacman/$arch'
    if ! grep -qxF "[$ORIGIN]" "$conf" 2>/dev/null; then
        if [ "$DRY_RUN" = 1 ]; then
            printf '+ printf "[%s]\\n%s\\n" >> %s\n' "$ORIGIN" "$server" "$conf"
        else
            printf '\n[%s]\nSigLevel = Required\n%s\n' "$ORIGIN" "$server" | run tee -a "$conf" >/dev/null
        fi
    fi
    # pacman takes no version pins from here; it installs the repository's newest.
    # shellcheck disable=SC2086 # one word per package
    run pacman "$@" -Sy --noconfirm --needed $PACKAGES
}

# Debian's architecture names, as the tarballs are named.
deb_arch() {
    case $(uname -m) in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    armv7* | armv8l) echo armhf ;;
    armv6* | armv5*) echo armel ;;
    i?86) echo i386 ;;
    ppc64le) echo ppc64el ;;
    riscv64) echo riscv64 ;;
    s390x) echo s390x ;;
    loongarch64) echo loong64 ;;
    mips64el) echo mips64el ;;
    mipsel) echo mipsel ;;
    *) die "no release tarball for $(uname -m)" ;;
    esac
}

install_tarball() {
    version=$WANT_VERSION
    if [ -z "$version" ]; then
        fetch "$BASE_URL/releases/$POINTER" "$TMP/pointer"
        version=$(tr -d '[:space:]' <"$TMP/pointer")
    fi
    [ -n "$version" ] || die "the channel $CHANNEL has no release yet"
    fetch "$BASE_URL/releases/$version/SHA256SUMS" "$TMP/SHA256SUMS"
    if pin=$(pinned_sums "$version"); then
        verify "$TMP/SHA256SUMS" "$pin" "releases/$version/SHA256SUMS"
    else
        say "note: release $version is not pinned in this script (only each channel's newest is); its SHA256SUMS is trusted as downloaded"
    fi
    arch=$(deb_arch)
    dest=$ROOT$PREFIX
    for p in $PACKAGES; do
        file= && want=
        for a in "$arch" all; do
            want=$(awk -v f="$p-$version-$a.tar.gz" '$2 == f { print $1 }' "$TMP/SHA256SUMS")
            if [ -n "$want" ]; then
                file=$p-$version-$a.tar.gz
                break
            fi
        done
        [ -n "$file" ] || die "release $version has no $p tarball for $arch"
        fetch_verified "$BASE_URL/releases/$version/$file" "$want" "$TMP/$file" "$file"
        mkdir -p "$TMP/x"
        tar -xzf "$TMP/$file" -C "$TMP/x"
        top=$TMP/x/${file%.tar.gz}
        for d in bin sbin lib libexec share; do
            if [ -d "$top/usr/$d" ]; then
                run mkdir -p "$dest/$d"
                run cp -R "$top/usr/$d/." "$dest/$d/"
            fi
        done
        if [ -d "$top/etc" ]; then
            # Configuration is copied only where none exists yet.
            (cd "$top" && find etc -type f) | while read -r f; do
                if [ ! -e "$ROOT/$f" ]; then
                    run mkdir -p "$(dirname "$ROOT/$f")"
                    run cp "$top/$f" "$ROOT/$f"
                fi
            done
        fi
        say "installed $file into $dest"
    done
}

if [ "$METHOD" = auto ]; then
    if command -v apt-get >/dev/null 2>&1 && [ -n "$HAS_APT" ]; then
        METHOD=apt
    elif command -v dnf >/dev/null 2>&1 && [ -n "$RPM_REPOS" ]; then
        METHOD=dnf
    elif command -v zypper >/dev/null 2>&1 && [ -n "$RPM_REPOS" ]; then
        METHOD=zypper
    elif command -v apk >/dev/null 2>&1 && { [ -n "$APK_KEY" ] || [ -n "$APK3_KEY" ]; }; then
        METHOD=apk
    elif command -v opkg >/dev/null 2>&1 && [ -n "$OPKG_KEY" ]; then
        METHOD=opkg
    elif command -v pacman >/dev/null 2>&1 && [ -n "$PACMAN_KEY" ]; then
        METHOD=pacman
    else
        METHOD=tarball
    fi
fi
say "installing $PACKAGES from the $CHANNEL channel with $METHOD"
case $METHOD in
apt) setup_apt ;;
dnf | zypper) setup_rpm "$METHOD" ;;
apk) setup_apk ;;
opkg) setup_opkg ;;
pacman) setup_pacman ;;
tarball) install_tarball ;;
*) die "unknown method '$METHOD'; use auto, apt, dnf, zypper, apk, opkg, pacman or tarball" ;;
esac
say "done"
