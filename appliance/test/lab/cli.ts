/**
 * The lab from the shell, for manual runs:
 *
 *   node appliance/dist/test/lab/cli.js up 3 [--brick-mib 1024]
 *       builds 3 appliances (node1…node3), prints the lab directory and how
 *       to enter a node; records it in /run/cairn-lab.current
 *   node appliance/dist/test/lab/cli.js enter node2 -- gluster peer status
 *       runs a command inside a node (nsenter into its namespaces)
 *   node appliance/dist/test/lab/cli.js down [DIR]
 *       tears the lab down (processes by pid, veths, bridge, loop devices, DIR)
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { Lab } from './lab.js';

const CURRENT = '/run/cairn-lab.current';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'up') {
    const count = Number(rest[0] ?? '3');
    const mibAt = rest.indexOf('--brick-mib');
    const brickBytes = mibAt >= 0 ? Number(rest[mibAt + 1]) * (1 << 20) : undefined;
    const lab = await Lab.up(count, { brickBytes });
    await writeFile(CURRENT, lab.state.dir);
    process.stdout.write(`lab ${lab.state.dir}\nhost address ${lab.state.hostIp} on bridge ${lab.state.bridge}\n`);
    for (const n of lab.nodes) {
      process.stdout.write(`${n.name} ${n.ip}  enter: nsenter -t ${n.state.holderPid} -m -n -u -- bash; bricks under ${n.state.brickRoot}\n`);
    }
    return 0;
  }
  if (cmd === 'down') {
    const dir = rest[0] ?? (await readFile(CURRENT, 'utf8').catch(() => '')).trim();
    if (!dir) {
      process.stderr.write('no lab to tear down (give its directory)\n');
      return 1;
    }
    await Lab.down(dir);
    await rm(CURRENT, { force: true });
    process.stdout.write(`lab ${dir} torn down\n`);
    return 0;
  }
  if (cmd === 'enter') {
    const dir = (await readFile(CURRENT, 'utf8').catch(() => '')).trim();
    const lab = await Lab.open(dir);
    const node = lab.node(rest[0] ?? '');
    const dash = rest.indexOf('--');
    const command = dash >= 0 ? rest.slice(dash + 1) : ['bash'];
    const [file, ...args] = [...node.enter(), ...command];
    return spawnSync(file!, args, { stdio: 'inherit' }).status ?? 1;
  }
  process.stderr.write('usage: cli.js up N [--brick-mib M] | down [DIR] | enter NODE [-- CMD…]\n');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
