// Browser journey through nbhub's pages with Debian's chromium (playwright-core), driven by
// tests/integration/test_pages_browser.py, which starts the test IdP and nbhub.
//   HUB_URL=http://127.0.0.1:PORT/jh/  SHOTS=/dir  [SINGLEUSER=1]  node journey.mjs
// Signs alice in through the IdP from the hub's root and (with a server) lands in her notebook
// without a click, creates and revokes a token, signs out; signs bob (admin) in, adds a user, stops
// alice's server, signs out. Every page is also checked at 390 px width (no horizontal
// scroll) and screenshotted at 1280 and 390 px; a failure saves a screenshot too.
import { HUB, SHOTS, check, run, shoot, signIn, submit } from './common.mjs';
import path from 'node:path';

const WITH_SERVER = process.env.SINGLEUSER === '1';

async function signOut(page) {
  await submit(page, 'nav >> text=Sign out');
  check(!(await page.content()).includes('Sign out'), 'still signed in after sign out');
  await shoot(page, 'signed-out-' + Date.now());
  await page.context().close();
}

await run('JOURNEY', async (browser) => {
  // --- alice ----------------------------------------------------------------------------------
  // From the hub's address to the notebook with no click after the IdP's sign-in form: the
  // hub starts the server, shows its progress and opens it (JupyterHub's redirect_to_server).
  let page = await signIn(browser, 'alice', 'alice-pw', WITH_SERVER ? '' : 'hub/home', 'login');
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
  await shoot(page, 'home');
  if (WITH_SERVER) {
    // A named server from the home page, then stopped there.
    await page.goto(HUB + 'hub/home');
    await page.fill('#server-name', 'gpu');
    await submit(page, 'button:has-text("Add new server")');
    await page.waitForURL(/\/user\/alice\/gpu\//, { timeout: 90000 });
    await page.goto(HUB + 'hub/home');
    check(await page.locator('td', { hasText: /^gpu$/ }).count() === 1, 'named server not listed on home');
    await shoot(page, 'home-named');
    await submit(page, 'button[aria-label="Stop server gpu"]');
    check(await page.locator('td', { hasText: /^gpu$/ }).count() === 0, 'named server still listed after stop');
  }
  await page.goto(HUB + 'hub/token');
  await shoot(page, 'token');
  await page.fill('#note', 'browser token');
  await page.selectOption('#expires_in', '3600');
  await page.fill('#scopes', 'read:users!user=alice');
  await submit(page, 'text=Request new API token');
  const token = await page.inputValue('#new-token');
  check(token.length >= 32, 'no token shown');
  await shoot(page, 'token-created');
  // The token works against the API.
  const me = await (await fetch(HUB + 'hub/api/user', { headers: { Authorization: `token ${token}` } })).json();
  check(me.name === 'alice', `token identifies ${JSON.stringify(me)}`);
  await submit(page, 'text=Back to your tokens');
  check(await page.locator('td', { hasText: 'browser token' }).count() === 1, 'token not listed');
  await submit(page, 'button[aria-label="Revoke token browser token"]');
  check(await page.locator('td', { hasText: 'browser token' }).count() === 0, 'token still listed after revoke');
  const gone = await fetch(HUB + 'hub/api/user', { headers: { Authorization: `token ${token}` } });
  check(gone.status === 403, `revoked token still works (${gone.status})`);
  // Not an admin: the admin page refuses, with an error page.
  const resp = await page.goto(HUB + 'hub/admin');
  check(resp.status() === 403, `admin page for a non-admin: ${resp.status()}`);
  await shoot(page, 'error-403');
  await signOut(page);

  // --- bob, admin ---------------------------------------------------------------------------------
  page = await signIn(browser, 'bob', 'bob-pw');
  await page.goto(HUB + 'hub/admin');
  check(await page.locator('h1', { hasText: 'Users' }).count() === 1, 'admin page without users');
  await shoot(page, 'admin');
  await page.fill('#usernames', 'dave\nerin');
  await submit(page, 'button:has-text("Add users")');
  check(await page.locator('td', { hasText: /^dave$/ }).count() === 1, 'dave not added');
  await page.fill('#q', 'dav');
  await submit(page, 'form[role=search] button');
  check(await page.locator('tbody tr').count() === 1, 'search did not filter');
  await page.goto(HUB + 'hub/admin');
  if (WITH_SERVER) {
    await submit(page, 'button[aria-label="Stop server alice"]');
    check(await page.locator('button[aria-label="Start server alice"]').count() === 1, "alice's server not stopped");
  }
  await page.fill('#group', 'course');
  await page.fill('#members', 'dave erin');
  await submit(page, 'button:has-text("Create group")');
  check((await page.content()).includes('dave, erin'), 'group not listed with members');
  await shoot(page, 'admin-after');
  await signOut(page);
});
