// Overview: credits, plan and renewal, account stats, leads per day.
import { api } from '../api.js';
import { el, load, svg, time } from '../ui.js';

function stat(label, value, id) {
  return el('div', { class: 'stat', id }, el('span', { class: 'label' }, label), el('span', { class: 'value' }, value));
}

// Bars of leads per day for the last 30 days (days without leads are 0).
export function leadsPerDayChart(series) {
  const counts = new Map((series || []).map((d) => [d.day, Number(d.count) || 0]));
  const days = [];
  const today = new Date();
  for (let i = 29; i >= 0; --i) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const key = d.toISOString().slice(0, 10);
    days.push([key, counts.get(key) || 0]);
  }
  const max = Math.max(1, ...days.map(([, c]) => c));
  const width = 300;
  const height = 100;
  const bar = width / days.length;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height + 14}`, class: 'chart', role: 'img', 'aria-label': 'Leads per day, last 30 days' });
  days.forEach(([day, count], i) => {
    const h = (count / max) * height;
    chart.appendChild(svg('rect', { x: i * bar + 1, y: height - h, width: bar - 2, height: Math.max(h, 0.5), class: 'bar' },
      svg('title', {}, `${day}: ${count} lead${count === 1 ? '' : 's'}`)));
  });
  chart.appendChild(svg('text', { x: 0, y: height + 12, class: 'axis' }, days[0][0]));
  chart.appendChild(svg('text', { x: width, y: height + 12, class: 'axis', 'text-anchor': 'end' }, days[days.length - 1][0]));
  const total = days.reduce((sum, [, c]) => sum + c, 0);
  return el('figure', { class: 'card' }, chart, el('figcaption', {}, `Leads per day (UTC), last 30 days: ${total} in total, at most ${max === 1 && total === 0 ? 0 : max} a day`));
}

export function renderOverview(main) {
  main.appendChild(el('h2', {}, 'Overview'));
  const body = el('section', { 'aria-label': 'Account overview' });
  main.appendChild(body);
  load(body, async () => {
    const [credits, stats] = await Promise.all([api('GET', '/v1/credits'), api('GET', '/v1/account/stats')]);
    return [
      el('div', { class: 'stats' },
        stat('Credits', credits.credits, 'stat-credits'),
        stat('Plan', credits.plan || stats.active_plan),
        stat('Renews', time(stats.plan_renews_at)),
        stat('Leads received', stats.leads_received, 'stat-leads'),
        stat('Converted', stats.leads_converted),
        stat('Conversion rate', stats.conversion_rate),
        stat('This month', `${stats.leads_this_month} / ${stats.quota_this_month || '∞'}`)),
      stats.leads_per_day ? leadsPerDayChart(stats.leads_per_day) : null,
    ];
  });
}
