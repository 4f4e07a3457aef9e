// The data-model reference, docs/data-model.md, rendered from the declarations in /datamodel: every object,
// parameter, command and event berth supports, with its type, access and constraints, and what berth does beyond
// TR-181's words where a declaration says so (its `note`, its row bound, what is kept across restarts). It only
// states what the declarations hold. Pure: scripts/gen-datamodel-docs.mjs writes the file and CI checks that the
// committed one is current, as for the protobuf code.
import { buildSchemaTree } from './schema-tree.ts';
import type { SchemaObject } from './schema-tree.ts';
import type { ArgDecl, ModelDecl, ParamDecl } from './schema.ts';

/** A heading's anchor as GitHub makes it: lower case, only letters, digits, `-` and `_`, spaces as `-`. */
export function headingAnchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** A table cell: `|` and line breaks would end the cell or the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

const code = (text: string): string => `\`${text}\``;

/** TR-106 notation: `string(:64)`, `string(4:4)`, `unsignedInt[1:65535]`, `list<string(:256)>`. */
export function typeNotation(decl: ParamDecl | ArgDecl): string {
  let base: string = decl.type;
  const min = 'minLength' in decl ? decl.minLength : undefined;
  if (min !== undefined || decl.maxLength !== undefined) base += `(${min ?? ''}:${decl.maxLength ?? ''})`;
  if (decl.range !== undefined) base += `[${decl.range.min ?? ''}:${decl.range.max ?? ''}]`;
  return decl.list ? `list<${base}>` : base;
}

function paramAccess(decl: ParamDecl, object: SchemaObject): string {
  switch (decl.access ?? 'readOnly') {
    case 'readOnly':
      return 'read-only';
    case 'readWrite':
      return 'read-write';
    case 'writeOnceReadOnly':
      // Set refuses it (7013); only an Add may give it, and Controllers add rows to writable tables only.
      return object.isWritableTable ? 'write-once (in the Add that creates the row)' : 'read-only (write-once in TR-181; berth makes these rows)';
  }
}

/** A default value; the empty string is shown as "". */
const defaultValue = (value: string | undefined): string => (value === undefined ? '' : value === '' ? '`""`' : code(value));

function paramNotes(name: string, decl: ParamDecl, object: SchemaObject): string {
  const notes: string[] = [];
  if (decl.enum !== undefined) notes.push(`one of ${decl.enum.map(code).join(', ')}${decl.list ? ' (each item)' : ''}`);
  if (decl.reference !== undefined) notes.push(`${decl.reference} reference`);
  if (decl.secured) notes.push('secured: reads as "" unless the Controller holds a role of `ControllerTrust.SecuredRoles`; never logged');
  if (decl.volatile) notes.push('changes constantly: no ValueChange notification');
  if (object.decl.enableParameter === name) notes.push('enables the row');
  if (object.decl.immutableKeys?.includes(name)) notes.push('a non-functional unique key: cannot change once the row exists (7013)');
  if (decl.note !== undefined) notes.push(decl.note);
  return notes.join('; ');
}

function argRows(args: Readonly<Record<string, ArgDecl>> | undefined, kind: string): string[] {
  return Object.entries(args ?? {}).map(([name, arg]) => {
    const notes = [
      ...(arg.mandatory ? ['mandatory'] : []),
      ...(arg.enum !== undefined ? [`one of ${arg.enum.map(code).join(', ')}`] : []),
      ...(arg.note !== undefined ? [arg.note] : []),
    ];
    return `| ${kind} | ${code(name)} | ${cell(typeNotation(arg))} | ${defaultValue(arg.default)} | ${cell(notes.join('; '))} |`;
  });
}

function objectSummary(object: SchemaObject): string {
  const decl = object.decl;
  const facts: string[] = [];
  if (object.isTable) {
    facts.push(object.isWritableTable ? 'Table (multi-instance); Controllers may Add and Delete rows' : 'Table (multi-instance); rows are made by berth, Controllers cannot Add or Delete them');
    if (decl.maxRows !== undefined) facts.push(`at most ${decl.maxRows} rows${object.path.split('{i}').length > 2 ? ' per parent row' : ''} (an Add beyond: 7005)`);
    if (decl.uniqueKeys !== undefined) facts.push(`unique keys ${decl.uniqueKeys.map((keys) => keys.map(code).join(' + ')).join('; ')}`);
    // A row's own Persistent parameter (TR-181) decides for it (the binding's persistRow, as for subscriptions).
    if (object.isWritableTable && object.params.has('Persistent')) facts.push('rows with `Persistent=true` kept across restarts');
    else if (object.isWritableTable) facts.push(object.isPersistent ? 'rows kept across restarts' : 'rows not kept across restarts');
    else if (object.isPersistent) facts.push('what Controllers set on its rows is kept across restarts');
  } else {
    facts.push('Object (single instance)');
  }
  return `${facts.join('; ')}.`;
}

