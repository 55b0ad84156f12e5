// The transfer inbox: incoming transfers with the receiver's verification of every item,
// accept or reject with a reason, and the on-chain transaction of each step.
import { api, badge, departmentName, el, fmtTime, guard, hash, page, prefix, t } from './app.js';

function step(label, chain) {
  if (!chain) return null;
  return el('div', { class: 'chain' }, `${label}: ${t('custody.block')} ${chain.block_number} · `,
    fmtTime(chain.block_time), ' · ', hash(chain.tx_hash));
}

async function card(transfer, incoming, reload) {
  const checks = el('ul', { class: 'checks' }, ...transfer.checks.map((c) => el('li', { dataset: { ok: String(c.ok) } },
    c.ok ? t('xfer.check_ok') : t('xfer.check_bad'), ' ', el('code', {}, c.item_id), ' ', c.reasons.join('; '))));
  const node = el('article', { class: 'card transfer', dataset: { transferId: transfer.id, status: transfer.status } },
    el('h3', {}, badge(transfer.status), ' ', transfer.id),
    el('p', {}, `${t('xfer.from')}: `, await departmentName(transfer.from_department_id), ' → ',
      `${t('xfer.to')}: `, await departmentName(transfer.to_department_id), ` · ${t('xfer.items')}: ${transfer.item_ids.length}`,
      ` · ${fmtTime(transfer.created_at)}`),
    step(t('xfer.opened'), transfer.opened),
    step(t('xfer.decided'), transfer.decided),
    transfer.reason ? el('p', {}, `${t('xfer.reason')}: ${transfer.reason}`) : null,
    transfer.received_case_id ? el('p', {}, el('a', { href: `${prefix}/cases/${transfer.received_case_id}` }, t('xfer.received_case'))) : null,
    checks);
  if (incoming && transfer.status === 'open') {
    const reason = el('input', { id: `reason-${transfer.id}`, maxlength: 2000 });
    const verify = el('button', { type: 'button', class: 'verify', onclick: guard(async () => {
      const result = await api(`/transfers/${transfer.id}/verify`, { method: 'POST' });
      checks.replaceChildren(...result.items.map((c) => el('li', { dataset: { ok: String(c.ok) } },
        c.ok ? t('xfer.check_ok') : t('xfer.check_bad'), ' ', el('code', {}, c.item_id), ' ', c.reasons.join('; '))),
      ...result.transfer_reasons.map((r) => el('li', { dataset: { ok: 'false' } }, r)));
      node.dataset.verified = String(result.ok);
    }) }, t('xfer.verify'));
    const accept = el('button', { type: 'button', class: 'accept', onclick: guard(async () => {
      await api(`/transfers/${transfer.id}/accept`, { method: 'POST' });
      await reload();
    }) }, t('xfer.accept'));
    const reject = el('button', { type: 'button', class: 'reject', onclick: guard(async () => {
      if (!reason.reportValidity()) return;
      await api(`/transfers/${transfer.id}/reject`, { method: 'POST', body: { reason: reason.value } });
      await reload();
    }) }, t('xfer.reject'));
    reason.required = true;
    node.append(el('p', { class: 'actions' }, verify, accept,
      el('label', { for: reason.id }, t('xfer.reason')), reason, reject));
  }
  return node;
}

async function load() {
  for (const direction of ['incoming', 'outgoing']) {
    const list = await api(`/transfers?direction=${direction}`);
    const box = document.getElementById(direction);
    const cards = [];
    for (const transfer of list) cards.push(await card(transfer, direction === 'incoming', load));
    box.replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted' }, t('xfer.none'))]));
  }
}

page(load);
