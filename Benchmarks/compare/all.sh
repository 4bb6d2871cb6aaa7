#!/usr/bin/env bash
# Runs every same-run comparison script in this folder, in order, and prints their tables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/*.sh; do
    case "$(basename "$script")" in all.sh | lib.sh) continue ;; esac
    echo "## $(basename "$script" .sh)"
    bash "$script"
    echo
done
