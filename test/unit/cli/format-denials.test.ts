// `berth ctl` says a permission denial (7006) plainly wherever the agent puts it: one line per path,
// `denied (7006): <path>: <the agent's message>`. Crafted messages, as the USP spec shapes denials (TR-369 §3.4 of
// the reference); other errors keep their own lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAddResp,
  formatDeleteResp,
  formatGetResp,
  formatInstancesResp,
  formatNotify,
  formatOperateResp,
  formatSetResp,
  formatSupportedResp,
  formatUspError,
} from '../../../src/cli/format.ts';

const CLIENT = 'Device.MQTT.Client.1.';
const NO = 'no write permission on this parameter';

const cases: Record<string, { text: string; expected: string }> = {
  'Error 7006 for the whole message (no param_errs)': {
    text: formatUspError(7006, 'Endpoint proto::x is not an enabled Controller of this agent', []),
    expected: 'denied (7006): Endpoint proto::x is not an enabled Controller of this agent',
  },
  'Error 7006 with a param_err per denied parameter': {
    text: formatUspError(7006, 'permission denied', [
      { paramPath: `${CLIENT}BrokerAddress`, errCode: 7006, errMsg: NO },
      { paramPath: `${CLIENT}BrokerPort`, errCode: 7006, errMsg: NO },
    ]),
    expected: `denied (7006): ${CLIENT}BrokerAddress: ${NO}\ndenied (7006): ${CLIENT}BrokerPort: ${NO}`,
  },
  'Error 7021 (a required parameter failed) because of a denial, and another parameter failing otherwise': {
    text: formatUspError(7021, 'required parameter BrokerAddress failed', [
      { paramPath: `${CLIENT}BrokerAddress`, errCode: 7006, errMsg: NO },
      { paramPath: `${CLIENT}KeepAliveTime`, errCode: 7012, errMsg: 'out of range' },
    ]),
    expected: `error 7021: required parameter BrokerAddress failed\ndenied (7006): ${CLIENT}BrokerAddress: ${NO}\n  ${CLIENT}KeepAliveTime: error 7012: out of range`,
  },
  'Error of another code is unchanged': {
    text: formatUspError(7011, 'bad type', [{ paramPath: `${CLIENT}Enable`, errCode: 7011, errMsg: 'not a boolean' }]),
    expected: `error 7011: bad type\n  ${CLIENT}Enable: error 7011: not a boolean`,
  },
  'SetResp (allow_partial): an object failure whose parameters were denied': {
    text: formatSetResp({
      updatedObjResults: [
        {
          requestedPath: CLIENT,
          operStatus: {
            operFailure: {
              errCode: 7006,
              errMsg: 'permission denied',
              updatedInstFailures: [{ affectedPath: CLIENT, paramErrs: [{ param: 'BrokerAddress', errCode: 7006, errMsg: NO }, { param: 'Password', errCode: 7006, errMsg: NO }] }],
            },
          },
        },
      ],
    }),
    expected: `denied (7006): ${CLIENT}BrokerAddress: ${NO}\ndenied (7006): ${CLIENT}Password: ${NO}`,
  },
  'SetResp: a denied object named by its path when no parameter is': {
    text: formatSetResp({ updatedObjResults: [{ requestedPath: 'Device.LocalAgent.Controller.2.', operStatus: { operFailure: { errCode: 7006, errMsg: 'not yours' } } }] }),
    expected: 'denied (7006): Device.LocalAgent.Controller.2.: not yours',
  },
  'SetResp: a non-required parameter denied next to one that was set': {
    text: formatSetResp({
      updatedObjResults: [
        { requestedPath: CLIENT, operStatus: { operSuccess: { updatedInstResults: [{ affectedPath: CLIENT, updatedParams: { KeepAliveTime: '30' }, paramErrs: [{ param: 'BrokerPort', errCode: 7006, errMsg: NO }] }] } } },
      ],
    }),
    expected: `set ${CLIENT}KeepAliveTime = 30\ndenied (7006): ${CLIENT}BrokerPort: ${NO}`,
  },
  'SetResp: other failures keep their lines': {
    text: formatSetResp({
      updatedObjResults: [
        { requestedPath: CLIENT, operStatus: { operFailure: { errCode: 7014, errMsg: 'conflict', updatedInstFailures: [{ affectedPath: CLIENT, paramErrs: [{ param: 'BrokerPort', errCode: 7014, errMsg: 'conflict' }] }] } } },
      ],
    }),
    expected: `${CLIENT}: failed 7014: conflict\n  ${CLIENT}BrokerPort: error 7014: conflict`,
  },
  'GetResp: a path the Controller may not read': {
    text: formatGetResp({ reqPathResults: [{ requestedPath: 'Device.LocalAgent.Controller.', errCode: 7006, errMsg: 'not readable' }] }),
    expected: 'denied (7006): Device.LocalAgent.Controller.: not readable',
  },
  'AddResp: a table the Controller may not add to': {
    text: formatAddResp({ createdObjResults: [{ requestedPath: 'Device.LocalAgent.Controller.', operStatus: { operFailure: { errCode: 7006, errMsg: 'no add permission' } } }] }),
    expected: 'denied (7006): Device.LocalAgent.Controller.: no add permission',
  },
  'AddResp: a created row with a denied non-required parameter': {
    text: formatAddResp({
      createdObjResults: [
        { requestedPath: 'Device.LocalAgent.Subscription.', operStatus: { operSuccess: { instantiatedPath: 'Device.LocalAgent.Subscription.3.', uniqueKeys: { ID: 's' }, paramErrs: [{ param: 'Recipient', errCode: 7006, errMsg: NO }] } } },
      ],
    }),
    expected: `created Device.LocalAgent.Subscription.3. (ID=s)\ndenied (7006): Device.LocalAgent.Subscription.3.Recipient: ${NO}`,
  },
  'DeleteResp (allow_partial): a row the Controller may not delete': {
    text: formatDeleteResp({
      deletedObjResults: [
        { requestedPath: 'Device.SoftwareModules.DeploymentUnit.*.', operStatus: { operSuccess: { affectedPaths: ['Device.SoftwareModules.DeploymentUnit.1.'], unaffectedPathErrs: [{ unaffectedPath: 'Device.SoftwareModules.DeploymentUnit.2.', errCode: 7006, errMsg: 'another tenant\'s' }] } } },
      ],
    }),
    expected: "deleted Device.SoftwareModules.DeploymentUnit.1.\ndenied (7006): Device.SoftwareModules.DeploymentUnit.2.: another tenant's",
  },
  'OperateResp: a command the Controller may not run': {
    text: formatOperateResp({ operationResults: [{ executedCommand: 'Device.SoftwareModules.InstallDU()', cmdFailure: { errCode: 7006, errMsg: 'no execute permission' } }] }),
    expected: 'denied (7006): Device.SoftwareModules.InstallDU(): no execute permission',
  },
  'GetInstancesResp and GetSupportedDMResp': {
    text: [
      formatInstancesResp({ reqPathResults: [{ requestedPath: 'Device.LocalAgent.Controller.', errCode: 7006, errMsg: 'no' }] }),
      formatSupportedResp({ reqObjResults: [{ reqObjPath: 'Device.LocalAgent.', errCode: 7006, errMsg: 'no' }] }),
    ].join('\n'),
    expected: 'denied (7006): Device.LocalAgent.Controller.: no\ndenied (7006): Device.LocalAgent.: no',
  },
  'OperationComplete refused with 7006': {
    text: formatNotify({ operComplete: { objPath: 'Device.SoftwareModules.DeploymentUnit.2.', commandName: 'Uninstall()', commandKey: 'k', cmdFailure: { errCode: 7006, errMsg: 'not yours' } } }),
    expected: 'denied (7006): Device.SoftwareModules.DeploymentUnit.2.Uninstall(): not yours',
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`ctl output: ${name}`, () => {
    assert.equal(c.text, c.expected);
  });
}
