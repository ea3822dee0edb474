// Skynet's web UI: Runs, Projects, Applications and one page per run, on the HTTP API only
// (README "HTTP API"). Plain JavaScript, no build step: the daemon serves this file as it is.
//
// - Routing is client-side (history API); the daemon answers every page path with index.html.
//   Page paths: /, /runs, /projects, /applications, /run/<id> (native/ui/assets.cc lists them too).
// - The admin key lives in sessionStorage for this browser tab's session only, and goes to the
//   server as "Authorization: Bearer" on changes, never in a URL.
// - Every text from the server reaches the page through textContent (see h()), never as HTML.
'use strict';

const STATES = ['scheduled', 'running', 'succeeded', 'failed', 'warning', 'timed_out', 'lost',
                'deferred', 'cancelled'];
const LIVE_STATES = new Set(['scheduled', 'running', 'deferred']);
const PAGE_SIZE = 50;
const KEY_STORAGE = 'skynet.adminKey';
const RUN_POLL_MS = 2000;
const LIST_POLL_MS = 5000;

// ---------------------------------------------------------------------------------------------
// DOM helpers

// h('a', {href: '/x', class: 'btn'}, 'text', child...): an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  appendAll(el, children);
  return el;
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
}

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------------------------------------
// Formatting

function plural(n, one, many) { return `${n} ${n === 1 ? one : (many || one + 's')}`; }

