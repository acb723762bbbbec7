/**
 * @module cli/client-commands
 * The mailer's commands: signup, login, logout, balance, refill, print, batch, history, refund.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { IDEMPOTENCY_KEY_PATTERN } from '../../shared/atoms';
import { isCalendarDate } from '../../shared/calendar-date';
import { isMailClass, MAIL_CLASS_NAMES, type MailClass } from '../../shared/mail-class';
import { formatDollars, parseDollars } from '../../shared/money';
import { normalizeZip } from '../../shared/zip';
import type { Address } from '../print/index';
import { isMediumId, MEDIUM_IDS, type MediumId } from '../print/media';
import type { Progress } from '../services/postage-service';
import { registerAddressCommands } from './address-commands';
import { readScale, ScaleError } from '../services/scale';
import { cliContext, readPassword, readSecret, type CliContext } from './context';
import { CliError, EXIT } from './errors';
import { io } from './io';

const out = (line: string) => io().stdout.write(`${line}\n`);
const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

async function withContext<T>(command: Command, work: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await cliContext(command);
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

/**
 * The postage of a weighed piece: unzoned classes from the weight, zoned ones with the zone from
 * the meter's origin ZIP to the recipient's, from the rate table this client caches.
 */
async function weighedPostage(
  ctx: CliContext,
  cls: MailClass,
  destinationZip: string,
  opts: { weight?: string; dims?: string; packaging?: string },
): Promise<number> {
  const [{ parseDims, parseWeight }, { quotePiece }, { quote }] = await Promise.all([
    import('../rates/parse'),
    import('../rates/compare'),
    import('../services/rates'),
  ]);
  const weightOz = parseWeight(opts.weight ?? '');
  const postage = await ctx.postage();
  const store = postage.rates;
  const { table } = await postage.rateTable();
  const service = table.services.find((s) => s.mailClass === cls);
  if (!service?.zoned && !opts.dims && !opts.packaging) return quote(cls, weightOz, table);
  const originZip = service?.zoned
    ? (await ctx.session.call((c) => c.account())).originZip
    : undefined;
  const offer = await quotePiece(
    table,
    cls,
    {
      weightOz,
      destinationZip,
      ...(originZip ? { originZip } : {}),
      ...(opts.dims ? { dimsIn: parseDims(opts.dims) } : {}),
      ...(opts.packaging ? { packaging: opts.packaging } : {}),
    },
    await store.zoneChart(),
  );
  return offer.postageCents;
}

/** "NAME, STREET, CITY, ST ZIP" (a second street line may follow the first). */
export function parseAddress(text: string, option = '--to'): Address {
  const parts = text.split(',').map((p) => p.trim());
  const last = parts.pop() ?? '';
  const match = /^([A-Za-z]{2})\s+(\d{5}(?:-?\d{4})?)$/.exec(last);
  if (parts.length < 3 || parts.length > 4 || !match) {
    throw new CliError(
      `${option} "${text}": write it as "NAME, STREET, CITY, ST ZIP", e.g. "Ann Lee, 1 Main St, Springfield, IL 62701"`,
      EXIT.usage,
    );
  }
  const [name, street, ...rest] = parts as [string, string, ...string[]];
  const city = rest.pop() as string;
  return {
    name,
    street,
    ...(rest[0] ? { street2: rest[0] } : {}),
    city,
    state: (match[1] as string).toUpperCase(),
    zip: normalizeZip(match[2] as string),
  };
}

function media(value: string): MediumId {
  if (!isMediumId(value))
    throw new CliError(
      `--media ${value}: unknown; choose one of ${MEDIUM_IDS.join(', ')}`,
      EXIT.usage,
    );
  return value;
}

function mailClass(value: string): MailClass {
  if (!isMailClass(value))
    throw new CliError(
      `--class ${value}: unknown; choose one of ${MAIL_CLASS_NAMES.join(', ')}`,
      EXIT.usage,
    );
  return value;
}

