// GetSupportedDM: the supported schema (types, access, value-change, command types, events, unique keys).
// Accepts supported-DM paths ('{i}', trailing '{i}.' optional) and instance paths of existing objects; a
// parameter, command or event path returns just that element (USP 1.4).
import { usp } from '../usp/generated/usp.js';
import { parsePath } from '../usp/path.ts';
import type { ParsedPath } from '../usp/path.ts';
import type { ParamType } from '../usp/values.ts';
import type { SchemaObject, SchemaParam } from '../datamodel/schema-tree.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { ResponseTooLargeError } from './response-budget.ts';
import type { ResponseBudget } from './response-budget.ts';
import type { RequestContext } from './context.ts';
import type { Access } from '../access/access.ts';
import { READ, WRITE } from '../access/permission-bits.ts';

const { ObjAccessType, ParamAccessType, ValueChangeType, CmdType, ParamValueType } = usp.GetSupportedDMResp;
const VALUE_TYPE: Readonly<Record<ParamType, usp.GetSupportedDMResp.ParamValueType>> = {
  base64: ParamValueType.PARAM_BASE_64,
  boolean: ParamValueType.PARAM_BOOLEAN,
  dateTime: ParamValueType.PARAM_DATE_TIME,
  decimal: ParamValueType.PARAM_DECIMAL,
  hexBinary: ParamValueType.PARAM_HEX_BINARY,
  int: ParamValueType.PARAM_INT,
  long: ParamValueType.PARAM_LONG,
  string: ParamValueType.PARAM_STRING,
  unsignedInt: ParamValueType.PARAM_UNSIGNED_INT,
  unsignedLong: ParamValueType.PARAM_UNSIGNED_LONG,
};

interface Flags {
  readonly firstLevelOnly: boolean;
  readonly commands: boolean;
  readonly events: boolean;
  readonly params: boolean;
  readonly uniqueKeySets: boolean;
}

export function handleGetSupportedDm(ctx: RequestContext, request: usp.GetSupportedDM.$Properties): usp.GetSupportedDMResp.$Properties {
  const flags: Flags = {
    firstLevelOnly: request.firstLevelOnly ?? false,
    commands: request.returnCommands ?? false,
    events: request.returnEvents ?? false,
    params: request.returnParams ?? false,
    uniqueKeySets: request.returnUniqueKeySets ?? false,
  };
  return {
    reqObjResults: (request.objPaths ?? []).map((reqObjPath) => {
      ctx.budget.spend(reqObjPath);
      try {
        const supportedObjs = describePath(ctx.dm, ctx.access, reqObjPath, flags);
        spendOn(ctx.budget, supportedObjs);
        return { reqObjPath, errCode: 0, errMsg: '', dataModelInstUri: ctx.dm.dataModelUri, supportedObjs };
      } catch (error) {
        if (error instanceof ResponseTooLargeError) throw error;
        const { code, message } = describeFailure(ctx.logger, error, reqObjPath);
        ctx.budget.spend(message);
        return { reqObjPath, errCode: code, errMsg: message, dataModelInstUri: '', supportedObjs: [] };
      }
    }),
  };
}

/** The supported data model is small and fixed, so one path's answer is built whole and then counted. */
function spendOn(budget: ResponseBudget, objects: readonly usp.GetSupportedDMResp.SupportedObjectResult.$Properties[]): void {
  for (const obj of objects) {
    budget.spend(obj.supportedObjPath ?? '');
    for (const param of obj.supportedParams ?? []) budget.spend(param.paramName ?? '');
    for (const command of obj.supportedCommands ?? []) budget.spend(command.commandName ?? '', ...(command.inputArgNames ?? []), ...(command.outputArgNames ?? []));
    for (const event of obj.supportedEvents ?? []) budget.spend(event.eventName ?? '', ...(event.argNames ?? []));
    for (const keySet of obj.uniqueKeySets ?? []) budget.spend(...(keySet.keyNames ?? []));
  }
}