function exactUtc(ts) {
  return new Date(ts * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function relative(ts, now = Date.now() / 1000) {
  const delta = ts - now;
  const abs = Math.abs(delta);
  let text;
  if (abs < 10) return delta <= 0 ? 'just now' : 'in a few seconds';
  if (abs < 60) text = `${Math.round(abs)} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.round(abs / 3600)} h`;
  else if (abs < 86400 * 60) text = plural(Math.round(abs / 86400), 'day');
  else return new Date(ts * 1000).toISOString().slice(0, 10);
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

// A time as "3 min ago" with the exact UTC time on hover; "—" when there is none.
function timeCell(ts) {
  if (ts === null || ts === undefined || ts === '') return h('span', {class: 'text-muted'}, '—');
  return h('time', {datetime: new Date(ts * 1000).toISOString(), title: exactUtc(ts), 'data-ts': ts},
           relative(ts));
}

function refreshRelativeTimes() {
  for (const el of document.querySelectorAll('time[data-ts]')) {
    el.textContent = relative(Number(el.dataset.ts));
  }
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function runDuration(run) {
  if (run.duration !== null && run.duration !== undefined) return run.duration;
  if (run.state === 'running' && run.start_ts) return Math.max(0, Date.now() / 1000 - run.start_ts);
  return null;
}

function stateBadge(state) {
  const label = (state || 'unknown').replace('_', ' ');
  return h('span', {class: `badge state-badge state-${state}`, title: `state: ${state}`}, label);
}

// ---------------------------------------------------------------------------------------------
// The admin key

const admin = {
  key() { return sessionStorage.getItem(KEY_STORAGE) || ''; },
  set(key) { sessionStorage.setItem(KEY_STORAGE, key); renderAdminArea(); },
  clear() { sessionStorage.removeItem(KEY_STORAGE); renderAdminArea(); },
};

function renderAdminArea() {
  const area = $('#admin-area');
  if (admin.key()) {
    replace(area,
      h('span', {class: 'badge text-bg-warning', id: 'admin-badge'}, 'admin'),
      h('button', {class: 'btn btn-sm btn-outline-light', type: 'button', id: 'sign-out',
                   onclick: () => { admin.clear(); flash('info', 'Signed out: the admin key is forgotten.'); route(); }},
        'Sign out'));
  } else {
    replace(area, h('button', {class: 'btn btn-sm btn-outline-light', type: 'button', id: 'sign-in',
                               onclick: () => askForKey().then(ok => ok && route())}, 'Admin key'));
  }
}

// Asks for the admin key and checks it with the server before keeping it. The check is a create
// with no fields: with a right key the server refuses the missing name (400) and creates nothing;
// with a wrong one it answers 401, and 403 when management is disabled.
function askForKey(reason) {
  return new Promise(resolve => {
    const input = h('input', {type: 'password', class: 'form-control', id: 'admin-key-input',
                              autocomplete: 'off', required: true, 'aria-label': 'Admin key'});
    const error = h('div', {class: 'text-danger small mt-2', id: 'admin-key-error'});
    const form = h('form', {onsubmit: async event => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      replace(error);
      const answer = await api('POST', '/api/project', {form: {}, key, quiet: true});
      if (answer.status === 401) {
        replace(error, 'Wrong admin key: the server refused it (401). Check api.admin_key in skynet.conf.');
        input.select();
        return;
      }
      if (answer.status === 403 || answer.status === 0 || answer.status >= 500) {
        replace(error, answer.message);
        return;
      }
      admin.set(key);
      resolve(true);
      closeDialog();
      flash('success', 'Admin key accepted for this browser session.');
    }},
      h('p', {}, reason || 'Changes need the admin key (api.admin_key in skynet.conf). It is kept in this browser tab until you sign out or close it.'),
      input, error,
      dialogButtons('Use this key'));
    openDialog('Admin key', form, () => resolve(false));
    input.focus();
  });
}

// Resolves true when a key is there or was just entered.
async function needKey(reason) {
  return admin.key() ? true : askForKey(reason);
}

// ---------------------------------------------------------------------------------------------
// The API

// Resolves {ok, status, data, total, message}; never rejects. `form` is sent form-encoded.
async function api(method, path, {form, key, params, quiet} = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = {Accept: 'application/json'};
  const bearer = key === undefined ? '' : key;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body;
  if (form) {
    body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) {
      if (value !== undefined && value !== null) body.set(name, value);
    }
  }
  let response;
  try {
    response = await fetch(url, {method, headers, body, cache: 'no-store'});
  } catch (e) {
    return {ok: false, status: 0, message: `Cannot reach the Skynet daemon (${e.message}).`};
  }
  const text = await response.text();
  let data = text;
  if ((response.headers.get('Content-Type') || '').includes('application/json')) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  const total = response.headers.get('X-Total-Count');
  const result = {ok: response.ok, status: response.status, data,
                  total: total === null ? null : Number(total)};
  if (!response.ok) {
    const said = data && typeof data === 'object' && data.message ? data.message : '';
    result.message = describeFailure(response.status, said);
    if (response.status === 401 && bearer && !quiet && bearer === admin.key()) {
      admin.clear();
      result.message = 'Wrong admin key: the server refused it (401). Enter it again with "Admin key".';
    }
  }
  return result;
}

function describeFailure(status, said) {
  const plain = {
    400: 'The server refused the request', 401: 'Not authorized', 403: 'Forbidden',
    404: 'Not found', 405: 'Not allowed', 409: 'Not possible now', 413: 'Too large',
    415: 'Unsupported request', 503: 'The daemon is unavailable',
  }[status] || `The server answered ${status}`;
  return said ? `${said}` : `${plain} (HTTP ${status}).`;
}

function adminApi(method, path, form) {
  return api(method, path, {form: form || {}, key: admin.key()});
}

// ---------------------------------------------------------------------------------------------
// Messages, dialogs

function flash(kind, message) {
  const box = h('div', {class: `alert alert-${kind} alert-dismissible py-2`, role: 'alert'},
    message,
    h('button', {type: 'button', class: 'btn-close', 'aria-label': 'Close',
                 onclick: event => event.target.parentElement.remove()}));
  replace($('#flash'), box);
}

function clearFlash() { replace($('#flash')); }

function toast(message) {
  const el = h('div', {class: 'skynet-toast shadow'}, message);
  $('#toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

// `onClose` runs when the dialog closes, however (button, Escape, a submit that succeeded).
function openDialog(title, body, onClose) {
  const dialog = $('#dialog');
  if (dialog.open) closeDialog();
  if (onClose) dialog.addEventListener('closed', onClose, {once: true});
  replace(dialog,
    h('div', {class: 'dialog-header'},
      h('h2', {class: 'h5 m-0'}, title),
      h('button', {type: 'button', class: 'btn-close', 'aria-label': 'Close', onclick: closeDialog})),
    h('div', {class: 'dialog-body'}, body));
  if (!dialog.open) dialog.showModal();
}

function closeDialog() {
  const dialog = $('#dialog');
  if (dialog.open) dialog.close();
  dialog.dispatchEvent(new Event('closed'));
}

// Shows a message in a dialog's error box (placed above its buttons) and scrolls to it.
function showError(box, message) {
  box.textContent = message;
  box.classList.remove('d-none');
  (box.nextElementSibling || box).scrollIntoView({block: 'nearest'});  // the buttons below it too
}

function dialogButtons(label, onCancel, danger) {
  return h('div', {class: 'dialog-buttons'},
    h('button', {type: 'button', class: 'btn btn-outline-secondary',
                 onclick: () => { closeDialog(); if (onCancel) onCancel(); }}, 'Cancel'),
    h('button', {type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, id: 'dialog-submit'}, label));
}

// Asks a yes/no question; resolves true on yes.
function confirmDialog(title, message, label) {
  return new Promise(resolve => {
    const form = h('form', {onsubmit: event => { event.preventDefault(); resolve(true); closeDialog(); }},
      h('div', {class: 'mb-3', id: 'confirm-message'}, message),
      dialogButtons(label, null, true));
    openDialog(title, form, () => resolve(false));
  });
}

// A form in a dialog. `fields`: [{name, label, type, value, help, required, options, placeholder}].
// `submit(values)` resolves an api() result; the dialog stays open with the message on failure.
function formDialog(title, fields, label, submit) {
  const inputs = {};
  const rows = fields.map(field => {
    const id = `field-${field.name}`;
    let input;
    if (field.type === 'select') {
      input = h('select', {class: 'form-select', id, name: field.name, required: field.required},
        field.options.map(([value, text]) => h('option', {value, selected: String(value) === String(field.value)}, text)));
    } else if (field.type === 'textarea') {
      input = h('textarea', {class: 'form-control', id, name: field.name, rows: 3,
                             placeholder: field.placeholder});
      input.value = field.value || '';
    } else if (field.type === 'checkbox') {
      input = h('input', {class: 'form-check-input', type: 'checkbox', id, name: field.name,
                          checked: Boolean(Number(field.value))});
      inputs[field.name] = input;
      return h('div', {class: 'form-check mb-3'}, input,
        h('label', {class: 'form-check-label', for: id}, field.label),
        field.help && h('div', {class: 'form-text'}, field.help));
    } else {
      input = h('input', {class: 'form-control', id, name: field.name, type: field.type || 'text',
                          required: field.required, placeholder: field.placeholder, min: field.min,
                          autocomplete: 'off', spellcheck: 'false'});
      input.value = field.value === null || field.value === undefined ? '' : field.value;
    }
    inputs[field.name] = input;
    return h('div', {class: 'mb-3'},
      h('label', {class: 'form-label', for: id}, field.label, field.required && h('span', {class: 'text-danger'}, ' *')),
      input,
      field.help && h('div', {class: 'form-text'}, field.help));
  });
  const error = h('div', {class: 'alert alert-danger py-2 d-none', id: 'dialog-error', role: 'alert'});
  const form = h('form', {novalidate: true, onsubmit: async event => {
    event.preventDefault();
    const values = {};
    for (const [name, input] of Object.entries(inputs)) {
      values[name] = input.type === 'checkbox' ? (input.checked ? '1' : '0') : input.value.trim();
    }
    const missing = fields.filter(f => f.required && !values[f.name]).map(f => f.label);
    if (missing.length) {
      showError(error, `Please fill in: ${missing.join(', ')}.`);
      return;
    }
    const button = $('#dialog-submit', form);
    button.disabled = true;
    const answer = await submit(values);
    button.disabled = false;
    if (!answer.ok) {
      showError(error, answer.message);
      return;
    }
    closeDialog();
  }}, rows, error, dialogButtons(label));
  openDialog(title, form);
  const first = form.querySelector('input:not([type=checkbox]), select, textarea');
  if (first) first.focus();
  return inputs;
}

// ---------------------------------------------------------------------------------------------
// Lists with search and server-side paging, shared by the three list pages

function pageParams() {
  const params = new URLSearchParams(location.search);
  return {
    q: params.get('q') || '',
    page: Math.max(1, Number(params.get('page')) || 1),
    state: (params.get('state') || '').split(',').filter(s => STATES.includes(s)),
    kind: ['job', 'task'].includes(params.get('kind')) ? params.get('kind') : '',
  };
}

// Changes the page's query string (search, filters, paging) and renders again.
function setParams(changes) {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === '' || value === null || value === undefined || (Array.isArray(value) && !value.length)) params.delete(name);
    else params.set(name, Array.isArray(value) ? value.join(',') : value);
  }
  if (!('page' in changes)) params.delete('page');
  const query = params.toString();
  history.replaceState(null, '', location.pathname + (query ? `?${query}` : ''));
  route();
}

function searchBox(q, placeholder, categories) {
  const input = h('input', {type: 'search', class: 'form-control', id: 'search', name: 'q',
                            placeholder, value: q, autocomplete: 'off', spellcheck: 'false',
                            'aria-label': 'Search'});
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => setParams({q: input.value.trim()}), 500);
  });
  const form = h('form', {class: 'search-form', role: 'search', onsubmit: event => {
    event.preventDefault();
    clearTimeout(timer);
    setParams({q: input.value.trim()});
  }},
    h('div', {class: 'input-group'}, input,
      h('button', {class: 'btn btn-outline-secondary', type: 'submit', id: 'search-button'}, 'Search')),
    h('div', {class: 'form-text'}, 'Search with ', categories.map((c, i) => [i ? ', ' : '', h('code', {}, `${c}:`)]),
      ' followed by a value (quote it when it has spaces); other words search the text.'));
  return form;
}

