// The USP engine: decodes Records from the MTPs, checks who is asking, runs each request on the serial
// lane, and answers the way the request came (its origin's reply route). It also sends Notify messages to
// Controllers over their MTPs. It never knows which MTP carried a Record (transport.ts).
import { usp } from '../usp/generated/usp.js';
import { decodeRecord, encodeRecord, encodeMsg, buildNoSessionRecord, buildDisconnectRecord, SUPPORTED_PROTOCOL_VERSIONS } from '../usp/codec.ts';
import { ErrorCode, UspError, toUspMessage } from '../usp/errors.ts';
import { toUspFailure } from '../usp/usp-failure.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { ArrivedRecord, ControllerTransport, ReplyRoute } from './transport.ts';
import type { Logger } from '../log.ts';
import { createLane } from './lane.ts';
import { MessageError } from './message-error.ts';
import { handleGet } from './handle-get.ts';
import { handleSet } from './handle-set.ts';
import { handleAdd } from './handle-add.ts';
import { handleDelete } from './handle-delete.ts';
import { handleOperate } from './handle-operate.ts';
import { handleGetInstances } from './handle-get-instances.ts';
import { handleGetSupportedDm } from './handle-get-supported-dm.ts';
import { checkRequestLimits } from './request-limits.ts';
import { createResponseBudget, ResponseTooLargeError } from './response-budget.ts';
import { CONTROLLER_TABLE } from './subscriptions.ts';
import type { SubscriptionService } from './subscriptions.ts';
import type { RequestManager } from './requests.ts';
import type { RequestContext } from './context.ts';
import type { AccessControl } from '../access/access.ts';
import { isBanned } from '../access/controller-roles.ts';

const MsgType = usp.Header.MsgType;

/** Requests of one Controller queued or running on the lane; more are answered with 7005 at once. */
export const MAX_PENDING_PER_CONTROLLER = 32;
/** Bytes of all requests queued or running, over all Controllers; more are answered with 7005 at once. */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024;

export interface EngineOptions {
  readonly dm: DataModel;
  readonly endpointId: string;
  readonly logger: Logger;
  readonly requests: RequestManager;
  /** How Notify messages reach a Controller (its MTPs, in Order). */
  readonly transport: ControllerTransport;
  /** Resolves once every committed persistent change is on disk; awaited before answering a write. */
  readonly flushPersistence: () => Promise<void>;
  /** ControllerTrust: what each Controller may see and do. */
  readonly accessControl: AccessControl;
  /** Told of every state-changing request (Set, Add, Delete, Operate) once it is answered: the audit trail. */
  readonly audit?: (request: RequestAudit) => void;
}

/** A state-changing request of a known Controller and what it was answered (the response, or the error). */
export interface RequestAudit {
  readonly originator: string;
  readonly msgId: string;
  readonly request: usp.Request.$Properties;
  /** An Operate with send_resp=false has a response too: the one that was not sent. */
  readonly answer: { readonly response: usp.Response.$Properties } | { readonly error: unknown };
}

export interface Engine {
  /** Entry point for the MTPs. Never throws; bad input is answered or dropped and logged. */
  handleRecord(record: ArrivedRecord): void;
  /** Sends a Notify to a Controller; false if it has no usable MTP. */
  sendNotify(controller: DmObject, msgId: string, notify: usp.Notify.$Properties): boolean;
  attachSubscriptions(subscriptions: SubscriptionService): void;
  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void>;
}

