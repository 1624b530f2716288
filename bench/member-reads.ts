import autocannon from 'autocannon';
import { inParallel, startBenchHub, type BenchDatabase } from './harness';

/** Members refreshing their balance in a loop: `me { balance lots history }` under load. */
export async function memberReads(database: BenchDatabase, options: { requests: number; connections: number }): Promise<void> {
  const hub = await startBenchHub(database, `bench_member_reads_${Date.now().toString(36)}`);
  try {
    const { client } = await hub.registerPartner('SHOP');
    const members = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await inParallel(members, 8, async (member) => {
      await client.enrollMember({ member });
      for (let n = 0; n < 5; n += 1) await client.issuePoints({ member, amount: String(100 + n) });
    });
    const tokens = await Promise.all(members.map((member) => client.memberToken(member, 3600)));
    const query = JSON.stringify({
      query:
        '{ me { balance lots(first: 10) { edges { node { remaining expiresAt } } } history(first: 10) { edges { node { type postings { amount } } } } } }',
    });
    let next = 0;
    let failures = 0;
    const result = await autocannon({
      url: `${hub.url}/graphql`,
      connections: options.connections,
      amount: options.requests,
      requests: [
        {
          method: 'POST',
          body: query,
          setupRequest: (request) => ({
            ...request,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[next++ % tokens.length]}` },
          }),
          onResponse: (status, body) => {
            if (status !== 200 || !body.includes('"balance"')) failures += 1;
          },
        },
      ],
    });
    console.log(`member-reads: ${options.requests} balance refreshes by ${members.length} members, ${options.connections} connections`);
    console.log(
      `  ${(result.requests.total / result.duration).toFixed(0)} reads/s  latency p50 ${result.latency.p50} ms  p90 ${result.latency.p90} ms  ` +
        `p99 ${result.latency.p99} ms  max ${result.latency.max} ms  failures ${failures + result.errors + result.timeouts}`,
    );
  } finally {
    await hub.stop();
  }
}
