// The admin console in a real browser (ctest label `console`): Debian's
// chromium, headless, driven by playwright-core (console/package-lock.json)
// against the built node (`rideshard serve`, free loopback port, fresh data dir)
// and the fleet simulator. Every request the page makes must stay on 127.0.0.1.
// Prints (does not assert) first paint, map frame time p95 and the node's CPU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { BIN, BUILD, SOURCE, createAdmin, httpAt, launchBrowser, startNode, stopNode, waitForLine } from './support.mjs';

const SECRET = 'console-browser-test-secret-0123456789abcdef';
const DRIVERS = Number(process.env.CONSOLE_TEST_DRIVERS || 300);
const SHOTS = join(BUILD, 'console-screenshots');

const ADMIN = { email: 'ops@example.com', password: 'console-test-pass' };
let node; // { proc, port, base, dir }
let sim = null;
let browser;
let closeBrowser; // closes it and removes its profile
let page;
const requests = []; // every URL the browser asked for (WebSockets included)
const feedFrames = []; // {at, drivers} of each frame the page got on /v1/console
const feedWaiters = new Set(); // checks run on every feed frame

// Resolves with the feed frames received since `since` once there are `n` (bounded by `ms`).
function feedFramesSince(since, n, ms) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const got = feedFrames.filter((f) => f.at >= since);
      if (got.length < n) return;
      done();
      resolve(got);
    };
    const timer = setTimeout(() => { done(); reject(new Error(`fewer than ${n} feed frames in ${ms} ms`)); }, ms);
    const done = () => { clearTimeout(timer); feedWaiters.delete(check); };
    feedWaiters.add(check);
    check();
  });
}

const http = (method, path, options) => httpAt(node.base, method, path, options);

// The node process's CPU seconds so far (utime + stime from /proc).
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
}

// The status a WebSocket upgrade of `path` gets (101 when accepted).
function upgradeStatus(path, headers) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${node.base}${path}`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
      timeout: 10000,
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error(`upgrade of ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function register(role, email) {
  const r = await http('POST', '/api/users', { body: { role, name: role, email, password: `${role}-password-1` } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'rideshard-console-test-'));
  node = await startNode({ dir, secret: SECRET });
  createAdmin(node.base, SECRET, ADMIN);
  // Every request is recorded; anything not for 127.0.0.1 is aborted (and fails the last test).
  ({ browser, page, close: closeBrowser } = await launchBrowser(requests));
  // The live panels arrive over the console's WebSocket: record its frames.
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname !== '/v1/console') return;
    ws.on('framereceived', (f) => {
      const tick = JSON.parse(f.payload);
      feedFrames.push({ at: Date.now(), drivers: tick.fleet.drivers.length / 3 });
      for (const check of [...feedWaiters]) check();
    });
  });
});

after(async () => {
  if (closeBrowser) await closeBrowser();
  if (sim) sim.kill('SIGTERM');
  if (node) {
    const code = await stopNode(node);
    rmSync(node.dir, { recursive: true, force: true });
    // The node stops cleanly on SIGTERM; in a sanitizer build (RIDESHARD_SANITIZE,
    // RIDESHARD_TSAN) a report, a leak at exit included, makes this non-zero.
    assert.equal(code, 0, 'the node did not exit cleanly on SIGTERM (its stderr is above)');
  }
});

test('a wrong password is refused and no session cookie is set', async () => {
  const t0 = Date.now();
  await page.goto(`${node.base}/admin`);
  await page.waitForSelector('#sign-in', { state: 'visible' });
  const paint = await page.evaluate(() => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return fcp ? fcp.startTime : null;
  });
  console.log(`measure: first contentful paint ${paint == null ? 'n/a' : paint.toFixed(0) + ' ms'} (page load to sign-in form ${Date.now() - t0} ms)`);
  await page.fill('#email', ADMIN.email);
  await page.fill('#password', 'not-the-password');
  await page.click('#sign-in button[type=submit]');
  await page.waitForFunction(() => document.getElementById('sign-in-error').textContent.length > 0, null, { timeout: 10000 });
  assert.equal(await page.textContent('#sign-in-error'), 'Wrong email or password.');
  assert.equal(await page.isVisible('#console-view'), false);
  const cookies = await browser.cookies(node.base);
  assert.equal(cookies.find((c) => c.name === 'rideshard_admin'), undefined);
  await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
});

