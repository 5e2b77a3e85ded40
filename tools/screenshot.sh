#!/usr/bin/env bash
# Takes the README's screenshot of the viewer: runs the quickstart on the GPT-2 fixture in a
# temporary folder and photographs its quickstart.html with headless Chromium.
#
#   bash tools/screenshot.sh [OUT.png]      (default: docs/viewer.png; needs `chromium`)
#
# Run by hand after a change to the viewer or the quickstart; the PNG is committed (and
# must stay under 300 KB).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-docs/viewer.png}")"
size="${SCREENSHOT_SIZE:-1280,1100}"

cargo build --release --example quickstart
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$OLDPWD/target/release/examples/quickstart" "$OLDPWD/tests/fixtures/gpt2-text" >/dev/null)

# --virtual-time-budget lets the viewer's scripts build the tree before the shot;
# --no-sandbox because CI and containers run as root.
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --force-device-scale-factor=1 --window-size="$size" --virtual-time-budget=5000 \
  --screenshot="$out" "file://$work/quickstart.html" 2>/dev/null

bytes=$(stat -c %s "$out")
echo "wrote $out ($bytes bytes)"
if [ "$bytes" -ge 307200 ]; then
  echo "the screenshot is over 300 KB: use a smaller SCREENSHOT_SIZE" >&2
  exit 1
fi
