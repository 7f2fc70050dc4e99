#!/usr/bin/env bash
# Fails when a module includes a header of a module it may not depend on.
# The allowed edges are the ones in ARCHITECTURE.md ("may include and link").
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"

declare -A allowed=(
  [core]="core"
  [prompts]="prompts core"
  [sandbox]="sandbox core"
  [verifiers]="verifiers sandbox core"
  [llm]="llm core"
  [agent]="agent llm verifiers prompts sandbox core"
  [spec]="spec agent llm verifiers prompts sandbox core"
  [git]="git spec core"
  [store]="store core"
  [forge]="forge git spec store core"
  [gateway]="gateway agent llm core"
  [fleet]="fleet gateway forge store git spec agent llm verifiers prompts sandbox core"
  [evals]="evals fleet gateway forge store git spec agent llm verifiers prompts sandbox core"
  [cli]="cli evals fleet gateway forge store git spec agent llm verifiers prompts sandbox core"
)
modules="core prompts sandbox verifiers llm agent spec git store forge gateway fleet evals cli tests"

bad=0
for module in "${!allowed[@]}"; do
  [ -d "$module" ] || continue
  while IFS=: read -r file line include; do
    target=${include#*\"}
    target=${target%%/*}
    case " $modules " in *" $target "*) ;; *) continue ;; esac
    case " ${allowed[$module]} " in
      *" $target "*) ;;
      *) echo "$file:$line: module '$module' may not include '$target' (see ARCHITECTURE.md)"; bad=1 ;;
    esac
  done < <(grep -rn --include='*.h' --include='*.cc' -E '^#include "' "$module" | sed -E 's/^([^:]+):([0-9]+):/\1:\2:/' || true)
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "include direction: ok"