/*
 * Each Controller sees its own access (TR-369 §GetSupportedDM, R-SEC): objects it may not read (Obj r) are left
 * out, as are parameters without Param r and commands and events without CommandEvent r; the access enums say
 * what it may do (a writable parameter without Param w reads as read-only, a table without Obj w cannot be added
 * to). Permissions on instances (instance numbers, searches) count as if they matched: the Controller sees what it
 * could reach on some row.
 */
function describePath(dm: DataModel, access: Access, text: string, flags: Flags): usp.GetSupportedDMResp.SupportedObjectResult.$Properties[] {
  const path = parsePath(text, { supportedDm: true });
  const schema = schemaOf(dm, access, path);
  const view = new SupportedView(access);
  if (!view.canRead(schema)) throw new UspError(ErrorCode.InvalidPath, `${text}: not in the supported data model`);
  if (path.kind === 'object') {
    const out: usp.GetSupportedDMResp.SupportedObjectResult.$Properties[] = [view.describeObject(schema, flags)];
    for (const child of schema.children.values()) {
      if (flags.firstLevelOnly) {
        if (view.canRead(child)) out.push(view.describeObject(child, { ...flags, commands: false, events: false, params: false, uniqueKeySets: false }));
      } else view.collectBelow(child, flags, out);
    }
    return out;
  }
  // A single element: only that parameter, command or event, whatever the flags say.
  const leaf = path.segments[path.segments.length - 1];
  const name = leaf?.kind === 'name' ? leaf.name : '';
  const result: usp.GetSupportedDMResp.SupportedObjectResult.$Properties = { ...view.objectHeader(schema) };
  if (path.kind === 'parameter') {
    const param = schema.params.get(name);
    if (!param || !view.canReadParam(param)) throw new UspError(ErrorCode.InvalidPath, `${text}: no such parameter in the supported data model`);
    result.supportedParams = [view.describeParam(param)];
  } else if (path.kind === 'command') {
    const command = schema.commands.get(`${name}()`);
    if (!command || !view.canReadCommandEvent(schema, `${name}()`)) throw new UspError(ErrorCode.InvalidPath, `${text}: no such command in the supported data model`);
    result.supportedCommands = [describeCommand(schema, `${name}()`)];
  } else {
    if (!schema.events.has(`${name}!`) || !view.canReadCommandEvent(schema, `${name}!`)) throw new UspError(ErrorCode.InvalidPath, `${text}: no such event in the supported data model`);
    result.supportedEvents = [describeEvent(schema, `${name}!`)];
  }
  return [result];
}

/** The supported data model as one Controller's permissions let it see it. */
class SupportedView {
  private readonly access: Access;

  constructor(access: Access) {
    this.access = access;
  }

  canRead(schema: SchemaObject): boolean {
    return (this.access.supportedBits(schema.path, 'Obj') & READ) !== 0;
  }

  canReadParam(param: SchemaParam): boolean {
    return (this.access.supportedBits(param.object.path, 'Param', param.name) & READ) !== 0;
  }

  canReadCommandEvent(schema: SchemaObject, name: string): boolean {
    return (this.access.supportedBits(schema.path, 'CommandEvent', name) & READ) !== 0;
  }

  collectBelow(schema: SchemaObject, flags: Flags, out: usp.GetSupportedDMResp.SupportedObjectResult.$Properties[]): void {
    if (this.canRead(schema)) out.push(this.describeObject(schema, flags));
    for (const child of schema.children.values()) this.collectBelow(child, flags, out);
  }

  objectHeader(schema: SchemaObject): usp.GetSupportedDMResp.SupportedObjectResult.$Properties {
    let access = ObjAccessType.OBJ_READ_ONLY;
    if (schema.isWritableTable) {
      const add = (this.access.supportedBits(schema.tablePath, 'Obj') & WRITE) !== 0;
      const remove = (this.access.supportedBits(schema.path, 'InstantiatedObj') & WRITE) !== 0;
      access = add && remove ? ObjAccessType.OBJ_ADD_DELETE : add ? ObjAccessType.OBJ_ADD_ONLY : remove ? ObjAccessType.OBJ_DELETE_ONLY : ObjAccessType.OBJ_READ_ONLY;
    }
    return { supportedObjPath: schema.path, access, isMultiInstance: schema.isTable, divergentPaths: [] };
  }

