#!/bin/bash
# bench/identity.sh BEFORE_COMMIT PROFILE [DISTRO] (PROFILE: a name or a file): builds PROFILE (iso + qcow2) under SOURCE_DATE_EPOCH
# with ib-native at BEFORE_COMMIT and with this checkout, sharing one cache (so the same rootfs),
# and compares the images' sha256. Issue 12: the refactor must leave them byte-identical.
# Needs root. Env: IB_NATIVE_IDENTITY_CACHE (default /var/cache/ib-native-identity), SOURCE_DATE_EPOCH.
set -euo pipefail
before=${1:?before commit}; profile=${2:?profile}; distro=${3:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${IB_NATIVE_IDENTITY_DIR:-/var/tmp/ib-native-identity}
cache=${IB_NATIVE_IDENTITY_CACHE:-/var/cache/ib-native-identity}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
src="$root/src-$before"
if [ ! -d "$src" ]; then
  git -C "$repo" worktree add --detach "$src" "$before" >/dev/null
  ln -s "$repo/node_modules" "$src/node_modules"
fi
args=(build --profile "$profile" --format iso,qcow2 ${distro:+--distro "$distro"})
tag=$(basename "$profile" .ts)
for side in before after; do
  dir=$([ $side = before ] && echo "$src" || echo "$repo")
  out="$root/out-$side-$tag"
  rm -rf "$out"
  t0=$(date +%s)
  IB_NATIVE_FROM_SOURCE=1 node "$dir/bin/ib-native.mjs" --cache-dir "$cache" "${args[@]}" --output "$out" >/dev/null
  echo "$side: built in $(( $(date +%s) - t0 )) s"
done
status=0
for f in iso qcow2; do
  a=$(cat "$root/out-before-$tag/"*."$f" | sha256sum | cut -c1-64)
  b=$(cat "$root/out-after-$tag/"*."$f" | sha256sum | cut -c1-64)
  if [ "$a" = "$b" ]; then echo "$tag.$f identical ($a)"; else echo "$tag.$f DIFFERS: $a vs $b"; status=1; fi
done
exit $status
