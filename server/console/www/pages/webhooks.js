// Webhooks: list with state; create (secret shown once); edit; enable or
// disable; rotate the secret; test; delete.
import { api } from '../api.js';
import { badge, clear, confirmAction, el, empty, errorBox, field, load, shownOnce, time } from '../ui.js';
import { TIERS, VERTICALS } from './leads.js';

let eventTypesCache = null;
async function eventTypes() {
  if (!eventTypesCache) eventTypesCache = (await api('GET', '/v1/event-types')).types || [];
  return eventTypesCache;
}

// Checkboxes for the event catalogue; returns [fieldset, () => selected].
function eventPicker(types, selected = []) {
  const boxes = types.map((type) => el('input', { type: 'checkbox', name: 'events', value: type, checked: selected.includes(type) }));
  const fieldset = el('fieldset', { class: 'events' }, el('legend', {}, 'Events'),
    boxes.map((box) => el('label', {}, box, ` ${box.value}`)));
  return [fieldset, () => boxes.filter((b) => b.checked).map((b) => b.value)];
}

// Which leads an endpoint takes (lead.new, lead.updated); returns
// [fieldset, () => filters]. Nothing ticked and 0 take every lead.
function leadFilterPicker(filters = {}) {
  const boxes = (name, values, selected = []) => values.map((value) =>
    el('input', { type: 'checkbox', name, value, checked: selected.includes(value) }));
  const verticals = boxes('filter_verticals', VERTICALS, filters.verticals);
  const tiers = boxes('filter_score_tiers', TIERS, filters.score_tiers);
  const minScore = el('input', { name: 'filter_min_score', type: 'number', min: 0, max: 100, value: filters.min_score || 0 });
  // Places: free text, comma-separated; case and spacing do not matter.
  const places = (name, list = []) => el('input', { name, type: 'text', value: list.join(', '), placeholder: 'any' });
  const suburbs = places('filter_suburbs', filters.suburbs);
  const provinces = places('filter_provinces', filters.provinces);
  const split = (input) => input.value.split(',').map((v) => v.trim()).filter(Boolean);
  const labelled = (list) => list.map((box) => el('label', {}, box, ` ${box.value}`));
  const fieldset = el('fieldset', { class: 'lead-filters' }, el('legend', {}, 'Leads (lead.new, lead.updated)'),
    el('p', { class: 'hint' }, 'Only leads matching every part you set are sent; leave all empty for every lead.'),
    el('div', {}, el('strong', {}, 'Verticals: '), labelled(verticals)),
    el('div', {}, el('strong', {}, 'Score tiers: '), labelled(tiers)),
    field('Minimum score', minScore),
    field('Suburbs (comma-separated)', suburbs),
    field('Provinces (comma-separated)', provinces));
  const checked = (list) => list.filter((b) => b.checked).map((b) => b.value);
  return [fieldset, () => ({
    verticals: checked(verticals), score_tiers: checked(tiers), min_score: Number(minScore.value) || 0,
    suburbs: split(suburbs), provinces: split(provinces),
  })];
}

// "every lead", or e.g. "solar, insurance · hot · score ≥ 70 · bondi beach".
export function describeFilters(filters = {}) {
  const parts = [];
  if (filters.verticals?.length) parts.push(filters.verticals.join(', '));
  if (filters.score_tiers?.length) parts.push(filters.score_tiers.join(', '));
  if (filters.min_score) parts.push(`score ≥ ${filters.min_score}`);
  if (filters.suburbs?.length) parts.push(filters.suburbs.join(', '));
  if (filters.provinces?.length) parts.push(filters.provinces.join(', '));
  return parts.length ? parts.join(' · ') : 'every lead';
}

function state(hook) {
  if (hook.enabled) return badge('enabled', 'ok');
  return el('span', {}, badge('disabled', 'off'), hook.disabled_reason ? ` ${hook.disabled_reason}` : '');
}

// The result of a test send: status, latency, response excerpt.
export function testResult(response) {
  const delivery = response.delivery || {};
  const attempt = (delivery.attempts || [])[delivery.attempts?.length - 1] || {};
  return el('div', { class: `test-result card ${response.success ? 'ok' : 'fail'}`, role: 'status' },
    el('strong', {}, response.success ? 'Test delivered' : 'Test failed'),
    el('dl', { class: 'facts' },
      el('dt', {}, 'HTTP status'), el('dd', { class: 'test-status' }, String(attempt.http_status || delivery.last_http_status || '—')),
      el('dt', {}, 'Latency'), el('dd', {}, attempt.duration_ms != null ? `${attempt.duration_ms} ms` : '—'),
      el('dt', {}, 'Response'), el('dd', {}, el('pre', {}, attempt.response_excerpt || '(empty)')),
      attempt.error || delivery.last_error ? [el('dt', {}, 'Error'), el('dd', {}, attempt.error || delivery.last_error)] : null));
}

