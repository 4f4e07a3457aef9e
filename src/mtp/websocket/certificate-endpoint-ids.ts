// The Endpoint IDs a TLS certificate speaks for (TR-369 §Endpoint IDs in certificates, R-SEC.0a): subjectAltName
// entries of type URI `urn:bbf:usp:id:<Endpoint ID>`. Read from Node's `subjectaltname` text, which lists
// entries as `DNS:a, IP Address:1.2.3.4, URI:urn:…` and, since the CVE-2021-44532 fix, writes a value holding a
// comma, quote or other special character as a JSON string (`URI:"urn:bbf:usp:id:a, b"`), so that a hostile
// certificate cannot smuggle a second entry into one value.

export const USP_ID_URN_PREFIX = 'urn:bbf:usp:id:';

export interface SubjectAltName {
  /** As Node names it: `DNS`, `IP Address`, `URI`, `email`, … */
  readonly type: string;
  readonly value: string;
}

/** The entries of Node's `subjectaltname` text; [] for none. An entry that cannot be read ends the list. */
export function parseSubjectAltName(text: string | undefined): SubjectAltName[] {
  const entries: SubjectAltName[] = [];
  if (!text) return entries;
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) break;
    const type = text.slice(at, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      const close = closingQuote(text, colon + 1);
      if (close < 0) break;
      try {
        value = JSON.parse(text.slice(colon + 1, close + 1)) as string;
      } catch {
        break;
      }
      next = close + 1;
      if (next < text.length && !text.startsWith(', ', next)) break;
      next += 2;
    } else {
      const comma = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, comma < 0 ? text.length : comma);
      next = comma < 0 ? text.length : comma + 2;
    }
    entries.push({ type, value });
    at = next;
  }
  return entries;
}

function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Endpoint IDs named by `URI:urn:bbf:usp:id:…` entries (the URN's `urn:bbf` part compared without case, RFC 8141). */
export function endpointIdsFromSubjectAltName(text: string | undefined): string[] {
  const ids: string[] = [];
  for (const entry of parseSubjectAltName(text)) {
    if (entry.type !== 'URI' || entry.value.length <= USP_ID_URN_PREFIX.length) continue;
    if (entry.value.slice(0, USP_ID_URN_PREFIX.length).toLowerCase() !== USP_ID_URN_PREFIX) continue;
    const id = entry.value.slice(USP_ID_URN_PREFIX.length);
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}
