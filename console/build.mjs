// Bundles the console into OUT_DIR (argv[2], default ../build/console):
// console.js, console.css and index.html. Run by CMake's `console` target.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', 'build', 'console'));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { console: join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  sourcemap: true,
  target: 'es2020',
  format: 'iife',
  outdir: out,
  logLevel: 'warning',
});
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
