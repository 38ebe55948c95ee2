/**
 * A stand-in for systemd's notify socket: a Python process (Node has no
 * AF_UNIX datagram sockets) bound to a path or abstract socket that prints
 * each datagram it receives as a JSON line. Tests read what cairnd told
 * "systemd" from `messages`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const RECEIVER = `
import json, socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(("\\0" + name[1:]) if name.startswith("@") else name)
print(json.dumps("BOUND"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;

export class NotifySocket {
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly address: string,
    private readonly proc: ChildProcess,
  ) {}

  static async listen(address: string): Promise<NotifySocket> {
    const proc = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sock = new NotifySocket(address, proc);
    const lines = createInterface({ input: proc.stdout! });
    let bound: () => void = () => {};
    const isBound = new Promise<void>((r) => (bound = r));
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as string;
      if (msg === 'BOUND') return bound();
      sock.messages.push(msg);
      for (const w of sock.waiters.splice(0)) w();
    });
    const exited = once(proc, 'exit').then(() => {
      throw new Error(`notify receiver for ${address} exited`);
    });
    await Promise.race([isBound, exited]);
    return sock;
  }

  /** Waits until some message contains `text`; fails after `ms`. */
  async waitFor(text: string, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.messages.find((m) => m.includes(text));
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no notify message with ${JSON.stringify(text)}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.proc.kill('SIGKILL');
  }
}
