/**
 * @module bench/box-file-faults
 * The box-file campaign (issue 13, "Key custody"): what an operator with file access can try on
 * a stopped data center. Each attack is made on the real files under DIR/boxes/, the data center
 * is started with a quorum of shares, and it must refuse, with TAMPERED naming the attacked box;
 * then the files are put back. Also: a start with one share fewer than the quorum is refused, and
 * after every attack has been undone the data center starts again.
 */
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOX_NAMES, readCustody, type BoxName } from '../server-mock/boxes/index';
import { startDataCenter } from '../server-mock/index';

type Check = (what: string, ok: boolean, detail?: string) => void;
const FILES = ['keys.json', 'state.snap', 'state.log'] as const;
type BoxFile = (typeof FILES)[number];

interface Attack {
  box: BoxName;
  what: string;
  apply(): void;
}

const randomInt = (max: number) => Math.floor(Math.random() * max);

/** Runs the box-file attacks; `long` tries every file of every box, the small run a few. */
export async function boxFileAttacks(
  check: Check,
  log: (line: string) => void,
  dir: string,
  shares: string[],
  long: boolean,
): Promise<void> {
  const path = (box: BoxName, file: BoxFile) => join(dir, 'boxes', box, file);
  const start = () =>
    startDataCenter({ dataDir: dir, port: 0, shares, log: () => undefined }).then(
      async (running) => {
        await running.close();
        return undefined;
      },
      (error: unknown) => error as Error & { code?: string; box?: string },
    );

  const quorum = readCustody(dir).quorum;
  const fewer = await startDataCenter({
    dataDir: dir,
    port: 0,
    shares: shares.slice(0, quorum - 1),
  }).then(
    async (running) => {
      await running.close();
      return undefined;
    },
    (error: unknown) => error as Error & { code?: string },
  );
  check(
    'a start with one share fewer than the quorum is refused',
    fewer?.code === 'SHARES_INSUFFICIENT',
    fewer?.message ?? 'started',
  );

  const flip = (box: BoxName, file: BoxFile): Attack => ({
    box,
    what: `a byte of ${box}/${file} changed`,
    apply() {
      const bytes = readFileSync(path(box, file));
      const at = randomInt(bytes.length);
      bytes[at] = bytes[at]! ^ (1 << randomInt(8));
      writeFileSync(path(box, file), bytes);
    },
  });
  const swap = (box: BoxName, from: BoxName, file: BoxFile): Attack => ({
    box,
    what: `${box}/${file} replaced by ${from}'s`,
    apply: () => copyFileSync(path(from, file), path(box, file)),
  });
  const nonEmpty = (box: BoxName, file: BoxFile) => statSync(path(box, file)).size > 0;
  const attacks: Attack[] = long
    ? [
        ...BOX_NAMES.flatMap((box) =>
          FILES.filter((file) => nonEmpty(box, file)).map((file) => flip(box, file)),
        ),
        swap('meter', 'steel', 'keys.json'),
        swap('auth', 'txn', 'state.snap'),
        swap('steel', 'meter', 'state.log'),
      ]
    : [
        flip('meter', 'state.log'),
        flip('steel', 'state.snap'),
        flip('auth', 'keys.json'),
        swap('txn', 'auth', 'state.snap'),
      ];

  for (const attack of attacks) {
    const saved = BOX_NAMES.flatMap((box) =>
      FILES.map((file) => [path(box, file), readFileSync(path(box, file))] as const),
    );
    attack.apply();
    const error = await start();
    for (const [file, bytes] of saved) writeFileSync(file, bytes);
    check(
      'an edited or swapped box file refuses the start, naming the box',
      error?.code === 'TAMPERED' && error.box === attack.box,
      `${attack.what}: ${error ? `${String(error.code)} ${error.message}` : 'started'}`,
    );
    log(`  ${attack.what}: ${error?.message ?? 'started'}`);
  }
  const after = await start();
  check(
    'the data directory starts again once the files are put back',
    after === undefined,
    after?.message,
  );
}
