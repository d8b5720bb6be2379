// The delivery log of one webhook: filters, attempts, redeliver, recover.
import { api, query } from '../api.js';
import { badge, clear, el, empty, errorBox, field, load, time } from '../ui.js';

const STATUSES = ['', 'pending', 'succeeded', 'failed'];
const PAGE_SIZE = 20;

function attemptsTable(attempts) {
  if (!attempts || attempts.length === 0) return empty('No attempts yet.');
  return el('div', { class: 'table-wrap' }, el('table', { class: 'attempts' },
    el('thead', {}, el('tr', {}, ['#', 'Time', 'Duration', 'Status', 'Trigger', 'Response', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, attempts.map((a) => el('tr', {},
      el('td', {}, String(a.number)), el('td', {}, time(a.attempted_at)), el('td', {}, `${a.duration_ms} ms`),
      el('td', {}, String(a.http_status || '—')), el('td', {}, a.trigger || ''),
      el('td', {}, el('pre', {}, a.response_excerpt || '')), el('td', {}, a.error || ''))))));
}

export function renderDeliveries(main, webhookId) {
  const base = `/v1/webhooks/${encodeURIComponent(webhookId)}`;
  const filters = { status: '', event_type: '', page: 1 };
  main.append(el('p', {}, el('a', { href: '#/webhooks' }, '← Webhooks')));
  const title = el('h2', {}, 'Delivery log');
  main.appendChild(title);
  api('GET', base).then((hook) => { title.textContent = `Delivery log: ${hook.name || hook.url}`; }).catch(() => {});

  const status = el('select', { name: 'status' }, STATUSES.map((s) => el('option', { value: s }, s || 'any')));
  const eventType = el('select', { name: 'event_type' }, el('option', { value: '' }, 'any'));
  api('GET', '/v1/event-types').then((r) => {
    for (const t of r.types || []) eventType.appendChild(el('option', { value: t }, t));
  }).catch(() => {});
  const filterForm = el('form', {
    class: 'filters',
    'aria-label': 'Delivery filters',
    onsubmit: (event) => {
      event.preventDefault();
      filters.status = status.value;
      filters.event_type = eventType.value;
      filters.page = 1;
      refresh();
    },
  }, field('Status', status), field('Event type', eventType), el('button', { type: 'submit' }, 'Apply'));

  const since = el('input', { type: 'datetime-local', name: 'since', required: true });
  const recoverOut = el('div', { 'aria-live': 'polite' });
  const recoverForm = el('form', {
    class: 'filters',
    'aria-label': 'Recover deliveries',
    onsubmit: async (event) => {
      event.preventDefault();
      clear(recoverOut);
      try {
        const r = await api('POST', `${base}:recover`, { since: new Date(since.value).toISOString() });
        recoverOut.appendChild(el('p', { class: 'ok', role: 'status' }, `${r.deliveries_queued} failed deliveries queued again.`));
        refresh();
      } catch (e) {
        recoverOut.appendChild(errorBox(e));
      }
    },
  }, field('Recover failed deliveries since (local time)', since), el('button', { type: 'submit' }, 'Recover'), recoverOut);

  const list = el('section', { 'aria-label': 'Deliveries' });
  main.append(filterForm, recoverForm,
    el('div', { class: 'actions' }, el('button', { type: 'button', id: 'refresh-deliveries', onclick: () => refresh() }, 'Refresh')),
    list);

  function deliveryCard(d) {
    const out = el('div', { 'aria-live': 'polite' });
    const payload = el('div');
    const attempts = el('div');
    return el('article', { class: 'card delivery', 'data-event-type': d.event_type, 'data-status': d.status },
      el('h3', {}, d.event_type, ' ', badge(d.status, d.status), d.test ? badge('test') : null),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Event'), el('dd', {}, el('code', {}, d.event_id)),
        el('dt', {}, 'Created'), el('dd', {}, time(d.created_at)),
        el('dt', {}, 'Attempts'), el('dd', { class: 'attempt-count' }, String(d.attempt_count)),
        d.next_attempt_at ? [el('dt', {}, 'Next attempt'), el('dd', {}, time(d.next_attempt_at))] : null,
        d.last_error ? [el('dt', {}, 'Last error'), el('dd', {}, d.last_error)] : null),
      el('details', {
        class: 'attempts',
        ontoggle: (event) => {
          if (!event.target.open || attempts.firstChild) return;
          // The list carries counts only; the delivery itself has the attempts.
          load(attempts, async () => attemptsTable((await api('GET', `${base}/deliveries/${encodeURIComponent(d.id)}`)).attempts));
        },
      }, el('summary', {}, `Attempts (${d.attempt_count})`), attempts),
      el('details', {
        ontoggle: (event) => {
          if (!event.target.open || payload.firstChild) return;
          // The payload that was sent is the event's envelope.
          load(payload, async () => {
            let after = '';
            for (let i = 0; i < 10; ++i) {
              const events = await api('GET', `/v1/events${query({ types: [d.event_type], after, limit: 100 })}`);
              const found = (events.events || []).find((e) => e.id === d.event_id);
              if (found) return el('pre', { class: 'json' }, JSON.stringify(found, null, 2));
              if (!events.next_cursor || (events.events || []).length === 0) break;
              after = events.next_cursor;
            }
            return empty('The event is no longer in the event list.');
          });
        },
      }, el('summary', {}, 'Payload'), payload),
      el('div', { class: 'actions' },
        el('button', {
          type: 'button',
          class: 'redeliver',
          onclick: async () => {
            clear(out).appendChild(el('p', { class: 'loading' }, 'Redelivering…'));
            try {
              const again = await api('POST', `${base}/deliveries/${encodeURIComponent(d.id)}:redeliver`, {});
              clear(out).appendChild(el('p', { class: 'ok', role: 'status' }, `Redelivery queued (${again.status}).`));
            } catch (e) {
              clear(out).appendChild(errorBox(e));
            }
          },
        }, 'Redeliver')),
      out);
  }

  function refresh() {
    load(list, async () => {
      const page = await api('GET', `${base}/deliveries${query({ ...filters, limit: PAGE_SIZE })}`);
      const items = page.deliveries || [];
      if (items.length === 0) return empty('No deliveries match.');
      const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
      return [
        el('p', {}, `${page.total} deliver${page.total === 1 ? 'y' : 'ies'} · page ${page.page} of ${pages}`),
        items.map(deliveryCard),
        el('nav', { class: 'pager', 'aria-label': 'Pagination' },
          el('button', { type: 'button', disabled: page.page <= 1, onclick: () => { filters.page -= 1; refresh(); } }, 'Previous'),
          el('button', { type: 'button', disabled: page.page >= pages, onclick: () => { filters.page += 1; refresh(); } }, 'Next')),
      ];
    });
  }
  refresh();
}
