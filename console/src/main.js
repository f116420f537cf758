// The rideshard admin console: sign-in, then live panels pushed by the node
// once per second over the /v1/console WebSocket (each frame is the answer of
// GET /api/admin/feed: overview and map), trip and driver lookups. Everything
// comes from the node that served this page: no CDN, no tiles, no other host.
import { api, ApiError } from './api.js';
import { LiveMap, countLooks } from './map.js';
import './style.css';

const $ = (id) => document.getElementById(id);
const AUDIT_MS = 5000; // the log changes only on admin actions
const AUDIT_PAGE = 15; // rows per page of the audit table
const RECONNECT_MS = [500, 1000, 2000, 5000];
let map = null;
let feed = null; // the live WebSocket, while signed in
let auditTimer = null;
let auditPages = ['']; // the `before` cursor of each page seen; the last is the one shown
let reconnects = 0;
let lastOutbox = null; // {at, events_total, topics} of the last frame, for events/s

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c)))));
}

const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '—');
const duration = (s) => `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ${s % 60}s`;
const money = (minor, currency) => (minor == null ? '—' : `${(minor / 100).toFixed(2)} ${currency || ''}`);
const surge = (permille) => `${(permille / 1000).toFixed(2)}×`;

function closeFeed() {
  if (feed) {
    feed.onclose = null;
    feed.close();
    feed = null;
  }
}