  describeObject(schema: SchemaObject, flags: Flags): usp.GetSupportedDMResp.SupportedObjectResult.$Properties {
    const result = this.objectHeader(schema);
    if (flags.params) result.supportedParams = [...schema.params.values()].filter((p) => this.canReadParam(p)).map((p) => this.describeParam(p));
    if (flags.commands) result.supportedCommands = [...schema.commands.keys()].filter((n) => this.canReadCommandEvent(schema, n)).map((name) => describeCommand(schema, name));
    if (flags.events) result.supportedEvents = [...schema.events.keys()].filter((n) => this.canReadCommandEvent(schema, n)).map((name) => describeEvent(schema, name));
    if (flags.uniqueKeySets) result.uniqueKeySets = (schema.decl.uniqueKeys ?? []).map((keyNames) => ({ keyNames: [...keyNames] }));
    return result;
  }

  describeParam(param: SchemaParam): usp.GetSupportedDMResp.SupportedParamResult.$Properties {
    const writable = param.writable && (this.access.supportedBits(param.object.path, 'Param', param.name) & WRITE) !== 0;
    return {
      paramName: param.name,
      access: writable ? ParamAccessType.PARAM_READ_WRITE : ParamAccessType.PARAM_READ_ONLY,
      valueType: param.decl.list ? VALUE_TYPE.string : VALUE_TYPE[param.decl.type],
      valueChange: param.decl.volatile ? ValueChangeType.VALUE_CHANGE_WILL_IGNORE : ValueChangeType.VALUE_CHANGE_ALLOWED,
    };
  }
}

/** Walks a supported-DM or instance path to its schema object; instance numbers must name existing rows. */
function schemaOf(dm: DataModel, access: Access, path: ParsedPath): SchemaObject {
  const segments = path.segments;
  const end = path.kind === 'object' ? segments.length : segments.length - 1;
  const first = segments[0];
  if (first?.kind !== 'name' || first.name !== dm.root.schema.name) throw new UspError(ErrorCode.InvalidPath, `${path.text}: paths start with 'Device.'`);
  let schema = dm.schemaRoot;
  let instance: DmObject | undefined = dm.root; // tracks the instantiated object while instance numbers are used
  for (let i = 1; i < end; i++) {
    const segment = segments[i]!;
    if (segment.kind === 'name') {
      const child = schema.children.get(segment.name);
      if (!child) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${segment.name}' is not in the supported data model under ${schema.path}`);
      schema = child;
      instance = child.isTable ? instance : instance?.objects.get(segment.name);
    } else if (segment.kind === 'placeholder' || segment.kind === 'instance') {
      if (!schema.isTable || segments[i - 1]?.kind !== 'name') throw new UspError(ErrorCode.InvalidPath, `${path.text}: an instance follows ${schema.path}, which is not a table`);
      if (segment.kind === 'instance') {
        const row = instance?.tables.get(schema.name)?.rows.get(segment.instance);
        if (!row || !access.canSeeRow(row)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: instance ${segment.instance} of ${schema.tablePath} does not exist`);
        instance = row;
      } else {
        instance = undefined;
      }
    } else {
      throw new UspError(ErrorCode.InvalidPath, `${path.text}: GetSupportedDM takes no wildcards, searches or reference following`);
    }
  }
  return schema;
}

function describeCommand(schema: SchemaObject, name: string): usp.GetSupportedDMResp.SupportedCommandResult.$Properties {
  const command = schema.commands.get(name)!;
  return {
    commandName: name,
    inputArgNames: Object.keys(command.decl.input ?? {}),
    outputArgNames: Object.keys(command.decl.output ?? {}),
    commandType: command.decl.async ? CmdType.CMD_ASYNC : CmdType.CMD_SYNC,
  };
}

function describeEvent(schema: SchemaObject, name: string): usp.GetSupportedDMResp.SupportedEventResult.$Properties {
  return { eventName: name, argNames: Object.keys(schema.events.get(name)!.decl.args ?? {}) };
}