test('trip lookup shows the trip timeline from the journal', async () => {
  // Before any driver connects: the ride stays requested until the rider cancels.
  const rider = await register('rider', 'lookup-rider@example.com');
  const ride = await http('POST', '/api/trips', { token: rider.token, body: { pickup: { lat: 40.754, lng: -73.984 }, dropoff: { lat: 40.764, lng: -73.974 } } });
  assert.equal(ride.status, 201, ride.text);
  const cancel = await http('PUT', `/api/trips/${ride.json.id}/status`, { token: rider.token, body: { status: 'cancelled', reason: 'changed my mind' } });
  assert.equal(cancel.status, 200, cancel.text);

  await page.fill('#email', ADMIN.email);
  await page.fill('#password', ADMIN.password);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#console-view', { state: 'visible', timeout: 10000 });
  const cookie = (await browser.cookies(node.base)).find((c) => c.name === 'rideshard_admin');
  assert.ok(cookie, 'session cookie set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('rideshard_admin')), false);
  assert.equal(await page.evaluate(() => window.localStorage.length), 0);

  await page.fill('#trip-id', ride.json.id);
  await page.click('#trip-form button');
  await page.waitForSelector('#trip-timeline li', { timeout: 10000 });
  const steps = await page.$$eval('#trip-timeline li', (lis) => lis.map((li) => li.dataset.state));
  assert.deepEqual(steps, ['requested', 'cancelled']);
  const text = await page.textContent('#trip-timeline');
  assert.match(text, new RegExp(`requested by ${rider.id}`));
  assert.match(text, new RegExp(`cancelled by ${rider.id} — changed my mind`));
  assert.match(await page.textContent('#trip-result p'), new RegExp(`rider ${rider.id}`));
  await (await page.$('#trip-panel')).screenshot({ path: join(SHOTS, 'trip-lookup.png') });
});

test('driver lookup blocks a driver after a confirmation, with the CSRF token', async () => {
  const driver = await register('driver', 'blockable-driver@example.com');
  await page.fill('#driver-id', driver.id);
  await page.click('#driver-form button');
  await page.waitForSelector('#driver-block', { timeout: 10000 });
  assert.equal(await page.textContent('#driver-block'), 'Block');
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.click('#driver-block');
  await page.waitForFunction(() => document.getElementById('driver-block')?.textContent === 'Unblock', null, { timeout: 10000 });
  assert.equal(asked, `Block driver ${driver.id}?`);
  // The audit panel shows the action: who, what, target, from where.
  await page.waitForFunction((id) => [...document.querySelectorAll('#audit-rows tr')]
    .some((tr) => tr.textContent.includes('PUT /api/drivers/{id}/status') && tr.textContent.includes(id)), driver.id, { timeout: 10000 });
  const row = await page.$$eval('#audit-rows tr', (trs, id) => trs.find((tr) => tr.textContent.includes(id)).textContent, driver.id);
  assert.match(row, /a-\d+/);
  assert.match(row, /127\.0\.0\.1/);
  const audit = await http('GET', '/api/admin/audit?limit=5', { headers: { Cookie: `rideshard_admin=${(await browser.cookies(node.base)).find((c) => c.name === 'rideshard_admin').value}` } });
  assert.equal(audit.status, 200);
  assert.equal(audit.json.entries[0].target, driver.id);
  // The block is real: the driver's token is refused now (suspension revokes it).
  assert.equal((await http('GET', `/api/drivers/${driver.id}`, { token: driver.token })).status, 401);
  // Without the page's CSRF token the same cookie cannot change anything.
  const cookie = (await browser.cookies(node.base)).find((c) => c.name === 'rideshard_admin');
  const forged = await http('PUT', `/api/drivers/${driver.id}/status`, { headers: { Cookie: `rideshard_admin=${cookie.value}` }, body: { suspended: false } });
  assert.equal(forged.status, 403);
});

test('pausing dispatch makes the next ride request fail with dispatch_paused and is audited', async () => {
  const session = () => browser.cookies(node.base).then((cs) => `rideshard_admin=${cs.find((c) => c.name === 'rideshard_admin').value}`);
  const ride = (rider) => http('POST', '/api/trips', { token: rider.token, body: { pickup: { lat: 40.754, lng: -73.984 }, dropoff: { lat: 40.764, lng: -73.974 } } });
  await page.waitForSelector('#region-nyc-dispatch', { timeout: 10000 });
  assert.equal(await page.textContent('#region-nyc-dispatch'), 'Pause dispatch');
  // A confirmation step: dismissed, nothing changes.
  page.once('dialog', (d) => d.dismiss());
  await page.click('#region-nyc-dispatch');
  assert.equal((await http('GET', '/api/admin/overview', { headers: { Cookie: await session() } })).json.regions[0].dispatch_paused, false);
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.click('#region-nyc-dispatch');
  await page.waitForFunction(() => document.getElementById('region-nyc-dispatch')?.textContent === 'Resume dispatch', null, { timeout: 10000 });
  assert.match(asked, /^Pause new dispatch in nyc\?/);
  assert.match(await page.textContent('#region-rows tr[data-region="nyc"]'), /PAUSED/);

  const rider = await register('rider', 'paused-rider@example.com');
  const refused = await ride(rider);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'dispatch_paused');
  // The audit log has the action, from the console's session (API and panel).
  const audit = await http('GET', '/api/admin/audit?limit=5', { headers: { Cookie: await session() } });
  assert.equal(audit.status, 200);
  assert.equal(audit.json.entries[0].action, 'POST /api/admin/regions/{id}/pause-dispatch');
  assert.equal(audit.json.entries[0].target, 'nyc');
  assert.equal(audit.json.entries[0].status, 200);
  assert.match(audit.json.entries[0].actor, /^a-\d+$/);
  await page.waitForFunction(() => [...document.querySelectorAll('#audit-rows tr')]
    .some((tr) => tr.textContent.includes('POST /api/admin/regions/{id}/pause-dispatch')), null, { timeout: 10000 });
  // Without the page's CSRF token the cookie cannot flip a switch.
  const forged = await http('POST', '/api/admin/regions/nyc/resume-dispatch', { headers: { Cookie: await session() } });
  assert.equal(forged.status, 403);

  // Resumed from the console, rides are taken again (the simulator's riders below need it).
  page.once('dialog', (d) => d.accept());
  await page.click('#region-nyc-dispatch');
  await page.waitForFunction(() => document.getElementById('region-nyc-dispatch')?.textContent === 'Pause dispatch', null, { timeout: 10000 });
  const taken = await ride(rider);
  assert.equal(taken.status, 201, taken.text);
  assert.equal((await http('PUT', `/api/trips/${taken.json.id}/status`, { token: rider.token, body: { status: 'cancelled', reason: 'test over' } })).status, 200);
  await (await page.$('#regions-panel')).screenshot({ path: join(SHOTS, 'regions.png') });
});

