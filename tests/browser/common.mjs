// Helpers shared by the browser tests (journey.mjs, sharing.mjs, profiles.mjs): Debian's
// chromium through playwright-core, sign-in through the test IdP (tests/idp), screenshots at
// 1280 and 390 px with a check that nothing scrolls sideways, and running code in a notebook
// server's kernel as the notebook's own JavaScript would.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const HUB = process.env.HUB_URL.replace(/\/?$/, '/');
export const SHOTS = process.env.SHOTS || '/tmp/nbhub-shots';
fs.mkdirSync(SHOTS, { recursive: true });

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}

// Every page a test opened, for the failure screenshots.
const pages = new Map();
export const cspViolations = [];

// Full-page screenshots of `page` at 1280 and 390 px; fails when the narrow one scrolls sideways.
export async function shoot(page, name) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const culprits = overflow > 1 ? await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName}.${e.className} right=${e.getBoundingClientRect().right}`).join('; ')) : '';
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  check(overflow <= 1, `${name}: the page scrolls sideways at 390 px (${overflow}px too wide: ${culprits})`);
}

// Clicks something that submits a form or follows a link, and waits for the next page.
export async function submit(page, selector) {
  const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return response;
}

// A new browser context signed in as `user` through the IdP's form, starting from HUB + start
// (the sign-in comes back there; '' is the hub's root, from where JupyterHub's
// redirect_to_server goes on to the server). `loginShot` names a screenshot of the hub's login
// page. Returns its page.
export async function signIn(browser, user, password, start = 'hub/home', loginShot = '') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  pages.set(user, page);
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${user}: ${m.text()}`); });
  await page.goto(HUB + start);
  check(page.url().includes('/hub/login'), `anonymous ${HUB + start} should go to login, got ${page.url()}`);
  if (loginShot) await shoot(page, loginShot);
  await page.click('a.button.primary');
  for (let i = 0; i < 5 && !page.url().startsWith(HUB); i++) {
    if (await page.locator('input[name=username]').count()) {
      await page.fill('input[name=username]', user);
      await page.fill('input[name=password]', password);
      await Promise.all([page.waitForNavigation(), page.press('input[name=password]', 'Enter')]);
    } else if (await page.locator('button[type=submit]').count()) {
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    } else {
      await page.waitForTimeout(200);
    }
  }
  check(page.url().startsWith(HUB), `${user} did not come back to the hub: ${page.url()}`);
  return page;
}

// Status and body of a GET from inside `page` (its cookies, its origin), with the _xsrf
// cookie as header, as the notebook's JavaScript sends it.
export async function fetchIn(page, url) {
  return page.evaluate(async (u) => {
    const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
    const r = await fetch(u, { headers: { 'X-XSRFToken': decodeURIComponent(xsrf) }, redirect: 'manual' });
    return { status: r.status, text: await r.text() };
  }, url);
}

// Runs `code` in a new kernel of the notebook server at `base` (a path such as
// /user/alice/), from `page` which must be on that server; returns what it printed.
export async function runInKernel(page, base, code) {
  return page.evaluate(async ({ base, code }) => {
    const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
    const r = await fetch(base + 'api/kernels', { method: 'POST', body: '{}',
      headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) } });
    if (r.status !== 201) return `POST api/kernels: ${r.status}`;
    const { id } = await r.json();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}${base}api/kernels/${id}/channels?session_id=browser`);
    const out = await new Promise((resolve) => {
      const msgId = 'm' + Date.now();
      let text = '';
      setTimeout(() => resolve('timeout: ' + text), 60000);
      ws.onerror = () => resolve('websocket error');
      ws.onopen = () => ws.send(JSON.stringify({
        header: { msg_id: msgId, username: '', session: 'browser', msg_type: 'execute_request', version: '5.3' },
        parent_header: {}, metadata: {}, channel: 'shell',
        content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false },
      }));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.parent_header?.msg_id !== msgId) return;
        if (m.msg_type === 'stream') text += m.content.text;
        if (m.msg_type === 'error') text += m.content.ename + ': ' + m.content.evalue;
        if (m.msg_type === 'status' && m.content.execution_state === 'idle') { ws.close(); resolve(text); }
      };
    });
    await fetch(base + 'api/kernels/' + id, { method: 'DELETE', headers: { 'X-XSRFToken': decodeURIComponent(xsrf) } });
    return out;
  }, { base, code });
}

// Runs `body` with a browser; on failure saves a screenshot of every open page and sets the
// exit status. Prints `${name} OK` on success, which the Python test looks for.
export async function run(name, body) {
  const browser = await launch();
  try {
    await body(browser);
    check(cspViolations.length === 0, 'CSP violations: ' + cspViolations.join('\n'));
    console.log(`${name} OK`);
  } catch (e) {
    for (const [who, page] of pages)
      await page.screenshot({ path: path.join(SHOTS, `failure-${who}.png`), fullPage: true }).catch(() => {});
    console.error(`${name} FAILED:`, e.stack || e.message);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
