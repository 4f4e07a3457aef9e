// Input arguments of Operate (R-OPR.5–7): missing mandatory → 7027; invalid value → 7027; unknown ones are
// ignored; missing optional ones take their declared default.
import type { SchemaCommand } from '../datamodel/schema-tree.ts';
import { canonicalValue } from '../usp/values.ts';
import { ErrorCode, UspError, toUspMessage } from '../usp/errors.ts';

export function checkCommandArgs(command: SchemaCommand, given: Readonly<Record<string, string>>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [name, spec] of command.inputSpecs) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined) {
      if (spec.mandatory) throw new UspError(ErrorCode.InvalidCommandArguments, `${command.name}: mandatory input argument ${name} is missing`);
      if (spec.default !== undefined) args[name] = spec.default;
      continue;
    }
    try {
      args[name] = canonicalValue(spec, value);
    } catch (error) {
      throw new UspError(ErrorCode.InvalidCommandArguments, `${command.name}: input argument ${name}: ${toUspMessage(error)}`);
    }
  }
  return args;
}
