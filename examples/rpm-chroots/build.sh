#!/bin/sh
# Stands in for `mock -r CHROOT --rebuild my-package.src.rpm`: rpmbuild makes the package for the chroot's
# distribution tag and architecture, unsigned, into out/CHROOT/ (as mock's result directory holds it).
set -eu
chroot=${1:?usage: ./build.sh CHROOT VERSION}
version=${2:?usage: ./build.sh CHROOT VERSION}
case $chroot in
    fedora-43-*) dist=.fc43 ;;
    almalinux-10-*) dist=.el10_alma ;;
    centos-stream-10-*) dist=.el10 ;;
    *) echo "unknown chroot $chroot" >&2; exit 1 ;;
esac
arch=${chroot##*-}
case $arch in x86_64_v2) arch=x86_64 ;; esac
top=$(pwd)/out/.rpmbuild
out=$(pwd)/out/$chroot
rm -rf "$out"
mkdir -p "$out"
rpmbuild -bb my-package.spec --quiet \
    --define "_topdir $top" --define "_rpmdir $out" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "dist $dist" --define "pkg_version $version" --define "chroot $chroot" \
    --define "_buildhost build.invalid" --define "use_source_date_epoch_as_buildtime 1" \
    --target "$arch"
