#!/usr/bin/env bash
# The install figures the README quotes: builds coord's release binary from clean, in its own
# target folder (so nothing built before helps), the way `cargo install --locked --path
# crates/coord` does, and prints the wall time, the machine's cores and the binaries' sizes.
#
#   bash scripts/release-figures.sh [TARGET_DIR]    (default: target/release-figures)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-target/release-figures}"
rm -rf "$target"
start=$(date +%s)
CARGO_TARGET_DIR="$target" cargo build --release --locked -p coord
took=$(( $(date +%s) - start ))
echo
echo "release build from clean: ${took} s ($(( took / 60 )) min $(( took % 60 )) s) on $(nproc) cores, $(rustc --version)"
for bin in coord coord-sandbox; do
  size=$(stat -c %s "$target/release/$bin")
  echo "$bin: $(( size / 1024 / 1024 )) MiB ($size bytes)"
done