test('the audit table stays in its card, pages through older entries and says where it reads from', async () => {
  const minted = spawnSync(BIN, ['token', '--role', 'admin', '--sub', 'audit-pager'], {
    env: { ...process.env, RIDESHARD_JWT_SECRET: SECRET }, encoding: 'utf8', timeout: 20000 });
  assert.equal(minted.status, 0, minted.stderr);
  const token = minted.stdout.trim();
  // Twenty refused actions (no such region): each one is an audit entry all the same.
  for (let i = 0; i < 20; i++)
    assert.equal((await http('POST', `/api/admin/regions/nowhere-${i}/freeze-surge`, { token })).status, 400);
  // The API pages by id: the second page starts right below the first.
  const first = await http('GET', '/api/admin/audit?limit=10', { token });
  assert.equal(first.status, 200);
  assert.deepEqual(first.json.entries.map((e) => e.target), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10].map((i) => `nowhere-${i}`));
  assert.equal(first.json.older, first.json.entries[9].id);
  assert.match(first.json.source, /RocksDB store/);
  assert.equal(first.json.topic, 'rideshard.admin-audit.v1');
  const second = await http('GET', `/api/admin/audit?limit=10&before=${first.json.older}`, { token });
  assert.deepEqual(second.json.entries.map((e) => e.target), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((i) => `nowhere-${i}`));
  assert.equal((await http('GET', '/api/admin/audit?before=x', { token })).status, 400);

  // The panel: its newest page (15 rows) once it refreshes, the source named, nothing wider than the card.
  await page.waitForFunction(() => document.querySelector('#audit-rows tr')?.textContent.includes('nowhere-19'), null, { timeout: 15000 });
  assert.equal(await page.$$eval('#audit-rows tr', (trs) => trs.length), 15);
  assert.match(await page.textContent('#audit-source'), /RocksDB store.*rideshard\.admin-audit\.v1/);
  const fits = await page.$eval('#audit-panel', (c) => c.scrollWidth <= c.clientWidth);
  assert.ok(fits, 'the audit table is wider than its card');
  // No card's content spills out of it: what is wider than a card scrolls inside it.
  const spill = await page.$$eval('main > .card', (cards) => cards
    .filter((c) => c.scrollWidth > c.clientWidth && !['auto', 'scroll'].includes(getComputedStyle(c).overflowX))
    .map((c) => c.id));
  assert.deepEqual(spill, []);
  assert.equal(await page.isDisabled('#audit-newer'), true);
  // Older: the next 15 (nowhere-4 .. 0 and what came before); Newer: back.
  await page.click('#audit-older');
  await page.waitForFunction(() => document.querySelector('#audit-rows tr')?.textContent.includes('nowhere-4'), null, { timeout: 10000 });
  assert.equal(await page.textContent('#audit-page'), 'page 2');
  assert.equal(await page.isDisabled('#audit-newer'), false);
  await (await page.$('#audit-panel')).screenshot({ path: join(SHOTS, 'audit-page-2.png') });
  await page.click('#audit-newer');
  await page.waitForFunction(() => document.querySelector('#audit-rows tr')?.textContent.includes('nowhere-19'), null, { timeout: 10000 });
  assert.equal(await page.textContent('#audit-page'), 'page 1');
});

