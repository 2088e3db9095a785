#!/usr/bin/env bash
# Builds PgBouncer for the scale-out test into the cache outside the clone ($CACHE_DIR, see
# scripts/env.sh), once per machine; prints the binary's path. Transaction pooling with
# named prepared statements (which sqlx uses) needs PgBouncer 1.21 or newer; Debian 12 ships 1.18,
# so this builds Debian 13's source package (fetched with apt from deb.debian.org; ~10 s to build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
dest=$CACHE_DIR/pgbouncer-trixie
if [ -x "$dest/pgbouncer" ]; then
  echo "$dest/pgbouncer"
  exit 0
fi
exec 3>&1 1>&2 # the build talks on stderr; stdout carries only the path
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get install -y gcc make pkg-config libevent-dev libssl-dev >/dev/null ||
  { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y gcc make pkg-config libevent-dev libssl-dev >/dev/null; }

work=$(mktemp -d /tmp/deploytrack-pgbouncer.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb-src http://deb.debian.org/debian trixie main" >"$work/sources.list"
apt_own_sources=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
apt-get "${apt_own_sources[@]}" update -qq
(cd "$work" && apt-get "${apt_own_sources[@]}" source --download-only pgbouncer 2>/dev/null)
tar -xf "$work"/pgbouncer_*.orig.tar.* -C "$work"
(
  cd "$work"/pgbouncer-*/
  ./configure --without-cares --with-systemd=no >/dev/null
  make -j2 >/dev/null
)
mkdir -p "$dest"
cp "$work"/pgbouncer-*/pgbouncer "$dest/pgbouncer.partial"
mv "$dest/pgbouncer.partial" "$dest/pgbouncer"
"$dest/pgbouncer" --version | head -1
echo "$dest/pgbouncer" >&3
