import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

interface Health {
  status: 'ok' | 'degraded' | 'failed';
  version: string;
  uptimeSeconds: number;
  components: Record<string, { status: string; detail?: string }>;
}

function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () =>
      fetch('/api/v1/health')
        .then((r) => r.json() as Promise<Health>)
        .then((h) => {
          setHealth(h);
          setError(null);
        })
        .catch(() => setError('The appliance does not answer. Is cairnd running?'));
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: '48rem', margin: '2rem auto', padding: '0 1rem' }}>
      <h1>Cairn</h1>
      {error && <p role="alert">{error}</p>}
      {health && (
        <section aria-label="Health">
          <p>
            Appliance {health.version}: <strong>{health.status}</strong> (up {health.uptimeSeconds}s)
          </p>
          <ul>
            {Object.entries(health.components).map(([name, c]) => (
              <li key={name}>
                {name}: {c.status}
                {c.detail ? ` — ${c.detail}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
