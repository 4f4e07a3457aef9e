// Relative parameter names in Set/Add (`param: 'Stats.BytesSent'`): they may reach into single-instance
// sub-objects of the object being written, never into tables (TR-369 §Add/§Set).
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function locateRelativeParam(obj: DmObject, relative: string): { obj: DmObject; name: string } {
  const parts = relative.split('.');
  let current = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const child = current.objects.get(part);
    if (!NAME.test(part) || !child) {
      const why = current.tables.has(part) ? 'a table cannot be written through a relative path' : `'${part}' is not a sub-object`;
      throw new UspError(ErrorCode.UnsupportedParameter, `${obj.path}${relative}: ${why}`);
    }
    current = child;
  }
  const name = parts[parts.length - 1]!;
  if (!NAME.test(name) || !current.schema.params.has(name)) {
    throw new UspError(ErrorCode.UnsupportedParameter, `${obj.path}${relative} is not a parameter of the data model`);
  }
  return { obj: current, name };
}
