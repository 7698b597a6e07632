#!/usr/bin/env bash
# Runs the whole test suite on a real QGIS of another Debian release, in a root made with debootstrap.
#
#   scripts/qgis_root.sh VERSION [pytest arguments...]      VERSION: 3.40 (trixie) or 3.44 (forky)
#
# The root is built once and reused, under $QGIS_ROOTS (default ~/.cache/qgis-siammask/roots/SUITE):
# Debian's qgis, python3-qgis, qgis-providers, xvfb and xauth, as on a user's machine (numpy, GDAL and
# PyQt come with them), plus pip and xdotool (the desktop test's X mouse). The plugin's Python
# dependencies go into a folder of the plugin's own (/opt/siammask/deps), as the plugin's installer puts
# them, with the root's installed versions as pip constraints: never QGIS's site-packages, never another
# numpy, GDAL or PyQt. That folder and the test tools' (/opt/siammask/test-deps) are appended to
# sys.path AFTER site-packages (a sitecustomize), so nothing in them can shadow what QGIS's Python has.
# The repository is bound at /src/repo, ../shared read-only at /src/shared, the host's pip cache at
# /root/.cache/pip. proc, dev, dev/pts, dev/shm and sys are mounted for the run and unmounted on exit,
# failures included.
set -euo pipefail
{  # read whole before it runs: an edit of this file during a run cannot change the run

VERSION=${1:?usage: $0 VERSION [pytest arguments...]}
shift
EXTRA_PACKAGES=""
case "$VERSION" in
    3.40) SUITE=trixie ;;
    # forky's Python 3.14 has no wheel on PyPI of rasterio (the plugin's DEM feature) nor of pyogrio
    # (geopandas, a test tool): Debian's instead
    3.44) SUITE=forky EXTRA_PACKAGES="python3-rasterio python3-geopandas" ;;
    *) echo "QGIS $VERSION: no Debian suite known (3.40 = trixie, 3.44 = forky)" >&2; exit 2 ;;
esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SIAMMASK_SHARED:-$REPO/../shared}
ROOTS=${QGIS_ROOTS:-$HOME/.cache/qgis-siammask/roots}
ROOT=$ROOTS/$SUITE
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PIP_CACHE=${PIP_CACHE_DIR:-$HOME/.cache/pip}
ROOT_PACKAGES="qgis python3-qgis qgis-providers xvfb xauth python3-pip xdotool${EXTRA_PACKAGES:+ $EXTRA_PACKAGES}"
DEPS=/opt/siammask/deps
TEST_DEPS=/opt/siammask/test-deps
BOOT=/opt/siammask/boot
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

step_started=$SECONDS
say() { echo "[qgis-$VERSION $(date -u +%H:%M:%S) +$((SECONDS - step_started))s] $*"; }

mkdir -p "$ROOTS" "$PIP_CACHE"
exec 9>"$ROOT.lock"
flock 9  # one run per root at a time

# 1. The base system (minbase), built beside the final folder and renamed when complete.
if [ ! -f "$ROOT/.siammask-base" ]; then
    say "debootstrap $SUITE into $ROOT"
    $SUDO rm -rf "$ROOT.tmp"
    script=/usr/share/debootstrap/scripts/$SUITE
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid  # a suite newer than this debootstrap
    $SUDO debootstrap --variant=minbase "$SUITE" "$ROOT.tmp" "$MIRROR" "$script"
    $SUDO touch "$ROOT.tmp/.siammask-base"
    $SUDO rm -rf "$ROOT"
    $SUDO mv "$ROOT.tmp" "$ROOT"
fi

# 2. Mounts, undone on any exit; lazily where a process (Xvfb) still holds one.
MOUNTED=()
unmount_all() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        $SUDO umount "${MOUNTED[i]}" 2>/dev/null || $SUDO umount -l "${MOUNTED[i]}" || true
    done
    MOUNTED=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM
mount_in() {  # mount_in TARGET mount-arguments...
    local target=$ROOT$1
    shift
    $SUDO mkdir -p "$target"
    $SUDO mount "$@" "$target"
    MOUNTED+=("$target")
}
mount_in /proc -t proc proc
mount_in /sys -t sysfs -o ro sysfs
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
mount_in /dev/shm -t tmpfs -o mode=1777 shm
mount_in /src/repo --bind "$REPO"
if [ -d "$SHARED" ]; then
    mount_in /src/shared --bind "$SHARED"
    $SUDO mount -o remount,bind,ro "$ROOT/src/shared"
fi
mount_in /root/.cache/pip --bind "$PIP_CACHE"
$SUDO cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"

