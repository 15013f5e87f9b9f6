// Browser journey through nbhub's pages with Debian's chromium (playwright-core), driven by
// tests/integration/test_pages_browser.py, which starts the test IdP and nbhub.
//   HUB_URL=http://127.0.0.1:PORT/jh/  SHOTS=/dir  [SINGLEUSER=1]  node journey.mjs
// Signs alice in through the IdP from the hub's root and (with a server) lands in her notebook
// without a click, creates and revokes a token, signs out; signs bob (admin) in, adds a user, stops
// alice's server, signs out. Every page is also checked at 390 px width (no horizontal
// scroll) and screenshotted at 1280 and 390 px; a failure saves a screenshot too.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const HUB = process.env.HUB_URL.replace(/\/?$/, '/');
const SHOTS = process.env.SHOTS || '/tmp/nbhub-shots';
const WITH_SERVER = process.env.SINGLEUSER === '1';
fs.mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const cspViolations = [];
let page;

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shoot(name) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const culprits = overflow > 1 ? await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName}.${e.className} right=${e.getBoundingClientRect().right}`).join('; ')) : '';
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  check(overflow <= 1, `${name}: the page scrolls sideways at 390 px (${overflow}px too wide: ${culprits})`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

// Clicks something that submits a form or follows a link, and waits for the next page.
async function submit(selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

// Signs in starting from HUB + start (the hub's home page by default, which the sign-in
// returns to; '' is the hub's root, from where JupyterHub's redirect_to_server takes the person
// on to their server).
async function signIn(user, password, start = 'hub/home') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  await page.goto(HUB + start);
  check(page.url().includes('/hub/login'), `anonymous ${HUB + start} should go to login, got ${page.url()}`);
  await shoot('login');
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
  check(page.url().startsWith(HUB), `did not come back to the hub: ${page.url()}`);
  return context;
}

async function signOut(context) {
  await submit('nav >> text=Sign out');
  check(!(await page.content()).includes('Sign out'), 'still signed in after sign out');
  await shoot('signed-out-' + Date.now());
  await context.close();
}

try {
  // --- alice ----------------------------------------------------------------------------------
  // From the hub's address to the notebook with no click after the IdP's sign-in form: the
  // hub starts the server, shows its progress and opens it (JupyterHub's redirect_to_server).
  let ctx = await signIn('alice', 'alice-pw', WITH_SERVER ? '' : 'hub/home');
  if (WITH_SERVER) {
    await page.waitForURL(/\/user\/alice\/(tree|lab)/, { timeout: 90000 });
    await page.waitForLoadState('load');
    // Her file browser shows her own (empty) home, none of the hub's files.
    await page.waitForFunction(() => /notebook list is empty|list_item/.test(document.querySelector('#notebook_list')?.innerHTML || ''),
      null, { timeout: 20000 });
    const files = await page.locator('#notebook_list').innerText();
    for (const secret of ['nbhub.sqlite', 'nbhub.toml', 'cookie_secret', 'server-logs'])
      check(!files.includes(secret), `alice's file browser lists the hub's ${secret}: ${files}`);
    await page.screenshot({ path: path.join(SHOTS, 'notebook-1280.png') });
    // The hub's logo in the notebook's header loads (singleuser pages link <hub>/hub/logo).
    const logo = await page.evaluate(() => {
      const img = [...document.images].find((i) => i.src.includes('/hub/logo'));
      return img ? { src: img.src, ok: img.complete && img.naturalWidth > 0 } : null;
    });
    check(logo && logo.ok, `the notebook page shows no hub logo or a broken one: ${JSON.stringify(logo)}`);
  }
  await page.goto(HUB + 'hub/home');
  check(await page.locator('h1', { hasText: 'Welcome, alice' }).count() === 1, 'home page without welcome');
  await shoot('home');
  if (WITH_SERVER) {
    // A named server from the home page, then stopped there.
    await page.goto(HUB + 'hub/home');
    await page.fill('#server-name', 'gpu');
    await submit('button:has-text("Add new server")');
    await page.waitForURL(/\/user\/alice\/gpu\//, { timeout: 90000 });
    await page.goto(HUB + 'hub/home');
    check(await page.locator('td', { hasText: /^gpu$/ }).count() === 1, 'named server not listed on home');
    await shoot('home-named');
    await submit('button[aria-label="Stop server gpu"]');
    check(await page.locator('td', { hasText: /^gpu$/ }).count() === 0, 'named server still listed after stop');
  }
  await page.goto(HUB + 'hub/token');
  await shoot('token');
  await page.fill('#note', 'browser token');
  await page.selectOption('#expires_in', '3600');
  await page.fill('#scopes', 'read:users!user=alice');
  await submit('text=Request new API token');
  const token = await page.inputValue('#new-token');
  check(token.length >= 32, 'no token shown');
  await shoot('token-created');
  // The token works against the API.
  const me = await (await fetch(HUB + 'hub/api/user', { headers: { Authorization: `token ${token}` } })).json();
  check(me.name === 'alice', `token identifies ${JSON.stringify(me)}`);
  await submit('text=Back to your tokens');
  check(await page.locator('td', { hasText: 'browser token' }).count() === 1, 'token not listed');
  await submit('button[aria-label="Revoke token browser token"]');
  check(await page.locator('td', { hasText: 'browser token' }).count() === 0, 'token still listed after revoke');
  const gone = await fetch(HUB + 'hub/api/user', { headers: { Authorization: `token ${token}` } });
  check(gone.status === 403, `revoked token still works (${gone.status})`);
  // Not an admin: the admin page refuses, with an error page.
  const resp = await page.goto(HUB + 'hub/admin');
  check(resp.status() === 403, `admin page for a non-admin: ${resp.status()}`);
  await shoot('error-403');
  await signOut(ctx);

  // --- bob, admin ---------------------------------------------------------------------------------
  ctx = await signIn('bob', 'bob-pw');
  await page.goto(HUB + 'hub/admin');
  check(await page.locator('h1', { hasText: 'Users' }).count() === 1, 'admin page without users');
  await shoot('admin');
  await page.fill('#usernames', 'dave\nerin');
  await submit('button:has-text("Add users")');
  check(await page.locator('td', { hasText: /^dave$/ }).count() === 1, 'dave not added');
  await page.fill('#q', 'dav');
  await submit('form[role=search] button');
  check(await page.locator('tbody tr').count() === 1, 'search did not filter');
  await page.goto(HUB + 'hub/admin');
  if (WITH_SERVER) {
    await submit('button[aria-label="Stop server alice"]');
    check(await page.locator('button[aria-label="Start server alice"]').count() === 1, "alice's server not stopped");
  }
  await page.fill('#group', 'course');
  await page.fill('#members', 'dave erin');
  await submit('button:has-text("Create group")');
  check((await page.content()).includes('dave, erin'), 'group not listed with members');
  await shoot('admin-after');
  await signOut(ctx);
  check(cspViolations.length === 0, 'CSP violations: ' + cspViolations.join('\n'));
  console.log('JOURNEY OK');
} catch (e) {
  if (page) await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
  console.error('JOURNEY FAILED:', e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
