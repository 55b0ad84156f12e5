// Review staff: item counts by status across the department's cases, open integrity
// alerts, a re-verify button per item and per case, the latest anchored tree head and the
// integrity scanner's last pass.
import { api, badge, el, facts, fmtTime, guard, hash, page, prefix, t } from './app.js';

const STATUSES = ['receiving', 'stored', 'anchored', 'verified', 'mismatch'];

async function load() {
  const cases = await api('/cases');
  const rows = [];
  for (const c of cases) {
    for (const item of await api(`/cases/${c.id}/items`)) rows.push([c, item]);
  }
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const [, item] of rows) counts[item.status] = (counts[item.status] || 0) + 1;
  document.getElementById('counts').replaceChildren(...STATUSES.flatMap((s) => [
    el('dt', {}, badge(s)), el('dd', { dataset: { status: s } }, String(counts[s]))]));

  document.getElementById('cases').replaceChildren(...cases.map((c) => {
    const own = rows.filter(([owner, item]) => owner.id === c.id && item.sha256);
    return el('li', { dataset: { caseId: c.id } },
      el('button', { type: 'button', class: 'reverify-case', disabled: own.length === 0,
        onclick: guard(async () => {
          for (const [, item] of own) await api(`/items/${item.id}/verify`, { method: 'POST' });
          await load();
        }) }, `${t('case.reverify')}: ${c.case_number}`),
      ` ${c.title} · ${own.length}`);
  }));

  const body = document.querySelector('#items tbody');
  body.replaceChildren(...rows.map(([c, item]) => el('tr', { dataset: { itemId: item.id } },
    el('td', {}, el('a', { href: `${prefix}/cases/${c.id}` }, c.case_number)),
    el('td', {}, el('a', { href: `${prefix}/items/${item.id}` }, item.original_filename)),
    el('td', {}, badge(item.status)),
    el('td', {}, hash(item.sha256)),
    el('td', {}, item.sha256 ? el('button', { type: 'button', class: 'reverify',
      onclick: guard(async () => { await api(`/items/${item.id}/verify`, { method: 'POST' }); await load(); }) },
    t('item.reverify')) : null),
  )));

  const alerts = await api('/alerts');
  const names = new Map(rows.map(([, item]) => [item.id, item.original_filename]));
  document.getElementById('alerts').replaceChildren(...(alerts.length ? alerts.map((a) => el('li', { class: 'alert', dataset: { itemId: a.item_id } },
    el('time', { datetime: a.raised_at }, fmtTime(a.raised_at)), ' ',
    el('a', { href: `${prefix}/items/${a.item_id}` }, names.get(a.item_id) || a.item_id), ' ',
    el('span', {}, `${a.source}: ${a.reason}`))) : [el('li', { class: 'muted' }, t('dash.no_alerts'))]));

  const head = await api('/log/head');
  const anchored = head.anchored;
  facts(document.getElementById('head'), [
    [t('dash.log_size'), String(head.log_size)],
    [t('dash.tree_size'), anchored ? String(anchored.tree_size) : '—'],
    [t('verify.block'), anchored ? String(anchored.block_number) : '—'],
    [t('verify.block_time'), anchored ? fmtTime(anchored.block_time) : '—'],
    [t('verify.tx'), anchored ? hash(anchored.tx_hash) : '—'],
    [t('dash.root'), anchored ? hash(anchored.root) : '—'],
  ]);
  try {
    const scan = await api('/integrity/status');
    const last = scan.last_scan;
    facts(document.getElementById('scan'), last ? [
      [t('case.created'), fmtTime(last.finished_at || last.started_at)],
      ['coverage', `${Math.round(last.coverage * 100)}%`],
      [t('status.mismatch'), String(last.mismatches)],
    ] : [[t('dash.scan'), t('common.none')]]);
  } catch (err) {
    if (err.status !== 403 && err.status !== 404) throw err;
  }
}

page(load);