in_root() {  # a clean environment: nothing of the host's Python or pip settings leaks in
    $SUDO chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        PYTHONPATH=$BOOT PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DEFAULT_TIMEOUT=180 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

# 3. QGIS and the X tools from the suite's own registry.
if [ "$(cat "$ROOT/.siammask-apt" 2>/dev/null)" != "$ROOT_PACKAGES" ]; then
    step_started=$SECONDS
    say "apt-get install $ROOT_PACKAGES"
    # (the registry's Release files may be older than their Valid-Until where a mirror lags or the
    # clock runs ahead: the packages are still checked against the signed hashes)
    in_root apt-get -o Acquire::Check-Valid-Until=false update -qq
    in_root apt-get install -y -qq --no-install-recommends $ROOT_PACKAGES >/dev/null
    in_root apt-get clean
    echo "$ROOT_PACKAGES" | $SUDO tee "$ROOT/.siammask-apt" >/dev/null
fi

# The host's CA bundle, for pip (after apt: the root's ca-certificates package writes its own).
$SUDO mkdir -p "$ROOT/etc/ssl/certs"
$SUDO cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"

# The dependency folders go on sys.path after site-packages, for every Python started in the root
# (pytest, the subprocesses of the tests, desktop QGIS).
$SUDO mkdir -p "$ROOT$BOOT" "$ROOT$DEPS" "$ROOT$TEST_DEPS"
cat <<EOF | $SUDO tee "$ROOT$BOOT/sitecustomize.py" >/dev/null
# The plugin's dependency folder and the test tools', after site-packages: they never shadow QGIS's Python.
import sys
sys.path += [path for path in ("$DEPS", "$TEST_DEPS") if path not in sys.path]
EOF

requirement_lines() {  # the specs of a requirements file, without comments and -r lines
    grep -v -E '^\s*(#|-r|$)' "$1" | sed 's/\s*#.*//'
}

# pip_into FOLDER PYTHONPATH SPECS...: a fresh install into FOLDER, with as constraints every
# distribution the root's Python has under PYTHONPATH; nothing done when the same specs against the
# same constraints are installed there already.
pip_into() {
    local folder=$1 path=$2
    shift 2
    local constraints wanted
    constraints=$(in_root env PYTHONPATH="$path" python3 /src/repo/scripts/pip_constraints.py)
    wanted=$(printf '%s\n' "$@" "$constraints" | sha256sum | cut -c1-16)
    [ "$(cat "$ROOT$folder/.siammask-installed" 2>/dev/null)" = "$wanted" ] && return 0
    step_started=$SECONDS
    say "pip install --target $folder $*"
    $SUDO rm -rf "$ROOT$folder"
    $SUDO mkdir -p "$ROOT$folder"
    echo "$constraints" | $SUDO tee "$ROOT$folder.constraints.txt" >/dev/null
    [ $# -gt 0 ] && in_root python3 -m pip install -q --root-user-action=ignore --only-binary :all: --target "$folder" \
        -c "$folder.constraints.txt" "$@"
    echo "$wanted" | $SUDO tee "$ROOT$folder/.siammask-installed" >/dev/null
    say "installed"
}

# 4. The plugin's dependencies, by the plugin's own installer (what QGIS's Python lacks, into a folder
# of the plugin's own, QGIS's installed versions as constraints), then what the engine's command line
# and simulator also import (tqdm, scipy, dask) from requirements.txt's names, as ranges.
stamp=$(cat "$REPO/qgis_siammask/core/packages/"*.py "$REPO/requirements.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT$DEPS/.siammask-installed" 2>/dev/null)" != "$stamp" ]; then
    step_started=$SECONDS
    say "python3 -m qgis_siammask deps install --target $DEPS"
    $SUDO rm -rf "$ROOT$DEPS"
    # One call: the installer replaces the folder as a whole, so a second call would drop the first's
    # packages. Every requirement of the plugin (batch included) as a --package; those QGIS's Python has
    # are kept as they are. PYTHONPATH empty: the old folder is not on pip's path.
    in_root sh -c "cd /src/repo && PYTHONPATH= python3 -m qgis_siammask deps install --target $DEPS \
        --index-url https://pypi.org/simple \$(PYTHONPATH= python3 -c '
from qgis_siammask.core.packages.deps import BATCH_REQUIREMENTS, REQUIREMENTS
for spec in [r.pip_spec for r in REQUIREMENTS + BATCH_REQUIREMENTS] + [\"tqdm\", \"scipy\"]:
    print(\"--package\", spec)')"
    echo "$stamp" | $SUDO tee "$ROOT$DEPS/.siammask-installed" >/dev/null
    say "installed"
fi

# 5. The test tools, in their own folder (constraints: all of the above, the plugin's folder included).
# (what the root and the plugin's folder have, not the test tools' folder itself: with PYTHONPATH=$BOOT its
# old contents would satisfy every line, and nothing would be installed into the fresh folder)
mapfile -t test_specs < <(requirement_lines "$REPO/requirements-dev.txt" | in_root env PYTHONPATH=$DEPS python3 -c '
import importlib.metadata, sys
from pip._vendor.packaging.requirements import Requirement
for line in sys.stdin:  # those the root does not satisfy already (pip --target would install them again)
    wanted = Requirement(line)
    try:
        satisfied = wanted.specifier.contains(importlib.metadata.version(wanted.name), prereleases=True)
    except importlib.metadata.PackageNotFoundError:
        satisfied = False
    if not satisfied:
        print(line.strip())')
pip_into "$TEST_DEPS" "$DEPS" "${test_specs[@]}"

# 6. The whole suite, headless; the desktop test starts its own Xvfb.
step_started=$SECONDS
say "QGIS $(in_root python3 -c 'from qgis.core import Qgis; print(Qgis.version())' 2>/dev/null)," \
    "Python $(in_root python3 -c 'import platform; print(platform.python_version())')," \
    "numpy $(in_root python3 -c 'import numpy; print(numpy.__version__)')"
set +e
in_root sh -c 'cd /src/repo && exec "$@"' sh \
    env QT_QPA_PLATFORM=offscreen CI="${CI:-}" python3 -m pytest -q -p no:cacheprovider "${@:-tests}"
status=$?
say "pytest exit $status"
exit $status
}
