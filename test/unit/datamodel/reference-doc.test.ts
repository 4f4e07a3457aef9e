// docs/data-model.md is the data model the agent runs on: it is current, and names every object, parameter,
// command, event and argument declared in datamodel/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { berthModel, DATA_MODEL_URI } from '../../../datamodel/index.ts';
import { headingAnchor, renderDataModelReference, typeNotation } from '../../../src/datamodel/reference-doc.ts';
import { defineModel } from '../../../src/datamodel/schema.ts';

const committed = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'data-model.md');

test('docs/data-model.md is what the declarations give (npm run gen:docs rewrites it)', () => {
  assert.equal(readFileSync(committed, 'utf8'), renderDataModelReference(berthModel, DATA_MODEL_URI), 'docs/data-model.md is stale: run npm run gen:docs and commit it');
});

test('the reference names every declared object, parameter, command, event and argument', () => {
  const doc = renderDataModelReference(berthModel, DATA_MODEL_URI);
  for (const [path, decl] of Object.entries(berthModel)) {
    assert.ok(doc.includes(`### \`${path}\``), path);
    const section = doc.slice(doc.indexOf(`### \`${path}\``)).split('\n### ')[0]!;
    for (const name of Object.keys(decl.params ?? {})) assert.ok(section.includes(`| \`${name}\` |`), `${path}${name}`);
    for (const [name, command] of Object.entries(decl.commands ?? {})) {
      assert.ok(section.includes(`**\`${path}${name}\`** — ${command.async ? 'asynchronous' : 'synchronous'}`), `${path}${name}`);
      for (const arg of [...Object.keys(command.input ?? {}), ...Object.keys(command.output ?? {})]) assert.ok(section.includes(`| \`${arg}\` |`), `${path}${name} ${arg}`);
    }
    for (const [name, event] of Object.entries(decl.events ?? {})) {
      assert.ok(section.includes(`**\`${path}${name}\`** — event`), `${path}${name}`);
      for (const arg of Object.keys(event.args ?? {})) assert.ok(section.includes(`| \`${arg}\` |`), `${path}${name} ${arg}`);
    }
    if (decl.maxRows !== undefined) assert.ok(section.includes(`at most ${decl.maxRows} rows`), `${path} bound`);
  }
});

test('types in TR-106 notation; access, defaults, bounds and notes as declared', () => {
  assert.equal(typeNotation({ type: 'string', maxLength: 64 }), 'string(:64)');
  assert.equal(typeNotation({ type: 'string', minLength: 4, maxLength: 4 }), 'string(4:4)');
  assert.equal(typeNotation({ type: 'unsignedInt', range: { min: 1, max: 65535 } }), 'unsignedInt[1:65535]');
  assert.equal(typeNotation({ type: 'int', range: { min: -1 } }), 'int[-1:]');
  assert.equal(typeNotation({ type: 'string', list: true, maxLength: 256 }), 'list<string(:256)>');
  const doc = renderDataModelReference(
    defineModel({
      'Device.': {},
      'Device.Thing.{i}.': {
        access: 'readWrite',
        maxRows: 3,
        uniqueKeys: [['Alias']],
        note: 'A note on the table.',
        params: {
          Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
          Secret: { type: 'string', access: 'readWrite', secured: true, default: '', note: 'A note on the parameter.' },
        },
        commands: { 'Go()': { async: false, input: { Far: { type: 'boolean', mandatory: true } } } },
      },
    }),
    'urn:x',
  );
  assert.match(doc, /^Table \(multi-instance\); Controllers may Add and Delete rows; at most 3 rows \(an Add beyond: 7005\); unique keys `Alias`; rows kept across restarts\.$/m);
  assert.match(doc, /^A note on the table\.$/m);
  assert.match(doc, /^\| `Alias` \| string\(:64\) \| write-once \(in the Add that creates the row\) \| {2}\| {2}\|$/m);
  assert.match(doc, /^\| `Secret` \| string \| read-write \| `""` \| secured: reads as "" unless .*; A note on the parameter\. \|$/m);
  assert.match(doc, /^\*\*`Device\.Thing\.\{i\}\.Go\(\)`\*\* — synchronous\.$/m);
  assert.match(doc, /^\| input \| `Far` \| boolean \| {2}\| mandatory \|$/m);
  assert.match(doc, /- \[`Device\.Thing\.\{i\}\.`\]\(#devicethingi\)/);
});

test('anchors are GitHub\'s, and two objects that would share one are refused', () => {
  assert.equal(headingAnchor('`Device.X_BERTH-ORG_Audit.Entry.{i}.`'), 'devicex_berth-org_auditentryi');
  assert.throws(() => renderDataModelReference(defineModel({ 'Device.': {}, 'Device.AB.': {}, 'Device.A.': {}, 'Device.A.B.': {} }), 'urn:x'), /same anchor/);
});
