// Live events: the REST stream (Server-Sent Events) with type filters and
// pause/resume from the last cursor, so nothing is lost while paused.
import { api, streamEvents } from '../api.js';
import { clear, el, empty, errorBox, time } from '../ui.js';

const MAX_SHOWN = 200;

export function renderEvents(main) {
  let cursor = '';
  let controller = null;
  let paused = false;
  let stopped = false;
  let retryTimer = null;
  let types = [];
  // Before the first cursor: events from shortly before the page opened,
  // so nothing published while the stream connects is missed.
  const since = new Date(Date.now() - 60 * 1000).toISOString();

  const state = el('span', { id: 'stream-state', role: 'status' }, 'connecting…');
  const pause = el('button', { type: 'button', id: 'pause', 'aria-pressed': 'false' }, 'Pause');
  const filterBox = el('fieldset', { class: 'events' }, el('legend', {}, 'Event types (none ticked: all)'));
  const errors = el('div', { 'aria-live': 'polite' });
  const list = el('ol', { class: 'event-list', reversed: true, 'aria-label': 'Events, newest first' });
  const placeholder = empty('Waiting for events…');
  main.append(el('h2', {}, 'Live events'),
    el('div', { class: 'actions' }, pause, state), filterBox, errors, placeholder, list);

  api('GET', '/v1/event-types').then((r) => {
    for (const type of r.types || []) {
      const box = el('input', { type: 'checkbox', value: type, name: 'types' });
      box.addEventListener('change', () => {
        types = [...filterBox.querySelectorAll('input:checked')].map((b) => b.value);
        restart();
      });
      filterBox.appendChild(el('label', {}, box, ` ${type}`));
    }
  }).catch((e) => errors.appendChild(errorBox(e)));

  function show(event) {
    placeholder.remove();
    const json = JSON.stringify(event, null, 2);
    const item = el('li', { class: 'event', 'data-type': event.type, 'data-id': event.id },
      el('div', { class: 'event-head' }, el('strong', {}, event.type), ' ', time(event.created_at), ' ', el('code', {}, event.id)),
      el('details', {}, el('summary', {}, 'JSON'), el('pre', { class: 'json' }, json)));
    list.insertBefore(item, list.firstChild);
    while (list.childElementCount > MAX_SHOWN) list.lastChild.remove();
  }

  async function run() {
    if (paused || stopped) return;
    controller = new AbortController();
    const mine = controller;
    state.textContent = 'connecting…';
    try {
      await streamEvents(cursor ? { types, after: cursor } : { types, since }, () => {
        state.textContent = 'live';
        state.className = 'badge ok';
      }, (message) => {
        if (message.cursor) cursor = message.cursor;
        if (message.event) show(message.event);
      }, mine.signal);
      if (mine.signal.aborted) return;
      state.textContent = 'reconnecting…';
    } catch (e) {
      if (mine.signal.aborted) return;
      clear(errors).appendChild(errorBox(e));
      state.textContent = 'disconnected: retrying…';
      state.className = 'badge off';
      if (e.status === 401) return;
    }
    // The stream ended (server restart, network): resume from the cursor.
    retryTimer = setTimeout(run, 2000);
  }

  function halt() {
    clearTimeout(retryTimer);
    if (controller) controller.abort();
    controller = null;
  }

  function restart() {
    halt();
    run();
  }

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (paused) {
      halt();
      state.textContent = 'paused';
      state.className = 'badge off';
    } else {
      clear(errors);
      run();
    }
  });

  run();
  return () => {
    stopped = true;
    halt();
  };
}
