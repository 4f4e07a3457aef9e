// Three parties on one gateway, one real agent over a real Mosquitto with the apps on the real Docker Engine: the
// ISP (full access), a security provider and the household, each of the two confined to its own ExecEnv (config
// `tenants`). Every cross-tenant attempt is denied or invisible as TR-369 says, each tenant's quota holds while
// the other tries to exceed its own, role changes apply to the next message, and strangers get nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipReason, AGENT_ID, AGENT_TOPIC, CONTROLLER_ID, CONTROLLER_TOPIC } from '../../helpers/usp-fixture.ts';
import { dockerSkipReason, startSmmFixture } from '../../helpers/smm-fixture.ts';
import { connectController } from '../../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';
import type { usp } from '../../../src/usp/generated/usp.js';

const skip = skipReason() ?? dockerSkipReason();
const SEC = 'proto::security-co';
const HOME = 'proto::household';
const GUEST = 'proto::guest';
const SEC_AGENT_TOPIC = `usp/agent/${AGENT_ID}/security-co`;
const ENV = { isp: 'Device.SoftwareModules.ExecEnv.1', security: 'Device.SoftwareModules.ExecEnv.2', household: 'Device.SoftwareModules.ExecEnv.3' };

const config = {
  execEnvs: [
    { name: 'isp', memoryKiB: 262_144, cpuPercent: 50, diskKiB: 2_097_152 },
    { name: 'security', memoryKiB: 16_384, cpuPercent: 20, diskKiB: 1_048_576 },
    { name: 'household', memoryKiB: 12_288, cpuPercent: 20, diskKiB: 1_048_576 },
  ],
  tenants: [
    { name: 'security', execEnvs: ['security'] },
    { name: 'household', execEnvs: ['household'] },
  ],
  controllers: [
    { endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC, role: 'full' },
    // The security provider has an agent topic of its own (with a broker ACL, only its account could write it).
    { endpointId: SEC, topic: 'usp/controller/security', tenant: 'security', agentTopic: SEC_AGENT_TOPIC },
    { endpointId: HOME, topic: 'usp/controller/household', tenant: 'household' },
    { endpointId: GUEST, topic: 'usp/controller/guest', role: 'untrusted' },
  ],
};

async function operate(controller: ControllerClient, command: string, inputArgs: Record<string, string> = {}): Promise<usp.OperateResp.OperationResult.$Properties> {
  const resp = await controller.request({ operate: { command, commandKey: `${controller.endpointId}-${Date.now()}`, sendResp: true, inputArgs } }, { timeoutMs: 30_000 });
  return resp.operateResp!.operationResults![0]!;
}

async function subscribe(controller: ControllerClient, type: string, reference: string): Promise<usp.AddResp.$Properties> {
  const resp = await controller.request({
    add: { allowPartial: true, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: Object.entries({ Enable: 'true', NotifType: type, ReferenceList: reference }).map(([param, value]) => ({ param, value, required: true })) }] },
  });
  return resp.addResp!;
}

function resolvedPaths(resp: usp.GetResp.$Properties): string[] {
  return resp.reqPathResults!.flatMap((r) => r.resolvedPathResults!.map((p) => p.resolvedPath!));
}

/** Collects every Notify a Controller receives from now on. */
function recordNotifies(controller: ControllerClient): usp.Notify.$Properties[] {
  const seen: usp.Notify.$Properties[] = [];
  controller.onNotify((n) => seen.push(n));
  return seen;
}

