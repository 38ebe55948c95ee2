/**
 * Shell lines that give a fresh mount and network namespace its own
 * rpcbind (on a private /run, loopback up) and wait until it answers;
 * exit 3 when it does not within 10 s. For the `set -e` scripts of the
 * tests that run a server with `--rpcbind` (rpcbind.test,
 * kernel-client-lock.test).
 */
export const PRIVATE_RPCBIND = `mount -t tmpfs tmpfs /run
ip link set lo up
rpcbind -f >/dev/null 2>&1 &
i=0; until rpcinfo -p 127.0.0.1 >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || exit 3; sleep 0.1; done
`;
