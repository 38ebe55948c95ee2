#!/usr/bin/env bash
# The README's run command: set up what is missing, then run cairnd on its
# embedded default — a local pool under ./var, the console and API on :8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA_DIR=${CAIRN_DATA_DIR:-$PWD/var}
mkdir -p "$DATA_DIR"
# File I/O holds libuv workers (NFS COMMIT, CREATE): more than the default 4.
export UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-64}
exec node appliance/bin/cairnd.js run --data-dir "$DATA_DIR" "$@"