/** The attached USB scale's settled weight in ounces; its refusal says what to do. */
function scaleOunces(): number {
  try {
    const ounces = readScale().ounces;
    if (ounces === undefined || ounces <= 0)
      throw new CliError(
        'scale: reads zero; put the piece on the scale and try again',
        EXIT.refused,
      );
    return ounces;
  } catch (error) {
    if (error instanceof ScaleError) throw new CliError(error.message, EXIT.refused);
    throw error;
  }
}

const FORMAT_HELP =
  'pdf, html (with --out: the document Chromium prints) or zpl (Zebra thermal printers, file or raw queue)';
const DPI_HELP = 'thermal printer resolution, 203 or 300: ZPL, and PDF labels on its dot grid';

function target(opts: { out?: string; printer?: string; format?: string; dpi?: string }): {
  out?: string;
  printer?: string;
  format?: 'pdf' | 'html' | 'zpl';
  dpi?: number;
} {
  if (!opts.out === !opts.printer)
    throw new CliError('give exactly one of --out FILE.pdf or --printer QUEUE', EXIT.usage);
  const format = opts.format ?? 'pdf';
  if (format !== 'pdf' && format !== 'html' && format !== 'zpl')
    throw new CliError(`--format ${format}: unknown; choose pdf, html or zpl`, EXIT.usage);
  if (format === 'html' && !opts.out)
    throw new CliError('--format html: give --out FILE.html (printer queues take PDF)', EXIT.usage);
  const dpi = opts.dpi === undefined ? undefined : Number(opts.dpi);
  if (dpi !== undefined && dpi !== 203 && dpi !== 300)
    throw new CliError(
      `--dpi ${opts.dpi}: choose 203 or 300 (the thermal printer's resolution)`,
      EXIT.usage,
    );
  if (format === 'zpl' && dpi === undefined)
    throw new CliError(
      "--format zpl: give --dpi 203 or --dpi 300 (the printer's resolution)",
      EXIT.usage,
    );
  const extra = { ...(dpi ? { dpi } : {}) };
  if (opts.out) return { out: opts.out, format, ...extra };
  return { printer: opts.printer as string, ...(format === 'zpl' ? { format } : {}), ...extra };
}

/** What a file written by --out is called in messages. */
const fileKind = (where: { format?: string }): string =>
  where.format === 'html' ? 'HTML' : where.format === 'zpl' ? 'ZPL' : 'PDF';

/** A card number, from standard input or asked for without echo; digits only, 12 to 19. */
async function readCardNumber(fromStdin: boolean): Promise<string> {
  if (!fromStdin && !io().stdin.isTTY)
    throw new CliError(
      'refill: no card number; give it on standard input with --card-stdin (echo NUMBER | vpm refill AMOUNT --card-stdin)',
      EXIT.usage,
    );
  const card = (await readSecret(fromStdin, 'Card number: ')).trim().replace(/[\s-]/g, '');
  if (!/^[0-9]{12,19}$/.test(card))
    throw new CliError('card number: 12 to 19 digits; check it and try again', EXIT.usage);
  return card;
}

/** After a purchase: a warning when the balance fell below the mailer's low-balance threshold. */
async function warnIfLow(ctx: CliContext): Promise<void> {
  const a = await ctx.session.call((c) => c.account());
  if (a.balanceCents < a.lowBalanceCents) {
    out(
      `Low balance: ${formatDollars(a.balanceCents)} is below ${formatDollars(a.lowBalanceCents)}; refill with vpm refill AMOUNT.`,
    );
  }
}

/** A progress bar on a terminal; one line per step when stderr is a log file or a pipe. */
function progressBar(p: Progress): void {
  const label = p.phase === 'charging' ? 'Buying postage' : 'Rendering     ';
  if (!io().stderr.isTTY) {
    if (p.phase === 'charging' || p.done === p.total)
      io().stderr.write(`${label.trim()} ${p.done}/${p.total}\n`);
    return;
  }
  const width = 30;
  const filled = Math.round((p.done / Math.max(1, p.total)) * width);
  io().stderr.write(
    `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}${p.done < p.total ? '' : '\n'}`,
  );
}

