/**
 * The console shell: decides between first-boot setup, sign-in and the
 * signed-in pages, and routes by location hash.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { del, get, paths, setCsrfToken, whenUnauthorized } from './api.js';
import { ApiError, describe } from './lib/errors.js';
import { parseHash, resolve } from './lib/router.js';
import type { Session, SetupStatus } from './types.js';
import { Alert } from './components/ui.js';
import { Setup } from './pages/setup.js';
import { Login } from './pages/login.js';
import { Dashboard } from './pages/dashboard.js';
import { Pools } from './pages/pools.js';
import { Cluster } from './pages/cluster.js';
import { Shares, ShareEdit } from './pages/shares.js';
import { Users } from './pages/users.js';
import { Tokens } from './pages/tokens.js';
import { SettingsPage } from './pages/settings.js';
import { History } from './pages/history.js';
import { Account } from './pages/account.js';
import { Replication } from './pages/replication.js';

export interface PageProps {
  params: Record<string, string>;
  query: Record<string, string>;
  session: Session;
}

interface Route {
  path: string;
  title: string;
  page: ComponentType<PageProps>;
  nav?: string;
}

export const ROUTES: Route[] = [
  { path: '/', title: 'Dashboard', page: Dashboard, nav: 'Dashboard' },
  { path: '/pools', title: 'Pools and disks', page: Pools, nav: 'Pools and disks' },
  { path: '/cluster', title: 'Cluster', page: Cluster, nav: 'Cluster' },
  { path: '/shares', title: 'Shares', page: Shares, nav: 'Shares' },
  { path: '/shares/new', title: 'New share', page: ShareEdit },
  { path: '/shares/:name', title: 'Edit share', page: ShareEdit },
  { path: '/users', title: 'Users and groups', page: Users, nav: 'Users and groups' },
  { path: '/tokens', title: 'API tokens', page: Tokens, nav: 'API tokens' },
  { path: '/replication', title: 'Replication', page: Replication, nav: 'Replication' },
  { path: '/settings', title: 'Settings', page: SettingsPage, nav: 'Settings' },
  { path: '/history', title: 'History', page: History, nav: 'History' },
  { path: '/account', title: 'Your account', page: Account },
];

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parseHash(hash);
}

type Phase = { kind: 'loading' } | { kind: 'setup' } | { kind: 'login'; reason?: string } | { kind: 'in'; session: Session } | { kind: 'down'; error: unknown };

function setupRequired(s: SetupStatus): boolean {
  return Boolean(s.required ?? s.needed ?? s.setupRequired ?? (s.complete === undefined ? false : !s.complete));
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const loc = useHash();

  const boot = async (reason?: string) => {
    try {
      const s = await get<SetupStatus>(paths.setup, { quiet401: true }).catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 401 || e.status === 403)) return {} as SetupStatus;
        throw e;
      });
      if (setupRequired(s)) return setPhase({ kind: 'setup' });
      try {
        const session = await get<Session>(paths.me, { quiet401: true });
        setCsrfToken(session.csrfToken);
        setPhase({ kind: 'in', session });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) setPhase({ kind: 'login', ...(reason ? { reason } : {}) });
        else throw e;
      }
    } catch (e) {
      setPhase({ kind: 'down', error: e });
    }
  };

  useEffect(() => {
    void boot();
    return whenUnauthorized(() => setPhase({ kind: 'login', reason: 'Your session has ended. Sign in again.' }));
  }, []);

  // For the benchmark: when the first real view (setup, sign-in or a page) is on screen.
  useEffect(() => {
    if (phase.kind !== 'loading' && performance.getEntriesByName('cairn-first-view').length === 0) {
      requestAnimationFrame(() => performance.mark('cairn-first-view'));
    }
  }, [phase.kind]);

  const match = resolve(ROUTES, loc.path);
  useEffect(() => {
    document.title = phase.kind === 'in' ? `${match?.route.title ?? 'Not found'} · Cairn` : phase.kind === 'setup' ? 'Set up · Cairn' : 'Sign in · Cairn';
    // Move focus to the new page's heading so screen readers announce it.
    if (phase.kind === 'in') setTimeout(() => document.getElementById('page-title')?.focus({ preventScroll: true }), 0);
  }, [loc.path, phase.kind]);

  if (phase.kind === 'loading') return <p class="boot" aria-busy="true">Loading…</p>;
  if (phase.kind === 'down')
    return (
      <main class="narrow">
        <h1>Cairn</h1>
        <Alert>{describe(phase.error)}</Alert>
        <button type="button" onClick={() => void boot()}>
          Try again
        </button>
      </main>
    );
  if (phase.kind === 'setup') return <Setup onDone={() => void boot()} />;
  if (phase.kind === 'login') return <Login reason={phase.reason} onDone={() => void boot()} />;

  const session = phase.session;
  const logout = async () => {
    await del(paths.sessions).catch(() => {});
    setCsrfToken(null);
    location.hash = '#/';
    setPhase({ kind: 'login', reason: 'You have signed out.' });
  };
  const Page = match?.route.page;
  const current = '/' + (loc.path.split('/')[1] ?? '');
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/">
          <svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
            <path d="M4 20h16l-3-5H7zM7 14h10l-2-4H9zM9.5 9h5L12 4z" fill="currentColor" />
          </svg>
          Cairn
        </a>
        <nav aria-label="Main">
          <ul>
            {ROUTES.filter((r) => r.nav).map((r) => (
              <li key={r.path}>
                <a href={`#${r.path}`} aria-current={current === r.path ? 'page' : undefined}>
                  {r.nav}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <a href="#/account" aria-label={`Your account: ${session.user.name}`} aria-current={current === '/account' ? 'page' : undefined}>
            {session.user.name}
          </a>
          {session.user.role === 'read-only' && <span class="badge muted">read-only</span>}
          <button type="button" class="small" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {Page ? (
          <Page params={match!.params} query={loc.query} session={session} />
        ) : (
          <>
            <h1 id="page-title" tabIndex={-1}>
              Not found
            </h1>
            <p>
              There is no page at {loc.path}. <a href="#/">Go to the dashboard</a>.
            </p>
          </>
        )}
      </main>
    </div>
  );
}
