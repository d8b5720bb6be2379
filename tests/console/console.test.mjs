// The console in real headless Chromium against a real server: sign in,
// webhook with its secret shown once, test send, a lead arriving live and in
// the delivery log, redeliver, pause/resume, key revocation signing out.
// Every wait is on a condition; screenshots of each page go to SHOT_DIR.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const BASE = process.env.CONSOLE_URL;
const KEY = process.env.API_KEY;
const SHOTS = process.env.SHOT_DIR;
const ORIGIN = new URL(BASE).origin;
const WAIT = { timeout: 60000 };

// A local webhook receiver that records what it is sent.
const received = [];
const waiters = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ headers: req.headers, body: JSON.parse(body || '{}') });
    for (const w of [...waiters]) w();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok from the test receiver');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

function receivedWhere(predicate, count = 1) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('receiver: timed out')), WAIT.timeout);
    const check = () => {
      const hits = received.filter(predicate);
      if (hits.length >= count) {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(hits);
      }
    };
    waiters.push(check);
    check();
  });
}

async function rest(method, p, body, key = KEY) {
  const r = await fetch(`${ORIGIN}${p}`, {
    method, headers: { 'X-Api-Key': key, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

const createLead = (name) => rest('POST', '/v1/leads', {
  vertical: 'solar', first_name: name, suburb: 'Sandton', score: 87,
  phone: '+27823456789', email: 'thabo.m@gmail.com',
  score_breakdown: { phone_valid: 20, email_valid: 15, suburb_match: 10 },
});

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${process.env.USER_DATA_DIR}`],
});
let failed = false;
const problems = [];
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT.timeout);
  await page.setViewport({ width: 1280, height: 900 });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const step = (name) => console.log(`ok - ${name}`);

  // Static serving with strict headers.
  const response = await page.goto(BASE);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.match(headers['content-type'], /^text\/html/);
  step('console served with CSP, X-Frame-Options, nosniff');

  // Sign in.
  await page.waitForSelector('input[name="api_key"]');
  await shot('signin');
  await page.type('input[name="api_key"]', KEY);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#account-name')?.textContent === 'console');
  await page.waitForSelector('#stat-credits .value');
  assert.ok(!page.url().includes(KEY), 'the key is never in the URL');
  await shot('overview');
  step('signed in; overview shows credits');

  // Webhooks: a bad URL shows the API's reason; a good one shows the secret once.
  await page.goto(`${BASE}#/webhooks`);
  await page.waitForSelector('form[aria-label="Create webhook"] input[name="url"]');
  await page.type('form[aria-label="Create webhook"] input[name="url"]', 'ftp://127.0.0.1/nope');
  await page.click('form[aria-label="Create webhook"] button[type="submit"]');
  await page.waitForFunction(() => /invalid_request/.test(document.querySelector('form[aria-label="Create webhook"] .error')?.textContent || ''));
  step('API error shown with its reason');
  await page.$eval('form[aria-label="Create webhook"] input[name="url"]', (i) => { i.value = ''; });
  await page.type('form[aria-label="Create webhook"] input[name="name"]', 'Test CRM');
  await page.type('form[aria-label="Create webhook"] input[name="url"]', hookUrl);
  await page.click('form[aria-label="Create webhook"] button[type="submit"]');
  await page.waitForSelector('.once .secret');
  const secret = await page.$eval('.once .secret', (e) => e.textContent);
  assert.ok(secret.length >= 16, 'a secret is shown');
  const hookHandle = await page.waitForFunction((url) => [...document.querySelectorAll('article.webhook')]
    .find((a) => a.textContent.includes(url))?.dataset.id, WAIT, hookUrl);
  const hookId = await hookHandle.jsonValue();
  const hook = `article.webhook[data-id="${hookId}"]`;
  await shot('webhook-created');
  step('webhook created; secret shown');

  // Press test: the attempt's status, latency and response excerpt.
  await page.click(`${hook} button.test`);
  await page.waitForSelector(`${hook} .test-result`);
  assert.equal(await page.$eval(`${hook} .test-status`, (e) => e.textContent), '200');
  assert.match(await page.$eval(`${hook} .test-result`, (e) => e.textContent), /ok from the test receiver/);
  await receivedWhere((r) => r.body.test === true);
  await shot('webhook-tested');
  step('test send shows HTTP 200 and the response excerpt');

  // Disable and enable again; rotate the secret (confirmed, shown once).
  await page.click(`${hook} button.toggle`);
  await page.waitForFunction((sel) => /disabled/.test(document.querySelector(`${sel} h3`)?.textContent || ''), WAIT, hook);
  await page.click(`${hook} button.toggle`);
  await page.waitForFunction((sel) => /enabled/.test(document.querySelector(`${sel} h3`)?.textContent || ''), WAIT, hook);
  await page.click(`${hook} button.rotate`);
  await page.waitForFunction(() => /24 hours/.test(document.querySelector('dialog[open]')?.textContent || ''));
  await page.click('dialog[open] button[data-confirm="yes"]');
  await page.waitForSelector(`${hook} .once .secret`);
  const rotated = await page.$eval(`${hook} .once .secret`, (e) => e.textContent);
  assert.notEqual(rotated, secret);
  step('disable/enable; rotate shows the new secret once, explaining the grace');

  // The secret is not shown again.
  await page.goto(`${BASE}#/overview`);
  await page.waitForSelector('#stat-credits');
  await page.goto(`${BASE}#/webhooks`);
  await page.waitForSelector('article.webhook');
  assert.equal(await page.$('.once'), null);
  assert.ok(!(await page.content()).includes(secret), 'secret shown only once');
  assert.ok(!(await page.content()).includes(rotated), 'rotated secret shown only once');
  step('secret not shown again');

  // Live events: a lead published over REST arrives on the page.
  await page.goto(`${BASE}#/events`);
  await page.waitForFunction(() => document.querySelector('#stream-state')?.textContent === 'live');
  const lead = await createLead('Thabo');
  const hasLead = (id) => [...document.querySelectorAll('.event[data-type="lead.new"] pre')].some((p) => p.textContent.includes(id));
  await page.waitForFunction(hasLead, WAIT, lead.id);
  await shot('events-live');
  step('lead.new arrives live');

  // Pause, publish, resume: the event published while paused is not lost.
  await page.click('#pause');
  await page.waitForFunction(() => document.querySelector('#stream-state')?.textContent === 'paused');
  const whilePaused = await createLead('Naledi');
  await receivedWhere((r) => r.body.event === 'lead.new' && JSON.stringify(r.body).includes(whilePaused.id));
  assert.equal(await page.evaluate(hasLead, whilePaused.id), false, 'nothing arrives while paused');
  await page.click('#pause');
  await page.waitForFunction(hasLead, WAIT, whilePaused.id);
  step('resume delivers the event published while paused');

  // Delivery log: the lead's delivery with its attempt; redeliver.
  await receivedWhere((r) => r.body.event === 'lead.new' && JSON.stringify(r.body).includes(lead.id));
  await page.goto(`${BASE}#/webhooks/${hookId}/deliveries`);
  await page.waitForSelector('.delivery[data-event-type="lead.new"][data-status="succeeded"]');
  await page.click('.delivery[data-event-type="lead.new"] details.attempts summary');
  await page.waitForFunction(() => document.querySelector('.delivery[data-event-type="lead.new"] table.attempts td'));
  await shot('delivery-log');
  const eventIdOf = (r) => r.body.event_id;
  const before = received.filter((r) => r.body.event === 'lead.new').length;
  await page.click('.delivery[data-event-type="lead.new"] button.redeliver');
  await page.waitForFunction(() => /Redelivery queued/.test(document.querySelector('.delivery[data-event-type="lead.new"] .ok')?.textContent || ''));
  await receivedWhere((r) => r.body.event === 'lead.new', before + 1);
  assert.ok(eventIdOf(received.at(-1)), 'redelivery carries the event');
  step('delivery log lists the lead delivery; redeliver reaches the receiver');

  // Lead filters: new endpoints take every lead; edit narrows them.
  await page.goto(`${BASE}#/webhooks`);
  await page.waitForSelector(`${hook} dd.lead-filter-summary`);
  assert.equal(await page.$eval(`${hook} dd.lead-filter-summary`, (e) => e.textContent), 'every lead');
  await page.click(`${hook} button.edit`);
  await page.waitForSelector(`${hook} form[aria-label="Edit webhook"] input[name="filter_min_score"]`);
  await page.click(`${hook} input[name="filter_verticals"][value="insurance"]`);
  await page.click(`${hook} input[name="filter_score_tiers"][value="hot"]`);
  await page.$eval(`${hook} input[name="filter_min_score"]`, (i) => { i.value = '90'; });
  await page.type(`${hook} input[name="filter_suburbs"]`, '  Bondi   BEACH, Manly,');
  await page.click(`${hook} form[aria-label="Edit webhook"] button[type="submit"]`);
  await page.waitForFunction((sel) => document.querySelector(`${sel} dd.lead-filter-summary`)?.textContent === 'insurance · hot · score ≥ 90 · bondi beach, manly', WAIT, hook);
  assert.deepEqual((await rest('GET', `/v1/webhooks/${hookId}`)).filters,
    { verticals: ['insurance'], score_tiers: ['hot'], min_score: 90, suburbs: ['bondi beach', 'manly'], provinces: [] });
  await shot('webhook-filters');
  step('edit sets lead filters; the card and the API show them');

  // Leads list and detail.
  await page.goto(`${BASE}#/leads`);
  await page.waitForFunction(() => /2 leads/.test(document.querySelector('#leads-total')?.textContent || ''));
  await shot('leads');
  await page.goto(`${BASE}#/leads/${lead.id}`);
  await page.waitForSelector('dl.bars');
  assert.match(await page.$eval('dl.bars', (e) => e.textContent), /phone valid20/);
  assert.match(await page.$eval('.card', (e) => e.parentNode.textContent), /\+27823456789/);
  await page.select('select[name="status"]', 'contacted');
  await page.click('form.inline button[type="submit"]');
  await page.waitForFunction(() => /Status is now contacted/.test(document.body.textContent));
  await shot('lead-detail');
  step('leads list with total; detail updates status');

  // Overview chart: today's bar counts the two leads (one GROUP BY server-side).
  await page.goto(`${BASE}#/overview`);
  await page.waitForFunction(() => /2 in total/.test(document.querySelector('figcaption')?.textContent || ''));
  assert.equal(await page.$$eval('svg.chart rect.bar', (bars) => bars.length), 30);
  await shot('overview-chart');
  step('overview chart shows leads per day');

  // API keys: revoking the console's own key signs it out on the next call.
  await page.goto(`${BASE}#/keys`);
  await page.waitForSelector('tr button.revoke');
  await shot('keys');
  await page.click('tr button.revoke');
  await page.waitForSelector('dialog[open] button[data-confirm="yes"]');
  await page.click('dialog[open] button[data-confirm="yes"]');
  await page.waitForSelector('input[name="api_key"]');
  assert.match(await page.$eval('[role="alert"]', (e) => e.textContent), /Signed out.*unauthorized/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await shot('signed-out');
  step('revoked key: console signs out');

  assert.deepEqual(problems, []);
} catch (e) {
  failed = true;
  console.error(e);
  if (problems.length) console.error(problems.join('\n'));
} finally {
  await browser.close();
  receiver.close();
}
process.exit(failed ? 1 : 0);
