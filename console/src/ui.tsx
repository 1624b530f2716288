import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, type ConsoleKind } from './api';

/** Loads with `load` when `deps` change; `reload` runs it again (after a mutation). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: errorText(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.code ? `${error.message} (${error.code})` : error.message;
  return error instanceof Error ? error.message : String(error);
}

export function Section(props: { title: string; id?: string; children: ReactNode; actions?: ReactNode }) {
  const headingId = useId();
  return (
    <section className="card" aria-labelledby={headingId} id={props.id}>
      <div className="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function Problem(props: { children: ReactNode }) {
  return (
    <p className="problem" role="alert">
      {props.children}
    </p>
  );
}

export function Notice(props: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {props.children}
    </p>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {props.what}…
    </p>
  );
}

/** A table with a caption (read by screen readers) that scrolls sideways on a narrow screen. */
export function Table(props: {
  caption: string;
  head: string[];
  rows: ReactNode[][];
  numeric?: number[];
  empty?: string;
  rowClass?: (index: number) => string | undefined;
}) {
  if (props.rows.length === 0) return <p className="muted">{props.empty ?? 'Nothing yet.'}</p>;
  const numeric = new Set(props.numeric ?? []);
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table>
        <caption className="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((title, index) => (
              <th key={title} scope="col" className={numeric.has(index) ? 'num' : undefined}>
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((cells, row) => (
            <tr key={row} className={props.rowClass?.(row)}>
              {cells.map((cell, index) => (
                <td key={index} className={numeric.has(index) ? 'num' : undefined}>
                  {cell}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export const CONSOLE_TITLES: Record<ConsoleKind, string> = {
  member: 'My points',
  finance: 'Finance console',
  operator: 'Operator console',
};

/** Shown without a token: how to sign in (a link from the partner or the hub's operator), or paste one. */
export function SignIn(props: { kind: ConsoleKind; onToken: (token: string) => void; reason?: string }) {
  const [token, setToken] = useState('');
  const fieldId = useId();
  const help =
    props.kind === 'member'
      ? 'Open the sign-in link your loyalty partner gave you (in its app or e-mail). The hub keeps no passwords.'
      : `Open the sign-in link with your ${props.kind} token, or paste the token (npm run operator -- token <key file>${props.kind === 'finance' ? ' --finance' : ''}).`;
  return (
    <main className="signin" id="main">
      <h1>{CONSOLE_TITLES[props.kind]}</h1>
      {props.reason && <Problem>{props.reason}</Problem>}
      <p>{help}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() !== '') props.onToken(token.trim());
        }}
      >
        <label htmlFor={fieldId}>Access token</label>
        <textarea
          id={fieldId}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          rows={3}
          autoComplete="off"
          spellCheck={false}
        />
        <button type="submit">Sign in</button>
      </form>
      <p className="muted">
        The token stays in this browser tab (session storage) and is sent only to this hub, in an Authorization header.
      </p>
    </main>
  );
}

export interface NavItem {
  id: string;
  label: string;
}

/** The page frame: a skip link, the console's name, its sections as tabs, and sign-out. */
export function Shell(props: {
  kind: ConsoleKind;
  subtitle?: string;
  nav?: NavItem[];
  current?: string;
  onNavigate?: (id: string) => void;
  onSignOut: () => void;
  children: ReactNode;
}) {
  const mainRef = useRef<HTMLElement>(null);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>
          <div>
            <strong>{CONSOLE_TITLES[props.kind]}</strong>
            {props.subtitle && <span className="muted"> · {props.subtitle}</span>}
          </div>
        </div>
        <button type="button" className="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      {props.nav && (
        <nav className="tabs" aria-label="Sections">
          {props.nav.map((item) => (
            <button
              key={item.id}
              type="button"
              aria-current={item.id === props.current ? 'page' : undefined}
              onClick={() => {
                props.onNavigate?.(item.id);
                mainRef.current?.focus();
              }}
            >
              {item.label}
            </button>
          ))}
        </nav>
      )}
      <main id="main" ref={mainRef} tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}

/** Saves text as a file from the browser (a statement export), without a round trip to the server. */
export function download(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A random key for a member's redemption: a retry of the same click sends it again (the hub returns the first result). */
export function idempotencyKey(): string {
  return `console-${crypto.randomUUID()}`;
}
