// latentfarm's web page: plain JavaScript, no build step. Data from the coordinator's JSON routes,
// live updates from GET /events (server-sent events fed from the events topic).
'use strict';

const PAGE = 48;
const FIELDS = ['prompts', 'negativePrompt', 'rows', 'cols', 'count', 'steps', 'guidance', 'width', 'height',
  'scheduler', 'seed', 'seedMode'];
const $ = (sel, root = document) => root.querySelector(sel);
const state = { batches: new Map(), batchId: null, offset: 0 };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': ' + r.status);
  return r.json();
}

function age(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

// Runs fn at most once per ms, and once more after the last call (a steady stream of events never starves it).
function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, Math.max(0, last + ms - Date.now()));
  };
}

function progressCell(done, total) {
  return el('div', { class: 'progress' },
    el('progress', { max: String(Math.max(total, 1)), value: String(done) }),
    el('span', { class: 'progress-text', text: done + '/' + total }));
}

// ------------------------------------------------------------------ batches

async function loadBatches() {
  const data = await getJson('batches?limit=50');
  state.batches = new Map(data.batches.map(b => [b.batchId, b]));
  renderBatches();
  fillSchedulers(data.limits.schedulers);
}
const reloadBatches = throttle(() => loadBatches().catch(console.error), 250);

function renderBatches() {
  const body = $('#batches tbody');
  body.replaceChildren();
  for (const b of state.batches.values()) {
    const prompt = b.prompts.length > 1 ? b.prompts[0] + ' (+' + (b.prompts.length - 1) + ')' : b.prompts[0];
    const cancel = b.status === 'running'
      ? el('button', { class: 'small', text: 'cancel', onclick: () => cancelBatch(b.batchId) }) : null;
    body.append(el('tr', { 'data-batch': b.batchId },
      el('td', {}, el('a', { href: '#/batch/' + encodeURIComponent(b.batchId), class: 'batch-link', text: b.batchId })),
      el('td', {}, el('span', { class: 'badge ' + b.status, text: b.status })),
      el('td', { class: 'progress-cell' }, progressCell(b.done, b.total)),
      el('td', { class: 'prompt', title: b.prompts.join('\n'), text: prompt }),
      el('td', { text: b.width + '\u00d7' + b.height + (b.total > 1 ? ' \u00b7 ' + b.rows + '\u00d7' + b.cols : '') }),
      el('td', { text: String(b.steps) }),
      el('td', { text: b.scheduler }),
      el('td', { text: b.seed === null ? '' : String(b.seed) }),
      el('td', { class: 'age', 'data-at': String(b.acceptedAt), text: age(b.acceptedAt) }),
      el('td', {}, cancel)));
  }
  $('#batches-empty').hidden = state.batches.size > 0;
}

async function cancelBatch(id) {
  await fetch('batches/' + encodeURIComponent(id) + '/cancel', { method: 'POST' });
}

function fillSchedulers(names) {
  const select = $('#f-scheduler');
  if (select.options.length > 1) return;
  for (const n of names) select.append(el('option', { value: n, text: n }));
}

// ------------------------------------------------------------------ submit

function requestFromForm(form) {
  const v = name => form.elements[name].value.trim();
  const req = {};
  const prompts = form.elements.prompts.value.split('\n').map(s => s.trim()).filter(s => s.length > 0);
  if (prompts.length === 1) req.prompt = prompts[0]; else if (prompts.length > 1) req.prompts = prompts;
  if (v('negativePrompt')) req.negativePrompt = v('negativePrompt');
  for (const n of ['rows', 'cols', 'count', 'steps', 'width', 'height', 'seed']) {
    if (v(n) !== '') req[n] = Number(v(n));
  }
  if (v('guidance') !== '') req.guidance = Number(v('guidance'));
  if (v('scheduler')) req.scheduler = v('scheduler');
  req.seedMode = v('seedMode');
  return req;
}

function fieldOf(violationField) {
  const f = violationField.replace(/\[\d+\]$/, '');
  return f === 'prompt' ? 'prompts' : f;
}

function clearErrors() {
  for (const f of FIELDS) {
    $('#error-' + f).textContent = '';
    const input = $('#f-' + f);
    if (input) input.classList.remove('invalid');
  }
}

