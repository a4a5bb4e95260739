#!/usr/bin/env node
/**
 * Writes an ESM entry (`index.mjs`) beside each CommonJS entry in dist/. The wrapper re-exports
 * the CommonJS module's named exports, so `import` and `require` share one copy of the library
 * (no dual-package hazard: `instanceof ConfigError` holds whichever way it was loaded).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const entries = ['dist/index.js', 'dist/testing/index.js'];
for (const entry of entries) {
  const abs = path.resolve(__dirname, '..', entry);
  const names = Object.keys(require(abs)).filter((n) => n !== 'default' && n !== '__esModule');
  const base = path.basename(entry);
  const lines = [
    `import cjs from './${base}';`,
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ];
  fs.writeFileSync(abs.replace(/\.js$/, '.mjs'), lines.join('\n'));
  console.log(`${entry.replace(/\.js$/, '.mjs')}: ${names.length} exports`);
}