const count = n => Number(n).toLocaleString('en');

function pager(total, page, shown) {
  if (total === null || total === undefined) total = (page - 1) * PAGE_SIZE + shown;
  const first = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const last = (page - 1) * PAGE_SIZE + shown;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return h('nav', {class: 'd-flex align-items-center gap-2 my-2 pager', 'aria-label': 'Pages'},
    h('span', {class: 'text-muted small', id: 'total'},
      total === 0 ? 'none' : `${count(first)}–${count(last)} of ${count(total)}`),
    pages > 1 && h('div', {class: 'btn-group btn-group-sm ms-auto'},
      h('button', {class: 'btn btn-outline-secondary', id: 'page-prev', disabled: page <= 1,
                   onclick: () => setParams({page: page - 1})}, '‹ Newer'),
      h('span', {class: 'btn btn-outline-secondary disabled'}, `page ${count(page)} of ${count(pages)}`),
      h('button', {class: 'btn btn-outline-secondary', id: 'page-next', disabled: page >= pages,
                   onclick: () => setParams({page: page + 1})}, 'Older ›')));
}

function emptyState(title, ...what) {
  return h('div', {class: 'empty-state', id: 'empty-state'}, h('p', {class: 'fw-semibold mb-1'}, title),
           h('p', {class: 'mb-0 text-muted'}, what));
}

function pageHeader(title, ...actions) {
  return h('div', {class: 'd-flex flex-wrap align-items-center gap-2 mb-3'},
    h('h1', {class: 'h3 m-0 me-auto'}, title), actions);
}

