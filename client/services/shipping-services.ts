/**
 * @module services/shipping-services
 * The app's shipping channels (shared/ipc/shipping.ts) over the client's address and rate code:
 * the rate comparison of the new-piece screen, the offline address check, and the address book
 * kept beside the client's other files.
 */
import { AddressBook } from '../address/address-book';
import { checkAddress } from '../address/address-check';
import { comparePiece } from '../rates/compare';
import type { ClientServices } from './contract';
import type { PostageService } from './postage-service';

type Shipping = Pick<
  ClientServices,
  | 'rates:compare'
  | 'address:check'
  | 'addressBook:list'
  | 'addressBook:save'
  | 'addressBook:remove'
  | 'addressBook:import'
>;

export function shippingServices(deps: {
  /** The postage service of the data center in use (its folder holds the cache and the book). */
  postage: () => PostageService;
  /** The meter's origin ZIP (the signed-in account's). */
  originZip: () => Promise<string>;
}): Shipping {
  const book = () => new AddressBook(deps.postage().home);
  return {
    'rates:compare': async (req) => {
      const postage = deps.postage();
      const source = await postage.rateTable();
      const result = await comparePiece(
        source.table,
        {
          originZip: req.originZip ?? (await deps.originZip()),
          destinationZip: req.destinationZip,
          weightOz: req.weightOz,
          ...(req.dimsIn ? { dimsIn: req.dimsIn } : {}),
        },
        await postage.rates.zoneChart(),
      );
      return {
        zone: result.zone.zone,
        zoneBasis: result.zone.basis,
        miles: result.zone.miles === undefined ? null : Math.round(result.zone.miles),
        table: { ...result.table, from: source.from },
        offers: result.offers.map((o) => ({
          mailClass: o.mailClass,
          label: o.label,
          postageCents: o.postageCents,
          zone: o.zone,
          billedWeightOz: o.billedWeightOz,
          ...(o.packaging ? { packaging: o.packaging } : {}),
          ...(o.packagingLabel ? { packagingLabel: o.packagingLabel } : {}),
        })),
        unavailable: result.unavailable,
      };
    },
    'address:check': async (req) => {
      const c = await checkAddress(req.address);
      const draft = (a: typeof c.normalized) => ({
        name: a.name,
        street: a.street,
        ...(a.street2 !== undefined ? { street2: a.street2 } : {}),
        city: a.city,
        state: a.state.slice(0, 2),
        zip: a.zip.slice(0, 10),
      });
      return {
        ok: c.ok,
        normalized: draft(c.normalized),
        problems: c.problems,
        suggestion: c.suggestion ? draft(c.suggestion) : null,
        hints: c.hints,
      };
    },
    'addressBook:list': async (req) => (req.query ? book().search(req.query) : book().list()),
    'addressBook:save': async (req) => book().save(req.handle, req.address),
    'addressBook:remove': async (req) => {
      await book().remove(req.handle);
      return null;
    },
    'addressBook:import': async (req) => ({ imported: (await book().importCsv(req.csv)).length }),
  };
}
