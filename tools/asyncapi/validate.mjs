// Parse and validate an AsyncAPI document with @asyncapi/parser, the reference parser behind the AsyncAPI CLI.
// Usage: node validate.mjs <document>. Exit 0 when it is valid (warnings are printed), 1 with its errors.
import { Parser, fromFile } from '@asyncapi/parser';

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs <asyncapi document>');
  process.exit(2);
}
// fromFile resolves the document's relative $refs (the JSON Schemas beside it) against its own folder.
const { document, diagnostics } = await fromFile(new Parser(), path).parse();
const names = ['error', 'warning', 'info', 'hint'];
for (const d of diagnostics) {
  console.log(`${names[d.severity] ?? d.severity} ${d.code} at /${d.path.join('/')}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (document === undefined || errors.length > 0) {
  console.error(`${path}: invalid (${errors.length} errors)`);
  process.exit(1);
}
const channels = document.channels().all().map((c) => c.address());
console.log(`${path}: valid AsyncAPI ${document.version()}, ${channels.length} channels, `
  + `${document.operations().all().length} operations, ${document.messages().all().length} messages`);
