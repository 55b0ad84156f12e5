// The public verification portal: the file is hashed here (SHA-256 and SM3 with hash-wasm,
// each in a worker, streamed in slices so multi-GB files work), only the digest is sent to GET /verify/{sha256}.
import { api, el, facts, fmtTime, guard, hash, hashFile, page, t } from './app.js';

function show(verdict, sha256, sm3) {
  const section = document.getElementById('result');
  section.hidden = false;
  section.dataset.verdict = verdict.verdict;
  const p = document.getElementById('verdict');
  p.className = `verdict verdict-${verdict.verdict}`;
  p.textContent = t(`verdict.${verdict.verdict}`);
  const a = verdict.anchor;
  facts(document.getElementById('facts'), [
    ['SHA-256', el('code', { class: 'hash', id: 'sha256' }, sha256)],
    ['SM3', el('code', { class: 'hash', id: 'sm3' }, sm3)],
    [t('verify.registered'), fmtTime(verdict.registered_at)],
    [t('verify.block'), a ? String(a.block_number) : '—'],
    [t('verify.block_time'), a ? fmtTime(a.block_time) : '—'],
    [t('verify.tx'), a ? hash(a.tx_hash) : '—'],
    [t('verify.chain'), a ? `${a.chain_id} / ${a.contract}` : '—'],
    [t('verify.tree'), verdict.tree_size !== null ? `${verdict.tree_size} / ${verdict.leaf_index}` : '—'],
    [t('verify.root'), hash(verdict.root)],
    [t('verify.reasons'), verdict.reasons.length ? verdict.reasons.join('; ') : '—'],
    [t('verify.printed_at'), fmtTime(new Date().toISOString())],
  ]);
  document.getElementById('proof').replaceChildren(...verdict.inclusion_proof.map((h) => el('li', {}, hash(h))));
}

function showPackage(report) {
  const section = document.getElementById('package-result');
  section.hidden = false;
  section.dataset.verdict = report.verdict;
  const p = document.getElementById('package-verdict');
  p.className = `verdict verdict-${report.verdict}`;
  p.textContent = t(`verdict.${report.verdict}`);
  const zh = document.documentElement.lang.startsWith('zh');
  facts(document.getElementById('package-facts'), [
    ...Object.entries(report.facts).map(([k, v]) => [t(`fact.${k}`), typeof v === 'object' ? JSON.stringify(v) : String(v)]),
    [t('verify.printed_at'), fmtTime(new Date().toISOString())],
  ]);
  document.querySelector('#package-checks tbody').replaceChildren(...report.checks.map((c) => el('tr', { dataset: { outcome: c.outcome } },
    el('td', {}, zh ? c.name_zh : c.name), el('td', {}, t(`outcome.${c.outcome}`)),
    el('td', {}, el('code', {}, c.subject)), el('td', {}, c.detail))));
}

page(async () => {
  const input = document.getElementById('file');
  const progress = document.getElementById('hash-progress');
  const status = document.getElementById('hash-status');
  input.addEventListener('change', guard(async () => {
    const file = input.files[0];
    if (!file) return;
    document.getElementById('result').hidden = true;
    progress.hidden = false;
    const started = performance.now();
    const [sha256, sm3] = await hashFile(file, ['sha256', 'sm3'], (done, total) => {
        progress.max = total || 1;
        progress.value = done;
        status.textContent = `${t('verify.progress')} ${total ? Math.round((done * 100) / total) : 100}%`;
      });
    status.textContent = `${file.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`;
    show(await api(`/verify/${sha256}`), sha256, sm3);
  }));
  for (const button of document.querySelectorAll('button.print')) {
    button.addEventListener('click', () => window.print());
  }
  const pkg = document.getElementById('package');
  pkg.addEventListener('change', guard(async () => {
    const file = pkg.files[0];
    if (!file) return;
    const section = document.getElementById('package-result');
    section.hidden = true;
    status.textContent = t('verify.sending');
    const report = await api('/verify/package', { method: 'POST', body: file,
      headers: { 'Content-Type': 'application/octet-stream' } });
    status.textContent = '';
    showPackage(report);
  }));
});
