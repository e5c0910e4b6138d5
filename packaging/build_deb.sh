#!/usr/bin/env bash
# Debian package of the desktop bundle (run from the repository root after `make bundle`):
#   packaging/build_deb.sh [BUNDLE_DIR] [OUT_DIR]    (defaults dist/tamper-workbench, dist; `make deb`)
# Installs the one-folder bundle in /opt/tamper-workbench, the command as /usr/bin/tamper-workbench,
# the desktop entry and the icons in /usr/share. Depends: the Debian packages that provide the
# system libraries the bundle's own libraries link against (found with ldd and dpkg -S on the
# building machine, so build on the oldest distribution you support).
set -euo pipefail

BUNDLE=${1:-dist/tamper-workbench}
OUT=${2:-dist}
NAME=tamper-workbench
[ -x "$BUNDLE/$NAME" ] || { echo "no bundle at $BUNDLE (run 'make bundle')" >&2; exit 1; }
VERSION=$("$BUNDLE/$NAME" --version | awk '{print $NF}')
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
chmod 755 "$STAGE"  # the package's root directory (mktemp makes it private)

mkdir -p "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" "$STAGE/DEBIAN"
cp -a "$BUNDLE" "$STAGE/opt/$NAME"
ln -s "/opt/$NAME/$NAME" "$STAGE/usr/bin/$NAME"
install -m 644 resources/$NAME.desktop "$STAGE/usr/share/applications/$NAME.desktop"
for png in resources/icons/$NAME-*.png; do
    size=${png##*-}; size=${size%.png}
    install -D -m 644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/$NAME.png"
done
install -D -m 644 resources/icons/$NAME.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$NAME.svg"

# System libraries needed by the bundle's ELF files (Qt's X11 plugin, OpenGL, fontconfig, ...),
# resolved as the bundle's loader does (its _internal folder first).
libraries=$(find "$STAGE/opt/$NAME" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
    | LD_LIBRARY_PATH="$STAGE/opt/$NAME/_internal" xargs -0 -r ldd 2> /dev/null | awk '/=> \// {print $3}' | grep -v "^$STAGE" | sort -u)
packages=()
for library in $libraries; do
    # dpkg records a library under the path it shipped it at (/lib or /usr/lib on merged-/usr systems).
    owner=$(dpkg -S "$library" 2> /dev/null || dpkg -S "$(realpath "$library")" 2> /dev/null \
            || dpkg -S "${library#/usr}" 2> /dev/null || true)
    [ -n "$owner" ] && packages+=("${owner%%:*}")
done
depends=$(printf '%s\n' "${packages[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')

cat > "$STAGE/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: Tamper Workbench developers <tamper-workbench@localhost>
Section: graphics
Priority: optional
Depends: $depends
Installed-Size: $(du -sk "$STAGE" | cut -f1)
Description: forensic workbench that finds and outlines manipulated regions in a photograph
 Load one image, run detectors (resampling, noise, JPEG and learned methods), look at heatmaps,
 draw regions of interest and export a report. CPU build; nothing is downloaded at run time.
EOF

mkdir -p "$OUT"
deb="$OUT/${NAME}_${VERSION}_${ARCH}.deb"
# zstd: a fraction of xz's time on a gigabyte of libraries (dpkg reads it since Debian 12 / Ubuntu 21.10);
# DEB_COMPRESSION=xz for older systems.
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-zstd}" --build "$STAGE" "$deb"
echo "built $deb ($(du -m "$deb" | cut -f1) MB); Depends: $depends"
