// Profile choice on /hub/spawn (issue 23 item 5, KubeSpawner's profile_list for the local and
// Docker spawners) in a real browser, driven by tests/integration/test_sharing_browser.py with
// the profile list PROFILES there, once per spawner:
//   HUB_URL=http://127.0.0.1:PORT/  SHOTS=/dir  node profiles.mjs
// alice signs in at /hub/spawn and sees the form; she starts "Flavoured" with choice B and
// lands on that profile's default URL; a kernel in her server prints the environment the
// profile and the choice set. After a stop the form pre-selects her last choice; a free-text
// choice the regular expression refuses gets a 400 page saying why, an accepted one reaches the
// server; the default profile starts without the option's variable.
import { HUB, check, run, runInKernel, shoot, signIn, submit } from './common.mjs';

const SERVER = new URL(HUB).pathname + 'user/alice/';
const ENV = 'import os; print(os.environ.get("PROFILE"), os.environ.get("FLAVOR"), os.environ.get("BASE"))';
const FLAVOR = 'profile-option-flavoured--flavor';

async function stop(page) {
  await page.goto(HUB + 'hub/home');
  await submit(page, 'button:has-text("Stop your server")');
  for (let i = 0; i < 100 && !(await page.locator('a:has-text("Start your server")').count()); i++) {
    await page.waitForTimeout(300);
    await page.reload();
  }
  check(await page.locator('a:has-text("Start your server")').count() === 1, 'the server did not stop');
}

await run('PROFILES', async (browser) => {
  const page = await signIn(browser, 'alice', 'alice-pw', 'hub/spawn');
  check(new URL(page.url()).pathname.endsWith('/hub/spawn'), `the sign-in did not return to /hub/spawn: ${page.url()}`);
  check(await page.locator('h1', { hasText: 'Server options' }).count() === 1, 'no options form on /hub/spawn');
  check(await page.isChecked('#profile-item-classic'), 'the default profile is not checked first');
  check(await page.locator('text=Pick a flavour').count() === 1, "the profile's description is missing");
  await shoot(page, 'spawn-form');

  // Flavoured, choice B.
  await page.check('#profile-item-flavoured');
  await page.selectOption(`#${FLAVOR}`, 'b');
  await submit(page, 'button:has-text("Start")');
  await page.waitForURL(/\/user\/alice\/tree\?flavoured/, { timeout: 90000 });
  await page.waitForLoadState('load');
  let env = await runInKernel(page, SERVER, ENV);
  check(env === 'flavoured b kept\n', `environment of the flavoured server: ${JSON.stringify(env)}`);
  await page.screenshot({ path: `${process.env.SHOTS}/server-flavoured-1280.png` });
  await stop(page);

  // The form pre-selects the last choice (KubeSpawner 7.1).
  await page.goto(HUB + 'hub/spawn');
  check(await page.isChecked('#profile-item-flavoured'), 'the last profile is not pre-selected');
  check(await page.inputValue(`#${FLAVOR}`) === 'b', 'the last choice is not pre-selected');
  await shoot(page, 'spawn-form-preselected');

  // A free-text choice: one the regular expression refuses (past the browser's own pattern
  // check, as a hand-made request would be) gets a page saying why; a good one is used.
  await page.selectOption(`#${FLAVOR}`, 'unlisted-choice');
  await page.fill(`#${FLAVOR}--unlisted-choice`, 'Mint!');
  await page.evaluate(() => { document.querySelector('form.spawn-options').noValidate = true; });
  const refused = await submit(page, 'button:has-text("Start")');
  check(refused.status() === 400, `a refused free-text choice: ${refused.status()}`);
  const msg = await page.locator('main').innerText();
  check(msg.includes('lower-case letters only') && msg.includes('Mint!'), `the refusal does not say why: ${msg}`);
  await shoot(page, 'spawn-refused');
  await page.goto(HUB + 'hub/spawn');
  await page.check('#profile-item-flavoured');
  await page.selectOption(`#${FLAVOR}`, 'unlisted-choice');
  await page.fill(`#${FLAVOR}--unlisted-choice`, 'mint');
  await submit(page, 'button:has-text("Start")');
  await page.waitForURL(/\/user\/alice\/tree\?flavoured/, { timeout: 90000 });
  env = await runInKernel(page, SERVER, ENV);
  check(env === 'flavoured custom-mint kept\n', `environment with a free-text flavour: ${JSON.stringify(env)}`);
  await stop(page);
  await page.goto(HUB + 'hub/spawn');
  check(await page.inputValue(`#${FLAVOR}`) === 'unlisted-choice', 'the free-text choice is not pre-selected');
  check(await page.inputValue(`#${FLAVOR}--unlisted-choice`) === 'mint', 'the free text is not pre-filled');

  // Back to the default profile: its own URL and environment, no flavour.
  await page.check('#profile-item-classic');
  await submit(page, 'button:has-text("Start")');
  await page.waitForURL(/\/user\/alice\/tree(?!\?flavoured)/, { timeout: 90000 });
  env = await runInKernel(page, SERVER, ENV);
  check(env === 'classic None kept\n', `environment of the classic server: ${JSON.stringify(env)}`);
});
