#!/usr/bin/env bash
# Runs every same-run comparison script in this folder, in order, and prints their tables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/*.sh; do
    [ "$(basename "$script")" = "all.sh" ] && continue
    echo "## $(basename "$script" .sh)"
    bash "$script"
    echo
done
