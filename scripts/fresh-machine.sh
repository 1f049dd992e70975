#!/usr/bin/env bash
# Checks the README's promise that its commands work on a fresh Debian 12 machine, in a
# minimal Debian 12 root (debootstrap --variant=minbase) made anew for every run:
#
#   run   ./scripts/run.sh reaches "listening"; SIGTERM; otlpd must exit 0
#   deb   cpack builds the .deb (in the same root, after run.sh's build); a second fresh root
#         installs it with apt (its Depends come from Debian), runs /usr/bin/otlpd with the
#         packaged config until "listening", SIGTERM, exit 0; systemd-analyze verify on the
#         unit; apt-get purge
#   test  ./scripts/test.sh passes (its output streams through: it ends with ctest's summary)
#
# Usage: scripts/fresh-machine.sh [--only run|deb|test[,...]] [--rebuild-root] [--keep]
#                                 [--summary-to FILE] [--deb-file otlpd_X_amd64.deb]
#                                 [--rev COMMIT]
# --deb-file: the deb phase installs this package instead of building one.
# --rev: check this commit (or tree) instead of HEAD.
# Phases run in the order run, deb, test, so that ctest's summary is the last thing printed;
# the phase durations are printed before the test phase starts, and all of them (with the
# total) at the end, or into FILE with --summary-to (then nothing follows ctest's summary).
#
# The repository goes in AS COMMITTED (git archive HEAD, not the working tree) at /src/main,
# ../shared at /src/shared. Every package is installed by the project's own scripts inside the
# root; only downloads are cached between runs (.debs, pip and npm caches), and the pristine
# root is kept as a tarball, all under $OTLPD_FRESH_DIR (default /var/tmp/otlpd-fresh).
# Needs root, debootstrap, unshare and ip (util-linux, iproute2); about 15 GB of disk.
# Environment: OTLPD_FRESH_DIR (caches and roots), OTLPD_FRESH_BUILD_TIMEOUT (s until run.sh
# listens, 1800), OTLPD_FRESH_TEST_TIMEOUT (s for test.sh, 4800), OTLPD_FRESH_HOSTS_FILE
# (the roots' /etc/hosts instead of Debian's usual one), OTLPD_FRESH_REPO (the repository).
#
# Isolation: the script re-executes itself in its own mount and PID namespaces, so every mount
# and every process it started (otlpd, chromium, ...) is gone when it exits, however it exits;
# it also unmounts explicitly (trap) before deleting a root. Installing needs the network, so
# installs and test.sh use the machine's network namespace (the tests bind port 0). otlpd
# itself, whose default config binds fixed ports (localhost:4317, :8888 self-metrics), runs in
# a network namespace of its own with only loopback, so it can't collide with anything else
# on the machine: run.sh is started there after `scripts/install-deps.sh` (the first thing
# run.sh does anyway) has installed the packages, so the only step that sees the network is
# the one that needs it, and the build must work offline.
set -euo pipefail

REPO=${OTLPD_FRESH_REPO:-$(cd "$(dirname "$0")/.." && pwd)}   # the repository to check
SHARED=$(cd "$REPO/.." && pwd)/shared
BASE=${OTLPD_FRESH_DIR:-/var/tmp/otlpd-fresh}
TARBALL=$BASE/bookworm-minbase.tar
CACHE=$BASE/cache
SUITE=bookworm
BUILD_TIMEOUT=${OTLPD_FRESH_BUILD_TIMEOUT:-1800}   # s until run.sh must be listening
TEST_TIMEOUT=${OTLPD_FRESH_TEST_TIMEOUT:-4800}     # s for test.sh

PHASES="run,deb,test"
REBUILD_ROOT=0
KEEP=0
SUMMARY_TO=""
DEB_FILE=""
REV=HEAD
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }
while (($#)); do
  case $1 in
    --only) PHASES=${2:?--only needs run, deb or test}; shift ;;
    --only=*) PHASES=${1#--only=} ;;
    --rebuild-root) REBUILD_ROOT=1 ;;
    --keep) KEEP=1 ;;
    --summary-to) SUMMARY_TO=${2:?}; shift ;;
    --deb-file) DEB_FILE=$(realpath "${2:?}"); shift ;;
    --rev) REV=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fresh-machine: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$PHASES," == *",$1,"* ]]; }
