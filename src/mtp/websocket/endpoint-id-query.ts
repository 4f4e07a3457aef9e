// How a WebSocket client names itself in the opening handshake (TR-369 §WebSocket Binding):
//   * R-WS.10b/10c: `eid=<Endpoint ID>` in the request URI's query, separated from other query data by `&`, the
//     ID treated as opaque data, so a `%` in it (Endpoint IDs percent-encode their own odd characters) becomes `%25`:
//     `doc::agent%21` travels as `eid=doc::agent%2521`.
//   * R-WS.10a (deprecated in USP 1.3, still sent by older Controllers): the `bbf-usp-protocol` extension with an
//     `eid` parameter in Sec-WebSocket-Extensions; a server answers with its own when offered (R-WS.11a).

export const USP_EXTENSION = 'bbf-usp-protocol';

/** Longest Endpoint ID taken from a peer: TR-369 IDs are far shorter; this only keeps junk out of logs and maps. */
export const MAX_PEER_ENDPOINT_ID_CHARS = 256;

// RFC 3986 unreserved characters plus ':' (legal in a query, and the separator of every Endpoint ID): left as they are.
const LEFT_AS_IS = /^[A-Za-z0-9\-._~:]$/;

/** The Endpoint ID as the value of the `eid` query parameter: every other byte of its UTF-8 form as %HH. */
export function encodeEndpointIdForQuery(endpointId: string): string {
  let out = '';
  for (const char of endpointId) {
    if (LEFT_AS_IS.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A request path with `eid=<id>` added to its query (after `&` when it already has one). */
export function pathWithEndpointId(path: string, endpointId: string): string {
  const base = path === '' ? '/' : path.startsWith('/') ? path : `/${path}`;
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}eid=${encodeEndpointIdForQuery(endpointId)}`;
}

export type EndpointIdLookup = { readonly endpointId: string } | { readonly error: string } | undefined;

/** A peer's Endpoint ID as it is plausible at all: printable ASCII without quotes or backslashes, bounded. */
export function checkPeerEndpointId(endpointId: string): string | undefined {
  if (endpointId.length === 0) return 'the Endpoint ID is empty';
  if (endpointId.length > MAX_PEER_ENDPOINT_ID_CHARS) return `the Endpoint ID is longer than ${MAX_PEER_ENDPOINT_ID_CHARS} characters`;
  if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(endpointId)) return 'the Endpoint ID holds characters no Endpoint ID has (space, quote, backslash, control or non-ASCII)';
  return undefined;
}

/**
 * The `eid` of a request URI's query (`?a=1&eid=…`, the `?` optional), percent-decoded: undefined when there is
 * none, an error when it is there twice, badly encoded or not a plausible Endpoint ID. `+` stays `+` (RFC 3986
 * query, not a form).
 */
export function endpointIdFromQuery(query: string): EndpointIdLookup {
  const text = query.startsWith('?') ? query.slice(1) : query;
  let found: string | undefined;
  for (const pair of text.split('&')) {
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key !== 'eid') continue;
    if (found !== undefined) return { error: 'the query has more than one eid' };
    found = equals < 0 ? '' : pair.slice(equals + 1);
  }
  if (found === undefined) return undefined;
  let endpointId: string;
  try {
    endpointId = decodeURIComponent(found);
  } catch {
    return { error: 'the eid in the query is not valid percent-encoding' };
  }
  const problem = checkPeerEndpointId(endpointId);
  return problem ? { error: `eid in the query: ${problem}` } : { endpointId };
}

interface ExtensionOffer {
  readonly name: string;
  readonly params: ReadonlyMap<string, string | true>;
}

/** Splits at `separator` where it is not inside a quoted-string (`\\` escapes inside quotes). */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted && char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1]!;
      i += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      out.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  out.push(current.trim());
  return out;
}

/**
 * Sec-WebSocket-Extensions (RFC 6455 §9.1: `ext; p=v; q="quoted", ext2`), leniently: what cannot be read is
 * skipped, never thrown, since a malformed offer of an extension berth does not use is no reason to refuse.
 */
export function parseExtensionOffers(header: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  for (const offer of splitOutsideQuotes(header, ',')) {
    const [name, ...rawParams] = splitOutsideQuotes(offer, ';');
    if (!name) continue;
    const params = new Map<string, string | true>();
    for (const raw of rawParams) {
      if (raw === '') continue;
      const equals = raw.indexOf('=');
      if (equals < 0) {
        params.set(raw.toLowerCase(), true);
        continue;
      }
      let value = raw.slice(equals + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      params.set(raw.slice(0, equals).trim().toLowerCase(), value);
    }
    offers.push({ name: name.toLowerCase(), params });
  }
  return offers;
}

/** What a Sec-WebSocket-Extensions header says of bbf-usp-protocol: offered at all, and the eid it carries. */
export function uspExtensionOffer(header: string | undefined): { offered: boolean; endpointId?: string } {
  if (header === undefined) return { offered: false };
  const offer = parseExtensionOffers(header).find((candidate) => candidate.name === USP_EXTENSION);
  if (!offer) return { offered: false };
  const eid = offer.params.get('eid');
  return typeof eid === 'string' && eid !== '' ? { offered: true, endpointId: eid } : { offered: true };
}

/** `bbf-usp-protocol; eid="<id>"`, the ID as a quoted-string. */
export function uspExtensionHeader(endpointId: string): string {
  return `${USP_EXTENSION}; eid="${endpointId.replace(/["\\]/g, '\\$&')}"`;
}

/** The header without its bbf-usp-protocol offers (what is left, or undefined when nothing is). */
export function withoutUspExtension(header: string): string | undefined {
  const rest = splitOutsideQuotes(header, ',').filter((offer) => {
    const name = splitOutsideQuotes(offer, ';')[0]!.toLowerCase();
    return name !== USP_EXTENSION && name !== '';
  });
  return rest.length === 0 ? undefined : rest.join(', ');
}