test('the live map shows as many drivers as the simulator connected', async () => {
  sim = spawn(BIN, ['simulate', '--url', `ws://127.0.0.1:${node.port}`, '--config', join(SOURCE, 'cluster-config/single-node.toml'), '--drivers', String(DRIVERS),
    '--riders-per-minute', '120', '--duration-s', '120', '--drain-s', '5', '--connect-rate', '500',
    '--time-scale', '10', '--max-trip-m', '1500', '--area-m', '6000', '--seed', '7'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RIDESHARD_JWT_SECRET: SECRET } });
  // Progress lines (stderr, one per second): "[  3.0s] conn 300 drivers + ...".
  await waitForLine(sim.stderr, new RegExp(`conn ${DRIVERS} drivers`), 60000);
  await page.waitForFunction((n) => document.getElementById('map-count').dataset.drivers === String(n), DRIVERS, { timeout: 30000 });
  // The node's own gauge agrees: that many driver connections are open.
  const metrics = await http('GET', '/metrics');
  assert.match(metrics.text, new RegExp(`rideshard_connections\\{endpoint="driver"\\} ${DRIVERS}\\b`));
  // The map is fed by the WebSocket, about once per second, not by polling.
  const since = Date.now();
  await page.waitForFunction(() => document.getElementById('feed-status').textContent.startsWith('live'), null, { timeout: 10000 });
  const recent = await feedFramesSince(since, 3, 15000);
  assert.equal(recent[recent.length - 1].drivers, DRIVERS);
  assert.deepEqual(requests.filter((u) => /\/api\/admin\/(overview|fleet)\b/.test(u)), [], 'no polling');
  // The panels fill in from the same feed.
  await page.waitForFunction(() => document.querySelectorAll('#shard-rows tr').length > 0, null, { timeout: 10000 });
  assert.match(await page.textContent('#cluster-rows'), /healthy/);
  assert.match(await page.textContent('#outbox'), /depth/);
  // Events per topic per second, from the outbox's per-topic counters (riders are requesting).
  await page.waitForFunction(() => /events\/s rideshard\.trip-events\.v1\d/.test(document.getElementById('outbox').textContent), null, { timeout: 10000 });

  // Screenshots of each panel (build/console-screenshots/), the trip lookup still filled in.
  for (const [id, file] of [['cluster-panel', 'cluster'], ['map-panel', 'map'], ['shards-panel', 'shards'], ['outbox-panel', 'outbox'], ['driver-panel', 'driver-lookup'], ['audit-panel', 'audit']])
    await (await page.$(`#${id}`)).screenshot({ path: join(SHOTS, `${file}.png`) });
  await page.screenshot({ path: join(SHOTS, 'console.png'), fullPage: true });
  // Measurements (printed, not asserted): map draw time while the feed updates,
  // and the node's CPU with the console open vs the same window with it closed
  // (fixed measurement windows; nothing waits on them for correctness).
  await page.evaluate(() => { window.__console.map.frameTimes.length = 0; });
  const windowMs = 8000;
  const cpuOver = async () => {
    const c0 = cpuSeconds(node.proc.pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    return (cpuSeconds(node.proc.pid) - c0) / ((Date.now() - t0) / 1000);
  };
  const open = await cpuOver();
  // Live: the map keeps redrawing from the feed without a reload.
  await page.waitForFunction(() => window.__console.map.frameTimes.length >= 3, null, { timeout: 30000 });
  const frames = await page.evaluate(() => [...window.__console.map.frameTimes].sort((a, b) => a - b));
  const p95 = frames[Math.min(frames.length - 1, Math.floor(frames.length * 0.95))];
  await page.goto('about:blank');
  const closed = await cpuOver();
  console.log(`measure: ${DRIVERS} drivers, map draw p95 ${p95.toFixed(1)} ms over ${frames.length} frames; ` +
    `node CPU ${(open * 100).toFixed(1)}% of a core with the console open, ${(closed * 100).toFixed(1)}% closed ` +
    `(console ~${((open - closed) * 100).toFixed(1)}%)`);
  await page.goto(`${node.base}/admin`);
  await page.waitForFunction((n) => document.getElementById('map-count').dataset.drivers === String(n), DRIVERS, { timeout: 30000 });
});

