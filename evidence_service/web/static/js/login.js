import { api, page, prefix, setToken, showError, t } from './app.js';

page(async () => {
  const form = document.getElementById('login-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const body = { username: form.username.value, password: form.password.value };
      const reply = await api('/auth/login', { method: 'POST', body });
      setToken(reply.access_token);
      const next = new URLSearchParams(location.search).get('next');
      location.assign(next && next.startsWith(`${prefix}/`) ? next : `${prefix}/`);
    } catch (err) {
      showError(new Error(`${t('login.failed')}: ${err.message}`));
    }
  });
});
