// Throwaway TLS material made with openssl in a temp dir: a test CA, certificates it signs (for localhost and
// 127.0.0.1, and/or USP Endpoint IDs as subjectAltName URIs `urn:bbf:usp:id:<eid>`, TR-369 R-SEC.0a), and a second
// CA nobody trusts. Removed by remove(), and on process exit whatever a failing test left.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
process.on('exit', () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface CertificateNames {
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Each becomes `URI:urn:bbf:usp:id:<eid>`. */
  readonly endpointIds?: readonly string[];
}

export interface TestPki {
  readonly dir: string;
  /** The CA that signs everything issue() makes (give it to the side that checks). */
  readonly caFile: string;
  /** A certificate for localhost and 127.0.0.1 signed by the CA. */
  readonly server: CertificateFiles;
  /** A certificate signed by the CA; by the untrusted second CA with `{ untrusted: true }`. */
  issue(name: string, names: CertificateNames, options?: { untrusted?: boolean }): CertificateFiles;
  /** A client certificate speaking for these Endpoint IDs (SAN URIs only). */
  client(...endpointIds: string[]): CertificateFiles;
  remove(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  live.add(dir);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=berth test CA');
  ssl('req', '-x509', ...ecKey, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=untrusted test CA');
  let serial = 0;

  const issue = (name: string, names: CertificateNames, options: { untrusted?: boolean } = {}): CertificateFiles => {
    serial += 1;
    const base = `${serial}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const san = [
      ...(names.dns ?? []).map((dns) => `DNS:${dns}`),
      ...(names.ips ?? []).map((ip) => `IP:${ip}`),
      ...(names.endpointIds ?? []).map((eid) => `URI:urn:bbf:usp:id:${eid}`),
    ];
    writeFileSync(join(dir, `${base}.ext`), san.length > 0 ? `subjectAltName=${san.join(',')}\n` : '\n');
    const ca = options.untrusted ? 'other-ca' : 'ca';
    ssl('req', ...ecKey, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${base}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(1000 + serial), '-out', `${base}.pem`, '-days', '2', '-extfile', `${base}.ext`);
    return { certFile: join(dir, `${base}.pem`), keyFile: join(dir, `${base}.key`) };
  };

  const server = issue('localhost', { dns: ['localhost'], ips: ['127.0.0.1'] });
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    server,
    issue,
    client: (...endpointIds) => issue(endpointIds[0] ?? 'client', { endpointIds }),
    remove() {
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
    },
  };
}
