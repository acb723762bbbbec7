/**
 * @module renderer/screens/sign-on
 * Sign-on: username and password, "remember me" through the OS keychain. On opening it tries
 * the keychain's saved credentials once.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { normalizeUsername } from '../../shared/domain';
import type { Account } from '../../shared/ipc';
import { CheckboxField, Notice, TextField } from '../components/fields';
import { checkRequired, checkUsername, compact, type Errors } from '../validate';
import { call, placeError } from '../vpm';

export function SignOn(props: {
  expired: boolean;
  onSignedIn: (account: Account) => void;
  onSignUp: () => void;
  onSettings: () => void;
}) {
  const { onSignedIn } = props;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(true);

  useEffect(() => {
    let live = true;
    void call('auth:signInRemembered', {}).then((result) => {
      if (!live) return;
      setBusy(false);
      if (result.ok && result.value !== null) onSignedIn(result.value);
    });
    return () => {
      live = false;
    };
  }, [onSignedIn]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = compact({
      username: checkRequired(username, 'username') ?? checkUsername(username),
      password: checkRequired(password, 'password'),
    });
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const result = await call('auth:signIn', {
      username: normalizeUsername(username),
      password,
      remember,
    });
    setBusy(false);
    if (result.ok) {
      onSignedIn(result.value);
      return;
    }
    if (result.error.code === 'BAD_CREDENTIALS') {
      setErrors({ password: result.error.message });
      return;
    }
    const placed = placeError(result.error, ['username', 'password']);
    setErrors(placed.fieldErrors);
    setFormError(placed.formError);
  };

  return (
    <section className="card auth-card" aria-labelledby="sign-on-title">
      <h1 id="sign-on-title" tabIndex={-1}>
        Sign on
      </h1>
      <p className="lead">Sign on to your meter account to print postage.</p>
      {props.expired ? (
        <Notice kind="warning">Your session ended. Sign on again to continue.</Notice>
      ) : null}
      {formError ? <Notice kind="error">{formError}</Notice> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <TextField
          id="sign-on-username"
          label="Username"
          autoComplete="username"
          value={username}
          onValue={setUsername}
          error={errors.username}
        />
        <TextField
          id="sign-on-password"
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onValue={setPassword}
          error={errors.password}
        />
        <CheckboxField
          id="sign-on-remember"
          label="Remember me on this computer"
          hint="Your password is kept in the system keychain."
          checked={remember}
          onChecked={setRemember}
        />
        <div className="actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
      <div className="auth-links">
        <button type="button" className="button-link" onClick={props.onSignUp}>
          Create an account
        </button>
        <button type="button" className="button-link" onClick={props.onSettings}>
          Data center settings
        </button>
      </div>
    </section>
  );
}