export function createEngine(options: EngineOptions): Engine {
  const { dm, endpointId, logger } = options;
  const lane = createLane();
  const inFlight = new Set<string>();
  let pendingBytes = 0;
  let subscriptions: SubscriptionService | undefined;

  const findController = (from: string): DmObject | undefined => {
    for (const row of dm.table(CONTROLLER_TABLE).rows.values()) if (dm.read(row, 'EndpointID') === from) return row;
    return undefined;
  };

  const encodeNoSession = (toId: string, msg: usp.Msg.$Properties): Uint8Array => encodeRecord(buildNoSessionRecord({ toId, fromId: endpointId, msg: encodeMsg(msg) }));

  const errorMsg = (msgId: string, error: unknown): usp.Msg.$Properties => {
    const { code, message } = toUspFailure(error, logger, { msgId });
    const paramErrs = error instanceof MessageError ? error.paramErrs.map((p) => ({ paramPath: p.paramPath, errCode: p.errCode, errMsg: p.errMsg })) : [];
    return { header: { msgId, msgType: MsgType.ERROR }, body: { error: { errCode: code, errMsg: message, paramErrs } } };
  };

  /** Sends a response, or an Error 7005 in its place when the encoded Record is larger than the route carries. */
  const sendResponse = (toId: string, route: ReplyRoute, msg: usp.Msg.$Properties): void => {
    let bytes = encodeNoSession(toId, msg);
    const limit = route.maxRecordBytes;
    if (bytes.length > limit) {
      const msgId = msg.header?.msgId ?? '';
      logger.warn({ to: toId, msgId, bytes: bytes.length, limit }, 'response larger than the MTP carries; answered with 7005 instead');
      bytes = encodeNoSession(toId, errorMsg(msgId, new ResponseTooLargeError(limit, bytes.length)));
    }
    route.send(bytes, 'response');
  };

  const sendError = (toId: string, route: ReplyRoute, msgId: string, error: unknown): void => {
    sendResponse(toId, route, errorMsg(msgId, error));
  };

  /** Runs one request; returns the response body and its MsgType, or throws for an Error message. */
  const dispatch = async (ctx: RequestContext, request: usp.Request.$Properties): Promise<{ response: usp.Response.$Properties; type: usp.Header.MsgType; wrote: boolean }> => {
    switch (request.reqType) {
      case 'get':
        return { response: { getResp: handleGet(ctx, request.get!) }, type: MsgType.GET_RESP, wrote: false };
      case 'getInstances':
        return { response: { getInstancesResp: handleGetInstances(ctx, request.getInstances!) }, type: MsgType.GET_INSTANCES_RESP, wrote: false };
      case 'getSupportedDm':
        return { response: { getSupportedDmResp: handleGetSupportedDm(ctx, request.getSupportedDm!) }, type: MsgType.GET_SUPPORTED_DM_RESP, wrote: false };
      case 'getSupportedProtocol':
        return {
          response: { getSupportedProtocolResp: { agentSupportedProtocolVersions: SUPPORTED_PROTOCOL_VERSIONS } },
          type: MsgType.GET_SUPPORTED_PROTO_RESP,
          wrote: false,
        };
      case 'set':
        return { response: { setResp: inTransaction(ctx, (tx) => handleSet(ctx, request.set!, tx)) }, type: MsgType.SET_RESP, wrote: true };
      case 'add':
        return { response: { addResp: inTransaction(ctx, (tx) => handleAdd(ctx, request.add!, tx)) }, type: MsgType.ADD_RESP, wrote: true };
      case 'delete':
        return { response: { deleteResp: inTransaction(ctx, (tx) => handleDelete(ctx, request.delete!, tx)) }, type: MsgType.DELETE_RESP, wrote: true };
      case 'operate':
        return { response: { operateResp: await handleOperate(ctx, request.operate!) }, type: MsgType.OPERATE_RESP, wrote: true };
      case 'notify':
      case 'register':
      case 'deregister':
      case undefined:
        break;
    }
    throw new UspError(ErrorCode.MessageNotSupported, `${request.reqType ?? 'this'} request is not supported by this agent`);
  };

  // After the answer is out; a failing audit never changes what the Controller was told.
  const audit = (originator: string, msgId: string, request: usp.Request.$Properties, answer: RequestAudit['answer']): void => {
    if (!options.audit || !wroteRequest(request)) return;
    try {
      options.audit({ originator, msgId, request, answer });
    } catch (error) {
      logger.error({ err: error, msgId }, 'recording a request in the audit trail failed');
    }
  };

  const inTransaction = <T>(ctx: RequestContext, work: (tx: ReturnType<DataModel['begin']>) => T): T => dm.update(work, { originator: ctx.originator, access: ctx.access });

  const handleMsg = (from: string, origin: ArrivedRecord['origin'], payload: Uint8Array): void => {
    let msg: usp.Msg;
    try {
      msg = usp.Msg.decode(payload);
    } catch (error) {
      logger.warn({ from, err: toUspMessage(error) }, 'dropped a Record whose Msg cannot be decoded');
      return;
    }
    const msgId = msg.header?.msgId ?? '';
    const controller = findController(from);
    // Only Controllers of this agent are answered, and only where they are known to listen: an unknown, disabled
    // or banned sender gets nothing (an answer would let anyone make the agent publish to a topic of its choosing).
    if (!controller || dm.read(controller, 'Enable') !== 'true' || isBanned(dm, controller)) {
      logger.warn({ from, msgId }, 'dropped a message from an Endpoint that is not an enabled Controller of this agent');
      return;
    }
    const misplaced = origin.refusal(controller);
    if (misplaced !== undefined) {
      logger.warn({ from, msgId, via: origin.description }, `dropped a Record that arrived where its sender may not speak: ${misplaced}`);
      return;
    }
    const route = origin.replyRoute(controller);
    if (route === undefined) {
      logger.warn({ from, msgId, via: origin.description }, 'dropped a message: no reply address and no configured one for this Controller');
      return;
    }
    const body = msg.body;
    if (!msg.header || !body?.msgBody) {
      sendError(from, route, msgId, new UspError(ErrorCode.InvalidArguments, 'Msg has no header or no body'));
      return;
    }
    if (body.msgBody === 'response') {
      if (body.response?.respType === 'notifyResp') subscriptions?.acknowledge(msgId);
      else logger.debug({ from, msgId, type: body.response?.respType }, 'ignored an unexpected response');
      return;
    }
    if (body.msgBody === 'error') {
      logger.warn({ from, msgId, code: body.error?.errCode, message: body.error?.errMsg }, 'Controller answered with an Error');
      return;
    }
    const request = body.request;
    if (!request?.reqType) {
      sendError(from, route, msgId, new UspError(ErrorCode.InvalidArguments, 'Request has no message body'));
      return;
    }
    // R-MSG.4: a duplicate msg_id arriving before the original was answered is ignored.
    const key = `${from}\u0000${msgId}`;
    if (inFlight.has(key)) {
      logger.info({ from, msgId }, 'ignored a duplicate request still in progress');
      return;
    }
    // Bounded before queueing: a Controller that floods the agent is answered at once, and never holds more than
    // its share of the lane or of memory.
    try {
      checkRequestLimits(request);
      if (lane.pending(from) >= MAX_PENDING_PER_CONTROLLER) {
        throw new UspError(ErrorCode.ResourcesExceeded, `${MAX_PENDING_PER_CONTROLLER} requests of this Controller are already waiting; send more once they are answered`);
      }
      if (pendingBytes + payload.length > MAX_PENDING_BYTES) {
        throw new UspError(ErrorCode.ResourcesExceeded, 'the agent is busy with other requests; retry shortly');
      }
    } catch (error) {
      logger.warn({ from, msgId, err: toUspMessage(error) }, 'refused a request over a limit');
      sendError(from, route, msgId, error);
      audit(from, msgId, request, { error });
      return;
    }
    inFlight.add(key);
    pendingBytes += payload.length;
    lane
      .run(from, async () => {
        // The access is worked out when the request runs, not when it arrived: a role change queued before it applies.
        const access = options.accessControl.forController(controller);
        const ctx: RequestContext = { dm, originator: from, controller, access, requests: options.requests, logger, budget: createResponseBudget(route.maxRecordBytes) };
        try {
          const { response, type, wrote } = await dispatch(ctx, request);
          if (wrote) await options.flushPersistence();
          if (request.reqType !== 'operate' || request.operate?.sendResp !== false) sendResponse(from, route, { header: { msgId, msgType: type }, body: { response } });
          audit(from, msgId, request, { response });
        } catch (error) {
          if (wroteRequest(request)) await options.flushPersistence().catch(() => undefined);
          sendError(from, route, msgId, error);
          audit(from, msgId, request, { error });
        }
      })
      .catch((error: unknown) => { logger.error({ err: error }, 'request handling failed'); })
      .finally(() => {
        inFlight.delete(key);
        pendingBytes -= payload.length;
      });
  };

  return {
    handleRecord(inbound) {
      let record;
      try {
        record = decodeRecord(inbound.bytes);
      } catch (error) {
        logger.warn({ err: toUspMessage(error), bytes: inbound.bytes.length }, 'dropped an undecodable Record');
        return;
      }
      if (record.toId !== endpointId) {
        logger.warn({ to: record.toId, from: record.fromId }, 'dropped a Record addressed to another Endpoint');
        return;
      }
      // A Record claiming to come from this agent is a loop or a spoof: never answered (it would talk to itself).
      if (record.fromId === endpointId) {
        logger.warn({ from: record.fromId }, "dropped a Record whose from_id is the agent's own Endpoint ID");
        return;
      }
      switch (record.recordType) {
        case 'noSessionContext': {
          const payload = record.noSessionContext?.payload;
          if (!payload || payload.length === 0) {
            logger.warn({ from: record.fromId }, 'dropped a Record with an empty payload');
            return;
          }
          handleMsg(record.fromId, inbound.origin, payload);
          return;
        }
        case 'sessionContext': {
          // E2E session context is not supported: answer with a DisconnectRecord 7106 (R-E2E.6a).
          const controller = findController(record.fromId);
          const admitted = controller && dm.read(controller, 'Enable') === 'true' && !isBanned(dm, controller) && inbound.origin.refusal(controller) === undefined;
          const route = admitted ? inbound.origin.replyRoute(controller) : undefined;
          if (route !== undefined) {
            const disconnect = buildDisconnectRecord({ toId: record.fromId, fromId: endpointId, reason: 'Session Context is not supported', reasonCode: ErrorCode.SessionContextNotAllowed });
            route.send(encodeRecord(disconnect), 'response');
          }
          return;
        }
        case 'websocketConnect':
        case 'mqttConnect':
        case 'stompConnect':
        case 'udsConnect':
        case 'disconnect':
        case undefined:
          logger.debug({ from: record.fromId, type: record.recordType }, 'ignored a connect/disconnect Record');
      }
    },
    sendNotify(controller, msgId, notify) {
      const toId = dm.read(controller, 'EndpointID');
      return options.transport.sendToController(controller, encodeNoSession(toId, { header: { msgId, msgType: MsgType.NOTIFY }, body: { request: { notify } } }), 'notify');
    },
    attachSubscriptions(service) {
      subscriptions = service;
    },
    idle() {
      return lane.idle();
    },
  };
}

function wroteRequest(request: usp.Request.$Properties): boolean {
  return request.reqType === 'set' || request.reqType === 'add' || request.reqType === 'delete' || request.reqType === 'operate';
}
