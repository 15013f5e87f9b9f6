// Sharing (JupyterHub 5.0, issue 23) in a real browser, driven by
// tests/integration/test_sharing_browser.py, which starts the test IdP and nbhub with the local
// spawner (Debian's jupyterhub-singleuser):
//   HUB_URL=http://127.0.0.1:PORT/  SHOTS=/dir  node sharing.mjs
// alice starts her server from the home page and shares it with bob by name; bob (his own
// browser context) finds it under "Servers shared with you", opens it and uses its API; alice
// revokes the share and bob's very next request is refused (the hub's 403 page, styled, with a
// link home; JSON for the server's API). alice makes an invitation link;
// carol accepts it on /hub/accept-share and reaches the server; alice cannot accept her own.
// Every hub page is screenshotted at 1280 and 390 px.
import { HUB, check, fetchIn, run, shoot, signIn, submit } from './common.mjs';

const SERVER = new URL(HUB).pathname + 'user/alice/';

await run('SHARING', async (browser) => {
  // --- alice starts her server and shares it by name ----------------------------------------
  const alice = await signIn(browser, 'alice', 'alice-pw');
  check(await alice.locator('h1', { hasText: 'Welcome, alice' }).count() === 1, 'alice: no home page');
  await shoot(alice, 'home-alice-before');
  await alice.click('a:has-text("Start your server")');
  await alice.waitForURL(/\/user\/alice\/(tree|lab)/, { timeout: 90000 });
  await alice.goto(HUB + 'hub/home');
  check(await alice.locator('#sharing').count() === 1, 'alice may share but her home page has no sharing section');
  await alice.fill('#share-with', 'bob');
  await submit(alice, '#sharing button:has-text("Share")');
  check(new URL(alice.url()).pathname.endsWith('/hub/home'), `sharing did not return home: ${alice.url()}`);
  const row = alice.locator('#sharing tr', { hasText: 'bob' });
  check(await row.count() === 1, 'bob is not listed under "Who has access"');
  check((await row.innerText()).includes('access:servers!server=alice/'), `bob's share: ${await row.innerText()}`);
  await shoot(alice, 'home-alice-shared');

  // Mistakes end on an error page that says what was wrong.
  await alice.fill('#share-with', 'nobody-here');
  let r = await submit(alice, '#sharing button:has-text("Share")');
  check(r.status() === 400, `sharing with an unknown user: ${r.status()}`);
  check((await alice.content()).includes('No such user: nobody-here'), 'no message for an unknown user');
  await shoot(alice, 'share-unknown-user');
  await alice.goto(HUB + 'hub/home');

  // --- bob opens the shared server ------------------------------------------------------------
  const bob = await signIn(browser, 'bob', 'bob-pw');
  const shared = bob.locator('#shared-with-me a', { hasText: 'alice' });
  check(await shared.count() === 1, 'bob: alice\'s server is not under "Servers shared with you"');
  check(await bob.locator('#sharing').count() === 0, 'bob holds no `shares` but sees the sharing form');
  await shoot(bob, 'home-bob-shared');
  await shared.click();
  await bob.waitForURL(/\/user\/alice\/(tree|lab)/, { timeout: 60000 });
  await bob.waitForLoadState('load');
  await bob.screenshot({ path: `${process.env.SHOTS}/bob-in-alice-server-1280.png` });
  r = await fetchIn(bob, SERVER + 'api/status');
  check(r.status === 200, `bob: alice's api/status answered ${r.status}: ${r.text.slice(0, 300)}`);
  r = await fetchIn(bob, SERVER + 'api/contents');
  check(r.status === 200, `bob: alice's api/contents answered ${r.status}`);

  // --- alice revokes; bob's next request is refused ------------------------------------------
  await submit(alice, 'button[aria-label="Revoke access of bob"]');
  check(await alice.locator('#sharing tr', { hasText: 'bob' }).count() === 0, 'bob still listed after revoke');
  check(await alice.locator('text=Nobody has access to your server').count() === 1, 'no "nobody has access" line');
  r = await fetchIn(bob, SERVER + 'api/contents');
  check(r.status === 403, `bob's API request after the revoke: ${r.status}`);
  check(JSON.parse(r.text).message.includes('was revoked'), `bob's API refusal is not the JSON error: ${r.text.slice(0, 300)}`);
  const refused = await bob.goto(new URL(SERVER + 'tree', HUB).href);
  check(refused.status() === 403, `bob opens alice's server after the revoke: ${refused.status()} at ${bob.url()}`);
  // The proxy's refusal is the hub's error page, styled, with a way back to the hub.
  check(await bob.locator('h1', { hasText: 'Not allowed' }).count() === 1, 'the 403 page has no "Not allowed" heading');
  check((await bob.content()).includes('Ask its owner to share it again'), 'the 403 page does not say why');
  check(await bob.evaluate(() => getComputedStyle(document.body).backgroundColor) === 'rgb(245, 247, 249)',
    'the 403 page does not have the hub\'s stylesheet');
  await shoot(bob, 'bob-after-revoke-403');
  await submit(bob, 'a:has-text("Go to your home page")');
  check(new URL(bob.url()).pathname.endsWith('/hub/home'), `the 403 page's link went to ${bob.url()}`);
  check(await bob.locator('#shared-with-me').count() === 0, 'bob still lists alice\'s server after the revoke');

  // --- an invitation link, accepted by carol -----------------------------------------------
  await alice.goto(HUB + 'hub/home');
  await alice.selectOption('#share-expires', '3600');
  await submit(alice, 'button:has-text("Create invitation link")');
  const link = await alice.inputValue('#share-link');
  check(link.includes('/hub/accept-share?code='), `invitation link: ${link}`);
  await shoot(alice, 'invitation-created');
  await alice.goto(HUB + 'hub/home');
  check(await alice.locator('button[aria-label^="Revoke invitation"]').count() === 1, 'invitation not listed');
  await shoot(alice, 'home-alice-invitation');
  // Her own link is refused, with a page that says why.
  r = await alice.goto(new URL(link, HUB).href);
  check(r.status() === 403, `alice accepting her own invitation: ${r.status()}`);
  check((await alice.content()).includes('share with yourself'), 'no message for accepting one\'s own link');
  await shoot(alice, 'accept-own-403');

  const carol = await signIn(browser, 'carol', 'carol-pw', link.slice(link.indexOf('hub/accept-share')));
  check(new URL(carol.url()).pathname.endsWith('/hub/accept-share'), `carol did not come back to the invitation: ${carol.url()}`);
  check(await carol.locator('h1', { hasText: 'Accept sharing invitation' }).count() === 1, 'no accept page');
  const text = await carol.locator('#accept-share').innerText();
  check(text.includes("alice's server") && text.includes(SERVER), `accept page: ${text}`);
  await shoot(carol, 'accept-share');
  await submit(carol, 'button:has-text("Accept invitation")');
  await carol.waitForURL(/\/user\/alice\/(tree|lab)/, { timeout: 60000 });
  r = await fetchIn(carol, SERVER + 'api/status');
  check(r.status === 200, `carol: alice's api/status answered ${r.status}`);
  await carol.goto(HUB + 'hub/home');
  check(await carol.locator('#shared-with-me a', { hasText: 'alice' }).count() === 1, "carol's home does not list alice's server");
  await shoot(carol, 'home-carol-shared');
  // An unknown or expired code.
  r = await carol.goto(HUB + 'hub/accept-share?code=not-a-real-code');
  check(r.status() === 404, `unknown code: ${r.status()}`);
  await shoot(carol, 'accept-unknown-404');

  // alice sees carol and the invitation's use; carol leaves on her own.
  await alice.goto(HUB + 'hub/home');
  check(await alice.locator('#sharing tr', { hasText: 'carol' }).count() === 1, 'carol not under "Who has access"');
  const accepted = await alice.locator('#sharing tr', { has: alice.locator('button[aria-label^="Revoke invitation"]') })
    .locator('td').nth(2).innerText();
  check(accepted === '1', `the invitation's accepted count: ${JSON.stringify(accepted)}`);
  await shoot(alice, 'home-alice-carol');
  await carol.goto(HUB + 'hub/home');
  await submit(carol, 'button[aria-label="Leave alice"]');
  check(await carol.locator('#shared-with-me').count() === 0, 'carol still lists alice\'s server after leaving');
  r = await fetchIn(carol, SERVER + 'api/status');
  check(r.status === 403, `carol's request after leaving: ${r.status}`);
  await submit(alice, 'button[aria-label^="Revoke invitation"]');
  check(await alice.locator('button[aria-label^="Revoke invitation"]').count() === 0, 'invitation still listed after revoke');
});