test('a rider token gets 403 on every console route and admin endpoint', async () => {
  const rider = await register('rider', 'nosy-rider@example.com');
  const driver = await register('driver', 'nosy-driver@example.com');
  const routes = [['GET', '/admin'], ['GET', '/admin/console.js'], ['GET', '/api/admin/overview'],
    ['GET', '/api/admin/fleet'], ['GET', '/api/admin/feed'], ['GET', '/api/admin/trips/t-1'], ['GET', '/api/admin/drivers/d-1'],
    ['GET', '/api/admin/session'], ['GET', '/api/admin/audit'], ['POST', '/api/admin/users'], ['POST', '/api/admin/backup'],
    ['POST', '/api/admin/regions/nyc/pause-dispatch'], ['POST', '/api/admin/regions/nyc/freeze-surge']];
  for (const who of [rider, driver]) {
    for (const [method, path] of routes) {
      const r = await http(method, path, { token: who.token, body: method === 'POST' ? {} : undefined });
      assert.equal(r.status, 403, `${who.id} ${method} ${path}: ${r.status} ${r.text}`);
      const c = await http(method, path, { headers: { Cookie: `rideshard_admin=${who.token}` } });
      assert.equal(c.status, 403, `${who.id} cookie ${method} ${path}: ${c.status}`);
    }
    // The live feed's upgrade is refused the same way, by token and by cookie.
    assert.equal(await upgradeStatus('/v1/console', { Authorization: `Bearer ${who.token}` }), 403);
    assert.equal(await upgradeStatus('/v1/console', { Cookie: `rideshard_admin=${who.token}` }), 403);
  }
  assert.equal(await upgradeStatus('/v1/console', {}), 401);
  // In the browser: a rider's token planted as the session cookie.
  const saved = await browser.cookies(node.base);
  await browser.clearCookies();
  await browser.addCookies([{ name: 'rideshard_admin', value: rider.token, url: node.base, httpOnly: true, sameSite: 'Strict' }]);
  const res = await page.goto(`${node.base}/admin`);
  assert.equal(res.status(), 403);
  await browser.clearCookies();
  await browser.addCookies(saved);
});

test('no request left 127.0.0.1', () => {
  assert.ok(requests.length > 10, `requests seen: ${requests.length}`);
  const foreign = requests.filter((u) => new URL(u).hostname !== '127.0.0.1');
  assert.deepEqual(foreign, []);
});