function quoteValue(value) {
  return /[\s"]/.test(String(value)) ? `"${String(value).replace(/"/g, '')}"` : String(value);
}

// ---------------------------------------------------------------------------------------------
// Runs

async function cancelRun(run) {
  if (!(await needKey('Cancelling a run needs the admin key.'))) return false;
  const what = run.state === 'running'
    ? `Run #${run.id} is running: its process group will be stopped and the run recorded as cancelled.`
    : `Run #${run.id} is scheduled: it will not start, and is recorded as cancelled.`;
  if (!(await confirmDialog(`Cancel run #${run.id}?`, what, 'Cancel the run'))) return false;
  const answer = await adminApi('POST', `/api/run/${run.id}/cancel`);
  if (!answer.ok) { flash('danger', answer.message); return false; }
  toast(answer.status === 202 ? `Run #${run.id}: cancel requested, the daemon stops it.` : `Run #${run.id} cancelled.`);
  return true;
}

function runOwner(run) {
  if (run.kind === 'task') return h('span', {}, run.site || `node ${run.task_rid}`);
  return h('a', {href: `/projects?q=${encodeURIComponent(`name: ${quoteValue(run.project_name)}`)}`, 'data-route': true},
           run.project_name || `project ${run.project_id}`);
}

function runWhat(run) {
  if (run.kind === 'task') return h('span', {}, h('span', {class: 'badge text-bg-light border me-1'}, 'Aegir'), run.task_type);
  return h('a', {href: `/applications?q=${encodeURIComponent(`name: ${quoteValue(run.application_name)}`)}`, 'data-route': true},
           run.application_name || `application ${run.application_id}`);
}

function runRow(run) {
  const cancellable = run.kind === 'job' && (run.state === 'scheduled' || run.state === 'running') && !run.cancel_requested;
  return h('tr', {dataset: {runId: run.id, state: run.state}},
    h('td', {}, h('a', {href: `/run/${run.id}`, 'data-route': true, class: 'run-link'}, `#${run.id}`)),
    h('td', {}, stateBadge(run.state), run.cancel_requested && run.state === 'running' ? h('span', {class: 'small text-muted ms-1'}, 'cancelling') : null,
      h('div', {class: 'd-sm-none small text-muted'}, formatDuration(runDuration(run)))),  // phones: no duration column
    h('td', {class: 'd-none d-sm-table-cell'}, runOwner(run)),
    h('td', {}, runWhat(run)),
    h('td', {class: 'd-none d-md-table-cell'}, timeCell(run.schedule_ts)),
    h('td', {class: 'd-none d-sm-table-cell'}, timeCell(run.start_ts)),
    h('td', {class: 'text-nowrap d-none d-sm-table-cell'}, formatDuration(runDuration(run))),
    h('td', {class: 'd-none d-lg-table-cell text-truncate command-cell', title: run.command}, h('code', {}, run.command)),
    h('td', {class: 'text-end text-nowrap'},
      h('a', {class: 'btn btn-sm btn-link d-none d-sm-inline-block', href: `/api/run/${run.id}.raw`, target: '_blank', rel: 'noopener'}, 'log'),
      cancellable && h('button', {class: 'btn btn-sm btn-outline-danger', 'data-action': 'cancel',
                                  onclick: async () => { if (await cancelRun(run)) route(); }}, 'Cancel')));
}

async function runsPage(main) {
  const {q, page, state, kind} = pageParams();
  const params = {limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE};
  let answer;
  if (q) {
    // State and kind filters join the query as categories: same category ORs, categories AND.
    const filters = [...state.map(s => `state: ${s}`), kind ? `kind: ${kind}` : ''].filter(Boolean);
    answer = await api('GET', '/api/run/search', {params: {...params, q: [q, ...filters].join(' ')}});
  } else {
    answer = await api('GET', '/api/run/list', {params: {...params, state: state.join(','), kind}});
  }
  const filterBar = h('div', {class: 'd-flex flex-wrap gap-1 my-2 state-filters', role: 'group', 'aria-label': 'Filter by state'},
    STATES.map(s => h('button', {type: 'button', 'data-state': s,
      class: `btn btn-sm filter-chip ${state.includes(s) ? 'active' : ''}`, 'aria-pressed': state.includes(s) ? 'true' : 'false',
      onclick: () => setParams({state: state.includes(s) ? state.filter(x => x !== s) : [...state, s]})},
      stateBadge(s))),
    h('select', {class: 'form-select form-select-sm w-auto ms-md-auto', id: 'kind-filter', 'aria-label': 'Kind',
                 onchange: event => setParams({kind: event.target.value})},
      [['', 'jobs and Aegir tasks'], ['job', 'jobs only'], ['task', 'Aegir tasks only']].map(
        ([value, text]) => h('option', {value, selected: value === kind}, text))),
    (state.length || kind) && h('button', {type: 'button', class: 'btn btn-sm btn-link', id: 'clear-filters',
                                           onclick: () => setParams({state: [], kind: ''})}, 'clear filters'));
  const parts = [
    pageHeader('Runs', h('a', {class: 'btn btn-primary btn-sm', href: '/applications', 'data-route': true}, 'Schedule a run…')),
    searchBox(q, 'e.g. project: demo state: failed  timeout', ['id', 'state', 'kind', 'project', 'application', 'site', 'type', 'host']),
    filterBar,
  ];
  if (!answer.ok) {
    replace(main, parts, h('div', {class: 'alert alert-danger', role: 'alert', id: 'load-error'}, answer.message));
    return;
  }
  const runs = Array.isArray(answer.data) ? answer.data : [];
  if (!runs.length) {
    const filtered = q || state.length || kind;
    replace(main, parts, filtered
      ? emptyState('No run matches.', 'Change the search or the filters, or ',
                   h('a', {href: '/runs', 'data-route': true}, 'show all runs'), '.')
      : emptyState('No runs yet.', 'Create a project and an application on the ',
                   h('a', {href: '/applications', 'data-route': true}, 'Applications'),
                   ' page, then schedule a run there. Aegir tasks show up here as the daemon runs them.'));
    return;
  }
  const table = h('div', {class: 'table-responsive'},
    h('table', {class: 'table table-sm table-hover align-middle runs-table', id: 'runs-table'},
      h('thead', {}, h('tr', {},
        h('th', {}, 'Run'), h('th', {}, 'State'), h('th', {class: 'd-none d-sm-table-cell'}, 'Project / site'), h('th', {}, 'Application / task'),
        h('th', {class: 'd-none d-md-table-cell'}, 'Scheduled'), h('th', {class: 'd-none d-sm-table-cell'}, 'Started'),
        h('th', {class: 'd-none d-sm-table-cell'}, 'Duration'), h('th', {class: 'd-none d-lg-table-cell'}, 'Command'), h('th', {}))),
      h('tbody', {}, runs.map(runRow))));
  replace(main, parts, pager(answer.total, page, runs.length), table);
  if (runs.some(run => LIVE_STATES.has(run.state))) schedulePoll(LIST_POLL_MS, () => route());
}

function detail(label, ...value) {
  return [h('dt', {class: 'col-sm-3 col-lg-2'}, label), h('dd', {class: 'col-sm-9 col-lg-4'}, value)];
}

function curlBlock(title, command) {
  const code = h('pre', {class: 'curl-command mb-1'}, command);
  return h('div', {class: 'mb-3'},
    h('div', {class: 'd-flex align-items-center mb-1'}, h('span', {class: 'fw-semibold me-auto'}, title),
      h('button', {class: 'btn btn-sm btn-outline-secondary', type: 'button', onclick: () => copyText(command)}, 'Copy')),
    code);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const area = h('textarea', {class: 'visually-hidden'});
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  toast('Copied to the clipboard.');
}

function shellQuote(text) { return `'${String(text).replace(/'/g, `'\\''`)}'`; }

function curlCommands(run) {
  const base = `${location.origin}/api/run`;
  const token = shellQuote(`token=${run.token}`);
  return [
    curlBlock('Report the start',
      `curl -X PUT -d ${token} -d "ts=$(date +%s.%N)" ${base}/start/${run.id}`),
    curlBlock('Report the stop (exit code and the log from run.log)',
      `curl -X PUT -d ${token} -d "ts=$(date +%s.%N)" -d exit_code=0 --data-urlencode log@run.log ${base}/stop/${run.id}`),
  ];
}

async function runPage(main, id) {
  const answer = await api('GET', `/api/run/${id}`, {key: admin.key() || undefined});
  if (!answer.ok) {
    replace(main, pageHeader(`Run #${id}`),
      h('div', {class: 'alert alert-danger', id: 'load-error'}, answer.status === 404 ? `There is no run #${id}.` : answer.message),
      h('a', {href: '/runs', 'data-route': true}, '← all runs'));
    return;
  }
  const run = Array.isArray(answer.data) ? answer.data[0] : answer.data;
  const live = LIVE_STATES.has(run.state);
  const cancellable = run.kind === 'job' && (run.state === 'scheduled' || run.state === 'running') && !run.cancel_requested;
  const logBox = h('pre', {class: 'run-log', id: 'run-log', tabindex: 0}, run.raw_log || '');
  const previous = $('#run-log');
  const keepAtEnd = !previous || previous.scrollTop + previous.clientHeight >= previous.scrollHeight - 8;
  if (run.state === 'running') {
    const raw = await api('GET', `/api/run/${id}.raw`);
    if (raw.ok && typeof raw.data === 'string') logBox.textContent = raw.data;
  }
  if (!logBox.textContent) {
    logBox.textContent = run.state === 'scheduled' ? 'The run has not started yet; its output appears here once it runs.' : '(no output)';
    logBox.classList.add('text-muted');
  }
  const facts = [
    ...(run.kind === 'task'
      ? [detail('Site', run.site || `node ${run.task_rid}`), detail('Task', `${run.task_type} (node ${run.task_nid})`)]
      : [detail('Project', h('a', {href: `/projects?q=${encodeURIComponent(`name: ${quoteValue(run.project_name)}`)}`, 'data-route': true}, run.project_name)),
         detail('Application', h('a', {href: `/runs?q=${encodeURIComponent(`application_id: ${run.application_id}`)}`, 'data-route': true}, run.application_name))]),
    detail('Scheduled', timeCell(run.schedule_ts)),
    detail('Started', timeCell(run.start_ts)),
    detail('Ended', timeCell(run.end_ts)),
    detail('Duration', formatDuration(runDuration(run))),
    detail('Exit code', run.exit_code === null || run.exit_code === undefined ? '—' : String(run.exit_code),
           run.signal ? ` (signal ${run.signal})` : ''),
    detail('Worker', run.host ? `${run.host}, pid ${run.pid || '—'}` : '—'),
    detail('Directory', h('code', {}, run.directory || '—')),
    detail('Command', h('code', {}, run.command || '—')),
    run.attempts > 1 && detail('Attempts', String(run.attempts)),
    run.message && detail('Message', run.message),
    run.cancel_requested && detail('Cancel', `requested by ${run.cancelled_by || 'api'}`),
  ];
  let tokenPart;
  if (run.token) {
    tokenPart = h('section', {class: 'card mt-3', id: 'curl-section'}, h('div', {class: 'card-body'},
      h('h2', {class: 'h6'}, 'Report this run from anywhere'),
      h('p', {class: 'small text-muted'}, 'These carry the run\'s token: treat them like a password.'),
      curlCommands(run)));
  } else if (run.kind === 'job') {
    tokenPart = h('p', {class: 'small text-muted mt-3', id: 'curl-hint'},
      'Sign in with the admin key to see this run\'s token and ready-made curl commands to report its start and stop.');
  }
  replace(main,
    h('p', {class: 'mb-2'}, h('a', {href: '/runs', 'data-route': true}, '← all runs')),
    pageHeader([`Run #${run.id} `, stateBadge(run.state), ' ',
                h('span', {class: 'badge text-bg-light border'}, run.kind === 'task' ? 'Aegir task' : 'job')],
      cancellable && h('button', {class: 'btn btn-outline-danger btn-sm', id: 'cancel-run',
                                  onclick: async () => { if (await cancelRun(run)) route(); }}, 'Cancel run'),
      h('a', {class: 'btn btn-outline-secondary btn-sm', href: `/api/run/${run.id}.raw`, target: '_blank', rel: 'noopener', id: 'raw-log-link'}, 'Raw log')),
    h('dl', {class: 'row run-facts'}, facts),
    h('h2', {class: 'h6 d-flex align-items-center gap-2'}, 'Log',
      run.state === 'running' && h('span', {class: 'small text-muted fw-normal', id: 'live-note'}, 'live, every 2 s')),
    logBox,
    tokenPart);
  if (run.state === 'running' && keepAtEnd) logBox.scrollTop = logBox.scrollHeight;
  if (live) schedulePoll(RUN_POLL_MS, () => route());
}

// ---------------------------------------------------------------------------------------------
// Projects

function projectFields(project) {
  return [
    {name: 'name', label: 'Name', required: true, value: project.name, placeholder: 'e.g. climate',
     help: 'Unique; search for it with name: …'},
    {name: 'title', label: 'Title', value: project.title},
    {name: 'directory', label: 'Directory', value: project.directory, placeholder: '<name>/',
     help: 'The project\'s folder inside the daemon\'s runs.workdir; empty means "<name>/".'},
    {name: 'description', label: 'Description', type: 'textarea', value: project.description},
  ];
}

async function editProject(project) {
  if (!(await needKey('Creating or changing a project needs the admin key.'))) return;
  const creating = !project.id;
  formDialog(creating ? 'New project' : `Edit project ${project.name}`, projectFields(project),
    creating ? 'Create project' : 'Save', async values => {
      const answer = await adminApi('POST', creating ? '/api/project' : `/api/project/${project.id}`, values);
      if (answer.ok) { toast(creating ? `Project ${values.name} created.` : `Project ${values.name} saved.`); route(); }
      return answer;
    });
}

async function deleteProject(project) {
  if (!(await needKey('Deleting a project needs the admin key.'))) return;
  const apps = await api('GET', '/api/application/search',
                         {params: {q: `project_id: ${project.id}`, limit: 1000}});
  const list = apps.ok && Array.isArray(apps.data) ? apps.data : [];
  const runCount = list.reduce((sum, app) => sum + (Number(app.run_count) || 0), 0);
  const count = Number(project.application_count) || list.length;
  const message = count
    ? [`This deletes project ${project.name}, its ${plural(count, 'application')}`,
       list.length ? ` (${list.map(a => a.name).join(', ')})` : '',
       ` and their ${plural(runCount, 'run')}. This cannot be undone.`]
    : `This deletes project ${project.name}. It has no applications.`;
  if (!(await confirmDialog(`Delete project ${project.name}?`, message, 'Delete project'))) return;
  const answer = await api('DELETE', `/api/project/${project.id}`, {key: admin.key()});
  if (!answer.ok) { flash('danger', answer.message); return; }
  const deleted = (answer.data && answer.data.deleted) || {};
  toast(`Deleted project ${project.name} with ${plural(deleted.applications || 0, 'application')} and ${plural(deleted.runs || 0, 'run')}.`);
  route();
}

async function projectsPage(main) {
  const {q, page} = pageParams();
  const params = {limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE};
  const answer = q ? await api('GET', '/api/project/search', {params: {...params, q}})
                   : await api('GET', '/api/project/list', {params});
  const parts = [
    pageHeader('Projects', h('button', {class: 'btn btn-primary btn-sm', id: 'new-project', onclick: () => editProject({})}, 'New project')),
    searchBox(q, 'e.g. name: climate  or words of the description', ['name', 'title']),
  ];
  if (!answer.ok) { replace(main, parts, h('div', {class: 'alert alert-danger', id: 'load-error'}, answer.message)); return; }
  const projects = Array.isArray(answer.data) ? answer.data : [];
  if (!projects.length) {
    replace(main, parts, q
      ? emptyState('No project matches.', 'Change the search, or ', h('a', {href: '/projects', 'data-route': true}, 'show all projects'), '.')
      : emptyState('No projects yet.', 'A project is a folder of applications. Create one with "New project" (you need the admin key).'));
    return;
  }
  const rows = projects.map(project => h('tr', {dataset: {projectId: project.id}},
    h('td', {class: 'fw-semibold'}, project.name),
    h('td', {}, project.title),
    h('td', {class: 'd-none d-md-table-cell'}, h('code', {}, project.directory)),
    h('td', {class: 'd-none d-lg-table-cell text-truncate description-cell', title: project.description}, project.description),
    h('td', {}, h('a', {href: `/applications?q=${encodeURIComponent(`project_id: ${project.id}`)}`, 'data-route': true},
                  plural(Number(project.application_count) || 0, 'application'))),
    h('td', {class: 'text-end text-nowrap'},
      h('button', {class: 'btn btn-sm btn-outline-secondary', 'data-action': 'edit', onclick: () => editProject(project)}, 'Edit'), ' ',
      h('button', {class: 'btn btn-sm btn-outline-danger', 'data-action': 'delete', onclick: () => deleteProject(project)}, 'Delete'))));
  replace(main, parts, pager(answer.total, page, projects.length),
    h('div', {class: 'table-responsive'}, h('table', {class: 'table table-sm table-hover align-middle', id: 'projects-table'},
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Title'), h('th', {class: 'd-none d-md-table-cell'}, 'Directory'),
                        h('th', {class: 'd-none d-lg-table-cell'}, 'Description'), h('th', {}, 'Applications'), h('th', {}))),
      h('tbody', {}, rows))));
}

