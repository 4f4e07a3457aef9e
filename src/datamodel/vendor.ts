// berth's vendor extensions to TR-181. TR-106 §3.3 names them X_<VENDOR>_Name, VENDOR being an OUI or the
// vendor's domain name in upper case with dots as hyphens: berth.org → X_BERTH-ORG_. Everything berth adds to
// the standard data model uses this one prefix, so a Controller can tell berth's parameters from the standard.
export const VENDOR_PREFIX = 'X_BERTH-ORG_';
