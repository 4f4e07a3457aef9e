// Keeps secrets out of the audit trail. A value is masked when its parameter or argument is one the data model
// declares `secured`, or is named like a secret (Password, Passphrase, Key, Secret, Credential), wherever it
// appears: a Set or Add setting, an Operate argument, a comparison in a search path. Masking errs on the side of
// hiding: an argument named ParameterKey is masked too, and a masked value is "***" even when it was empty, so the
// trail never tells whether a password is set.
import type { ModelDecl } from '../datamodel/schema.ts';

export const MASK = '***';

const SECRET_NAME = /pass(?:word|phrase)|key|secret|credential/i;
// A comparison in a search expression: Name op value, the value quoted or bare (TR-369 path grammar).
const COMPARISON = /([A-Za-z_][\w-]*)(\s*(?:==|!=|~=|<=|>=|<|>)\s*)("[^"]*"|[^\]&]*)/g;
// scheme://userinfo@ : the userinfo may carry a password or a token.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;

export interface Masker {
  /** Whether the value of this parameter or argument (a name, or a path ending in one) is a secret. */
  isSecret(name: string): boolean;
  /** The value to record for `name`: "***" for a secret, else the value without URL credentials. */
  value(name: string, value: string): string;
  /** A requested path with the values of secret comparisons in its search expressions masked. */
  path(path: string): string;
}

/** Names of the parameters `model` declares secured (by last name: one secured anywhere is masked everywhere). */
export function securedNames(model: ModelDecl): Set<string> {
  const names = new Set<string>();
  for (const decl of Object.values(model)) {
    for (const [name, param] of Object.entries(decl.params ?? {})) if (param.secured) names.add(name);
  }
  return names;
}

export function createMasker(secured: ReadonlySet<string>): Masker {
  const isSecret = (name: string): boolean => {
    const last = name.slice(name.lastIndexOf('.') + 1);
    return secured.has(last) || SECRET_NAME.test(last);
  };
  return {
    isSecret,
    value: (name, value) => (isSecret(name) ? MASK : value.replace(URL_USERINFO, `$1${MASK}@`)),
    path: (path) =>
      path.includes('[') ? path.replace(COMPARISON, (whole, name: string, op: string) => (isSecret(name) ? `${name}${op}"${MASK}"` : whole)) : path,
  };
}