// ---------------------------------------------------------------------------------------------
// Applications

async function editApplication(app) {
  if (!(await needKey('Creating or changing an application needs the admin key.'))) return;
  const projects = await api('GET', '/api/project/list', {params: {limit: 1000}});
  if (!projects.ok) { flash('danger', projects.message); return; }
  if (!projects.data.length) {
    flash('warning', 'Create a project first: an application belongs to a project.');
    return;
  }
  const creating = !app.id;
  const fields = [
    {name: 'project_id', label: 'Project', type: 'select', required: true, value: app.project_id,
     options: projects.data.map(p => [p.id, p.title ? `${p.name} — ${p.title}` : p.name])},
    {name: 'name', label: 'Name', required: true, value: app.name, placeholder: 'e.g. nightly-model'},
    {name: 'command', label: 'Command', required: true, value: app.command, placeholder: 'e.g. ./run.sh --fast',
     help: 'Run with /bin/sh -c in the application\'s folder; exit code 0 means succeeded.'},
    {name: 'directory', label: 'Directory', value: app.directory, placeholder: '<name>/',
     help: 'The folder inside the project\'s; empty means "<name>/".'},
    {name: 'description', label: 'Description', type: 'textarea', value: app.description},
    {name: 'cron', label: 'Recurring schedule (cron)', value: app.cron, placeholder: 'e.g. 0 3 * * *',
     help: 'Five fields: minute hour day-of-month month day-of-week, in the daemon\'s time zone (runs.timezone). Empty: no recurring runs.'},
    {name: 'timeout', label: 'Timeout (seconds)', type: 'number', min: 0, value: app.timeout,
     help: 'Empty: the daemon\'s runs.timeout; 0: never.'},
    {name: 'allow_parallel', label: 'Allow runs of this application in parallel', type: 'checkbox', value: app.allow_parallel},
  ];
  formDialog(creating ? 'New application' : `Edit application ${app.name}`, fields,
    creating ? 'Create application' : 'Save', async values => {
      const answer = await adminApi('POST', creating ? '/api/application' : `/api/application/${app.id}`, values);
      if (answer.ok) { toast(creating ? `Application ${values.name} created.` : `Application ${values.name} saved.`); route(); }
      return answer;
    });
}

