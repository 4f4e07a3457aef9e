// The registry: binds behaviour (bindings/*.ts) to the declared data model, then freezes it into a DataModel.
// Freezing fails loudly at start-up on a binding for an unknown path, an unbound command, or a read-only
// parameter nobody provides — so a Get can never meet a parameter without a value source.
import { buildSchemaTree } from './schema-tree.ts';
import type { SchemaCommand, SchemaObject } from './schema-tree.ts';
import { DataModel, isNumberOfEntries } from './data-model.ts';
import type { CommandHandler, CommandValidator, ObjectBinding } from './bindings-types.ts';
import type { ModelDecl } from './schema.ts';

export interface Registry {
  /** Attaches behaviour to a declared object ('Device.LocalAgent.Controller.{i}.'). Several calls merge. */
  bindObject(path: string, binding: ObjectBinding): void;
  /**
   * Attaches the handler of a declared command ('Device.LocalAgent.Request.{i}.Cancel()'). `validate` (async commands)
   * runs before the Request row is made, so a bad call is refused in the OperateResp itself.
   */
  bindCommand(path: string, handler: CommandHandler, validate?: CommandValidator): void;
  /** Checks completeness and returns the live data model. No binding can be added afterwards. */
  freeze(): DataModel;
}

export function createRegistry(model: ModelDecl, dataModelUri: string): Registry {
  const { root, byPath } = buildSchemaTree(model);
  const objectBindings = new Map<SchemaObject, ObjectBinding>();
  const commandHandlers = new Map<SchemaCommand, CommandHandler>();
  const commandValidators = new Map<SchemaCommand, CommandValidator>();
  let frozen = false;

  const schemaAt = (path: string): SchemaObject => {
    const schema = byPath.get(path);
    if (!schema) throw new Error(`binding for '${path}': no such object is declared in /datamodel`);
    return schema;
  };

  return {
    bindObject(path, binding) {
      if (frozen) throw new Error(`binding for '${path}' after the data model was frozen`);
      const schema = schemaAt(path);
      for (const name of [...Object.keys(binding.get ?? {}), ...(binding.internal ?? [])]) {
        if (!schema.params.has(name)) throw new Error(`binding for '${path}${name}': no such parameter is declared`);
      }
      const previous = objectBindings.get(schema);
      objectBindings.set(schema, previous ? mergeBindings(previous, binding) : binding);
    },
    bindCommand(path, handler, validate) {
      if (frozen) throw new Error(`binding for '${path}' after the data model was frozen`);
      const cut = path.lastIndexOf('.');
      const schema = schemaAt(path.slice(0, cut + 1));
      const command = schema.commands.get(path.slice(cut + 1));
      if (!command) throw new Error(`binding for '${path}': no such command is declared`);
      if (commandHandlers.has(command)) throw new Error(`command '${path}' is bound twice`);
      commandHandlers.set(command, handler);
      if (validate) commandValidators.set(command, validate);
    },
    freeze() {
      frozen = true;
      const problems: string[] = [];
      for (const schema of byPath.values()) {
        const binding = objectBindings.get(schema);
        for (const param of schema.params.values()) {
          const provided = param.writable || binding?.get?.[param.name] || binding?.internal?.includes(param.name) || isNumberOfEntries(param);
          if (!provided) problems.push(`read-only parameter '${schema.path}${param.name}' has no value source (bind a getter or mark it internal)`);
        }
        for (const command of schema.commands.values()) {
          if (!commandHandlers.has(command)) problems.push(`command '${schema.path}${command.name}' has no handler`);
        }
      }
      if (problems.length > 0) throw new Error(`data model is incomplete:\n  ${problems.join('\n  ')}`);
      return new DataModel({ schemaRoot: root, schemaByPath: byPath, objectBindings, commandHandlers, commandValidators, dataModelUri });
    },
  };
}

function mergeBindings(a: ObjectBinding, b: ObjectBinding): ObjectBinding {
  const chain = <A extends unknown[]>(f?: (...args: A) => void, g?: (...args: A) => void) =>
    f && g
      ? (...args: A) => {
          f(...args);
          g(...args);
        }
      : (f ?? g);
  const merged: ObjectBinding = {
    get: { ...a.get, ...b.get },
    internal: [...(a.internal ?? []), ...(b.internal ?? [])],
  };
  const initRow = chain(a.initRow, b.initRow);
  const validate = chain(a.validate, b.validate);
  const validateDelete = chain(a.validateDelete, b.validateDelete);
  const onAdded = chain(a.onAdded, b.onAdded);
  const onDeleted = chain(a.onDeleted, b.onDeleted);
  const onChanged = chain(a.onChanged, b.onChanged);
  const persistRow = b.persistRow ?? a.persistRow;
  return {
    ...merged,
    ...(initRow && { initRow }),
    ...(validate && { validate }),
    ...(validateDelete && { validateDelete }),
    ...(onAdded && { onAdded }),
    ...(onDeleted && { onDeleted }),
    ...(onChanged && { onChanged }),
    ...(persistRow && { persistRow }),
  };
}
