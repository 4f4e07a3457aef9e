// `npm run gen:docs`: writes docs/data-model.md, the data-model reference, from the declarations in datamodel/
// (src/datamodel/reference-doc.ts renders it). The output is committed; `npm run check:docs` (CI) checks it is current.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { root } from './ensure-deps.mjs';

register();
const { berthModel, DATA_MODEL_URI } = await import(pathToFileURL(join(root, 'datamodel', 'index.ts')).href);
const { renderDataModelReference } = await import(pathToFileURL(join(root, 'src', 'datamodel', 'reference-doc.ts')).href);
const out = join(root, 'docs', 'data-model.md');
writeFileSync(out, renderDataModelReference(berthModel, DATA_MODEL_URI));
console.log(`wrote ${out}`);
