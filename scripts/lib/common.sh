# Shared by scripts/test and scripts/demo: Debian packages, the unprivileged user, the build.
# Sourced, not run.

SKYNET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# What building, testing and the demo need, all from Debian 12's archive (the last line: the
# Debian package's build, dpkg-shlibdeps and file, and its checks, lintian (with man) and visudo).
SKYNET_PACKAGES=(
  cmake g++ make pkg-config
  libpoco-dev libyaml-cpp-dev libmariadb-dev libhowardhinnant-date-dev googletest libgtest-dev
  mariadb-server mariadb-client
  php-cli php-mysql phpunit
  supervisor procps util-linux tzdata
  libjs-bootstrap5 chromium chromium-driver python3-selenium
  prometheus curl
  dpkg-dev file lintian sudo
  faketime
)

# The daemon refuses to run as root, so tests and the demo run as this user when started as root.
SKYNET_TEST_USER=skynet-test

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=() package
  for package in "${SKYNET_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)"
  say "installing ${missing[*]}"
  apt-get update -qq
  # A package's own service start may be refused in containers; the scripts start their own servers.
  # Other installs on this machine may hold dpkg's lock for a while: wait for it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_test_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$SKYNET_TEST_USER" >/dev/null 2>&1 && return 0
  say "creating the unprivileged user $SKYNET_TEST_USER"
  useradd --system --create-home --home-dir "/var/lib/$SKYNET_TEST_USER" --shell /bin/bash "$SKYNET_TEST_USER"
}

# Runs a command as the unprivileged user when we are root, else as ourselves.
as_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$SKYNET_TEST_USER" -- env HOME="/var/lib/$SKYNET_TEST_USER" "$@"
  else
    "$@"
  fi
}

# The tree the unprivileged user builds and runs: this checkout when that user can read it,
# else a copy (a checkout under /root is not readable by others).
prepare_tree() {
  SKYNET_TREE=$SKYNET_ROOT
  if [ "$(id -u)" = 0 ] && ! runuser -u "$SKYNET_TEST_USER" -- test -r "$SKYNET_ROOT/CMakeLists.txt"; then
    SKYNET_TREE=$(mktemp -d /tmp/skynet-tree.XXXXXX)
    say "copying the checkout to $SKYNET_TREE (not readable by $SKYNET_TEST_USER where it is)"
    tar -C "$SKYNET_ROOT" --exclude=./build -cf - . | tar -C "$SKYNET_TREE" -xf -
    chown -R "$SKYNET_TEST_USER" "$SKYNET_TREE"
    chmod 755 "$SKYNET_TREE"
  fi
  SKYNET_BUILD=$SKYNET_TREE/build
  mkdir -p "$SKYNET_BUILD"
  [ "$(id -u)" = 0 ] && chown -R "$SKYNET_TEST_USER" "$SKYNET_BUILD"
  return 0
}

build() {
  say "building in $SKYNET_BUILD"
  as_user cmake -S "$SKYNET_TREE" -B "$SKYNET_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  as_user cmake --build "$SKYNET_BUILD" -j"$(nproc)"
}
