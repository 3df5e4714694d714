#!/bin/sh
# Runs inside the image (chroot). Builds and installs one DKMS module against every kernel
# installed in the image -- never the build host's kernel (`uname -r` in a chroot is the host's).
# usage: dkms-build.sh NAME VERSION
set -eu
name="$1"
version="$2"
src="/usr/src/${name}-${version}"
[ -f "$src/dkms.conf" ] || { echo "dkms-build: $src/dkms.conf is missing" >&2; exit 2; }
dkms status -m "$name" -v "$version" | grep -q . || dkms add -m "$name" -v "$version"
found=0
for dir in /lib/modules/*; do
  kver=$(basename "$dir")
  [ -d "$dir/kernel" ] || continue
  found=1
  if [ ! -e "$dir/build" ]; then
    echo "dkms-build: no headers for kernel $kver (install the matching linux-headers package)" >&2
    exit 3
  fi
  echo "dkms-build: building $name $version for kernel $kver"
  if ! dkms build -m "$name" -v "$version" -k "$kver" || ! dkms install -m "$name" -v "$version" -k "$kver" --force; then
    log="/var/lib/dkms/$name/$version/build/make.log"
    echo "dkms-build: $name $version failed to build for $kver; last lines of $log:" >&2
    [ -f "$log" ] && tail -n 40 "$log" >&2
    exit 1
  fi
  depmod "$kver"
  # dkms writes the build's date on make.log's second line: under SOURCE_DATE_EPOCH (a
  # reproducible build) it says that date instead, so two builds write the same bytes
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    stamp=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH")
    for log in /var/lib/dkms/"$name"/"$version"/"$kver"/*/log/make.log; do
      [ -f "$log" ] || continue
      line=$(sed -n 2p "$log")
      if [ -n "$line" ] && LC_ALL=C date -d "$line" >/dev/null 2>&1; then sed -i "2s/.*/$stamp/" "$log"; fi
    done
  fi
done
[ "$found" = 1 ] || { echo "dkms-build: no kernel installed in the image" >&2; exit 4; }
