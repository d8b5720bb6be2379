// API keys: list, create with scopes (key shown once), revoke.
import { api } from '../api.js';
import { badge, clear, confirmAction, el, empty, errorBox, field, load, shownOnce, time } from '../ui.js';

const SCOPES = ['read', 'write', 'ingest', 'admin'];

export function renderKeys(main, ctx) {
  main.appendChild(el('h2', {}, 'API keys'));
  const notice = el('div', { 'aria-live': 'polite' });
  const name = el('input', { name: 'name', required: true });
  const boxes = SCOPES.map((s) => el('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'read' }));
  const status = el('div', { 'aria-live': 'polite' });
  const form = el('form', {
    class: 'card',
    'aria-label': 'Create API key',
    onsubmit: async (event) => {
      event.preventDefault();
      clear(status);
      try {
        const created = await api('POST', '/v1/api-keys', {
          name: name.value.trim(), scopes: boxes.filter((b) => b.checked).map((b) => b.value),
        });
        clear(notice).appendChild(shownOnce(`API key ${created.api_key?.name || ''}`, created.key,
          'Copy it now: only its hash is stored, so it cannot be shown again.'));
        name.value = '';
        refresh();
      } catch (e) {
        status.appendChild(errorBox(e));
      }
    },
  }, el('h3', {}, 'New key'), field('Name', name),
  el('fieldset', { class: 'events' }, el('legend', {}, 'Scopes'), boxes.map((b) => el('label', {}, b, ` ${b.value}`))),
  el('button', { type: 'submit' }, 'Create key'), status);
  const list = el('section', { 'aria-label': 'Keys' });
  main.append(notice, form, list);

  function refresh() {
    load(list, async () => {
      const keys = (await api('GET', '/v1/api-keys')).api_keys || [];
      if (keys.length === 0) return empty('No keys.');
      const current = ctx.me.api_key?.id;
      return el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, ['Name', 'Prefix', 'Scopes', 'Created', 'Last used', 'State', ''].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, keys.map((k) => {
          const out = el('span', { 'aria-live': 'polite' });
          return el('tr', { 'data-id': k.id },
            el('td', {}, k.name, k.id === current ? ' (this session)' : ''), el('td', {}, el('code', {}, k.prefix)),
            el('td', {}, (k.scopes || []).join(', ')), el('td', {}, time(k.created_at)), el('td', {}, time(k.last_used_at)),
            el('td', {}, k.revoked_at ? el('span', {}, badge('revoked', 'off'), ' ', time(k.revoked_at)) : badge('active', 'ok')),
            el('td', {}, k.revoked_at ? null : el('button', {
              type: 'button',
              class: 'danger revoke',
              onclick: async () => {
                const warning = k.id === current ? ' This is the key this console is signed in with: you will be signed out.' : '';
                if (!await confirmAction(`Revoke key ${k.name} (${k.prefix}…)? Calls with it fail at once.${warning}`, 'Revoke')) return;
                try {
                  await api('DELETE', `/v1/api-keys/${encodeURIComponent(k.id)}`);
                  refresh();
                } catch (e) {
                  clear(out).appendChild(errorBox(e));
                }
              },
            }, 'Revoke'), out));
        }))));
    });
  }
  refresh();
}
