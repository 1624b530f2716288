import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An open-loop load at an even pace, for latency at a given load (the compare benchmark's runs at
 * half load). autocannon's rate limit lets each connection send as fast as it can until it has made
 * its share of the second and then wait for the next second, so a "half load" run is a full load
 * for half of every second; this sends request i at start + i / rate instead, on up to
 * `connections` keep-alive sockets, and measures each latency from the time the request was due
 * (a request that waits for a free socket counts that wait: no coordinated omission).
 */
export interface PacedResult {
  ok: number;
  failed: number;
  /** Seconds from the first request due to the last response. */
  duration: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Where the slowest 1 % fell: how many of them were due in each second of the run ("second:count", busiest first). */
  tail: string;
}

export async function paced(
  url: string,
  options: { rate: number; seconds: number; connections: number; onError?: (error: unknown) => void },
  next: () => { body: string; headers?: Record<string, string> } | undefined,
  check: (status: number, body: string) => { ok: number; failed: number },
): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  /** [second the request was due, its latency], to say when the tail happened. */
  const timed: Array<[number, number]> = [];
  let ok = 0;
  let failed = 0;
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const total = Math.floor(options.rate * options.seconds);
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const item = next();
    if (!item) break;
    inFlight.push(
      send(url, agent, item).then(
        ({ status, body }) => {
          latencies.push(performance.now() - due);
          timed.push([Math.floor((due - start) / 1000), performance.now() - due]);
          const outcome = check(status, body);
          ok += outcome.ok;
          failed += outcome.failed;
        },
        (error: unknown) => {
          options.onError?.(error);
          latencies.push(performance.now() - due);
          timed.push([Math.floor((due - start) / 1000), performance.now() - due]);
          failed += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const duration = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const p99 = at(0.99);
  const bySecond = new Map<number, number>();
  for (const [second, latency] of timed) if (latency >= p99) bySecond.set(second, (bySecond.get(second) ?? 0) + 1);
  const tail = [...bySecond]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 5)
    .map(([second, count]) => `${second}s:${count}`)
    .join(' ');
  return { ok, failed, duration, p50: at(0.5), p90: at(0.9), p99, max: latencies[latencies.length - 1] ?? 0, tail };
}

function send(
  url: string,
  agent: Agent,
  item: { body: string; headers?: Record<string, string> },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...item.headers }, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    call.on('timeout', () => call.destroy(new Error('timed out after 30 s')));
    call.on('error', reject);
    call.end(item.body);
  });
}
