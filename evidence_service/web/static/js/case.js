import {
  api, badge, departmentList, el, facts, fmtBytes, fmtTime, guard, hash, page, prefix,
  renderTimeline, saveResponse, t, whoAmI,
} from './app.js';

const caseId = document.body.dataset.caseId;

async function loadItems() {
  const items = await api(`/cases/${caseId}/items`);
  document.querySelector('#items tbody').replaceChildren(...items.map((i) => el('tr', { dataset: { itemId: i.id } },
    el('td', {}, el('a', { href: `${prefix}/items/${i.id}` }, i.original_filename)),
    el('td', {}, t(`kind.${i.kind}`)),
    el('td', {}, fmtBytes(i.size ?? i.declared_size)),
    el('td', {}, badge(i.status)),
    el('td', {}, hash(i.sha256)),
  )));
  return items;
}

page(async () => {
  const c = await api(`/cases/${caseId}`);
  document.getElementById('case-heading').textContent = `${c.case_number} ${c.title}`;
  facts(document.getElementById('case-facts'), [
    [t('case.cause'), c.cause_of_action || '—'], [t('case.party'), c.party || '—'],
    [t('case.status'), c.status], [t('case.created'), fmtTime(c.created_at)],
  ]);
  const items = await loadItems();
  renderTimeline(document.getElementById('custody'), await api(`/cases/${caseId}/custody`));

  const me = await whoAmI();
  const others = (await departmentList()).filter((d) => d.id !== me.department_id);
  document.getElementById('send-to').replaceChildren(
    ...others.map((d) => el('option', { value: d.code }, `${d.name} (${d.code})`)));
  document.getElementById('send-form').addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const out = document.getElementById('send-result');
    const to = document.getElementById('send-to').value;
    const transfer = await api(`/cases/${caseId}/transfers`, { method: 'POST', body: { to_department: to } });
    out.dataset.transferId = transfer.id;
    out.replaceChildren(`${t('case.sent')} `, hash(transfer.opened.tx_hash),
      ` (${t('custody.block')} ${transfer.opened.block_number})`);
    renderTimeline(document.getElementById('custody'), await api(`/cases/${caseId}/custody`));
  }));
  document.getElementById('download-package').addEventListener('click', guard(async () => {
    await saveResponse(await api(`/cases/${caseId}/package`, { raw: true }), `case-${caseId}.zip`);
  }));
  document.getElementById('reverify-case').addEventListener('click', guard(async () => {
    for (const item of items) {
      if (item.sha256) await api(`/items/${item.id}/verify`, { method: 'POST' });
    }
    await loadItems();
  }));
});