async function deleteApplication(app) {
  if (!(await needKey('Deleting an application needs the admin key.'))) return;
  const runs = Number(app.run_count) || 0;
  const message = runs ? `This deletes application ${app.name} and its ${plural(runs, 'run')}. This cannot be undone.`
                       : `This deletes application ${app.name}. It has no runs.`;
  if (!(await confirmDialog(`Delete application ${app.name}?`, message, 'Delete application'))) return;
  const answer = await api('DELETE', `/api/application/${app.id}`, {key: admin.key()});
  if (!answer.ok) { flash('danger', answer.message); return; }
  toast(`Deleted application ${app.name}.`);
  route();
}

function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time'; } catch (e) { return 'local time'; }
}

// The value of a datetime-local input for a Date, in the browser's zone.
function localInputValue(date) {
  const pad = n => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

async function scheduleRun(app) {
  if (!(await needKey('Scheduling a run needs the admin key.'))) return;
  const now = h('input', {class: 'form-check-input', type: 'radio', name: 'when', id: 'when-now', value: 'now', checked: true});
  const later = h('input', {class: 'form-check-input', type: 'radio', name: 'when', id: 'when-at', value: 'at'});
  const at = h('input', {class: 'form-control', type: 'datetime-local', id: 'schedule-at', step: 60,
                         value: localInputValue(new Date(Date.now() + 3600 * 1000))});
  at.addEventListener('focus', () => { later.checked = true; });
  const error = h('div', {class: 'alert alert-danger py-2 d-none', id: 'dialog-error'});
  const form = h('form', {onsubmit: async event => {
    event.preventDefault();
    const fields = {};
    if (later.checked) {
      const when = new Date(at.value);  // a datetime-local value is the browser's local time
      if (!at.value || Number.isNaN(when.getTime())) {
        showError(error, 'Choose a date and time, or "now".');
        return;
      }
      fields.schedule = when.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    const answer = await adminApi('POST', `/api/run/application/${app.id}`, fields);
    if (!answer.ok) { showError(error, answer.message); return; }
    closeDialog();
    const run = answer.data.entry;
    toast(`Run #${run.id} scheduled.`);
    navigate(`/run/${run.id}`);
  }},
    h('dl', {class: 'row small mb-2'},
      h('dt', {class: 'col-4'}, 'Application'), h('dd', {class: 'col-8'}, `${app.project_name} / ${app.name}`),
      h('dt', {class: 'col-4'}, 'Command'), h('dd', {class: 'col-8'}, h('code', {}, app.command))),
    h('div', {class: 'form-check'}, now, h('label', {class: 'form-check-label', for: 'when-now'}, 'Now')),
    h('div', {class: 'form-check mb-2'}, later, h('label', {class: 'form-check-label', for: 'when-at'}, 'At')),
    at,
    h('div', {class: 'form-text mb-3'}, `In your browser's time zone (${localZone()}); stored as UTC.`),
    error,
    dialogButtons('Schedule run'));
  openDialog(`Schedule a run of ${app.name}`, form);
}

function cronCell(app) {
  if (!app.cron) return h('span', {class: 'text-muted'}, '—');
  return h('span', {}, h('code', {}, app.cron),
           app.cron_next_ts ? h('span', {class: 'small text-muted d-block'}, 'next ', timeCell(app.cron_next_ts)) : null);
}

async function applicationsPage(main) {
  const {q, page} = pageParams();
  const params = {limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE};
  const answer = q ? await api('GET', '/api/application/search', {params: {...params, q}})
                   : await api('GET', '/api/application/list', {params});
  const parts = [
    pageHeader('Applications', h('button', {class: 'btn btn-primary btn-sm', id: 'new-application', onclick: () => editApplication({})}, 'New application')),
    searchBox(q, 'e.g. project: climate  command: run.sh', ['name', 'command', 'project', 'project_id']),
  ];
  if (!answer.ok) { replace(main, parts, h('div', {class: 'alert alert-danger', id: 'load-error'}, answer.message)); return; }
  const apps = Array.isArray(answer.data) ? answer.data : [];
  if (!apps.length) {
    replace(main, parts, q
      ? emptyState('No application matches.', 'Change the search, or ', h('a', {href: '/applications', 'data-route': true}, 'show all applications'), '.')
      : emptyState('No applications yet.', 'An application is a command run in a folder of a project. ',
                   h('a', {href: '/projects', 'data-route': true}, 'Create a project'),
                   ' first if there is none, then "New application" (you need the admin key).'));
    return;
  }
  const rows = apps.map(app => h('tr', {dataset: {applicationId: app.id}},
    h('td', {class: 'd-none d-sm-table-cell'}, app.project_name),
    h('td', {class: 'fw-semibold'}, app.name,
      app.description && h('div', {class: 'small text-muted fw-normal text-truncate description-cell', title: app.description}, app.description)),
    h('td', {class: 'd-none d-lg-table-cell'}, h('code', {}, `${app.project_directory || ''}`, h('b', {}, app.directory))),
    h('td', {class: 'd-none d-md-table-cell text-truncate command-cell', title: app.command}, h('code', {}, app.command)),
    h('td', {class: 'd-none d-sm-table-cell'}, cronCell(app)),
    h('td', {}, h('a', {href: `/runs?q=${encodeURIComponent(`application_id: ${app.id}`)}`, 'data-route': true},
                  plural(Number(app.run_count) || 0, 'run')), ' ', app.last_run ? stateBadge(app.last_run) : null),
    h('td', {class: 'text-end text-nowrap'},
      h('button', {class: 'btn btn-sm btn-success', 'data-action': 'schedule', title: 'Schedule a run',
                   onclick: () => scheduleRun(app)}, '▶ Run'), ' ',
      h('button', {class: 'btn btn-sm btn-outline-secondary', 'data-action': 'edit', onclick: () => editApplication(app)}, 'Edit'), ' ',
      h('button', {class: 'btn btn-sm btn-outline-danger', 'data-action': 'delete', onclick: () => deleteApplication(app)}, 'Delete'))));
  replace(main, parts, pager(answer.total, page, apps.length),
    h('div', {class: 'table-responsive'}, h('table', {class: 'table table-sm table-hover align-middle', id: 'applications-table'},
      h('thead', {}, h('tr', {}, h('th', {class: 'd-none d-sm-table-cell'}, 'Project'), h('th', {}, 'Name'), h('th', {class: 'd-none d-lg-table-cell'}, 'Directory'),
                        h('th', {class: 'd-none d-md-table-cell'}, 'Command'), h('th', {class: 'd-none d-sm-table-cell'}, 'Schedule'),
                        h('th', {}, 'Runs'), h('th', {}))),
      h('tbody', {}, rows))));
}

// ---------------------------------------------------------------------------------------------
// Routing

let pollTimer = null;
let renderCount = 0;

function schedulePoll(ms, refresh) {
  clearTimeout(pollTimer);
  const generation = renderCount;
  pollTimer = setTimeout(() => {
    // Not for a page left meanwhile, nor while a dialog is open or text is selected (to copy):
    // a re-render would pull it away.
    if (generation !== renderCount) return;
    if ($('#dialog').open || document.hidden || String(window.getSelection())) { schedulePoll(ms, refresh); return; }
    refresh();
  }, ms);
}

function navigate(path) {
  history.pushState(null, '', path);
  clearFlash();
  route();
}

async function route() {
  clearTimeout(pollTimer);
  const generation = ++renderCount;
  const path = location.pathname;
  const main = h('div', {});
  let section = 'runs';
  let title = 'Runs';
  const runMatch = path.match(/^\/run\/(\d+)$/);
  if (runMatch) { title = `Run #${runMatch[1]}`; await runPage(main, runMatch[1]); }
  else if (path === '/projects') { section = 'projects'; title = 'Projects'; await projectsPage(main); }
  else if (path === '/applications') { section = 'applications'; title = 'Applications'; await applicationsPage(main); }
  else await runsPage(main);
  if (generation !== renderCount) return;  // a newer navigation has rendered meanwhile
  const focused = document.activeElement && document.activeElement.id === 'search';
  const caret = focused ? document.activeElement.selectionStart : null;
  replace($('#main'), ...main.childNodes);
  if (focused && $('#search')) { $('#search').focus(); $('#search').setSelectionRange(caret, caret); }
  document.title = `${title} · Skynet`;
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === section && !runMatch);
  }
  document.body.dataset.rendered = String(generation);
}

document.addEventListener('click', event => {
  const link = event.target.closest('a[data-route]');
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  $('#nav-menu').classList.remove('show');
  navigate(link.getAttribute('href'));
});

window.addEventListener('popstate', () => route());

document.addEventListener('DOMContentLoaded', () => {
  $('#nav-toggle').addEventListener('click', () => {
    const menu = $('#nav-menu');
    menu.classList.toggle('show');
    $('#nav-toggle').setAttribute('aria-expanded', menu.classList.contains('show') ? 'true' : 'false');
  });
  $('#dialog').addEventListener('cancel', () => closeDialog());
  renderAdminArea();
  route();
  setInterval(refreshRelativeTimes, 30000);
});