function renderObject(object: SchemaObject): string[] {
  const decl = object.decl;
  const lines = [`### ${code(object.path)}`, '', objectSummary(object)];
  if (decl.note !== undefined) lines.push('', decl.note);
  if (object.params.size > 0) {
    lines.push('', '| parameter | type | access | default | notes |', '|---|---|---|---|---|');
    for (const param of object.params.values()) {
      const notes = paramNotes(param.name, param.decl, object);
      lines.push(`| ${code(param.name)} | ${cell(typeNotation(param.decl))} | ${paramAccess(param.decl, object)} | ${defaultValue(param.decl.default)} | ${cell(notes)} |`);
    }
  }
  for (const command of object.commands.values()) {
    lines.push('', `**${code(object.path + command.name)}** — ${command.decl.async ? 'asynchronous (a `Device.LocalAgent.Request.` row, then OperationComplete)' : 'synchronous'}.`);
    if (command.decl.note !== undefined) lines.push(command.decl.note);
    const rows = [...argRows(command.decl.input, 'input'), ...argRows(command.decl.output, 'output')];
    if (rows.length > 0) lines.push('', '| | argument | type | default | notes |', '|---|---|---|---|---|', ...rows);
  }
  for (const event of object.events.values()) {
    lines.push('', `**${code(object.path + event.name)}** — event.`);
    if (event.decl.note !== undefined) lines.push(event.decl.note);
    const rows = argRows(event.decl.args, 'argument');
    if (rows.length > 0) lines.push('', '| | argument | type | default | notes |', '|---|---|---|---|---|', ...rows);
  }
  return lines;
}

/** How deep an object is below Device. ('Device.LocalAgent.MTP.{i}.MQTT.': 3). */
const depth = (path: string): number => path.split('.').filter((name) => name !== '' && name !== '{i}').length - 1;

/** docs/data-model.md for the model, objects in declaration order. */
export function renderDataModelReference(model: ModelDecl, dataModelUri: string): string {
  const { byPath } = buildSchemaTree(model);
  const objects = Object.keys(model).map((path) => byPath.get(path)!);
  const anchors = new Map<string, string>();
  for (const object of objects) {
    const anchor = headingAnchor(code(object.path));
    const clash = [...anchors].find(([, taken]) => taken === anchor);
    if (clash) throw new Error(`${object.path} and ${clash[0]} would have the same anchor #${anchor}`);
    anchors.set(object.path, anchor);
  }
  const counts = {
    params: objects.reduce((n, o) => n + o.params.size, 0),
    commands: objects.reduce((n, o) => n + o.commands.size, 0),
    events: objects.reduce((n, o) => n + o.events.size, 0),
  };
  const lines = [
    '# The data model berth supports',
    '',
    '<!-- Generated by `npm run gen:docs` from datamodel/ (src/datamodel/reference-doc.ts): do not edit by hand. -->',
    '<!-- `npm run check:docs` (CI) fails when this file is not what the declarations give. -->',
    '',
    `Every object, parameter, command and event of berth's USP data model (${code(dataModelUri)}, USP flavour):`,
    `${objects.length} objects, ${counts.params} parameters, ${counts.commands} commands and ${counts.events} events, generated from`,
    'the declarations in `datamodel/` that the agent itself runs on, so what is here is what a Controller meets.',
    "berth's own additions carry the vendor prefix `X_BERTH-ORG_`. What each part does is told in the",
    "[README](../README.md#what-the-agent-implements); the notes below say what berth does beyond TR-181's words.",
    '',
    '- **type** in TR-106 notation: `string(:64)` at most 64 characters, `string(4:4)` exactly 4,',
    '  `unsignedInt[1:65535]` a range, `list<…>` a comma-separated list whose items are so constrained.',
    '- **access**: read-only, read-write (Set, and Add), or write-once: given in the Add that creates the row,',
    '  read-only afterwards. A Controller also needs its roles to grant it (README: Access control and tenants).',
    '- **default**: the value a parameter has until something sets another (an Add, a Set, the config).',
    '- A table\'s row bound is berth\'s (README: Limits); an Add beyond it fails with 7005.',
    '',
    '## Contents',
    '',
    ...objects.map((object) => `${'  '.repeat(depth(object.path))}- [${code(object.path)}](#${anchors.get(object.path)!})`),
    '',
    '## Objects',
  ];
  for (const object of objects) lines.push('', ...renderObject(object));
  return `${lines.join('\n')}\n`;
}
