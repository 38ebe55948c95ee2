#!/usr/bin/env bash
# Geo-replication failover and failback between two Cairn sites
# (Gluster's documented procedure, as one script). Run as root on an
# appliance of the site named in each step; every step is idempotent
# enough to re-run after a failure.
#
#   georep-failover.sh failover  PRIMARY_VOL SECONDARY_HOST SECONDARY_VOL
#       on the SECONDARY site, when the primary site is lost: stop the
#       session (force: the primary may be unreachable), turn on the
#       indexing/changelog the secondary needs to later replicate back,
#       and serve SECONDARY_VOL (cairnd exports it; clients re-mount: the
#       volume id, and so the NFS handles, differ between sites).
#
#   georep-failover.sh failback  PRIMARY_VOL PRIMARY_HOST SECONDARY_VOL SECONDARY_HOST
#       on the SECONDARY site, once the primary is back: replicate the
#       changes made during the outage back (reverse session in
#       special-sync-mode recover), wait for a checkpoint to complete,
#       then tells you to stop client writes and finish with `switch`.
#
#   georep-failover.sh switch    PRIMARY_VOL PRIMARY_HOST SECONDARY_VOL SECONDARY_HOST
#       with client writes stopped: last checkpoint, stop and delete the
#       reverse session, restart the original primary → secondary session.
#
# Status with lag and last synced time: `gluster volume geo-replication
# VOL status --xml` (parsed by appliance/src/pool/gluster/georep.ts).
set -euo pipefail
g() { gluster --mode=script "$@"; }

wait_checkpoint() { # VOL HOST::VOL
  echo "waiting for the checkpoint of $1 -> $2 to complete…"
  for _ in $(seq 1 720); do
    if g --xml volume geo-replication "$1" "$2" status detail | grep -q '<checkpoint_completed>Yes</checkpoint_completed>'; then
      echo "checkpoint completed"; return 0
    fi
    sleep 5
  done
  echo "checkpoint not completed after 1 hour" >&2; return 1
}

case "${1:-}" in
  failover)
    [ $# -eq 4 ] || { echo "usage: $0 failover PRIMARY_VOL SECONDARY_HOST SECONDARY_VOL" >&2; exit 2; }
    pv=$2 sh=$3 sv=$4
    g volume geo-replication "$pv" "$sh::$sv" stop force 2>/dev/null || echo "(no session to stop from here: fine when the primary is gone)"
    g volume set "$sv" geo-replication.indexing on
    g volume set "$sv" changelog on
    echo "$sv on $sh is now the primary copy: export it and point clients at this site."
    ;;
  failback)
    [ $# -eq 5 ] || { echo "usage: $0 failback PRIMARY_VOL PRIMARY_HOST SECONDARY_VOL SECONDARY_HOST" >&2; exit 2; }
    pv=$2 ph=$3 sv=$4
    g system:: execute gsec_create
    g volume geo-replication "$sv" "$ph::$pv" create push-pem force
    g volume geo-replication "$sv" "$ph::$pv" config special-sync-mode recover
    g volume geo-replication "$sv" "$ph::$pv" config gfid-conflict-resolution false
    g volume geo-replication "$sv" "$ph::$pv" start
    g volume geo-replication "$sv" "$ph::$pv" config checkpoint now
    wait_checkpoint "$sv" "$ph::$pv"
    echo "now stop client writes on $sv, then run: $0 switch $*"
    ;;
  switch)
    [ $# -eq 5 ] || { echo "usage: $0 switch PRIMARY_VOL PRIMARY_HOST SECONDARY_VOL SECONDARY_HOST" >&2; exit 2; }
    pv=$2 ph=$3 sv=$4 sh=$5
    g volume geo-replication "$sv" "$ph::$pv" config checkpoint now
    wait_checkpoint "$sv" "$ph::$pv"
    g volume geo-replication "$sv" "$ph::$pv" stop
    g volume geo-replication "$sv" "$ph::$pv" delete
    echo "on $ph run: gluster volume geo-replication $pv $sh::$sv start force"
    echo "then serve $pv from the primary site again and re-point clients."
    ;;
  *)
    sed -n '2,30p' "$0"; exit 2 ;;
esac