for p in ${PHASES//,/ }; do
  case $p in run|deb|test) ;; *) echo "fresh-machine: unknown phase $p (run, deb, test)" >&2; exit 2 ;; esac
done

say() { echo "fresh-machine: $*"; }
die() { echo "fresh-machine: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mounts)"
for tool in debootstrap unshare ip chroot git tar; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap util-linux iproute2 git tar)"
done

# Own mount and PID namespaces: mounts made here are invisible to the machine and vanish with
# the namespace; all processes started in it are killed when the script ends.
if [ -z "${OTLPD_FRESH_NS:-}" ]; then
  mkdir -p "$BASE"
  exec 9>"$BASE/lock"
  if ! flock -n 9; then
    say "another run holds $BASE/lock; waiting"
    flock 9
  fi
  OTLPD_FRESH_NS=1 exec unshare --mount --pid --fork --kill-child=TERM --propagation private --mount-proc \
    "$0" --only "$PHASES" $( ((REBUILD_ROOT)) && echo --rebuild-root) $( ((KEEP)) && echo --keep) \
    ${SUMMARY_TO:+--summary-to "$SUMMARY_TO"} ${DEB_FILE:+--deb-file "$DEB_FILE"} --rev "$REV"
fi

T_START=$(date +%s)
TIMINGS=()
timing() { TIMINGS+=("$(printf '%-34s %6d s  (%d min %02d s)' "$1" "$2" $(($2 / 60)) $(($2 % 60)))"); }
print_timings() {
  echo "fresh-machine: durations"
  ((${#TIMINGS[@]} == 0)) || printf '  %s\n' "${TIMINGS[@]}"
  if [ -n "${1:-}" ]; then
    local total=$(($(date +%s) - T_START))
    printf '  %-34s %6d s  (%d min %02d s)\n' "total" "$total" $((total / 60)) $((total % 60))
  fi
}

# ---- the pristine root, cached as a tarball ------------------------------------------------
# The same Debian mirror as this machine's apt (deb.debian.org unless configured otherwise).
host_mirror() {
  local uri
  uri=$(grep -h -E '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -h -E '^\s*deb\s' /etc/apt/sources.list 2>/dev/null |
        awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
make_root_tarball() {
  local mirror tmp
  mirror=$(host_mirror)
  tmp=$BASE/root.tmp
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp" "$CACHE/debootstrap"
  say "debootstrap --variant=minbase $SUITE from $mirror"
  debootstrap --variant=minbase --cache-dir="$CACHE/debootstrap" "$SUITE" "$tmp" "$mirror" \
    > "$BASE/debootstrap.log" 2>&1 || { tail -30 "$BASE/debootstrap.log" >&2; die "debootstrap (log: $BASE/debootstrap.log)"; }
  # The sources a Debian 12 installation has: the release, its updates and security.
  local security=${mirror%/debian*}/debian-security
  [ "$mirror" = "http://deb.debian.org/debian" ] || security=http://deb.debian.org/debian-security
  rm -f "$tmp/etc/apt/sources.list"
  cat > "$tmp/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # An installed machine has these; debootstrap leaves them to the installer. Debian's
  # installer (and cloud images, and containers) name both 127.0.0.1 and ::1 localhost.
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$tmp/etc/hosts"
  echo fresh > "$tmp/etc/hostname"
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true
  tar -C "$tmp" --numeric-owner -cpf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf --one-file-system "$tmp"
}

if ((REBUILD_ROOT)) || [ ! -s "$TARBALL" ]; then
  t=$(date +%s)
  make_root_tarball
  timing "fresh root (debootstrap + tarball)" $(($(date +%s) - t))
  say "pristine root cached in $TARBALL"
fi

# ---- one fresh root per use -----------------------------------------------------------------
RUNDIR=$(mktemp -d "$BASE/run-$(date +%Y%m%d-%H%M%S)-XXXX")
MOUNTS=()
cleanup() {
  local rc=$? m i p
  trap - EXIT INT TERM
  ((rc == 0)) || print_timings total >&2
  disown -a 2>/dev/null || true   # no "Killed" notices for the background jobs ended below
  # Everything the run started (otlpd, chromium, ...) lives in this PID namespace, whose
  # init this script is: end it all before unmounting.
  if (($$ == 1)); then
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      ((p != 1 && p != BASHPID)) && kill -KILL "$p" 2>/dev/null || true
    done
    sleep 0.5
  fi
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${MOUNTS[i]}
    mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m" || true; }
  done
  if ((KEEP)); then
    say "kept the roots in $RUNDIR"
  elif [ -d "$RUNDIR" ]; then
    if grep -q " $RUNDIR" /proc/self/mounts; then
      say "not deleting $RUNDIR: still mounted:" >&2; grep " $RUNDIR" /proc/self/mounts >&2
    else
      rm -rf --one-file-system "$RUNDIR"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

domount() {  # mount arguments...; the last one is the mount point
  mount "$@"
  MOUNTS+=("${!#}")
}
# Machines here reach the registries through a TLS proxy with its own CA (in the machine's
# /usr/local/share/ca-certificates): a machine here trusts it, so the root does too.
EXTRA_CA=()
for f in /usr/local/share/ca-certificates/*.crt; do [ -f "$f" ] && EXTRA_CA+=("$f"); done

new_root() {  # $1: name; sets ROOT
  ROOT=$RUNDIR/$1
  mkdir -p "$ROOT"
  tar -C "$ROOT" --numeric-owner -xpf "$TARBALL"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # OTLPD_FRESH_HOSTS_FILE: another /etc/hosts for the root (e.g. this machine's, to compare).
  [ -z "${OTLPD_FRESH_HOSTS_FILE:-}" ] || cp "$OTLPD_FRESH_HOSTS_FILE" "$ROOT/etc/hosts"
  # A throwaway root needs no fsync after every unpacked file (debootstrap does the same).
  echo force-unsafe-io > "$ROOT/etc/dpkg/dpkg.cfg.d/otlpd-fresh-unsafe-io"
  if ((${#EXTRA_CA[@]})); then
    mkdir -p "$ROOT/usr/local/share/ca-certificates" "$ROOT/etc/ssl"
    cp "${EXTRA_CA[@]}" "$ROOT/usr/local/share/ca-certificates/"
    # pip brings its own CA list and npm uses Node's: both get this machine's whole bundle.
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
      cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/machine-ca-bundle.pem"
    else
      cat "${EXTRA_CA[@]}" > "$ROOT/etc/ssl/machine-ca-bundle.pem"
    fi
  fi
  domount -t proc proc "$ROOT/proc"
  domount --bind /sys "$ROOT/sys"
  domount --bind /dev "$ROOT/dev"
  domount --bind /dev/pts "$ROOT/dev/pts"
  domount -t tmpfs -o mode=1777,nosuid,nodev,size=2g tmpfs "$ROOT/dev/shm"
  # Download caches only: what is installed still comes from the project's scripts.
  mkdir -p "$CACHE/apt" "$CACHE/pip" "$CACHE/npm" "$ROOT/root/.cache/pip" "$ROOT/root/.npm"
  domount --bind "$CACHE/apt" "$ROOT/var/cache/apt/archives"
  domount --bind "$CACHE/pip" "$ROOT/root/.cache/pip"
  domount --bind "$CACHE/npm" "$ROOT/root/.npm"
}
# The command line that runs a shell command in a root as root, with a login-like environment
# (not this shell's), in /src/main when it exists: sets RCMD.
root_cmd() {  # $1: root, $2: shell command
  local env=(HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}"
             PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  [ -n "${CI:-}" ] && env+=(CI="$CI")
  env+=("${ROOT_ENV[@]}")
  [ -f "$1/etc/ssl/machine-ca-bundle.pem" ] &&
    env+=(NODE_EXTRA_CA_CERTS=/etc/ssl/machine-ca-bundle.pem PIP_CERT=/etc/ssl/machine-ca-bundle.pem)
  RCMD=(chroot "$1" /usr/bin/env -i "${env[@]}" /bin/bash -c "cd /src/main 2>/dev/null || cd /; $2")
}
ROOT_ENV=()   # extra variables for root_cmd
in_root() { root_cmd "$@"; "${RCMD[@]}"; }
copy_sources() {  # $1: root
  mkdir -p "$1/src/main" "$1/src/shared"
  git -C "$REPO" archive --format=tar "$REV" | tar -C "$1/src/main" -xf -
  [ -d "$SHARED" ] && cp -a "$SHARED/." "$1/src/shared/"
  if git -C "$REPO" rev-parse -q --verify "$REV^{commit}" >/dev/null 2>&1; then
    say "sources: $(git -C "$REPO" log -1 --format='%h %s' "$REV" | cut -c1-100)"
  else
    say "sources: tree $REV"
  fi
}
# Starts "$2" in root $1 in a network namespace of its own (loopback only), waits for
# "listening" on its output, runs the function $5 (if given) with otlpd's PID, sends SIGTERM
# and requires exit code 0. $3: seconds to wait; $4: name (log file $RUNDIR/$4.log).
run_until_listening() {
  local root=$1 cmd=$2 limit=$3 log=$RUNDIR/$4.log hook=${5:-} pid t0 rc
  : > "$log"
  # The PID of unshare becomes bash, then (exec) run.sh, then (exec) otlpd.
  root_cmd "$root" "exec $cmd"
  unshare --net /bin/sh -c 'ip link set lo up && exec "$@"' sh "${RCMD[@]}" > "$log" 2>&1 &
  pid=$!
  tail -n +1 -f "$log" --pid=$pid &
  local tailpid=$!
  t0=$(date +%s)
  # otlpd's log line: "<time>\tinfo\treceiver otlp\tOTLP/gRPC receiver listening on ..."
  until grep -q -E $'\tinfo\t.*listening' "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && rc=0 || rc=$?
      kill "$tailpid" 2>/dev/null || true
      die "$4: exited ($rc) before logging \"listening\" (log: $log)"
    fi
    if (($(date +%s) - t0 > limit)); then
      kill "$tailpid" 2>/dev/null || true
      die "$4: no \"listening\" within $limit s (log: $log)"
    fi
    sleep 1
  done
  sleep 1
  local comm; comm=$(cat /proc/$pid/comm 2>/dev/null || true)
  [ "$comm" = otlpd ] || { kill "$tailpid" 2>/dev/null || true; die "$4: the listening process is '$comm', not otlpd"; }
  say "$4: otlpd is listening after $(($(date +%s) - t0)) s"
  if [ -n "$hook" ] && ! "$hook" "$pid"; then
    kill -KILL "$pid"; kill "$tailpid" 2>/dev/null || true
    die "$4: $hook failed (log: $log)"
  fi
  say "$4: sending SIGTERM"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null && ((waited < 60)); do sleep 1; ((waited += 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"; kill "$tailpid" 2>/dev/null || true
    die "$4: otlpd still running 60 s after SIGTERM"
  fi
  wait "$pid" && rc=0 || rc=$?
  sleep 0.5; kill "$tailpid" 2>/dev/null || true; wait "$tailpid" 2>/dev/null || true
  ((rc == 0)) || die "$4: otlpd exited with $rc after SIGTERM (want 0; log: $log)"
  say "$4: otlpd exited 0 after SIGTERM"
}

# An HTTP GET to localhost inside otlpd's network namespace and root (so "localhost" is what
# the root's /etc/hosts says, as for a user's curl there), with bash's /dev/tcp: no curl needed.
http_get_in_ns() {  # $1: PID, $2: port, $3: path; prints the response
  timeout 10 nsenter -t "$1" -n chroot "$DEB_ROOT" /bin/bash -c 'exec 3<>/dev/tcp/localhost/$0 &&
    printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3 && cat <&3' "$2" "$3" 2>/dev/null
}
wait_for_line() {  # $1: file, $2: extended regex, $3: count, $4: seconds
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    (($(grep -c -E "$2" "$1" 2>/dev/null || true) >= $3)) && return 0
    sleep 0.1
  done
  return 1
}
# While the packaged otlpd runs: the notify protocol, and what the packaged config serves.
deb_checks() {  # $1: otlpd's PID
  local pid=$1 answer
  if ((NOTIFY)); then
    wait_for_line "$RUNDIR/deb-notify.log" "READY=1" 1 10 || { say "deb: no READY=1 on the notify socket" >&2; return 1; }
    kill -HUP "$pid"
    wait_for_line "$RUNDIR/deb-notify.log" "RELOADING=1" 1 30 || { say "deb: no RELOADING=1 after SIGHUP" >&2; return 1; }
    wait_for_line "$RUNDIR/deb-notify.log" "READY=1" 2 60 || { say "deb: no READY=1 after the SIGHUP reload" >&2; return 1; }
    say "deb: Type=notify: READY=1, and RELOADING=1 / READY=1 around SIGHUP"
  fi
  if grep -q -E '^\s*health_check:' "$DEB_ROOT/etc/otlpd/config.yaml"; then
    for _ in 1 2 3 4 5; do
      answer=$(http_get_in_ns "$pid" 13133 / | head -1 | tr -d '\r') || true
      [[ $answer == *" 200"* ]] && break; sleep 1
    done
    [[ $answer == *" 200"* ]] || { say "deb: health_check on localhost:13133 answered '$answer'" >&2; return 1; }
    say "deb: health_check: $answer"
  fi
  if grep -q -E '^\s*port: 8888' "$DEB_ROOT/etc/otlpd/config.yaml"; then
    for _ in 1 2 3 4 5; do
      answer=$(http_get_in_ns "$pid" 8888 /metrics | head -1 | tr -d '\r') || true
      [[ $answer == *" 200"* ]] && break; sleep 1
    done
    [[ $answer == *" 200"* ]] || { say "deb: localhost:8888/metrics answered '$answer'" >&2; return 1; }
    say "deb: self-metrics on :8888/metrics: $answer"
  fi
}

BUILD_ROOT=""
build_root() {  # the root where run.sh / test.sh / cpack run
  if [ -z "$BUILD_ROOT" ]; then
    new_root build
    BUILD_ROOT=$ROOT
    copy_sources "$BUILD_ROOT"
  fi
}

# ---- run: ./scripts/run.sh ---------------------------------------------------------------------
if want run; then
  t=$(date +%s)
  say "=== run: ./scripts/run.sh in a fresh Debian 12 root ==="
  build_root
  # run.sh's first step, with the network; then run.sh itself in a loopback-only namespace.
  in_root "$BUILD_ROOT" ./scripts/install-deps.sh || die "run: scripts/install-deps.sh"
  timing "run: install-deps (apt)" $(($(date +%s) - t))
  run_until_listening "$BUILD_ROOT" ./scripts/run.sh "$BUILD_TIMEOUT" run
  timing "run: total (install, build, run)" $(($(date +%s) - t))
fi

# ---- deb: cpack, then apt-get install ./otlpd_*.deb in another fresh root -----------------------
if want deb; then
  t=$(date +%s)
  say "=== deb: the Debian package ==="
  if [ -n "$DEB_FILE" ]; then
    debs=("$DEB_FILE")
  else
    build_root
    in_root "$BUILD_ROOT" './scripts/install-deps.sh &&
      cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=OFF >/dev/null &&
      ninja -C build-release otlpd && cd build-release && cpack -G DEB' || die "deb: cpack"
    debs=("$BUILD_ROOT"/src/main/build-release/otlpd_*.deb)
    [ -f "${debs[0]}" ] || die "deb: cpack made no otlpd_*.deb"
    mkdir -p "$BASE/out"
    cp "${debs[0]}" "$BASE/out/"
    say "deb: $(basename "${debs[0]}") ($(du -h "${debs[0]}" | cut -f1)), copied to $BASE/out/"
    timing "deb: cpack" $(($(date +%s) - t))
  fi
  DEB=$(basename "${debs[0]}")
  t2=$(date +%s)
  new_root deb
  DEB_ROOT=$ROOT
  cp "${debs[0]}" "$DEB_ROOT/root/"
  say "deb: apt-get install ./$DEB in another fresh root"
  in_root "$DEB_ROOT" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./root/$DEB" \
    > "$RUNDIR/deb-apt.log" 2>&1 || { tail -30 "$RUNDIR/deb-apt.log" >&2; die "deb: apt-get install ./$DEB"; }
  in_root "$DEB_ROOT" "dpkg -s otlpd | sed -n '/^Depends/p'; ls -l /usr/bin/otlpd /etc/otlpd/config.yaml /lib/systemd/system/otlpd.service" \
    || die "deb: the package's files"
  # postinst enables the unit with deb-systemd-helper, which works without systemd running.
  if [ -x "$DEB_ROOT/usr/bin/deb-systemd-helper" ]; then
    [ -L "$DEB_ROOT/etc/systemd/system/multi-user.target.wants/otlpd.service" ] ||
      die "deb: postinst did not enable otlpd.service"
    say "deb: postinst enabled otlpd.service (multi-user.target.wants)"
  fi
  # What systemd would see of Type=notify: a notify socket (read from here, in the root's
  # /run), READY=1 once listening, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1.
  NOTIFY=0
  # (otlpd speaks the protocol itself: it reads NOTIFY_SOCKET, the string is in the binary.)
  if grep -q NOTIFY_SOCKET "$DEB_ROOT/usr/bin/otlpd"; then
    if command -v python3 >/dev/null; then
      NOTIFY=1
      python3 -u -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while True: print(s.recv(4096).decode(errors="replace").replace("\n", " "), flush=True)' \
        "$DEB_ROOT/run/notify.sock" > "$RUNDIR/deb-notify.log" 2>&1 &
      sleep 0.5
      ROOT_ENV=(NOTIFY_SOCKET=/run/notify.sock)
    else
      say "deb: no python3 on this machine: the sd_notify protocol is not checked"
    fi
  else
    say "deb: this otlpd does not call sd_notify (yet): Type=notify not checked"
  fi
  run_until_listening "$DEB_ROOT" "/usr/bin/otlpd --config /etc/otlpd/config.yaml" 120 deb deb_checks
  ROOT_ENV=()
  if ((NOTIFY)); then
    sleep 0.5
    grep -q "STOPPING=1" "$RUNDIR/deb-notify.log" || die "deb: no STOPPING=1 on SIGTERM ($RUNDIR/deb-notify.log)"
    say "deb: sd_notify: $(tr '\n' '|' < "$RUNDIR/deb-notify.log")"
  fi
  # systemd-analyze verify needs systemd (about 10 MB): installed in this throwaway root only.
  if in_root "$DEB_ROOT" "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null"; then
    # It exits 0 on some findings (unknown settings): any line about the unit fails too.
    verify=$(in_root "$DEB_ROOT" "systemd-analyze verify /lib/systemd/system/otlpd.service" 2>&1) \
      && ! grep -q "otlpd.service" <<<"$verify" \
      || { echo "$verify" >&2; die "deb: systemd-analyze verify otlpd.service"; }
    [ -z "$verify" ] || echo "$verify"
    say "deb: systemd-analyze verify otlpd.service: ok"
  else
    say "deb: systemd not installable here; skipped systemd-analyze verify"
  fi
  in_root "$DEB_ROOT" "DEBIAN_FRONTEND=noninteractive apt-get purge -y otlpd && ! test -e /etc/otlpd/config.yaml &&
      ! test -e /etc/systemd/system/multi-user.target.wants/otlpd.service" > "$RUNDIR/deb-apt.log" 2>&1 \
    || { tail -30 "$RUNDIR/deb-apt.log" >&2; die "deb: apt-get purge otlpd (or it left files)"; }
  say "deb: apt-get purge otlpd: ok, no config or enablement left"
  timing "deb: install, run, verify, purge" $(($(date +%s) - t2))
  timing "deb: total" $(($(date +%s) - t))
fi

# ---- test: ./scripts/test.sh (last: its closing lines are ctest's summary) ---------------------
if want test; then
  say "=== test: ./scripts/test.sh in a fresh Debian 12 root ==="
  if ((${#TIMINGS[@]})); then print_timings; fi
  t=$(date +%s)
  build_root
  rc=0
  root_cmd "$BUILD_ROOT" ./scripts/test.sh
  timeout --kill-after=30 "$TEST_TIMEOUT" "${RCMD[@]}" || rc=$?
  timing "test: ./scripts/test.sh" $(($(date +%s) - t))
  if ((rc == 124)); then echo "fresh-machine: FAILED: test: ./scripts/test.sh timed out after $TEST_TIMEOUT s" >&2; fi
  ((rc == 0)) || exit "$rc"
fi

if [ -n "$SUMMARY_TO" ]; then
  print_timings total > "$SUMMARY_TO"
else
  print_timings total
fi
