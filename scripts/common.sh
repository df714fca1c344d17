# Shared by the scripts README names. Sourced, not run.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Builds survive fresh clones: keep them outside the work tree unless told otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    for dir in "$HOME/.cargo/bin" /usr/local/cargo/bin; do
      [ -x "$dir/cargo" ] && export PATH="$dir:$PATH" && break
    done
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "sparkplane needs a Rust toolchain (1.89 or newer): install it with rustup (https://rustup.rs), then run this again." >&2
    exit 3
  fi
  local version
  version="$(rustc --version | awk '{print $2}')"
  if [ "$(printf '%s\n1.89.0\n' "$version" | sort -V | head -n1)" != "1.89.0" ]; then
    echo "sparkplane needs Rust 1.89 or newer; this machine has $version: run 'rustup update stable'." >&2
    exit 3
  fi
}
