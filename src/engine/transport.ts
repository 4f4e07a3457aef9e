// The engine's port to the MTPs (DESIGN.md §1: the engine does no I/O). A Record arrives with its origin, which
// the engine never looks inside: the origin says whether the claimed sender may speak there and where the answer
// goes (the MTP, connection and reply address the request came on). Agent-originated Records (Notify,
// OnBoardRequest) go to a Controller over its configured MTPs, in their Order, falling back when one is down.
import type { DmObject } from '../datamodel/instances.ts';

/** What a sent Record is: the MTP picks its properties (MQTT retain flags) and queueing by it. */
export type OutboundKind = 'response' | 'notify' | 'connect';

/** The way back to the sender of one Record. */
export interface ReplyRoute {
  /** Sends (or queues, while that MTP is down) a Record back the way the request came. Never throws. */
  send(bytes: Uint8Array, kind: OutboundKind): void;
  /** The largest Record this route carries: a larger response is answered with 7005 instead. */
  readonly maxRecordBytes: number;
}

export interface RecordOrigin {
  /** For logs: the MTP and address it came on, e.g. "MQTT usp/agent/x" or "WebSocket session of proto::ops". */
  readonly description: string;
  /** Why a Record whose from_id is this Controller may not be taken from here, or undefined when it may. */
  refusal(controller: DmObject): string | undefined;
  /** Where the answers to this Controller's Record go, or undefined when nowhere it listens is known. */
  replyRoute(controller: DmObject): ReplyRoute | undefined;
}

export interface ArrivedRecord {
  readonly bytes: Uint8Array;
  readonly origin: RecordOrigin;
}

export interface ControllerTransport {
  /** Sends an agent-originated Record over the Controller's MTPs (queued while all are down); false if it has none. */
  sendToController(controller: DmObject, bytes: Uint8Array, kind: OutboundKind): boolean;
}
