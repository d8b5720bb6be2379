// Leads: filtered, paginated list; detail with score breakdown and contact;
// status updates.
import { api, query } from '../api.js';
import { badge, clear, el, empty, errorBox, field, load, time } from '../ui.js';

// The lead vocabulary (also the webhook filters').
export const VERTICALS = ['solar', 'insurance', 'financial', 'property', 'b2b'];
export const TIERS = ['hot', 'warm', 'qualified'];
const STATUSES = ['new', 'contacted', 'qualified', 'converted', 'lost'];
const PAGE_SIZE = 20;

function select(name, options, value) {
  return el('select', { name }, options.map((o) => el('option', { value: o, selected: o === value }, o || 'any')));
}

function leadName(lead) {
  return [lead.first_name, lead.last_name].filter(Boolean).join(' ') || lead.linkedin?.full_name || lead.id;
}

export function renderLeads(main) {
  const filters = { vertical: '', score_tier: '', suburb: '', date_from: '', date_to: '', status: '', page: 1 };
  main.appendChild(el('h2', {}, 'Leads'));
  const form = el('form', { class: 'filters', 'aria-label': 'Lead filters' });
  const controls = {
    vertical: select('vertical', ['', ...VERTICALS], ''),
    score_tier: select('score_tier', ['', ...TIERS], ''),
    suburb: el('input', { name: 'suburb', type: 'search' }),
    date_from: el('input', { name: 'date_from', type: 'date' }),
    date_to: el('input', { name: 'date_to', type: 'date' }),
    status: select('status', ['', ...STATUSES], ''),
  };
  form.append(
    field('Vertical', controls.vertical), field('Score tier', controls.score_tier),
    field('Suburb', controls.suburb), field('From', controls.date_from), field('To', controls.date_to),
    field('Status', controls.status), el('button', { type: 'submit' }, 'Apply'));
  const results = el('section', { 'aria-label': 'Leads', 'aria-live': 'polite' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const [name, control] of Object.entries(controls)) filters[name] = control.value.trim();
    filters.page = 1;
    refresh();
  });
  main.append(form, results);

  function refresh() {
    load(results, async () => {
      const page = await api('GET', `/v1/leads${query({ ...filters, limit: PAGE_SIZE })}`);
      const leads = page.leads || [];
      if (leads.length === 0) return empty('No leads match these filters.');
      const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
      return [
        el('p', { id: 'leads-total' }, `${page.total} lead${page.total === 1 ? '' : 's'} · page ${page.page} of ${pages}`),
        el('div', { class: 'table-wrap' }, el('table', {},
          el('thead', {}, el('tr', {}, ['Name', 'Vertical', 'Suburb', 'Score', 'Status', 'Received'].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, leads.map((lead) => el('tr', {},
            el('td', {}, el('a', { href: `#/leads/${encodeURIComponent(lead.id)}` }, leadName(lead))),
            el('td', {}, lead.vertical), el('td', {}, lead.suburb),
            el('td', {}, `${lead.score} `, badge(lead.score_tier, lead.score_tier)),
            el('td', {}, lead.status), el('td', {}, time(lead.created_at))))))),
        el('nav', { class: 'pager', 'aria-label': 'Pagination' },
          el('button', { type: 'button', disabled: page.page <= 1, onclick: () => { filters.page -= 1; refresh(); } }, 'Previous'),
          el('button', { type: 'button', disabled: page.page >= pages, onclick: () => { filters.page += 1; refresh(); } }, 'Next')),
      ];
    });
  }
  refresh();
}

// A small bar chart of the score breakdown (CSS widths, values as text).
function breakdownChart(breakdown) {
  const entries = Object.entries(breakdown || {});
  if (entries.length === 0) return empty('No score breakdown.');
  const max = Math.max(1, ...entries.map(([, v]) => Math.abs(Number(v) || 0)));
  return el('dl', { class: 'bars', 'aria-label': 'Score breakdown' }, entries.map(([name, value]) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(Math.abs(Number(value) || 0) / max) * 100}%`;
    return [el('dt', {}, name.replace(/_/g, ' ')), el('dd', {}, el('span', { class: 'track' }, bar), el('span', { class: 'num' }, String(value)))];
  }));
}

export function renderLead(main, id) {
  main.appendChild(el('p', {}, el('a', { href: '#/leads' }, '← All leads')));
  const body = el('section', { 'aria-label': 'Lead' });
  main.appendChild(body);
  load(body, async () => {
    const lead = await api('GET', `/v1/leads/${encodeURIComponent(id)}`);
    const status = el('select', { name: 'status' }, STATUSES.map((s) => el('option', { value: s, selected: s === lead.status }, s)));
    const result = el('div', { 'aria-live': 'polite' });
    const form = el('form', {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        clear(result);
        try {
          const updated = await api('PATCH', `/v1/leads/${encodeURIComponent(id)}`, { status: status.value });
          result.appendChild(el('p', { class: 'ok', role: 'status' }, `Status is now ${updated.status}.`));
        } catch (e) {
          result.appendChild(errorBox(e));
        }
      },
    }, field('Status', status), el('button', { type: 'submit' }, 'Update status'), result);
    const facts = [
      ['Vertical', [lead.vertical, lead.sub_vertical].filter(Boolean).join(' / ')],
      ['Suburb', [lead.suburb, lead.province].filter(Boolean).join(', ')],
      ['Service', lead.service_type], ['Budget', lead.budget_range], ['Urgency', lead.urgency],
      ['Source', lead.source], ['External id', lead.external_id],
      ['Received', time(lead.created_at)], ['Updated', time(lead.updated_at)],
    ];
    return [
      el('h2', {}, leadName(lead), ' ', badge(`${lead.score} ${lead.score_tier}`, lead.score_tier)),
      el('div', { class: 'grid' },
        el('div', { class: 'card' }, el('h3', {}, 'Details'),
          el('dl', { class: 'facts' }, facts.filter(([, v]) => v).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))),
        el('div', { class: 'card' }, el('h3', {}, 'Contact'),
          el('dl', { class: 'facts' },
            el('dt', {}, 'Phone'), el('dd', {}, lead.phone || '—'),
            el('dt', {}, 'Email'), el('dd', {}, lead.email || '—'))),
        el('div', { class: 'card' }, el('h3', {}, 'Score breakdown'), breakdownChart(lead.score_breakdown))),
      form,
    ];
  });
}
