// The URL check InstallDU(), Update() and VendorLogFile.Upload() share: http(s) only, and no user name or password
// in it (TR-181 passes credentials as separate arguments). A bad URL is USP 7004.
import { ErrorCode, UspError } from '../../usp/errors.ts';

/** `purpose` finishes the sentence for an unsupported scheme, e.g. 'packages come from the catalog over http(s)'. */
export function checkHttpUrl(url: string, purpose: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UspError(ErrorCode.InvalidArguments, `URL "${url}" is not a URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') throw new UspError(ErrorCode.InvalidArguments, 'URL must not contain a user name or password (TR-181: use the Username/Password arguments)');
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UspError(ErrorCode.InvalidArguments, `URL scheme ${parsed.protocol} is not supported: ${purpose}`);
  return parsed;
}
