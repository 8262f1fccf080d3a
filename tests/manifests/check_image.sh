#!/usr/bin/env bash
# check_image.sh IPVS_AGENT REPO_ROOT [CONTAINERFILE]
# What can be checked of the Containerfile without a container engine:
#  - a builder stage and a runtime stage, both Debian bookworm;
#  - the builder installs scripts/setup's build packages and copies every source folder the
#    top-level CMakeLists.txt adds (and .dockerignore lets them into the build context);
#  - the runtime stage installs iptables, no build tools, and the Debian package of every
#    shared library `ldd IPVS_AGENT` lists (mapped with dpkg -S on this Debian host);
#  - it copies the binary, and every /usr/local/bin path the DaemonSet runs.
set -euo pipefail
agent=$1
root=$2
cf=${3:-$root/Containerfile}
failures=0
fail() {
  echo "FAIL: $cf: $*"
  failures=$((failures + 1))
}

# Instructions one per line: comment lines dropped, backslash continuations joined.
instructions=$(awk '
  /^[[:space:]]*#/ { next }
  { if (sub(/\\[[:space:]]*$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }
' "$cf")

# stage_of N: the instructions of stage N (1-based).
stage_of() {
  awk -v n="$1" 'toupper($1) == "FROM" { s++ } s == n' <<<"$instructions"
}
stages=$(grep -ciE '^[[:space:]]*FROM[[:space:]]' <<<"$instructions" || true)
if [ "$stages" -lt 2 ]; then
  fail "needs a builder stage and a runtime stage, found $stages stage(s)"
  exit 1
fi
builder=$(stage_of 1)
runtime=$(stage_of "$stages")
grep -qiE '^FROM[[:space:]]+[^[:space:]]*debian:bookworm[^[:space:]]*[[:space:]]+AS[[:space:]]+builder' <<<"$builder" ||
  fail "the first stage must be FROM debian:bookworm... AS builder"
grep -qiE '^FROM[[:space:]]+[^[:space:]]*debian:bookworm(-slim)?[[:space:]]' <<<"$runtime" ||
  fail "the runtime stage must be FROM debian:bookworm or bookworm-slim"

# Packages named by `apt-get install` in one stage, one per line.
packages_of() {
  grep -oE 'apt-get install[^&;]*' <<<"$1" | sed 's/apt-get install//' | tr ' ' '\n' |
    grep -vE '^(-.*)?$' | sort -u
}
builder_pkgs=$(packages_of "$builder")
runtime_pkgs=$(packages_of "$runtime")

# scripts/setup's build group: the words between "# build" and the next comment line.
setup_build=$(sed -n '/^[[:space:]]*# build$/,/^[[:space:]]*# [a-z]/p' "$root/scripts/setup" |
  grep -v '^[[:space:]]*#' | tr -s ' ' '\n' | grep -v '^$' | sort -u)
[ -n "$setup_build" ] || fail "cannot find the '# build' package group in scripts/setup"
for p in $setup_build; do
  [ "$p" = clang-format ] && continue  # formatting only
  grep -qx -- "$p" <<<"$builder_pkgs" || fail "the builder does not install $p (scripts/setup's build group)"
done

grep -qx iptables <<<"$runtime_pkgs" || fail "the runtime stage does not install iptables"
for p in $runtime_pkgs; do
  case "$p" in
    *-dev | build-essential | cmake | ninja-build | g++* | gcc* | clang* | pkg-config)
      fail "the runtime stage installs build package $p" ;;
  esac
done

# Every shared library of the binary comes from a package the runtime stage installs.
command -v dpkg >/dev/null || { fail "dpkg is needed to map libraries to packages"; exit 1; }
owner() {
  local f alt1=$1 alt2=$1
  case "$1" in
    /lib/*) alt1=/usr$1 ;;
    /usr/lib/*) alt2=${1#/usr} ;;
  esac
  for f in "$1" "$(readlink -f "$1")" "$alt1" "$alt2"; do
    if dpkg -S "$f" >/dev/null 2>&1; then
      dpkg -S "$f" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1
      return 0
    fi
  done
  return 1
}
libs=$(ldd "$agent" | awk '/=>/ { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }' | sort -u)
[ -n "$libs" ] || fail "ldd lists no library for $agent"
for lib in $libs; do
  pkg=$(owner "$lib") || { fail "no Debian package owns $lib"; continue; }
  if grep -qx -- "$pkg" <<<"$runtime_pkgs"; then
    echo "ok: $(basename "$lib") <- $pkg"
  else
    fail "$pkg (for $(basename "$lib"), from ldd $agent) is not installed by the runtime stage"
  fi
done

# Sources: every add_subdirectory of the top-level CMakeLists.txt but tests.
for dir in $(sed -n 's/^add_subdirectory(\([A-Za-z0-9_]*\))/\1/p' "$root/CMakeLists.txt"); do
  [ "$dir" = tests ] && continue
  grep -qE "^COPY[[:space:]]+$dir[[:space:]/]" <<<"$builder" || fail "the builder does not COPY $dir/"
  if [ -z "${3:-}" ]; then
    grep -qx "!$dir/" "$root/.dockerignore" || fail ".dockerignore keeps $dir/ out of the build context"
  fi
done

# The binary and every program the DaemonSet runs are where the image puts them.
destinations=$(awk 'toupper($1) == "COPY" { print $NF }' <<<"$runtime")
grep -qx /usr/local/bin/ipvs-agent <<<"$destinations" ||
  fail "the runtime stage does not COPY the binary to /usr/local/bin/ipvs-agent"
grep -qE '^COPY[[:space:]]+--from=builder' <<<"$runtime" || fail "the runtime stage copies nothing from the builder"
for prog in $(grep -oE '/usr/local/bin/[A-Za-z0-9_.-]+' "$root/manifests/base/daemonset.yaml" | sort -u); do
  grep -qx -- "$prog" <<<"$destinations" || fail "the DaemonSet runs $prog, which the image does not contain"
done

if [ "$failures" -gt 0 ]; then
  echo "FAILED: check_image ($failures problem(s))"
  exit 1
fi
echo "PASS: check_image: $stages stages; the runtime stage has every library ldd lists"
