// DOM helpers. Everything from the API becomes text nodes: no innerHTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) {
    if (child instanceof Node) node.appendChild(child);
    else if (child != null) node.appendChild(document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// A timestamp in the local zone, with UTC on hover.
export function time(value) {
  if (!value) return el('span', { class: 'muted' }, '—');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return el('span', {}, String(value));
  return el('time', { datetime: date.toISOString(), title: `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')} UTC` },
    date.toLocaleString());
}

export function errorBox(error) {
  const text = typeof error.describe === 'function' ? error.describe() : String(error.message || error);
  return el('p', { class: 'error', role: 'alert' }, text);
}

export function loading(what = 'Loading') {
  return el('p', { class: 'loading', 'aria-busy': 'true' }, `${what}…`);
}

export function empty(text) {
  return el('p', { class: 'empty' }, text);
}

// Runs `work`, showing a loading state in `target` and any error in it.
export async function load(target, work) {
  clear(target).appendChild(loading());
  try {
    const nodes = await work();
    clear(target);
    append(target, [nodes]);
  } catch (e) {
    clear(target).appendChild(errorBox(e));
  }
}

// A labelled form field.
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), control,
    hint ? el('small', { class: 'hint' }, hint) : null);
}

// A modal confirmation (a <dialog>, keyboard-friendly). Resolves to true
// when confirmed.
export function confirmAction(question, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const dialog = el('dialog', { class: 'confirm', 'aria-label': 'Confirm' });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      el('p', {}, question),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'danger', 'data-confirm': 'yes', onclick: () => done(true) }, confirmLabel),
        el('button', { type: 'button', onclick: () => done(false) }, 'Cancel')));
    dialog.addEventListener('cancel', () => resolve(false));
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

// A value shown once, with a copy button and a warning.
export function shownOnce(label, value, warning) {
  const output = el('code', { class: 'secret', tabindex: '0' }, value);
  const status = el('span', { class: 'muted', role: 'status' });
  const copy = el('button', {
    type: 'button',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        status.textContent = 'Copied.';
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(output);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        status.textContent = 'Selected: press Ctrl+C to copy.';
      }
    },
  }, 'Copy');
  return el('div', { class: 'once', role: 'region', 'aria-label': label },
    el('strong', {}, label), el('div', { class: 'row' }, output, copy, status),
    el('p', { class: 'warning' }, warning));
}

export function badge(text, kind = '') {
  return el('span', { class: `badge ${kind}` }, text);
}
