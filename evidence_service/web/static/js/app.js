// Shared helpers of every page: messages, the API client (bearer token in sessionStorage),
// element building (textContent only, never innerHTML), badges, and the header controls.

const messages = JSON.parse(document.getElementById('messages').textContent);
export const prefix = document.body.dataset.prefix || '/ui';
const TOKEN_KEY = 'evidence.token';

export function t(key) {
  return messages[key] ?? key;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`${prefix}/login?next=${encodeURIComponent(next)}`);
}

/** Call the JSON API; throws ApiError with the server's message; 401 goes to the login page. */
export async function api(path, { method = 'GET', body, raw = false, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  const bearer = token();
  if (bearer) init.headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      init.body = body;
    } else {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(path, init);
  if (response.status === 401 && document.body.dataset.needsLogin === 'true') {
    setToken(null);
    toLogin();
    throw new ApiError(401, 'login required');
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const payload = await response.json();
      message = payload.error?.message || payload.detail || message;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, message);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/** Build an element: el('a', {href: '/x', class: 'b'}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function badge(status) {
  return el('span', { class: `badge badge-${status}`, dataset: { status } }, t(`status.${status}`));
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(document.documentElement.lang, { hour12: false });
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) { value /= 1024; i += 1; }
  return `${i ? value.toFixed(1) : value} ${units[i]}`;
}

export function hash(hex) {
  return el('code', { class: 'hash', title: hex || '' }, hex || '—');
}

/** Fill a <dl> with [label, value] pairs. */
export function facts(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]));
}

export function showError(err) {
  const box = document.getElementById('error');
  box.textContent = `${t('common.error')}: ${err.message || err}`;
  box.hidden = false;
}

export function clearError() {
  document.getElementById('error').hidden = true;
}

/** Save a response body as a file the user downloads. */
export async function saveResponse(response, fallbackName) {
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename\*=UTF-8''([^;]+)/.exec(disposition) || /filename="?([^";]+)"?/.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function saveJson(data, name) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  return saveResponse(new Response(blob), name);
}

let me = null;
/** The signed-in principal (cached per page). */
export async function whoAmI() {
  if (!me) me = await api('/auth/me');
  return me;
}

let departments = null;
export async function departmentList() {
  if (!departments) departments = await api('/departments');
  return departments;
}

export async function departmentName(id) {
  const found = (await departmentList()).find((d) => d.id === id);
  return found ? `${found.name} (${found.code})` : id;
}

function setupHeader() {
  const toggle = document.getElementById('lang-toggle');
  toggle?.addEventListener('click', () => {
    document.cookie = `lang=${toggle.dataset.lang}; path=/; max-age=31536000; SameSite=Strict`;
    location.reload();
  });
  document.getElementById('logout')?.addEventListener('click', () => {
    setToken(null);
    location.assign(`${prefix}/login`);
  });
}

/** Run a page: checks the login when the page needs one, then calls main(). */
export function page(main) {
  setupHeader();
  const run = async () => {
    if (document.body.dataset.needsLogin === 'true') {
      if (!token()) { toLogin(); return; }
      const principal = await whoAmI();
      document.getElementById('who').textContent = principal.name;
    }
    await main();
  };
  run().catch((err) => { if (err.status !== 401) showError(err); });
}

/** An event handler whose errors show in the page's error box. */
export function guard(fn) {
  return (event) => {
    clearError();
    Promise.resolve(fn(event)).catch((err) => { if (err.status !== 401) showError(err); });
  };
}

/**
 * Hash a File with each of `algorithms` ('sha256', 'sm3'), each in its own worker, streamed in
 * slices (never whole in memory); onProgress(done, total) follows the slowest. Resolves to
 * the hex digests in the order asked.
 */
export function hashFile(file, algorithms, onProgress, chunk = 8 << 20) {
  const done = algorithms.map(() => 0);
  return Promise.all(algorithms.map((algorithm, i) => new Promise((resolve, reject) => {
    const worker = new Worker(`${prefix}/static/js/hash-worker.js`);
    worker.onmessage = ({ data }) => {
      if (data.error) { worker.terminate(); reject(new Error(data.error)); return; }
      done[i] = data.progress;
      onProgress?.(Math.min(...done), file.size);
      if (data.digest) { worker.terminate(); resolve(data.digest); }
    };
    worker.onerror = (event) => { worker.terminate(); reject(new Error(event.message)); };
    worker.postMessage({ file, algorithm, chunk });
  })));
}

const CUSTODY_ZH = {
  uploaded: '上传入库', viewed: '查看', downloaded: '下载', verified: '复核', analysed: '视频分析',
  derived_added: '生成衍生文件', transfer_sent: '移交发出', transfer_accepted: '接收移交',
  transfer_rejected: '拒收移交', approval_granted: '批准外发', graded: '定密', exported: '导出',
};

/** Render a custody timeline (GET …/custody) into an <ol>. */
export function renderTimeline(ol, events) {
  const zh = document.documentElement.lang.startsWith('zh');
  ol.replaceChildren(...events.map((e) => el('li', { class: `event event-${e.kind}`, dataset: { kind: e.kind } },
    el('time', { datetime: e.at }, fmtTime(e.at)), ' ',
    el('strong', {}, zh ? (CUSTODY_ZH[e.kind] || e.kind) : e.kind), ' ',
    el('span', {}, e.actor_name), ' ',
    el('span', { class: 'muted' }, `#${e.log_index}`), ' ',
    e.anchor
      ? el('span', { class: 'chain' }, `${t('custody.block')} ${e.anchor.block_number} · ${t('custody.tx')} `,
        hash(e.anchor.tx_hash))
      : el('span', { class: 'muted' }, t('custody.pending')),
    e.note ? el('div', { class: 'note' }, e.note) : null,
  )));
}
