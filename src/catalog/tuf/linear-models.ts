// @tufjs/models 4.1.1 (pinned by tuf-js 5, the last line for Node 20) builds the `meta` map of a snapshot and the
// `targets` map of a targets role with `reduce((acc, [k, v]) => ({ ...acc, [k]: v }), {})`, in fromJSON and in
// toJSON (which every signature check runs): time quadratic in the entries. The snapshot lists one entry per
// publisher, so at 10,000 publishers a gateway took ~15 s to read it and as long again to check its signature
// (reference/tuf-notes.md §10). This replaces those two map builds, and nothing else, with linear ones: each
// patched method runs the library's own on the object with the big map emptied (so every other field is checked
// and shaped by the library, errors included), then builds the map with Object.fromEntries, which, like the
// library's computed keys, makes every name (`__proto__` too) an own property.
import { MetaFile, Snapshot, TargetFile, Targets } from '@tufjs/models';

type SnapshotJson = Parameters<typeof Snapshot.fromJSON>[0];
type TargetsJson = Parameters<typeof Targets.fromJSON>[0];
type ObjectJson = Parameters<typeof MetaFile.fromJSON>[0];

let installed = false;

// The library's check for these maps (utils/guard.js isObjectRecord); anything else is left to the library to refuse.
function isObjectRecord(value: unknown): value is Record<string, ObjectJson> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'object' && v !== null);
}

/** Makes Snapshot's and Targets' fromJSON/toJSON linear in their entries. Idempotent; call before reading metadata. */
export function useLinearModelMaps(): void {
  if (installed) return;
  installed = true;

  const snapshotFromJSON = Snapshot.fromJSON.bind(Snapshot);
  // Called only with .call(): the library's method, on a view of the instance.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const snapshotToJSON = Snapshot.prototype.toJSON;
  Snapshot.fromJSON = (data: SnapshotJson): Snapshot => {
    const meta = data['meta'];
    if (!isObjectRecord(meta)) return snapshotFromJSON(data);
    const snapshot = snapshotFromJSON({ ...data, meta: {} });
    (snapshot as { meta: Snapshot['meta'] }).meta = Object.fromEntries(Object.entries(meta).map(([path, file]) => [path, MetaFile.fromJSON(file)]));
    return snapshot;
  };
  Snapshot.prototype.toJSON = function toJSON(this: Snapshot) {
    const json = snapshotToJSON.call(Object.create(this, { meta: { value: {} } }) as Snapshot);
    json['meta'] = Object.fromEntries(Object.entries(this.meta).map(([path, file]) => [path, file.toJSON()]));
    return json;
  };

  const targetsFromJSON = Targets.fromJSON.bind(Targets);
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const targetsToJSON = Targets.prototype.toJSON;
  Targets.fromJSON = (data: TargetsJson): Targets => {
    const targets = data['targets'];
    if (!isObjectRecord(targets)) return targetsFromJSON(data);
    const role = targetsFromJSON({ ...data, targets: {} });
    (role as { targets: Targets['targets'] }).targets = Object.fromEntries(Object.entries(targets).map(([path, target]) => [path, TargetFile.fromJSON(path, target)]));
    return role;
  };
  Targets.prototype.toJSON = function toJSON(this: Targets) {
    const json = targetsToJSON.call(Object.create(this, { targets: { value: {} } }) as Targets);
    json['targets'] = Object.fromEntries(Object.entries(this.targets).map(([path, target]) => [path, target.toJSON()]));
    return json;
  };
}