test('tenants: the ISP, a security provider and the household share one gateway without seeing or disturbing each other', { skip, timeout: 300_000 }, async () => {
  const smm = await startSmmFixture({ config });
  const isp = smm.controller;
  const extra: ControllerClient[] = [];
  const as = async (endpointId: string, replyTopic: string, agentTopic = AGENT_TOPIC): Promise<ControllerClient> => {
    const c = await connectController({ brokerUrl: smm.fx.brokerUrl, endpointId, agentEndpointId: AGENT_ID, agentTopic, replyTopic });
    extra.push(c);
    return c;
  };
  try {
    const sec = await as(SEC, 'usp/controller/security', SEC_AGENT_TOPIC);
    const home = await as(HOME, 'usp/controller/household');
    const guest = await as(GUEST, 'usp/controller/guest');

    // Each tenant subscribes to DUStateChange! (allowed: it hears about its own apps only).
    for (const c of [sec, home]) assert.ok((await subscribe(c, 'Event', 'Device.SoftwareModules.DUStateChange!')).createdObjResults![0]!.operStatus!.operSuccess);
    const homeHeard = recordNotifies(home);

    // The ISP installs its app; the security provider installs into its own ExecEnv.
    const ispInstalled = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install' && a['CurrentState'] === 'Installed');
    assert.match((await operate(isp, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0'), ExecutionEnvRef: ENV.isp })).reqObjPath ?? '', /Request/);
    const ispDu = `${(await ispInstalled)['DeploymentUnitRef']}.`;
    const secInstalled = sec.nextNotify((n) => n.event?.eventName === 'DUStateChange!', 90_000);
    assert.match((await operate(sec, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('energy-monitor@1.0.0'), ExecutionEnvRef: ENV.security })).reqObjPath ?? '', /Request/);
    const secChange = (await secInstalled).event!.params!;
    assert.equal(secChange['CurrentState'], 'Installed', secChange['Fault.FaultString']);
    const secDu = `${secChange['DeploymentUnitRef']}.`;
    const secEu = `${secChange['ExecutionUnitRefList']}.`;
    await smm.waitFor(secEu, 'Status', (s) => s === 'Active');

    // The household: installing into another tenant's ExecEnv is as if it did not exist; its own works.
    const intoSecurity = await operate(home, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('energy-monitor@1.0.0'), ExecutionEnvRef: ENV.security });
    assert.equal(intoSecurity.cmdFailure?.errCode, 7223, JSON.stringify(intoSecurity));
    const intoIsp = await operate(home, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('energy-monitor@1.0.0'), ExecutionEnvRef: ENV.isp });
    assert.equal(intoIsp.cmdFailure?.errCode, 7223);
    const homeInstalled = home.nextNotify((n) => n.event?.eventName === 'DUStateChange!' && n.event.params?.['OperationPerformed'] === 'Install', 90_000);
    await operate(home, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('energy-monitor@1.0.0'), ExecutionEnvRef: ENV.household });
    const homeChange = (await homeInstalled).event!.params!;
    assert.equal(homeChange['CurrentState'], 'Installed', homeChange['Fault.FaultString']);
    const homeDu = `${homeChange['DeploymentUnitRef']}.`;

    // Quotas: the household's 12 MiB cannot take a 16 MiB app, and trying leaves the security tenant's allocation whole.
    const secEnvBefore = await smm.params(`${ENV.security}.`);
    const tooBig = home.nextNotify((n) => n.event?.eventName === 'DUStateChange!' && n.event.params?.['CurrentState'] === 'Failed', 90_000);
    await operate(home, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0'), ExecutionEnvRef: ENV.household });
    assert.match((await tooBig).event!.params!['Fault.FaultString']!, /memory/i);
    const secEnvAfter = await smm.params(`${ENV.security}.`);
    assert.equal(secEnvAfter['AvailableMemory'], secEnvBefore['AvailableMemory']);
    assert.equal(secEnvAfter['AvailableMemory'], String(16_384 - 8192));

    // What the household sees of the gateway: its ExecEnv and its own app, nothing of the others.
    const seen = resolvedPaths(await home.get(['Device.SoftwareModules.']));
    assert.ok(seen.includes(homeDu), 'its own DU');
    assert.ok(seen.includes(`${ENV.household}.`), 'its own ExecEnv');
    for (const hidden of [secDu, ispDu, secEu, `${ENV.security}.`, `${ENV.isp}.`]) assert.ok(!seen.includes(hidden), `${hidden} is invisible to the household`);
    // Logs: its own unit's, not the security provider's.
    const homeLog = `Device.DeviceInfo.VendorLogFile.${homeChange['ExecutionUnitRefList']!.split('.')[3]!}.`;
    const secLog = `Device.DeviceInfo.VendorLogFile.${secEu.split('.')[3]!}.`;
    assert.deepEqual(resolvedPaths(await home.get([homeLog])), [homeLog]);
    assert.equal((await home.get([secLog])).reqPathResults![0]!.errCode, 7026);
    const secEuGet = (await home.get([secEu])).reqPathResults![0]!;
    assert.equal(secEuGet.errCode, 7026, 'another tenant\'s unit does not exist for it');
    const instances = await home.request({ getInstances: { objPaths: ['Device.SoftwareModules.DeploymentUnit.'], firstLevelOnly: true } });
    assert.deepEqual(instances.getInstancesResp!.reqPathResults![0]!.currInsts!.map((i) => i.instantiatedObjPath), [homeDu]);
    const everything = resolvedPaths(await home.get(['Device.']));
    assert.ok(!everything.some((p) => p.startsWith('Device.MQTT.') || p.startsWith('Device.LocalAgent.ControllerTrust.') || p === secLog || p.startsWith('Device.X_BERTH-ORG_Audit.')), 'no MQTT client, roles, audit trail or others\' logs');

    // Acting on another tenant's apps: 7006, and nothing happens to them.
    assert.equal((await operate(home, `${secDu}Uninstall()`)).cmdFailure?.errCode, 7006);
    assert.equal((await operate(home, `${secEu}SetRequestedState()`, { RequestedState: 'Idle' })).cmdFailure?.errCode, 7006);
    assert.equal((await operate(home, `${secEu}Restart()`)).cmdFailure?.errCode, 7006);
    assert.equal((await smm.params(secEu))['Status'], 'Active');

    // Notifications: the household never heard of the others' installs, and cannot watch their units.
    assert.ok(homeHeard.every((n) => n.event?.params?.['DeploymentUnitRef'] === homeChange['DeploymentUnitRef'] || n.event?.params?.['CurrentState'] === 'Failed'), JSON.stringify(homeHeard.map((n) => n.event?.params)));
    assert.ok((await subscribe(home, 'ValueChange', 'Device.SoftwareModules.ExecutionUnit.*.Status')).createdObjResults![0]!.operStatus!.operSuccess);
    assert.ok((await subscribe(isp, 'ValueChange', 'Device.SoftwareModules.ExecutionUnit.*.Status')).createdObjResults![0]!.operStatus!.operSuccess);
    const ispSawStop = isp.nextNotify((n) => n.valueChange?.paramPath === `${secEu}Status`, 30_000);
    const before = homeHeard.length;
    assert.ok((await operate(sec, `${secEu}SetRequestedState()`, { RequestedState: 'Idle' })).reqOutputArgs, 'the owner may stop its unit');
    await ispSawStop;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(homeHeard.slice(before).filter((n) => n.valueChange?.paramPath?.startsWith(secEu)).length, 0, 'the household is not told about the security unit');
    assert.equal((await subscribe(home, 'ValueChange', 'Device.MQTT.Client.1.BrokerAddress')).createdObjResults![0]!.operStatus!.operFailure?.errCode, 7006, 'a subscription to what it cannot read is refused');

    // The untrusted guest: nothing it saw succeed before this issue succeeds now.
    const guestSet = await guest.request({ set: { allowPartial: true, updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: [{ param: 'BrokerAddress', value: '203.0.113.9', required: true }] }] } });
    assert.equal(guestSet.setResp!.updatedObjResults![0]!.operStatus!.operFailure?.errCode, 7006);
    const guestAdd = await guest.request({ add: { allowPartial: true, createObjs: [{ objPath: 'Device.LocalAgent.Controller.', paramSettings: [{ param: 'EndpointID', value: 'proto::guest-friend' }] }] } });
    assert.equal(guestAdd.addResp!.createdObjResults![0]!.operStatus!.operFailure?.errCode, 7006);
    const guestDelete = await guest.request({ delete: { allowPartial: true, objPaths: ['Device.LocalAgent.Controller.1.'] } });
    assert.equal(guestDelete.deleteResp!.deletedObjResults![0]!.operStatus!.operSuccess!.unaffectedPathErrs![0]!.errCode, 7006);
    const guestRow = (await isp.request({ getInstances: { objPaths: ['Device.LocalAgent.Controller.[EndpointID=="proto::guest"].'], firstLevelOnly: true } })).getInstancesResp!.reqPathResults![0]!.currInsts![0]!.instantiatedObjPath!;
    const guestRole = await guest.request({ set: { allowPartial: true, updateObjs: [{ objPath: guestRow, paramSettings: [{ param: 'AssignedRole', value: 'Device.LocalAgent.ControllerTrust.Role.1', required: true }] }] } });
    assert.equal(guestRole.setResp!.updatedObjResults![0]!.operStatus!.operFailure?.errCode, 7006);
    assert.equal((await operate(guest, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('energy-monitor@1.0.0') })).cmdFailure?.errCode, 7006);
    assert.equal((await smm.params('Device.MQTT.Client.1.'))['BrokerAddress'], '127.0.0.1');

    // A role change applies to the next message: the ISP lets the guest read the MQTT client, then takes it back.
    const ispView = await isp.request({ add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.ControllerTrust.Role.', paramSettings: [{ param: 'Name', value: 'mqtt readers' }, { param: 'Enable', value: 'true' }] }] } });
    const readers = ispView.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
    await isp.request({ add: { allowPartial: false, createObjs: [{ objPath: `${readers}Permission.`, paramSettings: Object.entries({ Enable: 'true', Order: '1', Targets: 'Device.MQTT.', Param: 'r---', Obj: 'r---', InstantiatedObj: 'r---' }).map(([param, value]) => ({ param, value })) }] } });
    assert.deepEqual(resolvedPaths(await guest.get(['Device.MQTT.Client.1.BrokerAddress'])), []);
    await isp.request({ set: { allowPartial: false, updateObjs: [{ objPath: guestRow, paramSettings: [{ param: 'AssignedRole', value: readers.slice(0, -1), required: true }] }] } });
    assert.deepEqual(resolvedPaths(await guest.get(['Device.MQTT.Client.1.BrokerAddress'])), ['Device.MQTT.Client.1.']);
    assert.equal((await guest.get(['Device.MQTT.Client.1.Password'])).reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['Password'], '', 'secured values stay hidden');
    await isp.request({ set: { allowPartial: false, updateObjs: [{ objPath: `${readers}Permission.1.`, paramSettings: [{ param: 'Param', value: '----', required: true }] }] } });
    assert.deepEqual(resolvedPaths(await guest.get(['Device.MQTT.Client.1.BrokerAddress'])), [], 'Param ---- takes the value away at once');
    const objectOnly = (await guest.get(['Device.MQTT.Client.1.'])).reqPathResults![0]!.resolvedPathResults!;
    assert.deepEqual(objectOnly.map((r) => [r.resolvedPath, Object.keys(r.resultParams ?? {})]).slice(0, 1), [['Device.MQTT.Client.1.', []]], 'Obj r still resolves the object, with no parameters');

    // Strangers and spoofers: a Record claiming to be the security provider but asking for the answer on another
    // topic is answered on the provider's own topic; an unknown Endpoint gets nothing at all.
    const spy = await as(SEC, 'usp/evil/listener', SEC_AGENT_TOPIC);
    await assert.rejects(spy.request({ get: { paramPaths: ['Device.SoftwareModules.'] } }, { timeoutMs: 2000 }), /no answer/);
    // Bound to its own agent topic: a Record in its name on the shared topic is dropped, and so is another
    // Controller's Record on its topic (the household listens on its own reply topic: nothing comes back).
    const onShared = await as(SEC, 'usp/controller/security');
    await assert.rejects(onShared.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 2000 }), /no answer/);
    const intruder = await as(HOME, 'usp/controller/household', SEC_AGENT_TOPIC);
    await assert.rejects(intruder.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 2000 }), /no answer/);
    const mqttTopics = (await isp.get(['Device.MQTT.Client.1.Subscription.*.Topic'])).reqPathResults![0]!.resolvedPathResults!.map((r) => r.resultParams!['Topic']);
    assert.ok(mqttTopics.includes(SEC_AGENT_TOPIC), 'the agent subscribes to the bound topic');
    const stranger = await as('proto::nobody', 'usp/controller/nobody');
    await assert.rejects(stranger.request({ get: { paramPaths: ['Device.'] } }, { timeoutMs: 2000 }), /no answer/);
    assert.equal((await smm.params('Device.LocalAgent.'))['EndpointID'], AGENT_ID, 'the agent keeps serving');
  } finally {
    for (const c of extra) await c.close().catch(() => undefined);
    await smm.close();
  }
});
