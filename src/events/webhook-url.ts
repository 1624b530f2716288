/**
 * Which URLs a webhook may be sent to. The hub POSTs to whatever a partner registers, from inside
 * the operator's network: without this check an endpoint such as http://169.254.169.254/ or
 * http://10.0.0.5:5432/ would make the hub a proxy into that network (server-side request
 * forgery). So an endpoint must be http(s), carry no credentials, and name no loopback, private,
 * link-local or otherwise internal address; a host name is checked again at every delivery, on the
 * address the connection is actually made to (a name that resolves to 127.0.0.1 is refused too).
 * WEBHOOK_ALLOW_PRIVATE_URLS=true lifts the address rule, for tests and the demo on one machine.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { fail, ErrorCode, type DomainError } from '../common/errors';

const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  internal.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  internal.addSubnet(network, prefix, 'ipv6');
}

/** True for an address the hub must not send webhooks to (unless private URLs are allowed). */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family === 6) {
    // IPv4-mapped (::ffff:a.b.c.d, or ::ffff:xxxx:xxxx as URLs print it): the IPv4 rules decide.
    const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (dotted) return internal.check(dotted[1]!, 'ipv4');
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (hex) {
      const high = parseInt(hex[1]!, 16);
      const low = parseInt(hex[2]!, 16);
      return internal.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, 'ipv4');
    }
    return internal.check(address, 'ipv6');
  }
  return true;
}

const MAX_URL_LENGTH = 2048;

/** The URL as the hub will store it, or why it is refused (INVALID_WEBHOOK_URL with a `reason`). */
export function checkWebhookUrl(text: string, allowPrivate: boolean): string | DomainError<ErrorCode.INVALID_WEBHOOK_URL> {
  const refuse = (reason: string, message: string) => fail(ErrorCode.INVALID_WEBHOOK_URL, message, { reason });
  if (text.length > MAX_URL_LENGTH) return refuse('malformed', `a webhook URL has at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('malformed', 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('scheme', 'a webhook URL is http:// or https://');
  if (url.username !== '' || url.password !== '')
    return refuse('credentials', 'a webhook URL carries no user name or password: verify deliveries by their signature instead');
  if (url.hash !== '') return refuse('malformed', 'a webhook URL has no #fragment');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!allowPrivate) {
    const named = isIP(host) === 0;
    if (named ? host === 'localhost' || host.endsWith('.localhost') || !host.includes('.') : isInternalAddress(host))
      return refuse('private-address', `${host} is a loopback, private or internal address: the hub sends webhooks to public hosts only`);
  }
  return url.toString();
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that refuses internal addresses: the check applies to the address
 * the socket connects to, so a host name that resolves (or is re-pointed) to one is refused too.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses;
      const refused = allowPrivate ? undefined : list.find((entry) => isInternalAddress(entry.address));
      if (refused !== undefined) {
        const blocked: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${refused.address}, an internal address: not sent`);
        blocked.code = 'EADDRBLOCKED';
        return callback(blocked, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
