// DbProvisioner operator page: plain DOM, no framework, no build step. Every API call carries the key typed into the
// page; the key is kept in sessionStorage only (gone when the tab closes), never in localStorage or a cookie.
'use strict';

const KEY_STORAGE = 'dbprov.key';
const REFRESH_MS = 3000;
const API = '/api/v1';
const INSPECT_MS = 30000;

let refreshTimer = null;
let refreshing = false;
let pending = new Map();
const inspections = new Map(); // host id → { at, report } or { at, error }: an inspection reads the engine, so not every refresh

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function key() { return sessionStorage.getItem(KEY_STORAGE); }

class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function describeProblem(status, problem) {
  if (!problem) return `The server answered ${status}.`;
  const lines = [`${problem.title || 'Error'} (${problem.status || status})`];
  if (problem.detail) lines.push(problem.detail);
  for (const [field, messages] of Object.entries(problem.errors || {})) {
    for (const message of [].concat(messages)) lines.push(`${field}: ${message}`);
  }
  return lines.join('\n');
}

async function api(method, path, body) {
  const k = key();
  if (!k) throw new ApiError(401, { title: 'No key', detail: 'Enter an API key first.' });
  const init = { method, headers: { Authorization: `Bearer ${k}`, Accept: 'application/json, application/problem+json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

// An action's error stays until the next action; a refresh clears only the error a refresh showed.
let errorFromRefresh = false;

function showError(error, fromRefresh = false) {
  const box = $('error');
  if (!error) {
    if (fromRefresh && !errorFromRefresh) return;
    box.hidden = true; box.textContent = ''; errorFromRefresh = false; return;
  }
  errorFromRefresh = fromRefresh;
  box.textContent = error instanceof ApiError ? error.message : `Cannot reach the server: ${error.message || error}`;
  box.hidden = false;
}

function showNotice(message) {
  const box = $('notice');
  box.textContent = message || '';
  box.hidden = !message;
}

function riskBadge(risk) {
  const blocking = risk.severity === 'Blocking';
  return el('span', { class: `risk ${blocking ? 'blocking' : 'warning'}`, title: risk.message, 'data-code': risk.code },
    `${blocking ? '⛔' : '⚠'} ${risk.code}`);
}

function renderScaleDowns(listed) {
  // Only a Pending request can be approved: one that ended (expired, superseded by its instance's removal) gets no button.
  const requests = listed.filter((r) => r.state === 'Pending');
  pending = new Map(requests.map((r) => [r.id, r]));
  const target = $('scale-down-list');
  if (requests.length === 0) {
    target.replaceChildren(el('p', { class: 'muted', id: 'no-scale-downs' }, 'No pending requests.'));
    return;
  }
  const rows = requests.map((r) => el('tr', { 'data-request': r.id, 'data-instance': r.instanceId },
    el('td', {}, el('code', {}, r.id)),
    el('td', {}, el('strong', {}, r.instanceId), el('div', { class: 'muted' }, `${r.cluster} / ${r.shard} / ${r.role}`)),
    el('td', {}, r.host || '-'),
    el('td', {}, r.requestedBy),
    el('td', {}, new Date(r.expiresAt).toLocaleString()),
    el('td', { class: 'risk-cell' }, r.risks.length ? r.risks.map(riskBadge) : el('span', { class: 'muted' }, 'none'),
      el('ul', { class: 'risk-messages' }, r.risks.map((risk) => el('li', { class: risk.severity === 'Blocking' ? 'blocking' : 'warning' }, risk.message)))),
    el('td', {},
      el('button', { class: 'danger approve', 'data-id': r.id, onclick: () => openApprove(r.id) }, 'Approve'), ' ',
      el('button', { class: 'reject', 'data-id': r.id, onclick: () => openReject(r.id) }, 'Reject'))));
  target.replaceChildren(el('table', { id: 'scale-down-table' },
    el('thead', {}, el('tr', {}, ['Request', 'Instance', 'Host', 'Requested by', 'Expires', 'Risks', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows)));
}

function renderInstances(instances) {
  const target = $('instance-list');
  const shown = instances.filter((i) => i.state !== 'Removed');
  if (shown.length === 0) {
    target.replaceChildren(el('p', { class: 'muted' }, 'No instances.'));
    return;
  }
  target.replaceChildren(el('table', { id: 'instance-table' },
    el('thead', {}, el('tr', {}, ['Instance', 'State', 'Cluster', 'Shard', 'Host'].map((h) => el('th', {}, h)))),
    el('tbody', {}, shown.map((i) => el('tr', { 'data-instance': i.id },
      el('td', {}, el('code', {}, i.id)),
      el('td', {}, el('span', { class: `state ${i.state}` }, i.state)),
      el('td', {}, i.cluster), el('td', {}, i.shard), el('td', {}, i.host || '-'))))));
}

function describeSwap(swap) {
  if (!swap || swap.totalMiB === 0) return 'no swap';
  if (swap.allocatableMiB === 0) return `swap ${swap.totalMiB} MiB, none for instances`;
  return `swap ${swap.freeMiB} of ${swap.allocatableMiB} MiB free for instances (host has ${swap.totalMiB} MiB)`;
}

function renderHost(host) {
  const numa = host.numaNodes.map((node) => el('div', { class: 'numa', 'data-numa': node.id },
    el('div', {}, `NUMA node ${node.id} · ${node.freeMemoryMiB} of ${node.memoryMiB} MiB free`),
    el('div', { class: 'cores' }, node.cores.map((core) => {
      const state = core.reserved ? 'reserved' : core.instance ? 'held' : 'free';
      const label = core.reserved ? 'reserved' : core.instance ? core.instance : 'free';
      return el('div', {
        class: `core ${state}`, 'data-core': core.core, 'data-instance': core.instance || null,
        title: `core ${core.core} (CPUs ${core.cpus}): ${label}`,
      }, el('div', {}, `#${core.core}`), el('div', {}, core.reserved ? 'rsv' : core.instance ? core.instance.slice(-6) : '·'));
    }))));
  const disks = el('table', { class: 'disks' },
    el('thead', {}, el('tr', {}, ['Disk', 'Device', 'GiB', 'Class', 'State', 'Claimed by'].map((h) => el('th', {}, h)))),
    el('tbody', {}, host.disks.map((d) => el('tr', { 'data-disk': d.id },
      el('td', {}, d.id), el('td', {}, d.device), el('td', {}, d.sizeGiB), el('td', {}, d.class),
      el('td', {}, el('span', { class: `state ${d.state}`, title: d.error || null }, d.state + (d.seeded ? ' (seeded)' : '') + (d.error ? `: ${d.error}` : ''))),
      el('td', {}, d.claimedBy || '-')))));
  return el('div', { class: 'host', 'data-host': host.id },
    el('h4', {}, host.id, host.cordoned ? ' (cordoned)' : ''),
    el('div', { class: 'muted' }, `zone ${host.zone} · rack ${host.rack} · ${host.freeCores} free cores · ports ${host.ports.first}-${host.ports.last}`),
    el('div', { class: 'muted', 'data-swap': '' }, describeSwap(host.swap)),
    el('div', { class: 'muted', 'data-image': host.image ? host.image.state : 'Present' }, describeImage(host.image)),
    hostActions(host), renderEvacuation(evacuations.get(host.id)),
    numa, disks);
}

// Cordon, uncordon and evacuate (admin); an evacuated host is cordoned, so evacuations are listed only while a host is.
let evacuations = new Map();

function hostActions(host) {
  const path = `/hosts/${encodeURIComponent(host.id)}`;
  return el('div', { class: 'host-actions' },
    el('button', { class: 'cordon', 'data-host': host.id, onclick: () => hostAction('POST', `${path}/cordon`, { cordoned: !host.cordoned },
      `Host ${host.id} ${host.cordoned ? 'uncordoned' : 'cordoned'}.`) }, host.cordoned ? 'Uncordon' : 'Cordon'), ' ',
    el('button', { class: 'danger evacuate', 'data-host': host.id, onclick: () => {
      if (window.confirm(`Evacuate host ${host.id}? Each instance gets a replacement elsewhere; each removal then waits for an approver.`)) {
        hostAction('POST', `${path}/evacuate`, {}, `Evacuation of ${host.id} started: approve each scale-down request once its replacement is Ready.`);
      }
    } }, 'Evacuate'));
}

async function hostAction(method, path, body, notice) {
  showNotice(null);
  try {
    await api(method, path, body);
    showError(null);
    showNotice(notice);
  } catch (error) {
    showError(error);
  }
  await refresh();
}

// One list, not a GET per cordoned host: a host cordoned but never evacuated would answer 404 (a console error).
async function loadEvacuations(hosts) {
  const found = hosts.some((h) => h.cordoned) ? await api('GET', '/evacuations') : [];
  evacuations = new Map(found.map((e) => [e.hostId, e]));
}

function renderEvacuation(evacuation) {
  if (!evacuation) return null;
  return el('div', { class: 'evacuation', 'data-evacuation': evacuation.hostId },
    el('div', {}, el('strong', {}, `Evacuation: ${evacuation.state}`)),
    el('table', {},
      el('thead', {}, el('tr', {}, ['Instance', 'State', 'Replacement', 'On host', 'Replacement state', 'Scale-down', 'Phase'].map((h) => el('th', {}, h)))),
      el('tbody', {}, evacuation.instances.map((i) => el('tr', { 'data-instance': i.instanceId },
        el('td', {}, i.instanceId), el('td', {}, i.instanceState || '-'), el('td', {}, i.replacementId), el('td', {}, i.replacementHost),
        el('td', {}, i.replacementState || '-'), el('td', {}, i.scaleDownId ? `${i.scaleDownId} (${i.scaleDownState})` : '-'),
        el('td', { title: i.reason || null }, i.phase + (i.reason ? `: ${i.reason}` : '')))))));
}

function renderHosts(hosts) {
  const target = $('host-list');
  if (hosts.length === 0) {
    target.replaceChildren(el('p', { class: 'muted' }, 'No hosts.'));
    return;
  }
  const pools = new Map();
  for (const host of hosts) {
    if (!pools.has(host.pool)) pools.set(host.pool, []);
    pools.get(host.pool).push(host);
  }
  target.replaceChildren(
    el('div', { class: 'legend muted' }, el('span', { class: 'core free' }, 'free'), el('span', { class: 'core held' }, 'held by an instance'),
      el('span', { class: 'core reserved' }, 'reserved')),
    ...[...pools.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pool, members]) => el('div', { class: 'pool', 'data-pool': pool },
      el('h3', {}, `Pool ${pool}`), el('div', { class: 'hosts' }, members.map(renderHost)))));
}

async function inspectHosts(hosts) {
  const due = hosts.filter((h) => !inspections.has(h.id) || Date.now() - inspections.get(h.id).at > INSPECT_MS);
  await Promise.all(due.map(async (h) => {
    try {
      inspections.set(h.id, { at: Date.now(), report: await api('GET', `/hosts/${encodeURIComponent(h.id)}/inspection`) });
    } catch (error) {
      inspections.set(h.id, { at: Date.now(), error: error.message || String(error) });
    }
  }));
}

function driftCell(id) {
  const seen = inspections.get(id);
  if (!seen) return el('span', { class: 'muted' }, '…');
  const failed = seen.error || seen.report.error;
  if (failed) return el('span', { class: 'drift unknown', title: failed }, 'engine unreadable');
  const drifts = seen.report.drifts;
  return el('span', {
    class: drifts.length === 0 ? 'drift none' : 'drift some', 'data-drifts': drifts.length,
    title: drifts.map((d) => `${d.subject}: ${d.kind} ${d.found} (expected ${d.expected}) → ${d.fix}`).join('\n') || null,
  }, drifts.length === 0 ? 'none' : `${drifts.length} drift${drifts.length === 1 ? '' : 's'}`);
}

function renderFleet(hosts) {
  const target = $('fleet-list');
  if (hosts.length === 0) {
    target.replaceChildren(el('p', { class: 'muted' }, 'No hosts.'));
    return;
  }
  target.replaceChildren(el('table', { id: 'fleet-table' },
    el('thead', {}, el('tr', {}, ['Host', 'Engine', 'Zone / rack', 'Health', 'Image', 'Instances', 'Drift'].map((h) => el('th', {}, h)))),
    el('tbody', {}, [...hosts].sort((a, b) => a.id.localeCompare(b.id)).map((h) => el('tr', { 'data-fleet-host': h.id },
      el('td', {}, h.id), el('td', {}, el('code', {}, h.engineEndpoint)), el('td', {}, `${h.zone} / ${h.rack}`),
      el('td', {}, el('span', { class: h.healthy === false ? 'state Failed' : 'state Ready', title: h.reason || null },
        (h.healthy === false ? 'unhealthy' : 'healthy') + (h.cordoned ? ', cordoned' : ''))),
      el('td', {}, el('span', { class: `state ${imageClass(h.image)}`, title: (h.image && h.image.error) || null }, describeImage(h.image))),
      el('td', {}, h.instances.length), el('td', {}, driftCell(h.id)))))));
}

// The host's MySQL image: placement skips a host until its engine holds it.
function describeImage(image) {
  if (!image || image.state === 'Present') return 'image present';
  if (image.state === 'Pulling') return image.percent == null ? 'image pulling' : `image pulling ${image.percent}%`;
  return `image pull failed: ${image.error}`;
}

function imageClass(image) {
  return !image || image.state === 'Present' ? 'Ready' : image.state === 'Pulling' ? 'Formatting' : 'Failed';
}

async function refresh() {
  if (refreshing || !key()) return;
  if ($('approve-dialog').open || $('reject-dialog').open) return; // do not redraw under an open dialog
  refreshing = true;
  try {
    const [requests, instances, hostList] = await Promise.all([
      api('GET', '/scale-downs?state=pending'), api('GET', '/instances'), api('GET', '/hosts')]);
    const hosts = await Promise.all(hostList.map((h) => api('GET', `/hosts/${encodeURIComponent(h.id)}`)));
    await loadEvacuations(hosts);
    renderScaleDowns(requests);
    renderInstances(instances);
    renderHosts(hosts);
    renderFleet(hosts);
    inspectHosts(hosts).then(() => renderFleet(hosts), () => {});
    $('refreshed').textContent = `updated ${new Date().toLocaleTimeString()}`;
    showError(null, true);
  } catch (error) {
    showError(error, true);
  } finally {
    refreshing = false;
  }
}

function fill(dialog, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const node = dialog.querySelector(`[data-field="${name}"]`);
    if (node) node.textContent = value;
  }
}

function openApprove(id) {
  const request = pending.get(id);
  if (!request) return;
  const dialog = $('approve-dialog');
  fill(dialog, { id: request.id, instance: request.instanceId, requestedBy: request.requestedBy, role: request.role,
    shard: `${request.cluster}/${request.shard}`, host: request.host || '-' });
  const blocking = request.risks.filter((r) => r.severity === 'Blocking');
  dialog.querySelector('[data-field="risks"]').replaceChildren(
    ...(request.risks.length === 0 ? [el('li', { class: 'muted' }, 'No risks reported.')]
      : request.risks.map((r) => el('li', { class: r.severity === 'Blocking' ? 'blocking' : 'warning', 'data-code': r.code },
        el('strong', {}, `${r.severity}: ${r.code}`), ` — ${r.message}`))));
  dialog.querySelector('[data-field="blockingNote"]').hidden = blocking.length === 0;
  dialog.dataset.id = id;
  dialog.returnValue = '';
  dialog.showModal();
}

async function approveClosed() {
  const dialog = $('approve-dialog');
  const request = pending.get(dialog.dataset.id);
  if (dialog.returnValue !== 'approve' || !request) return;
  const acknowledge = request.risks.filter((r) => r.severity === 'Blocking').map((r) => r.code);
  showNotice(null);
  try {
    const view = await api('POST', `/scale-downs/${encodeURIComponent(request.id)}/approve`, { acknowledge });
    showError(null);
    showNotice(`Approved ${view.id}: instance ${view.instanceId} is ${view.state}.`);
  } catch (error) {
    showError(error);
  }
  await refresh();
}

function openReject(id) {
  const dialog = $('reject-dialog');
  fill(dialog, { id });
  $('reject-reason').value = '';
  dialog.dataset.id = id;
  dialog.returnValue = '';
  dialog.showModal();
}

async function rejectClosed() {
  const dialog = $('reject-dialog');
  const id = dialog.dataset.id;
  const reason = $('reject-reason').value.trim();
  if (dialog.returnValue !== 'reject' || !id) return;
  if (!reason) {
    showError(new ApiError(400, { title: 'Invalid request', detail: 'A reason is required to reject a request.' }));
    return;
  }
  showNotice(null);
  try {
    const view = await api('POST', `/scale-downs/${encodeURIComponent(id)}/reject`, { reason });
    showError(null);
    showNotice(`Rejected ${view.id}.`);
  } catch (error) {
    showError(error);
  }
  await refresh();
}

async function useKey(value) {
  if (value) sessionStorage.setItem(KEY_STORAGE, value);
  $('api-key').value = '';
  if (!key()) { $('whoami').textContent = 'no key'; return; }
  try {
    const me = await api('GET', '/whoami');
    $('whoami').textContent = `${me.keyId} (${me.role})`;
    // The server refuses the dashboard to every other role; the link only saves them a 403.
    $('dashboard-link').hidden = me.role !== 'admin';
    showError(null);
  } catch (error) {
    $('whoami').textContent = 'key refused';
    $('dashboard-link').hidden = true;
    showError(error);
    return;
  }
  await refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    useKey($('api-key').value.trim());
  });
  // A link cannot carry the key: the admin's key is traded for the dashboard's HttpOnly session cookie first.
  $('dashboard-link').addEventListener('click', async (event) => {
    event.preventDefault();
    const tab = window.open('about:blank', '_blank');
    try {
      const response = await fetch('/admin/dashboard-session', { method: 'POST', headers: { Authorization: `Bearer ${key()}` } });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      if (tab) { tab.opener = null; tab.location = $('dashboard-link').href; }
    } catch (error) {
      if (tab) tab.close();
      showError(error);
    }
  });
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    $('whoami').textContent = 'no key';
    $('dashboard-link').hidden = true;
    for (const id of ['scale-down-list', 'instance-list', 'host-list']) {
      $(id).replaceChildren(el('p', { class: 'muted' }, 'Enter a key to load.'));
    }
  });
  $('approve-dialog').addEventListener('close', approveClosed);
  $('reject-dialog').addEventListener('close', rejectClosed);
  refreshTimer = setInterval(refresh, REFRESH_MS);
  if (key()) useKey(null);
});
