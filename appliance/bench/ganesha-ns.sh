#!/usr/bin/env bash
# NFS-Ganesha for the NFS benchmark, with the portmapper it needs to start
# (FACTS.md). Run inside the benchmark's private network namespace *and* a
# private mount namespace (`unshare -m`): rpcbind's socket and lock files
# live in /run, which is replaced here by a tmpfs so that nothing of the
# host's (or another test's) rpcbind is touched. Stops both on SIGTERM.
#
#   ganesha-ns.sh CONFIG LOGFILE
set -u
conf=$1
log=$2
mount -t tmpfs cairn-bench-run /run
mkdir -p /run/rpcbind
rpcbind -f &
rpcb=$!
for _ in $(seq 100); do
  rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break
  sleep 0.1
done
ganesha.nfsd -F -f "$conf" -L "$log" -p /run/ganesha.pid -N NIV_WARN &
gan=$!
trap 'kill -TERM $gan $rpcb 2>/dev/null; wait $gan; kill -TERM $rpcb 2>/dev/null; wait' TERM INT
wait $gan
