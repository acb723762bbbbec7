/**
 * @module renderer/components/fields
 * Labelled form controls: each has a `<label for>`, an optional hint, and its error right below
 * it, tied to the control with aria-describedby and aria-invalid.
 */
import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from 'react';

interface FieldShell {
  id: string;
  label: string;
  hint?: ReactNode;
  error?: string | null | undefined;
}

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

function Messages({ id, hint, error }: Omit<FieldShell, 'label'>) {
  return (
    <>
      {hint ? (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </>
  );
}

type TextFieldProps = FieldShell &
  Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange' | 'value'> & {
    value: string;
    onValue: (value: string) => void;
    prefix?: string;
  };

export function TextField({
  id,
  label,
  hint,
  error,
  value,
  onValue,
  prefix,
  className,
  ...rest
}: TextFieldProps) {
  const input = (
    <input
      id={id}
      value={value}
      onChange={(e) => onValue(e.target.value)}
      aria-invalid={error ? true : undefined}
      aria-describedby={describedBy(id, hint, error)}
      {...rest}
    />
  );
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {prefix ? (
        <div className="affix">
          <span aria-hidden="true">{prefix}</span>
          {input}
        </div>
      ) : (
        input
      )}
      <Messages id={id} hint={hint} error={error} />
    </div>
  );
}

/** A dollar amount typed as text; parse it with shared/money.ts parseDollars. */
export function MoneyField(props: Omit<TextFieldProps, 'prefix'>) {
  return (
    <TextField inputMode="decimal" autoComplete="off" placeholder="0.00" {...props} prefix="$" />
  );
}

type SelectFieldProps = FieldShell &
  Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id' | 'onChange' | 'value'> & {
    value: string;
    onValue: (value: string) => void;
    options: ReadonlyArray<{ value: string; label: string }>;
  };

export function SelectField({
  id,
  label,
  hint,
  error,
  value,
  onValue,
  options,
  className,
  ...rest
}: SelectFieldProps) {
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, hint, error)}
        {...rest}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <Messages id={id} hint={hint} error={error} />
    </div>
  );
}

export function CheckboxField({
  id,
  label,
  hint,
  error,
  checked,
  onChecked,
}: FieldShell & { checked: boolean; onChecked: (checked: boolean) => void }) {
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        onChange={(e) => onChecked(e.target.checked)}
        aria-describedby={describedBy(id, hint, error)}
      />
      <label htmlFor={id}>{label}</label>
      <Messages id={id} hint={hint} error={error} />
    </div>
  );
}

/** A form-level message (errors that concern no single field, or a success notice). */
export function Notice({
  kind,
  children,
}: {
  kind: 'error' | 'success' | 'warning' | 'info';
  children: ReactNode;
}) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