/** The recipient of `--to`: an address, or `@handle` from the address book. */
async function recipientOf(text: string, home: string): Promise<Address> {
  if (!text.trim().startsWith('@')) return parseAddress(text);
  const { AddressBook } = await import('../address/address-book');
  return (await new AddressBook(home).get(text.trim())).address;
}

/** The return address: `--from` (an address or @handle), else the one in the settings. */
async function returnAddressOf(
  from: string | undefined,
  ctx: CliContext,
): Promise<Address | undefined> {
  if (from !== undefined) {
    if (from.trim().startsWith('@')) {
      const { AddressBook } = await import('../address/address-book');
      return (await new AddressBook(ctx.home).get(from.trim())).address;
    }
    return parseAddress(from, '--from');
  }
  return (await ctx.session.config.load()).returnAddress;
}

export function registerClientCommands(program: Command): void {
  registerAddressCommands(program, parseAddress);
  program
    .command('signup')
    .description('create a mailer account and its meter at the data center')
    .requiredOption('--user <name>', 'user name (lowercase letters, digits, . _ -)')
    .requiredOption(
      '--zip <zip>',
      'origin ZIP code (5 digits): where your mail enters the mail stream',
    )
    .option('--name <name>', 'your or your business name')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      async (
        opts: { user: string; zip: string; name?: string; passwordStdin?: boolean },
        command: Command,
      ) =>
        withContext(command, async (ctx) => {
          const password = await readPassword(
            opts.passwordStdin ?? false,
            'Choose a password (at least 10 characters): ',
          );
          const account = await ctx.session.signUp({
            username: opts.user,
            password,
            name: opts.name ?? opts.user,
            originZip: opts.zip,
          });
          out(
            `Account ${account.username} created with meter ${account.meterSerial}. Sign in with: vpm login --user ${account.username}`,
          );
        }),
    );

  program
    .command('login')
    .description('sign in; the password is kept in the OS keychain when there is one')
    .requiredOption('--user <name>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts: { user: string; passwordStdin?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const password = await readPassword(opts.passwordStdin ?? false);
        const { account, previousLogin } = await ctx.session.signIn(opts.user, password);
        out(
          `Signed in as ${account.username}, meter ${account.meterSerial}, balance ${formatDollars(account.balanceCents)}.`,
        );
        if (previousLogin) out(`Previous sign-on: ${previousLogin}`);
        if (ctx.session.keychain.kind === 'none') {
          out(
            `No OS keychain here: only the session token is kept, in ${ctx.home}/session.json (mode 0600); sign in again when it expires.`,
          );
        }
      }),
    );

  program
    .command('logout')
    .description('sign out and remove the saved credentials')
    .action(async (_opts: unknown, command: Command) =>
      withContext(command, async (ctx) => {
        await ctx.session.signOut();
        out('Signed out; saved credentials removed.');
      }),
    );

  program
    .command('balance')
    .description("show the meter's registers")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const a = await ctx.session.call((c) => c.account());
        if (opts.json) {
          out(
            JSON.stringify({
              balanceCents: a.balanceCents,
              ascendingCents: a.ascendingCents,
              creditedCents: a.creditedCents,
              meterSerial: a.meterSerial,
              demo: a.demo,
            }),
          );
          return;
        }
        out(
          `Meter ${a.meterSerial}${a.demo ? ' (demo)' : ''}: balance ${formatDollars(a.balanceCents)}, used ${formatDollars(a.ascendingCents)}, funded ${formatDollars(a.creditedCents)}`,
        );
        if (a.balanceCents < a.lowBalanceCents)
          out(
            `Balance is below ${formatDollars(a.lowBalanceCents)}: refill with vpm refill AMOUNT`,
          );
      }),
    );

  program
    .command('refill')
    .description('add funds to the meter (prepaid, by card)')
    .argument('<amount>', 'dollars, e.g. 50 or 25.00')
    .option(
      '--card-stdin',
      'read the card number from standard input (test cards: 4242424242424242)',
    )
    // Never a value on the command line: other users see it in `ps`, and shells keep it.
    .addOption(new Option('--card <number>').hideHelp())
    .action(
      async (amount: string, opts: { card?: string; cardStdin?: boolean }, command: Command) => {
        if (opts.card !== undefined)
          throw new CliError(
            '--card: a card number is never taken on the command line (other users can see it, shells keep it); give it on standard input with --card-stdin, or type it when asked',
            EXIT.usage,
          );
        const amountCents = parseDollars(amount);
        const cardNumber = await readCardNumber(opts.cardStdin ?? false);
        await withContext(command, async (ctx) => {
          const a = await ctx.session.call((c) =>
            c.refill({ amountCents, cardNumber, idempotencyKey: `refill-${randomUUID()}` }),
          );
          out(`Added ${formatDollars(amountCents)}. Balance ${formatDollars(a.balanceCents)}.`);
        });
      },
    );

  program
    .command('scale')
    .description('read the weight on the attached USB postal scale (HID)')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }) => {
      try {
        const r = readScale();
        out(opts.json ? JSON.stringify(r) : `${r.shown} (${(r.ounces ?? 0).toFixed(2)} oz)`);
      } catch (error) {
        if (error instanceof ScaleError) throw new CliError(error.message, EXIT.refused);
        throw error;
      }
    });

  program
    .command('print')
    .description('buy postage for one piece and print it')
    .requiredOption(
      '--to <address>',
      'recipient: "NAME, STREET, CITY, ST ZIP", or @handle from the address book',
    )
    .option(
      '--from <address>',
      'return address for this piece (default: vpm settings --return-address)',
    )
    .option(
      '--accept-address',
      'keep the recipient as written though the ZIP check disagrees (remembered on the piece)',
    )
    .option('--postage <dollars>', 'postage amount, e.g. 0.78')
    .option(
      '--weight <weight>',
      'weight (8oz, 2lb; a bare number is ounces), or "scale" (the attached USB scale): postage from the rate table',
    )
    .option('--dims <LxWxH>', 'size in inches, for services priced by size')
    .option('--packaging <id>', 'flat-rate packaging, e.g. flat-rate-envelope')
    .option(
      '--mailing-date <date>',
      'date of mailing, YYYY-MM-DD: today (default) or a later day the data center allows',
    )
    .option('--class <class>', `mail class: ${MAIL_CLASS_NAMES.join(', ')}`, 'first-class')
    .option('--media <media>', `medium: ${MEDIUM_IDS.join(', ')}`, 'env10')
    .option('--out <file>', 'write the PDF here')
    .option('--format <format>', FORMAT_HELP, 'pdf')
    .option('--dpi <dpi>', DPI_HELP)
    .option('--imb', 'print the Intelligent Mail barcode on envelopes (letters)')
    .option('--printer <queue>', 'send to this printer queue')
    .option(
      '--idempotency-key <key>',
      'for scripts that retry: the same key again gives the same piece, never a second charge (8-128 of A-Z a-z 0-9 . _ : -)',
    )
    .action(
      async (
        opts: {
          to: string;
          from?: string;
          acceptAddress?: boolean;
          postage?: string;
          weight?: string;
          dims?: string;
          packaging?: string;
          mailingDate?: string;
          class: string;
          media: string;
          out?: string;
          format?: string;
          dpi?: string;
          printer?: string;
          idempotencyKey?: string;
        },
        command: Command,
      ) =>
        withContext(command, async (ctx) => {
          const recipient = await recipientOf(opts.to, ctx.home);
          const returnAddress = await returnAddressOf(opts.from, ctx);
          const cls = mailClass(opts.class);
          const where = target(opts);
          if (!opts.postage && !opts.weight)
            throw new CliError('give --postage DOLLARS or --weight (8oz, 2lb)', EXIT.usage);
          const weight = opts.weight === 'scale' ? String(scaleOunces()) : opts.weight;
          const weightOz = weight
            ? (await import('../rates/parse')).parseWeight(weight)
            : undefined;
          const postageCents = opts.postage
            ? parseDollars(opts.postage)
            : await weighedPostage(ctx, cls, recipient.zip, { ...opts, weight });
          if (opts.mailingDate !== undefined && !isCalendarDate(opts.mailingDate))
            throw new CliError(
              `--mailing-date ${opts.mailingDate}: write a calendar date as YYYY-MM-DD`,
              EXIT.usage,
            );
          if (postageCents <= 0)
            throw new CliError('--postage: must be more than 0.00', EXIT.usage);
          const key = opts.idempotencyKey;
          if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
            throw new CliError(
              `--idempotency-key: 8 to 128 letters, digits, . _ : or -, e.g. $(uuidgen); got "${key.slice(0, 40)}"`,
              EXIT.usage,
            );
          const r = await (
            await ctx.postage()
          ).printOne(
            {
              recipient,
              postageCents,
              mailClass: cls,
              ...(key ? { idempotencyKey: key } : {}),
              ...(opts.acceptAddress ? { acceptAddress: true } : {}),
              ...(opts.mailingDate ? { mailingDate: opts.mailingDate } : {}),
              ...(weightOz === undefined ? {} : { weightOz }),
            },
            {
              ...where,
              media: media(opts.media),
              ...(returnAddress ? { returnAddress } : {}),
              ...((opts as { imb?: boolean }).imb || (await ctx.session.config.load()).imb
                ? { imb: true }
                : {}),
            },
          );
          out(
            `Piece ${r.piece.pieceId}: ${formatDollars(r.piece.postageCents)} ${cls}${r.piece.replayed ? ' (bought before with this key: not charged again)' : ''}. Balance ${formatDollars(r.balanceCents)}.${r.piece.trackingNumber ? ` Tracking ${r.piece.trackingNumber}.` : ''}`,
          );
          if (r.addressOverride)
            out(
              `Address kept as written (--accept-address): ${r.addressOverride.problems.join('; ')}.`,
            );
          out(
            r.jobId
              ? `Sent to printer ${where.printer} as job ${r.jobId}.`
              : `${fileKind(where)} written to ${r.pdfPath}.`,
          );
          await warnIfLow(ctx);
        }),
    );

  program
    .command('batch')
    .description(
      'buy and print postage for every address in a CSV file (name,street,city,state,zip[,postage][,class][,weight])',
    )
    .argument('<file>', 'CSV address list with a header row')
    .option('--media <media>', `medium: ${MEDIUM_IDS.join(', ')}`, 'env10')
    .option('--out <file>', 'write one PDF here')
    .option('--format <format>', FORMAT_HELP, 'pdf')
    .option('--dpi <dpi>', DPI_HELP)
    .option('--imb', 'print the Intelligent Mail barcode on envelopes (letters)')
    .option('--printer <queue>', 'send one job to this printer queue')
    .option(
      '--resume',
      'finish an interrupted run of this file; pieces already paid are not charged again',
    )
    .option(
      '--again',
      'print a list that was printed in full before: every row is bought and charged again',
    )
    .option('--from <address>', 'return address (default: vpm settings --return-address)')
    .option(
      '--accept-address',
      'keep every address as written though the ZIP check disagrees (a row can say accept_address = yes instead)',
    )
    .action(
      async (
        file: string,
        opts: {
          from?: string;
          acceptAddress?: boolean;
          media: string;
          out?: string;
          format?: string;
          dpi?: string;
          printer?: string;
          resume?: boolean;
          again?: boolean;
        },
        command: Command,
      ) =>
        withContext(command, async (ctx) => {
          const where = target(opts);
          const csv = await readFile(file, 'utf8').catch(() => {
            throw new CliError(`${file}: cannot be read`, EXIT.usage);
          });
          const returnAddress = await returnAddressOf(opts.from, ctx);
          const r = await (
            await ctx.postage()
          ).runBatch(
            csv,
            {
              ...where,
              media: media(opts.media),
              ...(returnAddress ? { returnAddress } : {}),
              ...((opts as { imb?: boolean }).imb || (await ctx.session.config.load()).imb
                ? { imb: true }
                : {}),
            },
            {
              resume: opts.resume ?? false,
              again: opts.again ?? false,
              onProgress: progressBar,
              ...(opts.acceptAddress ? { acceptAddresses: true } : {}),
            },
          );
          out(
            `Batch: ${r.pieces} pieces (${r.charged} charged now, ${r.pieces - r.charged} already paid). Balance ${formatDollars(r.balanceCents)}.`,
          );
          out(
            r.jobId
              ? `Sent to printer ${where.printer} as job ${r.jobId}.`
              : `${fileKind(where)} written to ${r.pdfPath} (${r.pages} pages).`,
          );
          await warnIfLow(ctx);
        }),
    );

  program
    .command('history')
    .description('list the pieces you bought')
    .option('--csv', 'all pieces as CSV')
    .option('--page <n>', 'page', '1')
    .option('--search <text>', 'match piece id, tracking number, ZIP, class or date')
    .action(async (opts: { csv?: boolean; page: string; search?: string }, command: Command) =>
      withContext(command, async (ctx) => {
        if (opts.csv) {
          io().stdout.write(await ctx.session.call((c) => c.historyCsv()));
          return;
        }
        const page = Number(opts.page);
        if (!Number.isInteger(page) || page < 1)
          throw new CliError('--page: a whole number from 1', EXIT.usage);
        const h = await ctx.session.call((c) =>
          c.history({ page, pageSize: 50, ...(opts.search ? { q: opts.search } : {}) }),
        );
        if (h.items.length === 0) out('No pieces yet.');
        for (const i of h.items)
          out(
            `${i.createdAt}  ${i.pieceId}  ${formatDollars(i.postageCents).padStart(8)}  ${i.mailClass.padEnd(16)} to ${i.destinationZip.padEnd(9)}  ${i.status}${i.refundable ? ' (refundable)' : ''}${i.trackingNumber ? `  tracking ${i.trackingNumber}` : ''}`,
          );
        out(
          `Page ${h.page} of ${Math.max(1, Math.ceil(h.total / h.pageSize))} (${h.total} pieces)`,
        );
      }),
    );

  program
    .command('refund')
    .description('refund an unused piece (within 30 days, once)')
    .argument('<pieceId>', 'the piece id (vpm history lists them)')
    .action(async (pieceId: string, _opts: unknown, command: Command) =>
      withContext(command, async (ctx) => {
        const r = await (await ctx.postage()).refund(pieceId);
        out(
          `Refunded ${formatDollars(r.refundedCents)} for piece ${r.pieceId}. Balance ${formatDollars(r.balanceCents)}.`,
        );
      }),
    );

  program
    .command('reprint')
    .description('print an issued piece again (not charged)')
    .argument('<pieceId>', 'the piece id')
    .option('--media <media>', 'medium', 'env10')
    .option('--out <file>', 'write the PDF here')
    .option('--format <format>', FORMAT_HELP, 'pdf')
    .option('--dpi <dpi>', DPI_HELP)
    .option('--imb', 'print the Intelligent Mail barcode on envelopes (letters)')
    .option('--printer <queue>', 'send to this printer queue')
    .action(
      async (
        pieceId: string,
        opts: { media: string; out?: string; format?: string; printer?: string; imb?: boolean },
        command: Command,
      ) =>
        withContext(command, async (ctx) => {
          const r = await (
            await ctx.postage()
          ).reprint(pieceId, {
            ...target(opts),
            media: media(opts.media),
            ...(opts.imb || (await ctx.session.config.load()).imb ? { imb: true } : {}),
          });
          out(r.jobId ? `Reprint sent as job ${r.jobId}.` : `Reprint written to ${r.pdfPath}.`);
        }),
    );
}
