#!/usr/bin/env bash
# Installs the host packages ib-native needs on a Debian 12 or Ubuntu host. Run as root; idempotent:
# packages already installed are left alone and apt-get runs only when something is missing.
#
#   native-tools/install.sh [--with-tests] [--npm] [--static] [--print]
#
#   --with-tests  also the packages the test suite needs (squid, apt-utils, dpkg, gnupg)
#   --npm         then run `npm ci` in the repository root (Node.js 20 must already be installed);
#                 it compiles node-pty with python3, make and g++, which are in the package list
#   --static      use the package list in this script even when Node.js can compute it
#   --print       print the package list and exit (no root needed, installs nothing)
#
# The package list comes from native-tools/tools.ts (via list-packages.ts) when node and
# node_modules are present, else from the static lists below, which a unit test keeps in sync.
# The host family comes from /etc/os-release (IB_NATIVE_OS_RELEASE names another file: the unit
# test checks both families on any host).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
me="install.sh"

die() {
  echo "$me: error: $*" >&2
  exit 1
}

# BEGIN static package lists (test/unit/doctor.test.ts checks them against native-tools/tools.ts)
STATIC_DEBIAN=(coreutils debootstrap dosfstools e2fsprogs g++ gdisk grub-common grub-efi-amd64-bin grub-pc-bin
  make mmdebstrap mount mtools ovmf python3 qemu-system-x86 qemu-utils rsync skopeo squashfs-tools squashfs-tools-ng
  tar util-linux xfsprogs xorriso zstd)
STATIC_UBUNTU=(coreutils debootstrap dosfstools e2fsprogs g++ gdisk grub-common grub-efi-amd64-bin grub-pc-bin
  make mmdebstrap mount mtools ovmf python3 qemu-system-x86 qemu-utils rsync skopeo squashfs-tools squashfs-tools-ng
  tar util-linux xfsprogs xorriso zstd)
STATIC_TEST_DEBIAN=(apt-utils docker-registry dpkg gnupg squid)
STATIC_TEST_UBUNTU=(apt-utils docker-registry dpkg gnupg squid)
# END static package lists

with_tests=0 npm=0 static=0 print=0
for arg in "$@"; do
  case "$arg" in
    --with-tests) with_tests=1 ;;
    --npm) npm=1 ;;
    --static) static=1 ;;
    --print) print=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option $arg (try --help)" ;;
  esac
done

# Which family of package names: Ubuntu, or Debian (and derivatives).
family=""
os_release="${IB_NATIVE_OS_RELEASE:-/etc/os-release}"
if [[ -r "$os_release" ]]; then
  # shellcheck disable=SC1090
  os_id="$(. "$os_release" && echo "${ID:-} ${ID_LIKE:-}")"
  case " $os_id " in
    *" ubuntu "*) family=ubuntu ;;
    *" debian "*) family=debian ;;
  esac
fi
[[ -n "$family" ]] || die "this host is neither Debian nor Ubuntu ($os_release says: ${os_id:-nothing}); install the tools listed by \`ib-native doctor\` by hand"

# npm ci runs after the host packages are in: node-gyp needs python3, make and g++ to compile node-pty.
run_npm() {
  ((npm)) || return 0
  command -v npm >/dev/null || die "--npm: npm not found; install Node.js 20 or later first"
  # npm records the installed tree in node_modules/.package-lock.json: skip when it matches the lockfile
  if [[ -f "$repo/node_modules/.package-lock.json" && "$repo/node_modules/.package-lock.json" -nt "$repo/package-lock.json" ]]; then
    echo "$me: node_modules is up to date with package-lock.json"
    return 0
  fi
  # node-gyp takes Node's headers from the local installation when it has them (NodeSource and the
  # official tarballs do) instead of downloading them
  local prefix
  prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  if [[ -z "${npm_config_nodedir:-}" && -f "$prefix/include/node/node.h" ]] &&
    [[ "$(cd "$repo" && npm config get nodedir 2>/dev/null)" =~ ^(|undefined|null)$ ]]; then
    export npm_config_nodedir="$prefix"
  fi
  echo "$me: running npm ci in $repo"
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $repo (see its output above)"
}

packages=()
if ((!static)) && command -v node >/dev/null && [[ -d "$repo/node_modules/tsx" ]]; then
  list_args=(--distro "$family")
  ((with_tests)) && list_args+=(--with-tests)
  if listed="$(cd "$repo" && node --import tsx native-tools/list-packages.ts "${list_args[@]}")"; then
    mapfile -t packages <<<"$listed"
  else
    echo "$me: warning: list-packages.ts failed; using the static package list" >&2
  fi
fi
if ((${#packages[@]} == 0)); then
  if [[ "$family" == ubuntu ]]; then
    packages=("${STATIC_UBUNTU[@]}")
    ((with_tests)) && packages+=("${STATIC_TEST_UBUNTU[@]}")
  else
    packages=("${STATIC_DEBIAN[@]}")
    ((with_tests)) && packages+=("${STATIC_TEST_DEBIAN[@]}")
  fi
fi

if ((print)); then
  printf '%s\n' "${packages[@]}" | sort -u
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "run me as root (e.g. sudo $0 $*)"
command -v apt-get >/dev/null || die "apt-get not found; this installer supports Debian 12 and Ubuntu hosts only"

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == "ii "* ]]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "$me: all ${#packages[@]} packages already installed"
  run_npm
  exit 0
fi

log="$(mktemp /tmp/ib-native-install.XXXXXX.log)"
apt_fail() {
  echo "$me: error: $1 failed; last lines of its output (full log: $log):" >&2
  tail -n 30 "$log" >&2
  if [[ "$family" == ubuntu ]] && grep -q "Unable to locate package" "$log"; then
    echo "$me: hint: some packages live in Ubuntu's universe component: add-apt-repository universe" >&2
  fi
  exit 1
}

echo "$me: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >>"$log" 2>&1 || apt_fail "apt-get update"
apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || apt_fail "apt-get install"

still=()
for p in "${missing[@]}"; do
  installed "$p" || still+=("$p")
done
((${#still[@]} == 0)) || apt_fail "installing ${still[*]}"

rm -f "$log"
echo "$me: installed: ${missing[*]}"
run_npm
