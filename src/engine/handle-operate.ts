// Operate (TR-369 R-OPR.*): one OperationResult per matched command. A failed command is a cmd_failure in
// the response, never an Error message (R-OPR.1); Error is only for the message itself (bad path, ...).
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { checkCommandArgs } from './command-args.ts';
import { MessageError } from './message-error.ts';
import type { RequestContext } from './context.ts';
import { requirePermission, writeVisibility } from './access-checks.ts';
import { EXECUTE } from '../access/permission-bits.ts';

export async function handleOperate(ctx: RequestContext, request: usp.Operate.$Properties): Promise<usp.OperateResp.$Properties> {
  const commandPath = request.command ?? '';
  let resolution;
  try {
    resolution = resolvePath(ctx.dm, commandPath, writeVisibility(ctx.access));
  } catch (error) {
    const { code, message } = describeFailure(ctx.logger, error, commandPath);
    throw new MessageError(code, message, [{ paramPath: commandPath, errCode: code, errMsg: message }]);
  }
  if (resolution.path.kind !== 'command') throw new MessageError(ErrorCode.InvalidPath, `${commandPath}: Operate takes a command path ending in '()'`);
  const commandName = resolution.element!;
  const results: usp.OperateResp.OperationResult.$Properties[] = [];
  for (const node of resolution.nodes) {
    const obj = node as DmObject;
    const executedCommand = `${obj.path}${commandName}`;
    const command = obj.schema.commands.get(commandName)!;
    try {
      // TP-469 2.18 (USP 1.4): a command the Controller may not execute is a cmd_failure 7006 in the response.
      requirePermission(ctx.access, ctx.access.commandEventBits(obj, commandName), EXECUTE, 'CommandEvent', obj.path, commandName);
      const args = checkCommandArgs(command, request.inputArgs ?? {});
      if (command.decl.async) {
        ctx.dm.commandValidator(command)?.({ dm: ctx.dm, obj, command, args, originator: ctx.originator, access: ctx.access, commandKey: request.commandKey ?? '', signal: new AbortController().signal });
        const reqObjPath = ctx.requests.start({ obj, command, args, originator: ctx.originator, access: ctx.access, commandKey: request.commandKey ?? '' });
        results.push({ executedCommand, reqObjPath });
      } else {
        const handler = ctx.dm.commandHandler(command);
        if (!handler) throw new UspError(ErrorCode.CommandFailure, `${executedCommand} has no handler`);
        const outputArgs = await handler({
          dm: ctx.dm,
          obj,
          command,
          args,
          originator: ctx.originator,
          access: ctx.access,
          commandKey: request.commandKey ?? '',
          signal: new AbortController().signal,
        });
        results.push({ executedCommand, reqOutputArgs: { outputArgs } });
      }
    } catch (error) {
      const { code, message } = describeFailure(ctx.logger, error, executedCommand, ErrorCode.CommandFailure);
      results.push({ executedCommand, cmdFailure: { errCode: code, errMsg: message } });
    }
  }
  return { operationResults: results };
}
