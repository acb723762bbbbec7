/**
 * @module cli/address-commands
 * The mailer's address commands: `vpm settings` (the return address printed on every piece),
 * `vpm address-book` (saved recipients, used as `--to @handle`), `vpm rates` (every service for a
 * piece, cheapest first) and `vpm zones import` (the official zone chart).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatDollars } from '../../shared/money';
import { describeOffer } from '../../shared/rates/price';
import type { Address } from '../print/index';
import { CliError, EXIT } from './errors';
import { io } from './io';

const out = (line: string) => io().stdout.write(`${line}\n`);

/** One line of an address, as `--to` takes it. */
export const addressLine = (a: Address): string =>
  [a.name, a.company, a.street, a.street2, a.city, `${a.state} ${a.zip}`]
    .filter(Boolean)
    .join(', ');

async function home(): Promise<string> {
  const { configHome } = await import('../services/config');
  return configHome(io().env);
}

export function registerAddressCommands(
  program: Command,
  parseAddress: (text: string, option?: string) => Address,
): void {
  program
    .command('settings')
    .description('show or change the client settings (the return address printed on every piece)')
    .option('--return-address <address>', 'return address: "NAME, STREET, CITY, ST ZIP"')
    .option('--clear-return-address', 'print no return address')
    .option('--imb <on|off>', 'print the Intelligent Mail barcode on envelopes (letters)')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        returnAddress?: string;
        clearReturnAddress?: boolean;
        imb?: string;
        json?: boolean;
      }) => {
        const { ConfigStore } = await import('../services/config');
        const store = new ConfigStore(await home());
        const saved = await store.load();
        if (opts.returnAddress !== undefined && opts.clearReturnAddress)
          throw new CliError(
            'give --return-address or --clear-return-address, not both',
            EXIT.usage,
          );
        if (opts.returnAddress !== undefined) {
          const { uspsAddress } = await import('../../shared/address-style');
          const { addressProblems } = await import('../../shared/address-text');
          const address = uspsAddress(parseAddress(opts.returnAddress, '--return-address'));
          const problems = addressProblems(address, 'return address');
          if (problems.length > 0)
            throw new CliError(problems.map((p) => p.message).join('; '), EXIT.usage);
          await store.save({ ...saved, returnAddress: address });
          saved.returnAddress = address;
        } else if (opts.clearReturnAddress) {
          const { returnAddress: _dropped, ...rest } = saved;
          await store.save(rest);
          delete saved.returnAddress;
        }
        if (opts.imb !== undefined) {
          if (opts.imb !== 'on' && opts.imb !== 'off')
            throw new CliError(`--imb ${opts.imb}: say on or off`, EXIT.usage);
          const { imb: _old, ...rest } = await store.load();
          await store.save(opts.imb === 'on' ? { ...rest, imb: true } : rest);
          if (opts.imb === 'on') saved.imb = true;
          else delete saved.imb;
        }
        if (opts.json) {
          out(
            JSON.stringify({
              returnAddress: saved.returnAddress ?? null,
              ...(saved.imb ? { imb: true } : {}),
            }),
          );
          return;
        }
        out(`Intelligent Mail barcode on envelopes: ${saved.imb ? 'on' : 'off'}`);
        out(
          `Return address: ${saved.returnAddress ? addressLine(saved.returnAddress) : '(none; set one with vpm settings --return-address "NAME, STREET, CITY, ST ZIP")'}`,
        );
      },
    );

  const book = program
    .command('address-book')
    .description('saved recipients: use one with --to @handle');
  const openBook = async () => {
    const { AddressBook } = await import('../address/address-book');
    return new AddressBook(await home());
  };
  book
    .command('add')
    .description('save a recipient under a handle')
    .argument('<handle>', 'short name, e.g. ann (then --to @ann)')
    .argument('<address>', '"NAME, STREET, CITY, ST ZIP"')
    .action(async (handle: string, address: string) => {
      const entry = await (await openBook()).save(handle, parseAddress(address, 'address'));
      out(`Saved @${entry.handle}: ${addressLine(entry.address)}`);
    });
  book
    .command('list')
    .description('list the saved recipients (or those matching --search)')
    .option('--search <text>', 'words to find in the handle, name, street, city, state or ZIP')
    .option('--json', 'machine-readable output')
    .action(async (opts: { search?: string; json?: boolean }) => {
      const b = await openBook();
      const entries = opts.search ? await b.search(opts.search) : await b.list();
      if (opts.json) {
        out(JSON.stringify(entries));
        return;
      }
      if (entries.length === 0)
        out(opts.search ? 'No saved recipient matches.' : 'No saved recipients.');
      for (const e of entries) out(`@${e.handle.padEnd(16)} ${addressLine(e.address)}`);
    });
  book
    .command('remove')
    .description('remove a saved recipient')
    .argument('<handle>', 'its handle')
    .action(async (handle: string) => {
      await (await openBook()).remove(handle);
      out(`Removed @${handle.replace(/^@/, '')}.`);
    });
  book
    .command('import')
    .description(
      'save every row of a CSV in the batch format (name,street,city,state,zip; optional handle column)',
    )
    .argument('<file>', 'CSV file')
    .action(async (file: string) => {
      const csv = await readFile(file, 'utf8').catch(() => {
        throw new CliError(`${file}: cannot be read`, EXIT.usage);
      });
      const added = await (await openBook()).importCsv(csv);
      out(`Imported ${added.length} recipient(s): ${added.map((e) => `@${e.handle}`).join(', ')}`);
    });

  program
    .command('rates')
    .description('every service for a piece with its price and zone, cheapest first')
    .requiredOption('--from <zip>', 'origin ZIP')
    .requiredOption('--to <zip>', 'destination ZIP')
    .requiredOption('--weight <weight>', 'weight, e.g. 8oz, 2lb, 1lb4oz')
    .option(
      '--dims <LxWxH>',
      'size in inches, e.g. 12x10x6 (dimensional weight above one cubic foot)',
    )
    .option('--refresh', "fetch the data center's rate table now, not the cached one")
    .option('--json', 'machine-readable output')
    .action(
      async (
        opts: {
          from: string;
          to: string;
          weight: string;
          dims?: string;
          refresh?: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const [{ parseDims, parseWeight }, { comparePiece }, { cliContext }] = await Promise.all([
          import('../rates/parse'),
          import('../rates/compare'),
          import('./context'),
        ]);
        const weightOz = parseWeight(opts.weight);
        const dimsIn = opts.dims ? parseDims(opts.dims) : undefined;
        const ctx = await cliContext(command);
        try {
          const postage = await ctx.postage();
          const source = await postage.rateTable({ refresh: opts.refresh ?? false });
          const { table } = source;
          const result = await comparePiece(
            table,
            {
              originZip: opts.from,
              destinationZip: opts.to,
              weightOz,
              ...(dimsIn ? { dimsIn } : {}),
            },
            await postage.rates.zoneChart(),
          );
          if (opts.json) {
            out(JSON.stringify({ ...result, tableFrom: source.from }));
            return;
          }
          out(
            `Zone ${result.zone.zone} (${result.zone.basis === 'chart' ? 'official zone chart' : `${Math.round(result.zone.miles ?? 0)} miles between the ZIP areas${result.zone.basis === 'territory' ? ', territory' : ''}`}); rate table ${table.version}, effective ${table.effectiveDate}, ${source.from === 'shipped' ? 'shipped with the product' : source.from === 'cache' ? 'cached copy' : 'from the data center'}.`,
          );
          if (source.offline) out(`(The data center could not be reached: ${source.offline})`);
          if (result.offers.length === 0) out('No service in the table prices this piece.');
          for (const o of result.offers) out(`  ${describeOffer(o)}`);
          for (const u of result.unavailable) out(`  — ${u.label}: ${u.reason}`);
          if (result.offers[0])
            out(
              `Cheapest: ${formatDollars(result.offers[0].postageCents)} ${result.offers[0].label}.`,
            );
        } finally {
          await ctx.close();
        }
      },
    );

  program
    .command('zones')
    .description('the official USPS zone chart')
    .command('import')
    .description(
      'import the official zone chart (CSV origin,destination,zone of 3-digit ZIP areas); it then takes precedence over distances',
    )
    .argument('<file>', 'CSV file')
    .action(async (file: string) => {
      const [{ parseZoneChart }, { RateStore }] = await Promise.all([
        import('../rates/zone-chart'),
        import('../rates/rate-store'),
      ]);
      const text = await readFile(file, 'utf8').catch(() => {
        throw new CliError(`${file}: cannot be read`, EXIT.usage);
      });
      const data = parseZoneChart(text, file);
      await new RateStore(await home()).saveZoneChart(data);
      out(`Zone chart imported: ${Object.keys(data.origins).length} origin area(s), from ${file}.`);
    });
}
