/**
 * @module renderer/screens/sign-up
 * Sign-up: creates the mailer's account and its meter at the data center (patent: the key
 * management system creates the meter account), then signs in.
 */
import { useState, type FormEvent } from 'react';
import type { Account } from '../../shared/ipc';
import { Notice, TextField } from '../components/fields';
import { normalizeUsername } from '../../shared/domain';
import { checkNewPassword, checkOriginZip, checkUsername, compact, type Errors } from '../validate';
import { call, placeError } from '../vpm';

const FIELDS = ['name', 'username', 'password', 'confirm', 'originZip'] as const;

export function SignUp(props: { onSignedIn: (account: Account) => void; onSignOn: () => void }) {
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [originZip, setOriginZip] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = compact({
      username: checkUsername(username),
      password: checkNewPassword(password),
      confirm: confirm === password ? null : 'The two passwords differ.',
      originZip: checkOriginZip(originZip),
    });
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const result = await call('auth:signUp', {
      username: normalizeUsername(username),
      password,
      originZip: originZip.trim(),
      ...(name.trim() === '' ? {} : { name: name.trim() }),
    });
    setBusy(false);
    if (result.ok) {
      props.onSignedIn(result.value);
      return;
    }
    const placed = placeError(result.error, FIELDS);
    setErrors(placed.fieldErrors);
    setFormError(placed.formError);
  };

  return (
    <section className="card auth-card" aria-labelledby="sign-up-title">
      <h1 id="sign-up-title" tabIndex={-1}>
        Create an account
      </h1>
      <p className="lead">Your meter account is created at the data center.</p>
      {formError ? <Notice kind="error">{formError}</Notice> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <TextField
          id="sign-up-name"
          label="Name or business (optional)"
          autoComplete="organization"
          value={name}
          onValue={setName}
          error={errors.name}
          maxLength={100}
        />
        <TextField
          id="sign-up-username"
          label="Username"
          autoComplete="username"
          value={username}
          onValue={setUsername}
          error={errors.username}
        />
        <TextField
          id="sign-up-password"
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters."
          value={password}
          onValue={setPassword}
          error={errors.password}
        />
        <TextField
          id="sign-up-confirm"
          label="Confirm password"
          type="password"
          autoComplete="new-password"
          value={confirm}
          onValue={setConfirm}
          error={errors.confirm}
        />
        <TextField
          id="sign-up-origin-zip"
          label="Origin ZIP code"
          inputMode="numeric"
          autoComplete="postal-code"
          hint="The ZIP code your mail is sent from; it is printed in every indicium."
          value={originZip}
          onValue={setOriginZip}
          error={errors.originZip}
          maxLength={5}
        />
        <div className="actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
          <button type="button" className="button-link" onClick={props.onSignOn}>
            I already have an account
          </button>
        </div>
      </form>
    </section>
  );
}
