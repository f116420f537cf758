// What the console's browser tests share (console.test.mjs, console_cluster.test.mjs):
// starting `rideshard serve`, reading a process's output, and Debian's chromium
// driven by playwright-core with every request recorded and any that is not for
// 127.0.0.1 aborted.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const SOURCE = process.env.RIDESHARD_SOURCE_DIR;
export const BUILD = process.env.RIDESHARD_BUILD_DIR;
export const BIN = join(BUILD, 'rideshard');
export const VAULT_KEY = '5ec0de'.repeat(10) + 'c0fe'; // 64 hex digits: the node's card vault key
const require = createRequire(join(SOURCE, 'console', 'package.json'));
const { chromium } = require('playwright-core');

// Starts `rideshard serve` on a free loopback port with `config` and data dir
// `dir` (plus `args`), and resolves once it prints its port (bounded by `ms`).
export function startNode({ dir, secret, config = join(SOURCE, 'cluster-config/single-node.toml'), args = [], ms = 30000 }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['serve', '--config', config, '--listen', '127.0.0.1:0', '--data-dir', dir, ...args], {
      env: { ...process.env, RIDESHARD_JWT_SECRET: secret, RIDESHARD_VAULT_KEY: VAULT_KEY, RIDESHARD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => reject(new Error('node did not report its port')), ms);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = line.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ proc, port, base: `http://127.0.0.1:${port}`, dir });
      }
    });
    proc.on('exit', (code) => reject(new Error(`node exited early (${code})`)));
  });
}

// Resolves with the first line of `stream` matching `re` (bounded by `ms`).
export function waitForLine(stream, re, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms`)), ms);
    createInterface({ input: stream }).on('line', (line) => {
      if (process.env.CONSOLE_TEST_VERBOSE) console.log(line);
      const m = line.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

// Resolves with the exit code (or the signal's name) once `proc` has exited.
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve(proc.exitCode ?? proc.signalCode);
  }
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
}

// SIGTERM, then the exit code (a node exits 0 on SIGTERM).
export async function stopNode(node) {
  const stopped = exited(node.proc);
  node.proc.kill('SIGTERM');
  return stopped;
}

// `rideshard admin create-user` against the node at `base`; throws on failure.
export function createAdmin(base, secret, admin) {
  const made = spawnSync(BIN, ['admin', 'create-user', '--url', base, '--email', admin.email, '--name', 'Ops'], {
    env: { ...process.env, RIDESHARD_JWT_SECRET: secret, RIDESHARD_ADMIN_PASSWORD: admin.password },
    encoding: 'utf8', timeout: 20000,
  });
  if (made.status !== 0) throw new Error(`admin create-user: ${made.stdout}${made.stderr}`);
}

// A fetch against `base`: { status, json (null when not JSON), text }.
export async function httpAt(base, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON (the page) */ }
  return { status: res.status, json, text };
}

// Headless chromium with a fresh profile; every URL it asks for goes into
// `requests`, and one not for 127.0.0.1 is aborted. close() removes the profile.
export async function launchBrowser(requests) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'rideshard-console-chromium-'));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || (await browser.newPage());
  page.on('websocket', (ws) => requests.push(ws.url()));
  await browser.route('**/*', (route) => {
    const url = new URL(route.request().url());
    requests.push(url.href);
    return url.hostname === '127.0.0.1' ? route.continue() : route.abort();
  });
  const close = async () => {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { browser, page, close };
}

// Signs in on the console at `base` and waits for the console view.
export async function signIn(page, base, admin) {
  await page.goto(`${base}/admin`);
  await page.waitForSelector('#sign-in', { state: 'visible' });
  await page.fill('#email', admin.email);
  await page.fill('#password', admin.password);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#console-view', { state: 'visible', timeout: 10000 });
}
