import { api, departmentName, el, facts, fmtTime, guard, page, prefix, t, whoAmI } from './app.js';

async function loadCases() {
  const cases = await api('/cases');
  const body = document.querySelector('#cases tbody');
  if (!cases.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 6 }, t('home.none'))));
    return;
  }
  body.replaceChildren(...cases.map((c) => el('tr', {},
    el('td', {}, el('a', { href: `${prefix}/cases/${c.id}` }, c.case_number)),
    el('td', {}, c.title),
    el('td', {}, c.cause_of_action || ''),
    el('td', {}, c.party || ''),
    el('td', {}, c.status),
    el('td', {}, fmtTime(c.created_at)),
  )));
}

page(async () => {
  const me = await whoAmI();
  facts(document.getElementById('me'), [
    [t('home.user'), me.name],
    [t('home.department'), await departmentName(me.department_id)],
    [t('home.roles'), me.roles.join(', ')],
  ]);
  await loadCases();
  const form = document.getElementById('case-form');
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const body = { case_number: form.case_number.value, title: form.case_title.value };
    if (form.cause_of_action.value) body.cause_of_action = form.cause_of_action.value;
    if (form.party.value) body.party = form.party.value;
    const created = await api('/cases', { method: 'POST', body });
    location.assign(`${prefix}/cases/${created.id}`);
  }));
});
