/**
 * The opt-in key agent end to end: `stowage agent start` prints the line that opts in, init
 * and later commands use it (no password, no key derivation), `agent list/clear/stop` manage
 * it, and without it (or with a dead one) everything works as before.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from './helpers/cli.js';

const sb = sandbox();
afterAll(() => fs.rmSync(sb.dir, { recursive: true, force: true }));

describe('stowage agent', () => {
  it('opts in with the printed line, unlocks without the password while it runs, and stops', () => {
    const socket = sb.file('agent.sock');
    const start = sb.run(['agent', 'start', '--ttl', '2m', '--socket', socket]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toBe(`STOWAGE_AGENT_SOCK='${socket}'; export STOWAGE_AGENT_SOCK;\n`);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    const withAgent = { STOWAGE_AGENT_SOCK: socket };
    const noPassword = { ...withAgent, STOWAGE_PASSWORD: '' };
    try {
      const init = sb.run(['init', '--json'], { env: withAgent });
      expect(init.code, init.stderr).toBe(0);
      const key = (JSON.parse(init.stdout) as { key: string }).key;
      const list = sb.run(['agent', 'list', '--json'], { env: withAgent });
      expect((JSON.parse(list.stdout) as { entries: { key: string }[] }).entries.map((e) => e.key)).toEqual([key]);

      fs.writeFileSync(sb.file('in.bin'), 'agent test data\n'.repeat(10_000));
      const snap = sb.run(['snapshot', sb.file('in.bin')], { env: noPassword });
      expect(snap.code, snap.stderr).toBe(0);
      // a wrong password is not even looked at while the agent holds the key (ssh-agent semantics)
      expect(sb.run(['snapshots'], { env: { ...withAgent, STOWAGE_PASSWORD: 'wrong' } }).code).toBe(0);
      // without the agent the password rules as before
      expect(sb.run(['snapshots'], { env: { STOWAGE_PASSWORD: 'wrong' } }).code).toBe(12);

      const clear = sb.run(['agent', 'clear'], { env: withAgent });
      expect(clear.stdout).toBe('forgot 1 key\n');
      const missing = sb.run(['snapshots'], { env: noPassword });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('[PASSWORD_REQUIRED]');
      // the password unlocks and hands the key back to the agent
      expect(sb.run(['snapshots'], { env: withAgent }).code).toBe(0);
      expect(sb.run(['snapshots'], { env: noPassword }).code).toBe(0);
    } finally {
      const stop = sb.run(['agent', 'stop'], { env: withAgent });
      expect(stop.stdout).toBe('key agent stopped\n');
    }
    expect(fs.existsSync(socket)).toBe(false);
    // a dead agent is skipped: the password still works
    expect(sb.run(['snapshots'], { env: withAgent }).code).toBe(0);
    const gone = sb.run(['agent', 'list'], { env: withAgent });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('[NOT_FOUND]');
  });
});
