/**
 * Which OS user owns the other end of a loopback TCP connection (Linux).
 *
 * CM's port service answers "for this Windows session"; its ports are fixed, so on a shared machine a
 * browser of one user can reach the agent of another. On Linux the kernel's socket table (`/proc/net/tcp`,
 * `/proc/net/tcp6`, proc(5)) lists every socket with its owner's uid: the client's socket is the entry whose
 * local address is our peer's address and port and whose remote address is ours.
 *
 * Rules:
 * - only loopback connections are looked up (the agent accepts nothing else);
 * - not found (the client closed already, or no /proc) → undefined, which callers treat as "not ours";
 * - read once per connection (the caller caches per socket), never per request.
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** The address as /proc/net/tcp{,6} writes it: 32-bit words in host (little-endian) byte order. */
function procAddress(address: string): { file: string; hex: string } | undefined {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4) {
    const bytes = v4.slice(1, 5).map(Number);
    const word = bytes
      .reverse()
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();
    // An IPv4 client reaching an IPv6 socket appears in tcp6 as ::ffff:a.b.c.d; a plain one in tcp.
    return address.startsWith('::ffff:')
      ? { file: '/proc/net/tcp6', hex: `0000000000000000FFFF0000${word}` }
      : { file: '/proc/net/tcp', hex: word };
  }
  if (address === '::1') {
    return { file: '/proc/net/tcp6', hex: '00000000000000000000000001000000' };
  }
  return undefined;
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** The uid owning the client end of `socket`, or undefined when it cannot be found. */
export async function peerUid(socket: Socket): Promise<number | undefined> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) {
    return undefined;
  }
  const peer = procAddress(remoteAddress);
  const local = procAddress(localAddress);
  if (!peer || !local) {
    return undefined;
  }
  const want = `${peer.hex}:${hexPort(remotePort)} ${local.hex}:${hexPort(localPort)}`;
  let table: string;
  try {
    table = await readFile(peer.file, 'latin1');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid …
    if (f.length > 7 && `${f[1] ?? ''} ${f[2] ?? ''}` === want) {
      const uid = Number(f[7]);
      return Number.isInteger(uid) ? uid : undefined;
    }
  }
  return undefined;
}
