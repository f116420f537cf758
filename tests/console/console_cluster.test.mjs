// The console's drain button in a real browser (ctest console.cluster, labels
// `console` and `kafka`; run by tests/system/kafka/with_kafka.sh, which starts a
// broker and exports RIDESHARD_KAFKA_BOOTSTRAP). The button shows only with
// shard ownership, so two `rideshard serve` processes share six shard groups
// over the broker (mutual TLS between them, as kafka.cluster_drain runs them).
// An admin signs in on node 1, sees both nodes in the Cluster panel, drains
// node 1 after a confirmation (a dismissed one changes nothing), sees its
// groups move to node 2 and its state turn to draining, then rejoins it and
// sees the groups split again. Every wait is bounded; no request may leave
// 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD, SOURCE, createAdmin, httpAt, launchBrowser, signIn, startNode, stopNode } from './support.mjs';

const SECRET = 'console-cluster-test-secret-0123456789abcdef';
const BOOTSTRAP = process.env.RIDESHARD_KAFKA_BOOTSTRAP;
const GROUPS = 6;
const ADMIN = { email: 'ops@example.com', password: 'console-cluster-pass' };
const SHOTS = join(BUILD, 'console-screenshots');
const MOVE_MS = 60000; // bound on a handoff / rebalance (ownership session timeout 6 s)

let dir;
const nodes = []; // { proc, port, base, dir }
let page;
let closeBrowser;
const requests = [];

// A free loopback port (for the nodes' BASP listeners, which must be known to their peers).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// single-node.toml as node `id` with shard ownership over `groups` groups
// (the same [cluster] section tests/system/cluster_shards.hpp writes).
function writeConfig(id, basp, seeds) {
  const src = readFileSync(join(SOURCE, 'cluster-config/single-node.toml'), 'utf8');
  assert.ok(src.includes('id = 1') && src.includes('"regions/nyc.toml"'), 'single-node.toml changed shape');
  const certs = join(dir, 'certs');
  const name = `node-${id}`;
  const text = src.replace('id = 1', `id = ${id}`)
    .replace('"regions/nyc.toml"', JSON.stringify(join(SOURCE, 'cluster-config/regions/nyc.toml'))) +
    `\n[cluster]\nlisten = "127.0.0.1:${basp}"\nseeds = [${seeds.map((s) => `"127.0.0.1:${s}"`).join(', ')}]\n` +
    'heartbeat_interval_ms = 200\nconnection_timeout_ms = 1200\nretry_max_ms = 1000\n' +
    `tls_cert = "${join(certs, `${name}.pem`)}"\ntls_key = "${join(certs, `${name}.key`)}"\n` +
    `tls_ca = "${join(certs, 'ca.pem')}"\nshard_groups = ${GROUPS}\nownership_session_timeout_ms = 6000\n` +
    'drain_timeout_ms = 12000\n';
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, text);
  return path;
}

// The shard groups a node serves, from /health (null when it did not answer).
async function served(node) {
  try {
    const h = await httpAt(node.base, 'GET', '/health');
    return h.json?.checks?.cluster?.served_groups ?? [];
  } catch {
    return null;
  }
}

// Polls `cond` (a node's observable state over HTTP) until it holds; false after `ms`.
async function until(cond, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 250)); // poll interval, not a synchronisation
  }
  return false;
}

// Both nodes serve some groups, none twice, all of them between them.
async function split() {
  const [a, b] = await Promise.all(nodes.map(served));
  if (!a?.length || !b?.length) return false;
  return new Set([...a, ...b]).size === GROUPS && a.length + b.length === GROUPS;
}

// "0-5" for [0..5]: the console's group list (main.js groupList) of a contiguous run.
const run = (gs) => (gs.length > 1 ? `${Math.min(...gs)}-${Math.max(...gs)}` : `${gs[0]}`);

