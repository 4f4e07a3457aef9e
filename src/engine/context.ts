// What every message handler gets: the data model and who is asking.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { RequestManager } from './requests.ts';
import type { Logger } from '../log.ts';
import type { ResponseBudget } from './response-budget.ts';
import type { Access } from '../access/access.ts';

export interface RequestContext {
  readonly dm: DataModel;
  /** The requesting Controller's Endpoint ID (Record from_id). */
  readonly originator: string;
  /** Its Device.LocalAgent.Controller.{i}. row. */
  readonly controller: DmObject;
  /** What its roles let it see and do (ControllerTrust), for this message. */
  readonly access: Access;
  readonly requests: RequestManager;
  /** Where unexpected errors are logged with their stack (describeFailure). */
  readonly logger: Logger;
  /** What the response may still grow by (handlers that can build large answers spend from it). */
  readonly budget: ResponseBudget;
}
