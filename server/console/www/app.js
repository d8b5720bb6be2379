// The leadrelay console: sign in with an API key, then pages routed by the
// URL fragment (#/leads, #/webhooks/ID/deliveries, ...). The key is never in
// the URL.
import { api, forgetKey, setUnauthorizedHandler, storedKey, storeKey } from './api.js';
import { clear, el, errorBox, field } from './ui.js';
import { renderOverview } from './pages/overview.js';
import { renderLeads, renderLead } from './pages/leads.js';
import { renderWebhooks } from './pages/webhooks.js';
import { renderDeliveries } from './pages/deliveries.js';
import { renderEvents } from './pages/events.js';
import { renderKeys } from './pages/keys.js';

const header = document.getElementById('header');
const main = document.getElementById('main');
let me = null;
// Pages with something running (the live stream) leave a stop function.
let stopPage = null;

const PAGES = [
  ['overview', 'Overview'],
  ['leads', 'Leads'],
  ['webhooks', 'Webhooks'],
  ['events', 'Live events'],
  ['keys', 'API keys'],
];

function signOut(reason) {
  forgetKey();
  me = null;
  if (stopPage) stopPage();
  stopPage = null;
  renderSignIn(reason);
}

setUnauthorizedHandler((error) => {
  if (storedKey()) signOut(`Signed out: the server refused the key (${error.reason}: ${error.message}).`);
});

function renderSignIn(notice) {
  clear(header).appendChild(el('h1', { class: 'brand' }, 'leadrelay console'));
  const input = el('input', { type: 'password', name: 'api_key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = el('div', { 'aria-live': 'polite' });
  const form = el('form', {
    class: 'card signin',
    'aria-label': 'Sign in',
    onsubmit: async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      storeKey(key);
      clear(status).appendChild(el('p', { class: 'loading' }, 'Signing in…'));
      try {
        me = await api('GET', '/v1/me');
        input.value = '';
        if (!location.hash || location.hash === '#/') location.hash = '#/overview';
        route();
      } catch (e) {
        forgetKey();
        clear(status).appendChild(errorBox(e));
      }
    },
  },
  el('h2', {}, 'Sign in'),
  el('p', {}, 'Paste an API key. It stays in this tab (sessionStorage) and is sent only in the X-Api-Key header.'),
  field('API key', input),
  el('button', { type: 'submit' }, 'Sign in'),
  status);
  clear(main);
  if (notice) main.appendChild(el('p', { class: 'error', role: 'alert' }, notice));
  main.appendChild(form);
  input.focus();
}

function renderHeader(current) {
  const account = me.account || {};
  const key = me.api_key || {};
  clear(header).append(
    el('h1', { class: 'brand' }, 'leadrelay'),
    el('nav', { 'aria-label': 'Pages' },
      el('ul', {}, PAGES.map(([id, label]) => el('li', {},
        el('a', { href: `#/${id}`, 'aria-current': id === current ? 'page' : null }, label))))),
    el('div', { class: 'who' },
      el('span', { id: 'account-name' }, account.name || account.id || ''),
      el('span', { class: 'badge' }, account.plan || ''),
      el('span', { class: 'muted', title: 'Scopes of this key' }, `key ${key.prefix || ''} · ${(key.scopes || []).join(', ')}`),
      el('button', { type: 'button', id: 'sign-out', onclick: () => signOut('Signed out.') }, 'Sign out')));
}

async function route() {
  if (!storedKey()) {
    renderSignIn();
    return;
  }
  if (!me) {
    try {
      me = await api('GET', '/v1/me');
    } catch (e) {
      if (storedKey()) {
        clear(main).appendChild(errorBox(e));
      }
      return;
    }
  }
  if (stopPage) stopPage();
  stopPage = null;
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const page = parts[0];
  renderHeader(page);
  clear(main);
  const ctx = { me, refreshMe: async () => { me = await api('GET', '/v1/me'); } };
  if (page === 'leads' && parts[1]) renderLead(main, parts[1]);
  else if (page === 'leads') renderLeads(main);
  else if (page === 'webhooks' && parts[1] && parts[2] === 'deliveries') renderDeliveries(main, parts[1]);
  else if (page === 'webhooks') renderWebhooks(main);
  else if (page === 'events') stopPage = renderEvents(main);
  else if (page === 'keys') renderKeys(main, ctx);
  else renderOverview(main, ctx);
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
route();