async function submit(ev) {
  ev.preventDefault();
  const form = ev.target;
  const status = $('#submit-status');
  clearErrors();
  status.className = 'status-line';
  status.textContent = 'sending\u2026';
  const r = await fetch('batches', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(requestFromForm(form)) });
  const body = await r.json().catch(() => ({}));
  if (r.status === 400 && body.violations) {
    const general = [];
    for (const v of body.violations) {
      const f = fieldOf(v.field);
      if (FIELDS.includes(f)) {
        const e = $('#error-' + f);
        e.textContent = (e.textContent ? e.textContent + '; ' : '') + v.message;
        $('#f-' + f).classList.add('invalid');
      } else general.push(v.field + ': ' + v.message);
    }
    status.className = 'status-line bad';
    status.textContent = general.length ? general.join('; ') : 'please fix the fields marked red';
    return;
  }
  if (!r.ok) {
    status.className = 'status-line bad';
    status.textContent = body.error || body.message || ('error ' + r.status);
    return;
  }
  status.replaceChildren('submitted ', el('a', { href: '#/batch/' + body.batchId, text: body.batchId }));
  reloadBatches();
}

// ------------------------------------------------------------------ workers

async function loadWorkers() {
  const data = await getJson('workers');
  const body = $('#workers tbody');
  body.replaceChildren();
  for (const w of data.workers) {
    const doing = w.currentJob ? w.currentJob + (w.step !== null ? ' \u00b7 step ' + w.step + '/' + w.steps : '') : 'idle';
    body.append(el('tr', { 'data-worker': w.id },
      el('td', { text: w.id }), el('td', { text: w.device || '' }), el('td', { text: w.model || '' }),
      el('td', { text: doing }), el('td', { text: String(w.done) + (w.failed ? ' (' + w.failed + ' failed)' : '') }),
      el('td', { class: 'age', 'data-at': String(w.lastSeen), text: age(w.lastSeen) })));
  }
  $('#workers-empty').hidden = data.workers.length > 0;
}
const reloadWorkers = throttle(() => loadWorkers().catch(console.error), 500);

// ------------------------------------------------------------------ one batch

async function loadBatch() {
  const id = state.batchId;
  const page = await getJson('batches/' + encodeURIComponent(id) + '/images?offset=' + state.offset + '&limit=' + PAGE);
  if (id !== state.batchId) return;
  const b = page.batch;
  $('#batch-title').replaceChildren('Batch ' + b.batchId + ' ', el('span', { class: 'badge ' + b.status, text: b.status }));
  $('#batch-summary').replaceChildren(
    el('div', {}, el('b', { text: b.prompts.join(' | ') })),
    el('div', { text: (b.negativePrompt ? 'negative: ' + b.negativePrompt + ' \u00b7 ' : '') + b.width + '\u00d7' + b.height
      + ' \u00b7 ' + b.steps + ' steps \u00b7 guidance ' + b.guidance + ' \u00b7 ' + b.scheduler + ' \u00b7 seed ' + b.seed
      + ' (' + b.seedMode + ') \u00b7 accepted ' + age(b.acceptedAt) + (b.reason ? ' \u00b7 ' + b.reason : '') }));
  $('#batch-progress').max = b.total;
  $('#batch-progress').value = b.done;
  $('#batch-progress-text').textContent = b.done + '/' + b.total;
  const base = 'batches/' + encodeURIComponent(id);
  const links = [el('a', { href: base + '/all.zip', id: 'zip-link', text: 'download all (zip)' })];
  if (b.hasManifest) links.push(el('a', { href: base + '/manifest.json', target: '_blank', id: 'manifest-link', text: 'manifest.json' }));
  links.push(el('a', { href: base, target: '_blank', text: 'state (JSON)' }));
  $('#batch-links').replaceChildren(...links);
  $('#grid-panel').hidden = !b.hasGrid;
  if (b.hasGrid && !$('#grid img')) {
    $('#grid').replaceChildren(el('a', { href: base + '/grid.png', target: '_blank' },
      el('img', { src: base + '/grid.png', alt: 'grid of batch ' + id })));
  }
  renderThumbs(base, page);
}
const reloadBatch = throttle(() => loadBatch().catch(console.error), 250);

