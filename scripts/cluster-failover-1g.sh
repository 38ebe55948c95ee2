#!/usr/bin/env bash
# The full-size failover run of issue 11: three lab appliances, replica 3,
# 1 GiB written through node1 by a libnfs client while node2 dies hard
# (link cut, then all its processes killed), checksum, heal with progress,
# then the same client's handles read via node3.
#
#   sudo bash scripts/cluster-failover-1g.sh [MIB]     (default 1024)
#
# Needs the build (npx tsc -b, native module). Prints the longest write
# stall and heal progress as test diagnostics; the lab is torn down at the
# end, also on failure. CI runs the same test with 160 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
export CAIRN_FAILOVER_MIB="${1:-1024}"
exec node --test --test-reporter=spec appliance/dist/test/cluster/failover.test.js
