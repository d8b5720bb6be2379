// The public REST API, as the console uses it. The key lives in
// sessionStorage and travels only in the X-Api-Key header.

const KEY_STORAGE = 'leadrelay.console.key';

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

// Called when the server answers 401: the key is gone or revoked.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, reason, message, retryAfterSeconds) {
    super(message || reason || `HTTP ${status}`);
    this.status = status;
    this.reason = reason || 'unknown';
    this.retryAfterSeconds = retryAfterSeconds;
  }

  // The error in words, with its reason (and when to retry, for 429).
  describe() {
    let text = `${this.message} (${this.reason}, HTTP ${this.status})`;
    if (this.status === 429 && this.retryAfterSeconds != null) {
      const at = new Date(Date.now() + this.retryAfterSeconds * 1000);
      text += ` — retry in ${this.retryAfterSeconds} s, at ${at.toLocaleTimeString()}`;
    }
    return text;
  }
}

async function errorFrom(response) {
  let reason = '';
  let message = '';
  let retry = null;
  try {
    const body = await response.json();
    reason = body.code || body.reason || '';
    message = body.message || '';
    if (body.retry_after_seconds != null) retry = Number(body.retry_after_seconds);
  } catch (_) {
    message = response.statusText;
  }
  const header = response.headers.get('Retry-After');
  if (retry == null && header != null && !Number.isNaN(Number(header))) {
    retry = Number(header);
  }
  return new ApiError(response.status, reason, message, retry);
}

function headers(extra = {}) {
  const key = storedKey();
  const h = { Accept: 'application/json', ...extra };
  if (key) h['X-Api-Key'] = key;
  return h;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value == null || value === '') continue;
    if (Array.isArray(value)) {
      for (const v of value) search.append(name, v);
    } else {
      search.append(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// One JSON call. Throws ApiError; a 401 also signs the console out.
export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', `The server could not be reached: ${e.message}`);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

// Reads the REST stream as Server-Sent Events. EventSource cannot send
// headers, so this is fetch plus a small parser of the text/event-stream
// framing. Calls onOpen() once the server accepted the stream and
// onMessage(json) per message; resolves when the stream ends, rejects with
// ApiError on an HTTP or stream error.
export async function streamEvents(params, onOpen, onMessage, signal) {
  let response;
  try {
    response = await fetch(`/v1/events:stream${query(params)}`, {
      headers: headers({ Accept: 'text/event-stream' }),
      cache: 'no-store',
      credentials: 'omit',
      signal,
    });
  } catch (e) {
    if (signal.aborted) return;
    throw new ApiError(0, 'network_error', `The stream could not be opened: ${e.message}`);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        dispatchBlock(block, onMessage);
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    throw new ApiError(0, 'network_error', `The stream broke: ${e.message}`);
  }
}

function dispatchBlock(block, onMessage) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  const json = JSON.parse(data.join('\n'));
  if (type === 'error') {
    const err = json.error || {};
    const error = new ApiError(0, err.code || 'stream_error', err.message || 'stream error');
    if (err.code === 'unauthorized') onUnauthorized(error);
    throw error;
  }
  onMessage(json);
}
