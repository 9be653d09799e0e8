#!/usr/bin/env node
// The installed entry of the command. npm links a package's bin at install time, and only to a
// file that exists then: dist/ is built afterwards (`npm start`, `npm run build`), so the link
// points here, a file that is always present, and this loads the build.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tessera: the command is not built yet: run `npm run build` in the repository\n');
  process.exit(1);
}
await import(entry.href);