// The node pushes one frame per second; the cookie goes with the upgrade (same
// origin), so no credential is ever handled here. A close with 1008 means the
// session ended; anything else reconnects with a short backoff.
function openFeed() {
  closeFeed();
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${window.location.host}/v1/console`);
  feed = ws;
  ws.onmessage = (ev) => {
    reconnects = 0;
    const tick = JSON.parse(ev.data);
    renderOverview(tick.overview);
    renderFleet(tick.fleet);
    $('feed-status').textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  };
  ws.onclose = (ev) => {
    if (feed !== ws) return;
    feed = null;
    if (ev.code === 1008) return showSignIn('Session ended: sign in again.');
    const wait = RECONNECT_MS[Math.min(reconnects++, RECONNECT_MS.length - 1)];
    $('feed-status').textContent = `feed lost (${ev.code}); reconnecting in ${wait} ms`;
    setTimeout(() => { if (!feed && !$('console-view').hidden) openFeed(); }, wait);
  };
}

function showSignIn(message) {
  closeFeed();
  clearInterval(auditTimer);
  auditTimer = null;
  $('console-view').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('sign-in-view').hidden = false;
  $('sign-in-error').textContent = message || '';
}

function showConsole(session) {
  $('sign-in-view').hidden = true;
  $('console-view').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `${session.name || session.id} (${session.id})`;
  if (!map) map = new LiveMap($('map'));
  window.__console = { map }; // measurements for the browser test
  openFeed();
  showNewestAudit();
  clearInterval(auditTimer);
  auditTimer = setInterval(refreshAudit, AUDIT_MS);
}

// Shard groups a node owns (the owner table), e.g. "0-3, 7" or "none".
function groupList(groups) {
  if (!groups.length) return 'none';
  const parts = [];
  for (let i = 0; i < groups.length; i++) {
    let j = i;
    while (j + 1 < groups.length && groups[j + 1] === groups[j] + 1) j++;
    parts.push(j > i ? `${groups[i]}-${groups[j]}` : `${groups[i]}`);
    i = j;
  }
  return parts.join(', ');
}

function renderOverview(o) {
  const n = o.node;
  // This node first (it answers the feed), then its cluster peers as its
  // membership actor sees them; a single node has no peers.
  replaceRows($('cluster-rows'), [[
    n.address ? `node ${n.id} (this) ${n.address}` : `node ${n.id}`, n.status, n.version,
    duration(n.uptime_s), `${n.heartbeat_age_ms} ms`,
    n.shard_groups ? `${n.shards} (groups ${groupList(n.shard_groups)})` : n.shards, `${n.connections.driver} drivers, ${n.connections.rider} riders, ${n.connections.admin} admin`,
  ]].concat((o.peers || []).map((p) => [
    `node ${p.node || '?'} ${p.address}`, p.error ? `${p.status}: ${p.error}` : p.status, p.version || '—',
    p.status === 'up' ? duration(p.uptime_s) : '—',
    p.heartbeat_age_ms == null ? 'never' : `${p.heartbeat_age_ms} ms`,
    p.shard_groups && p.shard_groups.length ? `groups ${groupList(p.shard_groups)}` : '—', '—',
  ])));
  renderDrain(n);
  map.setRegions(o.regions);
  renderRegions(o.regions);
  const d = o.dispatch;
  $('shard-totals').textContent =
    `matcher queue ${d.queue_depth} · request→offer p99 ${d.request_to_offer_p99_ms == null ? '—' : '≤ ' + d.request_to_offer_p99_ms + ' ms'}`;
  replaceRows($('shard-rows'), o.shards.map((s) => [
    `${s.region} @ ${s.center.lat.toFixed(3)}, ${s.center.lng.toFixed(3)}`, s.drivers, s.available, s.active_trips, surge(s.surge_permille),
  ]));
  const ob = o.outbox;
  // Rates from the counters of two consecutive frames: all topics, then per topic.
  const now = performance.now();
  const dt = lastOutbox ? (now - lastOutbox.at) / 1000 : 0;
  const rateOf = (total, before) => (dt > 0 && total != null && before != null ? ((total - before) / dt).toFixed(1) : '—');
  const rows = [
    ['status', ob.status], ['broker', ob.broker || '—'], ['depth', ob.depth ?? '—'],
    ['oldest event', ob.oldest_age_ms == null ? '—' : `${(ob.oldest_age_ms / 1000).toFixed(1)} s`],
    ['events/s (all topics)', rateOf(ob.events_total, lastOutbox && lastOutbox.events_total)],
  ];
  const topics = ob.events_by_topic || {};
  for (const topic of Object.keys(topics).sort())
    rows.push([`events/s ${topic}`, rateOf(topics[topic], lastOutbox ? (lastOutbox.topics[topic] ?? 0) : null)]);
  rows.push(['dropped (retention)', ob.dropped ?? 0]);
  lastOutbox = { at: now, events_total: ob.events_total, topics };
  $('outbox').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

// One row per region with its switches; redrawn only when a switch changed, so
// a button is not replaced under the pointer by every feed frame.
let shownSwitches = '';
function renderRegions(regions) {
  const key = JSON.stringify(regions.map((r) => [r.name, r.dispatch_paused, r.surge_frozen]));
  if (key === shownSwitches) return;
  shownSwitches = key;
  $('region-rows').replaceChildren(...regions.map((r) => el('tr', { 'data-region': r.name },
    el('td', {}, r.name),
    el('td', { class: r.dispatch_paused ? 'error' : '' }, r.dispatch_paused ? 'PAUSED' : 'running'),
    el('td', { class: r.surge_frozen ? 'error' : '' }, r.surge_frozen ? 'FROZEN' : 'live'),
    el('td', {},
      el('button', {
        id: `region-${r.name}-dispatch`, class: r.dispatch_paused ? '' : 'danger',
        onclick: () => setSwitch(r.name, r.dispatch_paused ? 'resume-dispatch' : 'pause-dispatch'),
      }, r.dispatch_paused ? 'Resume dispatch' : 'Pause dispatch'),
      ' ',
      el('button', {
        id: `region-${r.name}-surge`, class: r.surge_frozen ? '' : 'danger',
        onclick: () => setSwitch(r.name, r.surge_frozen ? 'unfreeze-surge' : 'freeze-surge'),
      }, r.surge_frozen ? 'Unfreeze surge' : 'Freeze surge')))));
}

// Drain / rejoin this node (shard ownership only): a drained node hands its
// shard groups to the others and keeps its sessions as a gateway.
const drainStates = {
  '': 'serving its shard groups',
  handing_off: 'handing its shard groups off…',
  handed_off: 'drained: its shard groups are owned by other nodes',
  timed_out: 'drain timed out: not every group was owned elsewhere in time',
};
function renderDrain(n) {
  $('cluster-actions').hidden = !n.shard_ownership;
  if (!n.shard_ownership) return;
  const drained = n.drain !== '';
  const button = $('cluster-drain');
  button.textContent = drained ? 'Rejoin this node' : 'Drain this node';
  button.className = drained ? '' : 'danger';
  button.disabled = n.drain === 'handing_off';
  button.dataset.action = drained ? 'rejoin' : 'drain';
  $('cluster-drain-state').textContent = drainStates[n.drain] ?? n.drain;
}

async function drainOrRejoin() {
  const action = $('cluster-drain').dataset.action;
  const question = action === 'drain'
    ? 'Drain this node? Its shard groups move to the other nodes; it keeps serving its sessions as a gateway.'
    : 'Rejoin this node? The shard groups rebalance over every node.';
  // A confirmation step before anything changes.
  if (!window.confirm(question)) return;
  try {
    await api.post(`/api/admin/cluster/${action}`);
  } catch (e) {
    window.alert(`${e.code}: ${e.message}`);
  }
  showNewestAudit(); // the drain's phase shows with the feed's next frame
}

const switchQuestions = {
  'pause-dispatch': (r) => `Pause new dispatch in ${r}? Riders there get dispatch_paused until you resume.`,
  'resume-dispatch': (r) => `Resume new dispatch in ${r}?`,
  'freeze-surge': (r) => `Freeze surge in ${r} at its current multipliers?`,
  'unfreeze-surge': (r) => `Unfreeze surge in ${r}?`,
};

async function setSwitch(region, action) {
  // A confirmation step before anything changes.
  if (!window.confirm(switchQuestions[action](region))) return;
  try {
    await api.post(`/api/admin/regions/${encodeURIComponent(region)}/${action}`);
  } catch (e) {
    window.alert(`${e.code}: ${e.message}`);
  }
  showNewestAudit(); // the switch itself shows with the feed's next frame (within a second)
}

function renderFleet(f) {
  map.update(f);
  const c = countLooks(f);
  $('map-count').textContent =
    `${f.drivers.length / 3} drivers (${c.available} available, ${c.offered} offered, ` +
    `${c.en_route} en route, ${c.on_trip} on trip) · ${f.trips.length / 5} active trips`;
  $('map-count').dataset.drivers = String(f.drivers.length / 3);
}

// One page of the audit log — this node's store, or with a broker every node's
// entries read back from Kafka (the panel says which, from the answer's
// `source`); Older / Newer walk the pages by the id cursor the node returns.
async function refreshAudit() {
  const before = auditPages[auditPages.length - 1];
  try {
    const a = await api.get(`/api/admin/audit?limit=${AUDIT_PAGE}${before ? `&before=${before}` : ''}`);
    replaceRows($('audit-rows'), a.entries.map((e) => [time(e.at_ms), e.actor, e.action, e.target || '—', e.from || '—', e.status, e.node ? `n${e.node}` : '—']));
    $('audit-source').textContent = `Read from ${a.source}; every entry is also published to Kafka ${a.topic}.`;
    $('audit-older').disabled = !a.older;
    $('audit-older').dataset.before = a.older || '';
    $('audit-newer').disabled = auditPages.length === 1;
    $('audit-page').textContent = `page ${auditPages.length}`;
  } catch (e) {
    replaceRows($('audit-rows'), [[`${e.code || 'error'}: ${e.message}`, '', '', '', '', '', '']]);
  }
}

// After an action (or at sign-in): the first page, where the new entry is.
function showNewestAudit() {
  auditPages = [''];
  refreshAudit();
}

function auditPage(older) {
  if (older && $('audit-older').dataset.before) auditPages.push($('audit-older').dataset.before);
  else if (!older && auditPages.length > 1) auditPages.pop();
  refreshAudit();
}

async function lookupTrip(ev) {
  ev.preventDefault();
  const out = $('trip-result');
  const id = $('trip-id').value.trim();
  try {
    const t = await api.get(`/api/admin/trips/${encodeURIComponent(id)}`);
    out.replaceChildren(
      el('p', {}, `${t.id}: ${t.state} · rider ${t.rider} · driver ${t.driver || '—'} · fare ${money(t.fare_minor, t.currency)}`),
      el('ol', { class: 'timeline', id: 'trip-timeline' },
        ...t.timeline.map((s) => el('li', { 'data-state': s.state }, `${time(s.at_ms)} ${s.state} by ${s.actor}${s.note ? ' — ' + s.note : ''}`))),
    );
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error' }, `${e.code || 'error'}: ${e.message}`));
  }
}

async function lookupDriver(ev) {
  ev && ev.preventDefault();
  const out = $('driver-result');
  const id = $('driver-id').value.trim();
  try {
    const d = await api.get(`/api/admin/drivers/${encodeURIComponent(id)}`);
    const live = d.live ? `${d.live.state} at ${d.live.lat.toFixed(5)}, ${d.live.lng.toFixed(5)} (${time(d.live.updated_ms)})` : 'not connected';
    const blocked = d.account ? d.account.suspended : null;
    const children = [el('p', {}, `${d.id}: ${live}${d.account ? ` · ${d.account.name} <${d.account.email}>` : ' · no account'}${blocked ? ' · BLOCKED' : ''}`)];
    if (d.account) {
      children.push(el('button', {
        class: blocked ? '' : 'danger', id: 'driver-block',
        onclick: () => setBlocked(d.id, !blocked),
      }, blocked ? 'Unblock' : 'Block'));
    }
    children.push(el('ul', {}, ...d.recent_trips.map((t) => el('li', {}, `${t.id} ${t.state} ${time(t.updated_at_ms)}`))));
    out.replaceChildren(...children);
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error' }, `${e.code || 'error'}: ${e.message}`));
  }
}

async function setBlocked(id, blocked) {
  // A confirmation step before anything changes.
  if (!window.confirm(`${blocked ? 'Block' : 'Unblock'} driver ${id}?`)) return;
  try {
    await api.put(`/api/drivers/${encodeURIComponent(id)}/status`, { suspended: blocked });
  } catch (e) {
    window.alert(`${e.code}: ${e.message}`);
  }
  lookupDriver();
  showNewestAudit();
}

async function signIn(ev) {
  ev.preventDefault();
  try {
    const s = await api.signIn($('email').value, $('password').value);
    $('password').value = '';
    showConsole(s);
  } catch (e) {
    $('sign-in-error').textContent = e instanceof ApiError && e.status === 401
      ? 'Wrong email or password.' : `${e.code || 'error'}: ${e.message}`;
  }
}

async function boot() {
  $('sign-in').addEventListener('submit', signIn);
  $('trip-form').addEventListener('submit', lookupTrip);
  $('driver-form').addEventListener('submit', lookupDriver);
  $('cluster-drain').addEventListener('click', drainOrRejoin);
  $('audit-older').addEventListener('click', () => auditPage(true));
  $('audit-newer').addEventListener('click', () => auditPage(false));
  $('sign-out').addEventListener('click', async () => {
    try { await api.signOut(); } finally { showSignIn('Signed out.'); }
  });
  try {
    showConsole(await api.session()); // the cookie survives reloads; the CSRF token is asked again
  } catch {
    showSignIn();
  }
}

boot();