before(async () => {
  assert.ok(BOOTSTRAP, 'RIDESHARD_KAFKA_BOOTSTRAP is not set (run under tests/system/kafka/with_kafka.sh)');
  dir = mkdtempSync(join(tmpdir(), 'rideshard-console-cluster-'));
  const certs = spawnSync(join(SOURCE, 'cluster-config/three-node/make-certs.sh'), [join(dir, 'certs'), 'node-1', 'node-2'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(certs.status, 0, certs.stderr);
  const basp = [await freePort(), await freePort()];
  const configs = [writeConfig(1, basp[0], [basp[1]]), writeConfig(2, basp[1], [basp[0]])];
  for (let i = 0; i < 2; i++)
    nodes.push(await startNode({ dir: join(dir, `data-${i + 1}`), secret: SECRET, config: configs[i], args: ['--kafka-bootstrap', BOOTSTRAP] }));
  assert.ok(await until(split, MOVE_MS), 'the two nodes never split the shard groups');
  createAdmin(nodes[0].base, SECRET, ADMIN);
  ({ page, close: closeBrowser } = await launchBrowser(requests));
});

after(async () => {
  if (closeBrowser) await closeBrowser();
  const codes = [];
  for (const n of nodes) codes.push(await stopNode(n)); // one at a time: each hands off to the rest
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(codes, nodes.map(() => 0), 'a node did not exit cleanly on SIGTERM (its stderr is above)');
});

test('an admin drains this node from the Cluster panel after a confirmation, then rejoins it', async () => {
  await signIn(page, nodes[0].base, ADMIN);
  // Both nodes in the Cluster panel; this one can be drained.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#cluster-rows tr')];
    return rows.length === 2 && rows[1].textContent.includes('up');
  }, null, { timeout: 30000 });
  await page.waitForSelector('#cluster-drain', { state: 'visible', timeout: 10000 });
  assert.equal(await page.textContent('#cluster-drain'), 'Drain this node');
  assert.equal(await page.textContent('#cluster-drain-state'), 'serving its shard groups');
  const mine = await served(nodes[0]);
  assert.ok(mine.length > 0 && mine.length < GROUPS, `node 1 serves ${mine}`);

  // A dismissed confirmation changes nothing.
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.dismiss(); });
  await page.click('#cluster-drain');
  assert.match(asked, /^Drain this node\?/);
  assert.equal((await httpAt(nodes[0].base, 'GET', '/health')).json.status, 'healthy');

  page.once('dialog', (d) => d.accept());
  await page.click('#cluster-drain');
  // Drained: node 2 owns every group, node 1 none, and the panel says so.
  assert.ok(await until(async () => (await served(nodes[0]))?.length === 0 && (await served(nodes[1]))?.length === GROUPS, MOVE_MS),
    `groups did not move: node 1 ${await served(nodes[0])}, node 2 ${await served(nodes[1])}`);
  const all = await served(nodes[1]);
  await page.waitForFunction(() => document.getElementById('cluster-drain-state').textContent.startsWith('drained'), null, { timeout: MOVE_MS });
  assert.equal(await page.textContent('#cluster-drain'), 'Rejoin this node');
  await page.waitForFunction((groups) => {
    const rows = [...document.querySelectorAll('#cluster-rows tr')];
    return rows[0].textContent.includes('draining') && rows[1].textContent.includes(`groups ${groups}`);
  }, run(all), { timeout: MOVE_MS });
  assert.equal((await httpAt(nodes[0].base, 'GET', '/health')).json.status, 'draining');
  await (await page.$('#cluster-panel')).screenshot({ path: join(SHOTS, 'cluster-drained.png') });

  // Rejoin: the groups split over both nodes again.
  asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.click('#cluster-drain');
  assert.match(asked, /^Rejoin this node\?/);
  await page.waitForFunction(() => document.getElementById('cluster-drain-state').textContent === 'serving its shard groups', null, { timeout: MOVE_MS });
  assert.ok(await until(split, MOVE_MS), 'the groups did not split again after the rejoin');
  await page.waitForFunction(() => /groups \d/.test(document.querySelector('#cluster-rows tr').textContent), null, { timeout: MOVE_MS });
  assert.equal(await page.textContent('#cluster-drain'), 'Drain this node');

  // Both actions are in the audit log, from the console's session.
  const cookie = (await page.context().cookies(nodes[0].base)).find((c) => c.name === 'rideshard_admin');
  const audit = await httpAt(nodes[0].base, 'GET', '/api/admin/audit?limit=10', { headers: { Cookie: `rideshard_admin=${cookie.value}` } });
  assert.equal(audit.status, 200);
  const actions = audit.json.entries.map((e) => e.action);
  assert.ok(actions.includes('POST /api/admin/cluster/drain'), actions.join(', '));
  assert.ok(actions.includes('POST /api/admin/cluster/rejoin'), actions.join(', '));
});

test('no request left 127.0.0.1', () => {
  assert.ok(requests.length > 3, `requests seen: ${requests.length}`);
  assert.deepEqual(requests.filter((u) => new URL(u).hostname !== '127.0.0.1'), []);
});
