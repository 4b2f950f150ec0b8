/** `stowage key list | add | remove <id> | passwd`: the password-wrapped key files of an encrypted repository. */
import { StowageError, addKeyLocked, changePasswordLocked, removeKeyLocked, type KeyInfo } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { formatTime, table } from '../format.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { kdfForNewKeys, newKeyPassword } from '../password.js';

interface NewKeyOpts {
  newPasswordFile?: string;
  host?: string;
  user?: string;
}

export function registerKey(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  const key = program.command('key').description('manage the keys (passwords) of an encrypted repository');

  key
    .command('list')
    .description('list the keys; "*" marks the one the password opened')
    .action(() =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          if (!repo.encrypted) throw new StowageError('INVALID_ARGUMENT', 'the repository is not encrypted: it has no keys');
          const keys = await repo.listKeys();
          if (ctx.opts.json) {
            ctx.json(keys.map((k) => ({ id: k.name, shortId: shortId(k.name), current: k.name === repo.keyName, ...(k.error === undefined ? info(k) : { error: k.error }) })));
            return;
          }
          ctx.out(
            table(
              [' ', 'ID', 'User', 'Host', 'Created', 'KDF'],
              keys.map((k) =>
                k.error === undefined
                  ? [k.name === repo.keyName ? '*' : ' ', shortId(k.name), k.username, k.hostname, formatTime(k.created), `scrypt N=2^${Math.log2(k.kdf.N)} r=${k.kdf.r} p=${k.kdf.p}`]
                  : [' ', shortId(k.name), 'DAMAGED', '', '', k.error],
              ),
            ),
          );
          return keys.some((k) => k.error !== undefined) ? EXIT_WARNINGS : undefined;
        }),
      ),
    );

  withNewPassword(key.command('add').description('add a key: a new password for the same repository (from --new-password-file, STOWAGE_NEW_PASSWORD_FILE, STOWAGE_NEW_PASSWORD or a prompt)'))
    .option('--host <hostname>', 'host name recorded in the key file')
    .option('--user <username>', 'user name recorded in the key file')
    .action((o: NewKeyOpts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const password = await newKeyPassword(o.newPasswordFile);
          const k = await addKeyLocked(repo, password, { kdf: kdfForNewKeys(), ...(o.host !== undefined && { hostname: o.host }), ...(o.user !== undefined && { username: o.user }) });
          if (ctx.opts.json) ctx.json({ id: k.name, ...info(k) });
          else ctx.say(`added key ${shortId(k.name)}`);
        }),
      ),
    );

  key
    .command('remove')
    .description('remove a key (not the one in use, never the last one)')
    .argument('<id>', 'key id or unique prefix (4+ hex characters)')
    .action((ref: string) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const name = await removeKeyLocked(repo, ref);
          if (ctx.opts.json) ctx.json({ removed: name });
          else ctx.say(`removed key ${shortId(name)}`);
        }),
      ),
    );

  withNewPassword(key.command('passwd').description('change the password: add a key with the new password, then remove the key in use'))
    .option('--host <hostname>', 'host name recorded in the new key file')
    .option('--user <username>', 'user name recorded in the new key file')
    .action((o: NewKeyOpts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const old = repo.keyName ?? '';
          const password = await newKeyPassword(o.newPasswordFile);
          const k = await changePasswordLocked(repo, password, { kdf: kdfForNewKeys(), ...(o.host !== undefined && { hostname: o.host }), ...(o.user !== undefined && { username: o.user }) });
          if (ctx.opts.json) ctx.json({ id: k.name, removed: old, ...info(k) });
          else ctx.say(`changed password: key ${shortId(k.name)} replaces key ${shortId(old)}`);
        }),
      ),
    );
}

function withNewPassword(cmd: Command): Command {
  return cmd.option('--new-password-file <file>', 'read the new password from a file');
}

function info(k: KeyInfo): Omit<KeyInfo, 'name'> {
  return { created: k.created, hostname: k.hostname, username: k.username, kdf: k.kdf };
}
