#!/usr/bin/env bash
# Fetches the real-code evaluation corpus (corpus.tsv: deliberately vulnerable applications at
# pinned commits) into DIR (default: target/gate-corpus), one folder per application.
# Needs git and access to GitHub; CI has neither, so the evaluation is run by hand:
#   bash crates/coord-gates/eval/fetch-corpus.sh /tmp/gate-corpus
#   cargo run --profile bench -p coord-gates --example real_code -- /tmp/gate-corpus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../../target/gate-corpus}"
mkdir -p "$dest"
grep -v '^#' "$here/corpus.tsv" | while IFS=$'\t' read -r name repo commit _stack; do
  [ -n "$name" ] || continue
  dir="$dest/$name"
  if [ -d "$dir/.git" ] && [ "$(git -C "$dir" rev-parse HEAD)" = "$commit" ]; then
    echo "$name: already at $commit"
    continue
  fi
  rm -rf "$dir"
  git init -q "$dir"
  git -C "$dir" remote add origin "https://github.com/$repo.git"
  git -C "$dir" fetch -q --depth 1 origin "$commit" \
    || { echo "fetch-corpus: cannot fetch $repo at $commit" >&2; exit 1; }
  git -C "$dir" checkout -q FETCH_HEAD
  echo "$name: $repo at $commit"
done