export function renderWebhooks(main) {
  main.appendChild(el('h2', {}, 'Webhooks'));
  const notice = el('div', { 'aria-live': 'polite' });
  const create = el('section', { class: 'card', 'aria-label': 'New webhook' });
  const list = el('section', { 'aria-label': 'Webhooks' });
  main.append(notice, create, list);

  load(create, async () => {
    const types = await eventTypes();
    const name = el('input', { name: 'name' });
    const url = el('input', { name: 'url', type: 'url', required: true, placeholder: 'https://your-crm.example/hooks/leadrelay' });
    const [picker, picked] = eventPicker(types, ['lead.new']);
    const [filterPicker, pickedFilters] = leadFilterPicker();
    const status = el('div', { 'aria-live': 'polite' });
    return el('form', {
      'aria-label': 'Create webhook',
      onsubmit: async (event) => {
        event.preventDefault();
        clear(status);
        try {
          const created = await api('POST', '/v1/webhooks', { name: name.value.trim(), url: url.value.trim(), events: picked(), filters: pickedFilters() });
          clear(notice).appendChild(shownOnce('Signing secret', created.secret,
            'Copy it now: it is shown only this once. Use it to verify the X-LeadRelay-Signature of each delivery.'));
          name.value = '';
          url.value = '';
          refresh();
        } catch (e) {
          status.appendChild(errorBox(e));
        }
      },
    }, el('h3', {}, 'New webhook'), field('Name', name), field('URL', url), picker, filterPicker,
    el('button', { type: 'submit' }, 'Create webhook'), status);
  });

  function refresh() {
    load(list, async () => {
      const hooks = (await api('GET', '/v1/webhooks')).webhooks || [];
      if (hooks.length === 0) return empty('No webhooks yet. Create one above.');
      return hooks.map((hook) => webhookCard(hook));
    });
  }

  function webhookCard(hook) {
    const output = el('div', { class: 'hook-output', 'aria-live': 'polite' });
    const run = async (work) => {
      clear(output).appendChild(el('p', { class: 'loading' }, 'Working…'));
      try {
        const node = await work();
        clear(output);
        if (node) output.appendChild(node);
      } catch (e) {
        clear(output).appendChild(errorBox(e));
      }
    };
    const path = `/v1/webhooks/${encodeURIComponent(hook.id)}`;
    const card = el('article', { class: 'card webhook', 'data-id': hook.id, 'aria-label': `Webhook ${hook.name || hook.url}` },
      el('h3', {}, hook.name || hook.url, ' ', state(hook)),
      el('dl', { class: 'facts' },
        el('dt', {}, 'URL'), el('dd', {}, el('code', {}, hook.url)),
        el('dt', {}, 'Events'), el('dd', {}, (hook.events || []).join(', ')),
        el('dt', {}, 'Leads'), el('dd', { class: 'lead-filter-summary' }, describeFilters(hook.filters)),
        el('dt', {}, 'Secret'), el('dd', {}, `${hook.secret_prefix}…`),
        el('dt', {}, 'Created'), el('dd', {}, time(hook.created_at))),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'test', onclick: () => run(async () => testResult(await api('POST', `${path}:test`, {}))) }, 'Send test'),
        el('a', { class: 'button', href: `#/webhooks/${encodeURIComponent(hook.id)}/deliveries` }, 'Delivery log'),
        el('button', { type: 'button', class: 'edit', onclick: () => run(async () => editForm(hook, output)) }, 'Edit'),
        el('button', {
          type: 'button',
          class: 'toggle',
          onclick: () => run(async () => { await api('PATCH', path, { enabled: !hook.enabled }); refresh(); }),
        }, hook.enabled ? 'Disable' : 'Enable'),
        el('button', {
          type: 'button',
          class: 'rotate',
          onclick: async () => {
            if (!await confirmAction('Rotate the signing secret? The old secret stays valid for 24 hours (both are signed during the grace period), so update your receiver within a day.', 'Rotate')) return;
            run(async () => {
              const rotated = await api('POST', `${path}:rotate-secret`, {});
              return shownOnce('New signing secret', rotated.secret,
                'Shown only this once. The previous secret keeps working for 24 hours; switch your receiver to this one before then.');
            });
          },
        }, 'Rotate secret'),
        el('button', {
          type: 'button',
          class: 'danger delete',
          onclick: async () => {
            if (!await confirmAction(`Delete webhook ${hook.name || hook.url}? Deliveries stop at once.`, 'Delete')) return;
            run(async () => { await api('DELETE', path); refresh(); });
          },
        }, 'Delete')),
      output);
    return card;
  }

  async function editForm(hook, output) {
    const [picker, picked] = eventPicker(await eventTypes(), hook.events || []);
    const [filterPicker, pickedFilters] = leadFilterPicker(hook.filters);
    const name = el('input', { name: 'name', value: hook.name || '' });
    const url = el('input', { name: 'url', type: 'url', required: true, value: hook.url });
    const status = el('div', { 'aria-live': 'polite' });
    return el('form', {
      'aria-label': 'Edit webhook',
      onsubmit: async (event) => {
        event.preventDefault();
        clear(status);
        try {
          await api('PATCH', `/v1/webhooks/${encodeURIComponent(hook.id)}`, { name: name.value.trim(), url: url.value.trim(), events: picked(), filters: pickedFilters() });
          clear(output);
          refresh();
        } catch (e) {
          status.appendChild(errorBox(e));
        }
      },
    }, field('Name', name), field('URL', url), picker, filterPicker,
    el('button', { type: 'submit' }, 'Save'), el('button', { type: 'button', onclick: () => clear(output) }, 'Cancel'), status);
  }

  refresh();
}
