# Shared by scripts/fault-*: builds the server and names the work folder under target/.
# FAULT_BUILD=release (default) or debug; CARGO_TARGET_DIR is respected; FAULT_BIN=path runs that
# binary instead of building one (an older build, to show a defect before its fix).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAULT_BUILD=${FAULT_BUILD:-release}

fault_die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 2; }

# fault_build: builds the binary and sets BIN and TARGET_DIR.
fault_build() {
  command -v python3 >/dev/null || fault_die "python3 is required"
  TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  if [ -n "${FAULT_BIN:-}" ]; then
    BIN=$(realpath "$FAULT_BIN")
    [ -x "$BIN" ] || fault_die "no binary at $FAULT_BIN"
    FAULT_BUILD="given ($BIN)"
    return
  fi
  if [ "$FAULT_BUILD" = debug ]; then
    # The binary `cargo test` builds, with the dev-dependencies' features: after `cargo test` (CI)
    # this builds nothing, where `cargo build` would rebuild the dependencies those features touch.
    (cd "$REPO" && cargo test --no-run --quiet >/dev/null 2>&1) || fault_die "cargo test --no-run failed"
  else
    (cd "$REPO" && cargo build --release --quiet --bin gongyi) || fault_die "cargo build --release failed"
  fi
  BIN="$TARGET_DIR/$FAULT_BUILD/gongyi"
  [ -x "$BIN" ] || fault_die "no binary at $BIN"
}

# fault_work NAME: a fresh folder target/faults/NAME for this run's data and logs (kept after it).
fault_work() {
  WORK="$TARGET_DIR/faults/$1"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  printf '%s: %s, commit %s%s, %s build, logs in %s\n' "$(basename "$0")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')" "$FAULT_BUILD" "$WORK"
}
