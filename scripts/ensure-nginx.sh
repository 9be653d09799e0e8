#!/bin/sh
# `npm run bench -- gateway` measures the gateway against nginx, what a team would put at the edge
# instead. The bench runs this first, so the README's command is the whole set-up: it installs
# Debian's nginx-light when no nginx is there (BENCH_NGINX names another binary). It never starts
# the system's nginx service: the bench runs its own nginx on a port of its own.
set -eu
NGINX="${BENCH_NGINX:-/usr/sbin/nginx}"
[ -x "$NGINX" ] && exit 0
if [ -n "${BENCH_NGINX:-}" ]; then
  echo "bench: BENCH_NGINX=$NGINX is not an executable" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bench: nginx is missing and cannot be installed here (needs root and apt-get): run 'apt-get install nginx-light' as root, or set BENCH_NGINX to an nginx binary" >&2
  exit 1
fi
echo "bench: installing Debian's nginx-light for the gateway benchmark" >&2
# policy-rc.d answering 101 is how Debian tells a package's scripts not to start its service.
install=$(mktemp -d)
trap 'rm -rf "$install"' EXIT
printf '#!/bin/sh\nexit 101\n' >"$install/policy-rc.d"
chmod +x "$install/policy-rc.d"
run_apt() {
  if [ -e /usr/sbin/policy-rc.d ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1
  else
    cp "$install/policy-rc.d" /usr/sbin/policy-rc.d
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1 || status=$?
    rm -f /usr/sbin/policy-rc.d
    return $status
  fi
}
run_apt || { apt-get update >/dev/null 2>&1 && run_apt; } || {
  echo "bench: 'apt-get install nginx-light' failed: run it by hand to see why" >&2
  exit 1
}
[ -x "$NGINX" ] || { echo "bench: nginx-light installed no $NGINX" >&2; exit 1; }
