import { StrictMode, useCallback, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { graphqlClient, signIn, signInFromFragment, signOut, type ConsoleKind } from './api';
import { SignIn } from './ui';
import { MemberConsole } from './member/MemberConsole';
import { FinanceConsole } from './finance/FinanceConsole';
import { OperatorConsole } from './operator/OperatorConsole';
import './styles.css';

/** The console is chosen by the page's path: /console/member, /console/finance, /console/operator. */
function consoleOf(pathname: string): ConsoleKind | undefined {
  const [, , kind] = pathname.split('/');
  return kind === 'member' || kind === 'finance' || kind === 'operator' ? kind : undefined;
}

function Landing() {
  return (
    <main className="signin" id="main">
      <h1>Coalition Hub consoles</h1>
      <p>Choose your console. Each needs a sign-in link (or a token) from your partner or the hub's operator.</p>
      <ul className="choices">
        <li>
          <a href="/console/member">Member — my points</a>
        </li>
        <li>
          <a href="/console/finance">Finance — settlement, statements, reconciliation</a>
        </li>
        <li>
          <a href="/console/operator">Operator — partners, keys, campaigns, webhooks</a>
        </li>
      </ul>
    </main>
  );
}

function App(props: { kind: ConsoleKind }) {
  const { kind } = props;
  const [token, setToken] = useState(() => signInFromFragment(kind));
  const [reason, setReason] = useState<string>();
  const leave = useCallback(
    (why?: string) => {
      signOut(kind);
      setReason(why);
      setToken(undefined);
    },
    [kind],
  );
  const graphql = useMemo(
    () => graphqlClient(token ?? '', () => leave('The hub no longer accepts this sign-in (expired or revoked): open a fresh link.')),
    [token, leave],
  );
  if (token === undefined)
    return (
      <SignIn
        kind={kind}
        reason={reason}
        onToken={(given) => {
          signIn(kind, given);
          setReason(undefined);
          setToken(given);
        }}
      />
    );
  const onSignOut = () => leave();
  if (kind === 'member') return <MemberConsole graphql={graphql} onSignOut={onSignOut} />;
  if (kind === 'finance') return <FinanceConsole graphql={graphql} onSignOut={onSignOut} />;
  return <OperatorConsole graphql={graphql} onSignOut={onSignOut} />;
}

const kind = consoleOf(window.location.pathname);
createRoot(document.getElementById('root')!).render(<StrictMode>{kind ? <App kind={kind} /> : <Landing />}</StrictMode>);
