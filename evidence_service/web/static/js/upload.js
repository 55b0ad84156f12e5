// Officer upload: tus resumable uploads (tus-js-client) with per-file progress and speed.
// An unfinished upload's URL is kept in localStorage under a fingerprint of the case and the
// file, so choosing the same file again after a reload or a crash continues from the last
// byte the server committed; network drops are retried by tus-js-client itself.
import { api, el, fmtBytes, guard, hashFile, page, prefix, showError, t, token } from './app.js';

const params = new URLSearchParams(location.search);
const CHUNK = Number(params.get('chunk')) || 8 * 1024 * 1024;
const RETRY = [0, 1000, 2000, 5000, 10000, 20000, 30000];
const TAG_FIELDS = ['party', 'cause_of_action', 'place', 'inspection_number', 'penalty_number'];

function withOffset(localValue) {
  // datetime-local has no zone: send the browser's own offset with it (ISO 8601)
  if (!localValue) return null;
  const date = new Date(localValue);
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const base = localValue.length === 16 ? `${localValue}:00` : localValue;
  return `${base}${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
}

function metadataFor(file) {
  const form = document.getElementById('meta');
  const meta = {
    case_id: form.case.value,
    filename: file.name,
    kind: form.kind.value,
    filetype: file.type || 'application/octet-stream',
    recorder_id: form.recorder_id.value.trim(),
    badge_number: form.badge_number.value.trim(),
    captured_at: withOffset(form.captured_at.value),
    location: form.location.value.trim(),
  };
  for (const tag of TAG_FIELDS) meta[`tag_${tag}`] = form[`tag_${tag}`].value.trim();
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v));
}

class Row {
  constructor(file) {
    this.bar = el('progress', { max: file.size || 1, value: 0, 'aria-label': file.name });
    this.state = el('span', { class: 'state' }, '');
    this.speed = el('span', { class: 'speed' }, '');
    this.name = el('span', { class: 'name' }, file.name);
    this.node = el('li', { class: 'upload', dataset: { file: file.name, state: 'waiting' } },
      this.name, el('span', { class: 'size' }, fmtBytes(file.size)),
      this.bar, this.state, this.speed);
    this.samples = [];
  }

  set(state, text) {
    this.node.dataset.state = state;
    this.state.textContent = text;
  }

  progress(done, total) {
    this.bar.max = total || 1;
    this.bar.value = done;
    this.node.dataset.offset = String(done);
    const now = performance.now();
    const last = this.samples[this.samples.length - 1];
    if (last && done < last[1]) this.samples = []; // a new phase, or a chunk sent again
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    if (now - t0 > 50 && done > b0) this.speed.textContent = `${fmtBytes(((done - b0) * 1000) / (now - t0))}/s`;
  }

  finished(size) {
    this.bar.max = size || 1;
    this.bar.value = size;
    this.node.dataset.offset = String(size);
  }
}

function fingerprint(caseId) {
  return (file) => Promise.resolve(['evidence', caseId, file.name, file.type, file.size,
    file.lastModified, location.origin].join('-'));
}

async function send(file) {
  const form = document.getElementById('meta');
  if (!form.reportValidity()) return;
  const row = new Row(file);
  document.getElementById('queue').append(row.node);
  const caseId = form.case.value;
  const options = {
    endpoint: '/uploads',
    chunkSize: CHUNK,
    retryDelays: RETRY,
    removeFingerprintOnSuccess: true,
    fingerprint: fingerprint(caseId),
    metadata: metadataFor(file),
    onBeforeRequest: (req) => { req.setHeader('Authorization', `Bearer ${token()}`); },
    onProgress: (done, total) => { row.set('uploading', t('upload.uploading')); row.progress(done, total); },
    onShouldRetry: (err, attempt, opts) => {
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
      if (status >= 400 && status < 500 && status !== 409 && status !== 423) return false;
      row.set('retrying', t('upload.retrying'));
      return attempt < opts.retryDelays.length;
    },
    onSuccess: (payload) => {
      const itemId = payload?.lastResponse?.getHeader('Evidence-Item-Id');
      row.finished(file.size);
      row.set('done', t('upload.done'));
      if (itemId) {
        row.node.dataset.itemId = itemId;
        row.state.replaceChildren(el('a', { href: `${prefix}/items/${itemId}` }, t('upload.done')));
      }
    },
    onError: (err) => {
      let message = err.message;
      try { message = JSON.parse(err.originalResponse.getBody()).error.message; } catch { /* keep */ }
      row.set('failed', `${t('upload.failed')}: ${message}`);
    },
  };
  const upload = new tus.Upload(file, options);
  const previous = await upload.findPreviousUploads();
  if (previous.length) {
    upload.resumeFromPreviousUpload(previous[0]);
    row.node.dataset.resumed = 'true';
    row.set('uploading', t('upload.resumed'));
    row.name.append(el('span', { class: 'muted' }, ` · ${t('upload.resumed')}`));
  } else {
    row.set('hashing', t('upload.hashing'));
    const [sha256] = await hashFile(file, ['sha256'], (done, total) => row.progress(done, total));
    upload.options.metadata.sha256 = sha256;
    row.node.dataset.sha256 = sha256;
  }
  upload.start();
}

function sendAll(files) {
  for (const file of files) send(file).catch(showError);
}

page(async () => {
  const cases = await api('/cases');
  const select = document.getElementById('case');
  select.replaceChildren(...cases.map((c) => el('option', { value: c.id }, `${c.case_number} ${c.title}`)));
  const wanted = params.get('case');
  if (wanted) select.value = wanted;
  const input = document.getElementById('files');
  const drop = document.getElementById('drop');
  input.addEventListener('change', guard(() => { sendAll([...input.files]); input.value = ''; }));
  drop.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); input.click(); }
  });
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', guard((event) => {
    event.preventDefault();
    drop.classList.remove('over');
    sendAll([...event.dataTransfer.files]);
  }));
});
