/**
 * @module renderer/screens/settings
 * Settings: the data center's URL and CA (pinned), demo mode, the return address printed on
 * every envelope and label, default printer and medium, and per-printer calibration offsets
 * (millimetres) that shift the print to fit the paper.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { type PrinterInfo, type Settings } from '../../shared/ipc';
import { MAX_CALIBRATION_MM, type Calibration, type Media } from '../../shared/domain';
import { CheckboxField, Notice, SelectField, TextField } from '../components/fields';
import { MEDIA_OPTIONS, PDF_ONLY, printerOptions, toPrinter } from '../options';
import { checkAddressLine, checkDestZip, checkState, compact, type Errors } from '../validate';
import { call, placeError } from '../vpm';

function parseMm(value: string): number | null {
  const v = value.trim();
  if (!/^-?\d{1,2}(\.\d{1,2})?$/.test(v)) return null;
  const n = Number(v);
  return Math.abs(n) <= MAX_CALIBRATION_MM ? n : null;
}

export function SettingsScreen(props: { onSaved: () => void; onBack?: () => void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [printers, setPrinters] = useState<PrinterInfo[]>([]);
  const [serverUrl, setServerUrl] = useState('');
  const [caPath, setCaPath] = useState('');
  const [calPrinter, setCalPrinter] = useState('');
  const [cal, setCal] = useState({ x: '0', y: '0' });
  const [from, setFrom] = useState({
    name: '',
    street: '',
    street2: '',
    city: '',
    state: '',
    zip: '',
  });
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);

  useEffect(() => {
    let live = true;
    void Promise.all([call('settings:get', {}), call('printers:list', {})]).then(([s, p]) => {
      if (!live) return;
      if (s.ok) {
        setSettings(s.value);
        setServerUrl(s.value.serverUrl);
        setCaPath(s.value.caPath ?? '');
        const r = s.value.returnAddress;
        if (r) setFrom({ ...r, street2: r.street2 ?? '' });
      } else {
        setNotice({ kind: 'error', text: s.error.message });
      }
      if (p.ok) {
        setPrinters(p.value);
        const first = p.value[0]?.name ?? '';
        setCalPrinter(first);
        const c = s.ok ? s.value.calibration[first] : undefined;
        setCal({ x: String(c?.xMm ?? 0), y: String(c?.yMm ?? 0) });
      }
    });
    return () => {
      live = false;
    };
  }, []);

  if (settings === null) {
    return (
      <section aria-labelledby="settings-title">
        <h1 id="settings-title" tabIndex={-1}>
          Settings
        </h1>
        {notice ? (
          <Notice kind={notice.kind}>{notice.text}</Notice>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
    );
  }

  const update = (patch: Partial<Settings>) => setSettings({ ...settings, ...patch });

  const pickCalPrinter = (name: string) => {
    setCalPrinter(name);
    const c: Calibration | undefined = settings.calibration[name];
    setCal({ x: String(c?.xMm ?? 0), y: String(c?.yMm ?? 0) });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const url = serverUrl
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '')
      .join(',');
    let urlError: string | null = null;
    // Several API nodes of one data center: their URLs separated by commas, tried in turn.
    for (const one of url === '' ? [''] : url.split(',')) {
      try {
        if (new URL(one).protocol !== 'https:')
          urlError = 'The data center URL must start with https://.';
      } catch {
        urlError = 'Enter the data center URL, like https://meter.example.com.';
      }
    }
    const x = parseMm(cal.x);
    const y = parseMm(cal.y);
    // The return address: all of it or none of it.
    const anyFrom = Object.values(from).some((v) => v.trim() !== '');
    const fromErrors: Record<string, string | null> = anyFrom
      ? {
          fromName: checkAddressLine(from.name, 'return address name'),
          fromStreet: checkAddressLine(from.street, 'return address street'),
          fromCity: checkAddressLine(from.city, 'return address city'),
          fromState: checkState(from.state.toUpperCase()),
          fromZip: checkDestZip(from.zip),
        }
      : {};
    const found = compact({
      ...fromErrors,
      serverUrl: urlError,
      calX:
        calPrinter !== '' && x === null
          ? `Enter millimetres between -${MAX_CALIBRATION_MM} and ${MAX_CALIBRATION_MM}, like 1.5.`
          : null,
      calY:
        calPrinter !== '' && y === null
          ? `Enter millimetres between -${MAX_CALIBRATION_MM} and ${MAX_CALIBRATION_MM}, like -0.5.`
          : null,
    });
    setErrors(found);
    setNotice(null);
    if (Object.keys(found).length > 0) return;
    const calibration = { ...settings.calibration };
    if (calPrinter !== '' && x !== null && y !== null) calibration[calPrinter] = { xMm: x, yMm: y };
    const { returnAddress: _old, ...rest } = settings;
    const next: Settings = {
      ...rest,
      ...(anyFrom
        ? {
            returnAddress: {
              name: from.name.trim(),
              street: from.street.trim(),
              ...(from.street2.trim() ? { street2: from.street2.trim() } : {}),
              city: from.city.trim(),
              state: from.state.trim().toUpperCase(),
              zip: from.zip.trim(),
            },
          }
        : {}),
      serverUrl: url,
      caPath: caPath.trim() === '' ? null : caPath.trim(),
      calibration,
    };
    const result = await call('settings:set', next);
    if (result.ok) {
      setSettings(result.value);
      setNotice({ kind: 'success', text: 'Settings saved.' });
      props.onSaved();
    } else {
      const placed = placeError(result.error, ['serverUrl', 'caPath']);
      setErrors(placed.fieldErrors);
      if (placed.formError) setNotice({ kind: 'error', text: placed.formError });
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title" tabIndex={-1}>
        Settings
      </h1>
      <form className="settings" onSubmit={(e) => void submit(e)} noValidate>
        {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
        <fieldset className="card">
          <legend>Data center</legend>
          <CheckboxField
            id="settings-demo"
            label="Demo mode"
            hint="Runs a data center on this computer with a demo account. Indicia are samples, not valid postage."
            checked={settings.demoMode}
            onChecked={(demoMode) => update({ demoMode })}
          />
          <TextField
            id="settings-server-url"
            label="Data center URL"
            hint="Several servers of one data center: separate their URLs with commas."
            type="url"
            inputMode="url"
            autoComplete="off"
            value={serverUrl}
            onValue={setServerUrl}
            error={errors.serverUrl}
            disabled={settings.demoMode}
          />
          <TextField
            id="settings-ca-path"
            label="Data center CA certificate file (optional)"
            hint="Path to the PEM file from your vendor. Leave empty to use the certificate saved when you enrolled."
            autoComplete="off"
            value={caPath}
            onValue={setCaPath}
            error={errors.caPath}
            disabled={settings.demoMode}
          />
        </fieldset>
        <fieldset className="card">
          <legend>Return address</legend>
          <p className="hint">Printed on every envelope and label. Leave empty to print none.</p>
          <TextField
            id="settings-from-name"
            label="Return name or business"
            autoComplete="off"
            value={from.name}
            onValue={(name) => setFrom((f) => ({ ...f, name }))}
            error={errors.fromName}
            maxLength={100}
          />
          <TextField
            id="settings-from-street"
            label="Return street address"
            autoComplete="off"
            value={from.street}
            onValue={(street) => setFrom((f) => ({ ...f, street }))}
            error={errors.fromStreet}
            maxLength={100}
          />
          <TextField
            id="settings-from-street2"
            label="Return apartment, suite (optional)"
            autoComplete="off"
            value={from.street2}
            onValue={(street2) => setFrom((f) => ({ ...f, street2 }))}
            maxLength={100}
          />
          <div className="row">
            <TextField
              id="settings-from-city"
              className="grow"
              label="Return city"
              autoComplete="off"
              value={from.city}
              onValue={(city) => setFrom((f) => ({ ...f, city }))}
              error={errors.fromCity}
              maxLength={60}
            />
            <TextField
              id="settings-from-state"
              className="narrow"
              label="Return state"
              autoComplete="off"
              value={from.state}
              onValue={(state) => setFrom((f) => ({ ...f, state: state.toUpperCase() }))}
              error={errors.fromState}
              maxLength={2}
            />
            <TextField
              id="settings-from-zip"
              className="medium"
              label="Return ZIP code"
              inputMode="numeric"
              autoComplete="off"
              value={from.zip}
              onValue={(zip) => setFrom((f) => ({ ...f, zip }))}
              error={errors.fromZip}
              maxLength={10}
            />
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>Printing</legend>
          <div className="row">
            <SelectField
              id="settings-printer"
              className="grow"
              label="Default printer"
              value={settings.defaultPrinter ?? PDF_ONLY}
              onValue={(v) => update({ defaultPrinter: toPrinter(v) })}
              options={printerOptions(printers)}
            />
            <SelectField
              id="settings-media"
              className="grow"
              label="Default medium"
              value={settings.defaultMedia}
              onValue={(v) => update({ defaultMedia: v as Media })}
              options={MEDIA_OPTIONS}
            />
          </div>
          <CheckboxField
            id="settings-imb"
            label="Intelligent Mail barcode on envelopes"
            hint="Prints the letter's USPS tracking barcode below the address."
            checked={settings.imb ?? false}
            onChecked={(imb) => update({ imb })}
          />
        </fieldset>
        <fieldset className="card">
          <legend>Calibration</legend>
          <p className="hint">
            If the print lands off the paper&apos;s marks, shift it: positive moves right and down.
          </p>
          {printers.length === 0 ? (
            <p className="muted">No printers found. Calibration applies to printers only.</p>
          ) : (
            <div className="row">
              <SelectField
                id="settings-cal-printer"
                className="grow"
                label="Calibrate printer"
                value={calPrinter}
                onValue={pickCalPrinter}
                options={printers.map((p) => ({ value: p.name, label: p.name }))}
              />
              <TextField
                id="settings-cal-x"
                className="medium"
                label="Horizontal offset (mm)"
                inputMode="decimal"
                value={cal.x}
                onValue={(x) => setCal((c) => ({ ...c, x }))}
                error={errors.calX}
              />
              <TextField
                id="settings-cal-y"
                className="medium"
                label="Vertical offset (mm)"
                inputMode="decimal"
                value={cal.y}
                onValue={(y) => setCal((c) => ({ ...c, y }))}
                error={errors.calY}
              />
            </div>
          )}
        </fieldset>
        <div className="actions">
          <button type="submit" className="button-primary">
            Save settings
          </button>
          {props.onBack ? (
            <button type="button" className="button-link" onClick={props.onBack}>
              Back to sign on
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}