function renderThumbs(base, page) {
  const thumbs = $('#thumbs');
  thumbs.replaceChildren();
  for (const im of page.images) {
    const src = base + '/images/' + im.index + '.png';
    const picture = im.key
      ? el('a', { href: src, target: '_blank' }, el('img', { src, loading: 'lazy', alt: 'image ' + im.index }))
      : el('div', { class: 'pending', text: 'rendering\u2026' });
    const t = im.timings;
    thumbs.append(el('div', { class: 'thumb', 'data-index': String(im.index) }, picture,
      el('div', { class: 'meta' },
        el('div', {}, el('b', { text: '#' + im.index }), ' ' + im.prompt),
        el('div', { text: 'seed ' + im.seed + ' \u00b7 slice ' + im.sliceIndex + '/' + im.batchSize
          + ' \u00b7 ' + page.batch.steps + ' steps \u00b7 ' + page.batch.scheduler }),
        im.workerId ? el('div', { text: im.workerId + (t ? ' \u00b7 ' + (t.totalMs / 1000).toFixed(1) + ' s' : '')
          + (im.attempt > 1 ? ' \u00b7 attempt ' + im.attempt : '') }) : null,
        ...(im.warnings || []).map(w => el('div', { class: 'warn', text: '\u26a0 ' + w })))));
  }
  const pages = Math.ceil(page.total / PAGE);
  for (const p of [$('#pager-top'), $('#pager-bottom')]) {
    p.replaceChildren();
    if (pages <= 1) continue;
    const cur = Math.floor(page.offset / PAGE);
    p.append(el('button', { text: '\u2190', onclick: () => go(cur - 1) }),
      'page ' + (cur + 1) + ' of ' + pages + ' (' + page.total + ' images)',
      el('button', { text: '\u2192', onclick: () => go(cur + 1) }));
  }
  function go(p) {
    if (p < 0 || p >= pages) return;
    state.offset = p * PAGE;
    loadBatch().catch(console.error);
  }
}

// ------------------------------------------------------------------ live

function connect() {
  const live = $('#live');
  const source = new EventSource('events');
  source.onopen = () => { live.textContent = 'live'; live.classList.add('on'); };
  source.onerror = () => { live.textContent = 'reconnecting\u2026'; live.classList.remove('on'); };
  source.addEventListener('batch', msg => onEvent(JSON.parse(msg.data)));
}

function onEvent(e) {
  if (e.type === 'progress' && e.jobId) {
    reloadWorkers();
    return;
  }
  const b = state.batches.get(e.batchId);
  if (b && e.type === 'progress' && e.done !== undefined) {
    b.done = e.done;
    const row = document.querySelector('tr[data-batch="' + CSS.escape(e.batchId) + '"] .progress-cell');
    if (row) row.replaceChildren(progressCell(e.done, e.total));
  } else {
    reloadBatches();
  }
  reloadWorkers();
  if (e.batchId === state.batchId) reloadBatch();
}

// ------------------------------------------------------------------ routing

function route() {
  const m = location.hash.match(/^#\/batch\/(.+)$/);
  $('#view-home').hidden = !!m;
  $('#view-batch').hidden = !m;
  if (m) {
    const id = decodeURIComponent(m[1]);
    if (id !== state.batchId) { state.offset = 0; $('#grid').replaceChildren(); }
    state.batchId = id;
    loadBatch().catch(e => { $('#batch-title').textContent = 'Batch ' + id + ': ' + e.message; });
  } else {
    state.batchId = null;
    loadBatches().catch(console.error);
    loadWorkers().catch(console.error);
    const anchor = { '#/submit': '#submit-panel', '#/workers': '#workers-panel' }[location.hash];
    if (anchor) $(anchor).scrollIntoView();
  }
}

$('#submit-form').addEventListener('submit', ev => submit(ev).catch(e => {
  $('#submit-status').className = 'status-line bad';
  $('#submit-status').textContent = e.message;
}));
window.addEventListener('hashchange', route);
setInterval(() => document.querySelectorAll('.age').forEach(c => { c.textContent = age(Number(c.dataset.at)); }), 5000);
connect();
route();
