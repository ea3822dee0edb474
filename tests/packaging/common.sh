# Shared by the package tests: messages, and the package unpacked once per test into a temporary
# folder. Sourced, not run.
set -euo pipefail

failures=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
pass() { printf 'ok: %s\n' "$*"; }
# check DESCRIPTION COMMAND...: runs the command; a non-zero exit is a failure that names it.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  if [ "$failures" -gt 0 ]; then
    printf '%d check(s) failed\n' "$failures" >&2
    exit 1
  fi
  printf 'all checks passed\n'
}

# The .deb given as $1 must exist; unpacks it into $unpacked (removed on exit).
unpack_package() {
  deb=$1
  [ -f "$deb" ] || { printf 'FAIL: no package at %s (package.build makes it)\n' "$deb" >&2; exit 1; }
  unpacked=$(mktemp -d "${TMPDIR:-/tmp}/skynet-deb.XXXXXX")
  trap 'rm -rf "$unpacked"' EXIT
  dpkg-deb -x "$deb" "$unpacked/root"
  dpkg-deb -e "$deb" "$unpacked/control"
}
