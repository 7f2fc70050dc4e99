#!/usr/bin/env bash
# The main job on its embedded default: installs what is missing, builds drover, creates the
# example's sample repositories as local git repositories, and runs the example migration
# over them. Without DROVER_MODEL the model is a recorded exchange (a cassette per
# repository); set DROVER_MODEL=openai:MODEL or anthropic:MODEL to use a real one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=$root/examples/playlist-events-v2
demo=${DROVER_DEMO_DIR:-$root/build/demo}

"$root/scripts/setup.sh"
mkdir -p "$root/build"
echo "demo: building drover (log: build/build.log)" >&2
if ! TARGETS="drover drover-sandbox" "$root/scripts/build.sh" > "$root/build/build.log" 2>&1; then
  tail -n 40 "$root/build/build.log" >&2
  echo "demo: the build failed; the whole log is build/build.log" >&2
  exit 1
fi

rm -rf "$demo"
mkdir -p "$demo/repos"
: > "$demo/repos.txt"
for src in "$example"/repos/*/; do
  name=$(basename "$src")
  cp -r "$src" "$demo/repos/$name"
  git -C "$demo/repos/$name" init -q -b main
  git -C "$demo/repos/$name" add -A
  git -C "$demo/repos/$name" -c user.name=sample -c user.email=sample@example.com \
    commit -q -m "Initial import of $name"
  echo "$demo/repos/$name" >> "$demo/repos.txt"
done

export DROVER_MODEL=${DROVER_MODEL:-replay:$example/cassettes}
exec "$root/build/cli/drover" run "$example/migration.md" --repos "$demo/repos.txt" \
  --state-dir "$demo/state" "$@"
