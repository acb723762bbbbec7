/**
 * @module renderer/app
 * The app shell: who is signed in, which screen shows, the demo banner and the navigation.
 * Screens get the account and report balance changes back, so the header stays current.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Account } from '../shared/ipc';
import { formatDollars } from '../shared/money';
import { Batch } from './screens/batch';
import { Dashboard } from './screens/dashboard';
import { History } from './screens/history';
import { NewPiece } from './screens/new-piece';
import { SettingsScreen } from './screens/settings';
import { SignOn } from './screens/sign-on';
import { SignUp } from './screens/sign-up';
import { call, onSignedOut } from './vpm';

export type Screen =
  'sign-on' | 'sign-up' | 'dashboard' | 'new-piece' | 'batch' | 'history' | 'settings';

const NAV: ReadonlyArray<{ screen: Screen; label: string }> = [
  { screen: 'dashboard', label: 'Dashboard' },
  { screen: 'new-piece', label: 'New mail piece' },
  { screen: 'batch', label: 'Batch' },
  { screen: 'history', label: 'History' },
  { screen: 'settings', label: 'Settings' },
];

export function App() {
  const [account, setAccount] = useState<Account | null>(null);
  const [screen, setScreen] = useState<Screen>('sign-on');
  const [info, setInfo] = useState<{ demo: boolean; version: string } | null>(null);
  const [expired, setExpired] = useState(false);
  const main = useRef<HTMLElement>(null);

  const refreshInfo = useCallback(async () => {
    const result = await call('app:info', {});
    if (result.ok) setInfo(result.value);
  }, []);

  useEffect(() => {
    void call('app:info', {}).then((result) => {
      if (result.ok) setInfo(result.value);
    });
    onSignedOut(() => {
      setAccount(null);
      setExpired(true);
      setScreen('sign-on');
    });
    return () => onSignedOut(null);
  }, []);

  // Move focus to the new screen's heading so keyboard and screen reader users follow along.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [screen]);

  const signedIn = (next: Account) => {
    setAccount(next);
    setExpired(false);
    setScreen('dashboard');
  };

  const signOut = async () => {
    await call('auth:signOut', {});
    setAccount(null);
    setScreen('sign-on');
  };

  const setBalance = (balanceCents: number) =>
    setAccount((a) => (a === null ? a : { ...a, balanceCents }));

  const demo = info?.demo === true || account?.demo === true;

  return (
    <div className="app">
      {demo ? (
        <div className="demo-banner" role="note" aria-label="Demo banner">
          <strong>Demo mode</strong> — the data center runs on this computer with a demo account.
          Every indicium is a SAMPLE and is not valid postage.
        </div>
      ) : null}
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ✉
          </span>
          Virtual Postage Meter
        </div>
        {account ? (
          <div className="topbar-account">
            <span className="topbar-balance" aria-label="Balance">
              {formatDollars(account.balanceCents)}
            </span>
            <span className="topbar-user">{account.name ?? account.username}</span>
            <button type="button" className="button-quiet" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <div className="body">
        {account ? (
          <nav className="sidebar" aria-label="Main">
            <ul>
              {NAV.map((item) => (
                <li key={item.screen}>
                  <button
                    type="button"
                    className="nav-link"
                    aria-current={screen === item.screen ? 'page' : undefined}
                    onClick={() => setScreen(item.screen)}
                  >
                    {item.label}
                  </button>
                </li>
              ))}
            </ul>
            {info ? <p className="version">Version {info.version}</p> : null}
          </nav>
        ) : null}
        <main ref={main} className={account ? 'content' : 'content content-narrow'}>
          {renderScreen()}
        </main>
      </div>
    </div>
  );

  function renderScreen() {
    if (account === null) {
      switch (screen) {
        case 'sign-up':
          return <SignUp onSignedIn={signedIn} onSignOn={() => setScreen('sign-on')} />;
        case 'settings':
          return (
            <SettingsScreen
              onSaved={() => void refreshInfo()}
              onBack={() => setScreen('sign-on')}
            />
          );
        default:
          return (
            <SignOn
              expired={expired}
              onSignedIn={signedIn}
              onSignUp={() => setScreen('sign-up')}
              onSettings={() => setScreen('settings')}
            />
          );
      }
    }
    switch (screen) {
      case 'new-piece':
        return <NewPiece onBalance={setBalance} />;
      case 'batch':
        return <Batch onBalance={setBalance} />;
      case 'history':
        return <History onBalance={setBalance} />;
      case 'settings':
        return <SettingsScreen onSaved={() => void refreshInfo()} />;
      case 'sign-on':
      case 'sign-up':
      case 'dashboard':
        return (
          <Dashboard
            account={account}
            onAccount={setAccount}
            onNewPiece={() => setScreen('new-piece')}
          />
        );
      default: {
        const unreachable: never = screen;
        return unreachable;
      }
    }
  }
}
