/**
 * @module cli/context
 * What every client command needs: the config home, the keychain, a session manager and the
 * postage service, built from the global options (--server, --ca) and the environment.
 */
import type { Command } from 'commander';
import type { PostageService } from '../services/postage-service';
import type { SessionManager } from '../services/session';
import { io } from './io';

export interface CliContext {
  home: string;
  session: SessionManager;
  /** The postage service, loaded on first use (it brings the print driver; `balance` needs none). */
  postage(): Promise<PostageService>;
  close(): Promise<void>;
}

export async function cliContext(command: Command): Promise<CliContext> {
  const flags = command.optsWithGlobals<{ server?: string; ca?: string }>();
  // Loaded per command, not at start: `vpm --help` needs none of them.
  const [{ configHome }, { openKeychain }, { SessionManager }] = await Promise.all([
    import('../services/config'),
    import('../services/keychain'),
    import('../services/session'),
  ]);
  const { env } = io();
  const home = configHome(env);
  const keychain = await openKeychain(env);
  const session = new SessionManager(home, keychain, { server: flags.server, ca: flags.ca }, env);
  return {
    home,
    session,
    postage: async () => {
      const { PostageService, batchChunk } = await import('../services/postage-service');
      return new PostageService(session, home, undefined, batchChunk(env));
    },
    close: () => session.close(),
  };
}

/** Reads a password: from stdin with --password-stdin, else asked for without echo. */
export function readPassword(fromStdin: boolean, prompt = 'Password: '): Promise<string> {
  return readSecret(fromStdin, prompt);
}

/**
 * Reads a secret (password, card number) from standard input, or asks for it on the terminal
 * without echo. Secrets never come from the command line, where `ps` and shell history see them.
 */
export async function readSecret(fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin || !io().stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of io().stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  io().stderr.write(prompt);
  const stdin = io().stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode?.(false);
          stdin.pause();
          stdin.off('data', onData);
          io().stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode?.(false);
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}
