#!/usr/bin/env bash
# The README's test command: set up what is missing, then run every test —
# the Rust unit tests (cargo test) and the TypeScript tests (node --test),
# which start real servers and clients. Ends with the node runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== cargo test (native)"
(cd native && cargo test --quiet 2>&1)
echo "== node --test (appliance, web-ui)"
cd appliance
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
# The console's pure logic (web-ui/src/lib) is compiled by tsc -b to
# web-ui/dist-test and runs in the same node --test run.
if [ -d ../web-ui/dist-test/test ]; then
  mapfile -t -O "${#files[@]}" files < <(find ../web-ui/dist-test/test -name '*.test.js' | sort)
fi
exec node --test --test-reporter=spec "${files[@]}"
