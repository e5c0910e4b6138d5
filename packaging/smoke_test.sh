#!/usr/bin/env bash
# Smoke test of the built desktop bundle against the source install (run from the repository root):
#   packaging/smoke_test.sh [BUNDLE_DIR]        (default dist/tamper-workbench; `make bundle-test`)
# Checks: --version; `detectors` lists the same detectors, trained/untrained, as the source;
# `analyze` on the bundled sample writes the same heatmap as the source (max difference 1e-5) for
# the default detector and the others named in SMOKE_DETECTORS; the GUI starts under Xvfb, opens
# the sample and quits (`gui --self-test`). Prints the bundle's size and start-up times.
# SOURCE_PYTHON is the Python of the source install (default .venv-bundle/bin/python, which
# `make bundle` creates, else .venv/bin/python).
set -euo pipefail

BUNDLE=${1:-dist/tamper-workbench}
BIN="$BUNDLE/tamper-workbench"
SOURCE_PYTHON=${SOURCE_PYTHON:-$( [ -x .venv-bundle/bin/python ] && echo .venv-bundle/bin/python || echo .venv/bin/python )}
SMOKE_DETECTORS=${SMOKE_DETECTORS:-"srm-cnn lstm-endec noise-baseline"}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "SMOKE TEST FAILED: $*" >&2; exit 1; }
seconds() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$1"; }

[ -x "$BIN" ] || fail "no bundle at $BIN (run 'make bundle')"
# The sample as shipped inside the bundle (PyInstaller puts data under _internal/).
SAMPLE=$(find "$BUNDLE" -path '*/forensics_core/_shipped/resources/samples/sample_resampled.png' | head -n 1)
[ -n "$SAMPLE" ] || fail "the bundle carries no sample image"
cmp -s "$SAMPLE" resources/samples/sample_resampled.png || fail "the bundled sample differs from resources/samples/"

# Run the bundle from an empty folder, without the checkout on the path.
cd "$WORK"
ROOT=$OLDPWD
SOURCE_PYTHON_ABS=$(cd "$ROOT" && realpath -s "$SOURCE_PYTHON")  # -s: a venv's python is a symlink
SOURCE=("$SOURCE_PYTHON_ABS" -m forensics_core)
BIN=$(cd "$ROOT" && realpath "$BIN")
SAMPLE=$(cd "$ROOT" && realpath "$SAMPLE")
unset PYTHONPATH TAMPER_WEIGHTS_DIR

echo "== bundle $BUNDLE"
SIZE_MB=$(cd "$ROOT" && du -sm "$BUNDLE" | cut -f1)
echo "size: ${SIZE_MB} MB (aim < 700 MB)"

start=$(python3 -c 'import time; print(time.time())')
version=$("$BIN" --version)
echo "--version: $version ($(seconds "$start") s to answer)"
[ "$version" = "$(cd "$ROOT" && "${SOURCE[@]}" --version)" ] || fail "--version differs from the source install"

"$BIN" detectors > detectors.txt || fail "'detectors' exited $?"
"$BIN" detectors --json > bundle.json || fail "'detectors --json' exited $?"
(cd "$ROOT" && "${SOURCE[@]}" detectors --json) > source.json
"$SOURCE_PYTHON_ABS" - bundle.json source.json <<'EOF' || fail "'detectors' differs from the source install"
import json, sys
bundle, source = (json.load(open(p)) for p in sys.argv[1:3])
pairs = lambda listing: [(d["id"], d["trained"]) for d in listing]
if pairs(bundle) != pairs(source):
    sys.exit(f"bundle {pairs(bundle)}\nsource {pairs(source)}")
print(f"detectors: the same {len(bundle)} detectors and training states as the source "
      f"({sum(t for _, t in pairs(bundle))} trained)")
EOF

default=$("$SOURCE_PYTHON_ABS" -c 'from forensics_core.detectors import DEFAULT_DETECTOR; print(DEFAULT_DETECTOR)')
for detector in $default $SMOKE_DETECTORS; do
    start=$(python3 -c 'import time; print(time.time())')
    "$BIN" analyze "$SAMPLE" --detector "$detector" --device cpu --quiet --out "bundle-$detector" > /dev/null \
        || fail "analyze --detector $detector exited $?"
    took=$(seconds "$start")
    (cd "$ROOT" && "${SOURCE[@]}" analyze "$SAMPLE" --detector "$detector" --device cpu --quiet \
        --out "$WORK/source-$detector") > /dev/null
    "$SOURCE_PYTHON_ABS" - "bundle-$detector/heatmap.npy" "source-$detector/heatmap.npy" "$detector" "$took" <<'EOF' \
        || fail "analyze --detector $detector: the heatmap differs from the source install"
import sys
import numpy as np
bundle, source = (np.load(p, allow_pickle=False) for p in sys.argv[1:3])
if bundle.shape != source.shape:
    sys.exit(f"shape {bundle.shape} != {source.shape}")
diff = float(np.max(np.abs(bundle.astype(np.float64) - source)))
print(f"analyze {sys.argv[3]}: heatmap {bundle.shape[1]}x{bundle.shape[0]}, max difference to the source {diff:.2e} "
      f"({sys.argv[4]} s in the bundle)")
sys.exit(0 if diff <= 1e-5 else 1)
EOF
done

# The GUI on a virtual X server started once, so that the time measured is the program's own.
command -v Xvfb > /dev/null || fail "Xvfb is missing (apt-get install xvfb libxcb-cursor0) for the GUI check"
exec 3> "$WORK/display"
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp > /dev/null 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
[ -s "$WORK/display" ] || fail "Xvfb did not start"
export DISPLAY=":$(head -n 1 "$WORK/display")"
unset QT_QPA_PLATFORM
start=$(python3 -c 'import time; print(time.time())')
"$BIN" gui --self-test > gui.txt 2>&1 || { cat gui.txt >&2; fail "the GUI self-test exited with an error"; }
took=$(seconds "$start")
grep -q "self-test ok" gui.txt || { cat gui.txt >&2; fail "the GUI self-test did not report success"; }
echo "gui: $(grep 'self-test ok' gui.txt)"
echo "gui start-up: ${took} s from process start to window shown, sample opened and exit (aim < 5 s to a window)"
echo "SMOKE TEST PASSED"
