// Chromium over https (issue 19), driven by tests/integration/test_tls.py, which starts the test
// IdP and nbhub with a certificate from a test CA:
//   HUB_URL=https://127.0.0.1:PORT/  node https_kernel.mjs
// Signs alice in through the IdP from the hub's root, lands in her notebook (the hub starts her
// server), checks that the hub's cookies are Secure, then from the notebook page starts a kernel
// and runs code over its wss:// channel, as the notebook's own JavaScript would.
// The certificate is the test CA's: the browser context ignores HTTPS errors.
import { chromium } from 'playwright-core';

const HUB = process.env.HUB_URL.replace(/\/?$/, '/');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(HUB);
  check(page.url().includes('/hub/login'), `anonymous ${HUB} should go to login, got ${page.url()}`);
  await page.click('a.button.primary');
  for (let i = 0; i < 5 && !page.url().startsWith(HUB); i++) {
    if (await page.locator('input[name=username]').count()) {
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'alice-pw');
      await Promise.all([page.waitForNavigation(), page.press('input[name=password]', 'Enter')]);
    } else if (await page.locator('button[type=submit]').count()) {
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    } else {
      await page.waitForTimeout(200);
    }
  }
  await page.waitForURL(/\/user\/alice\/(tree|lab)/, { timeout: 90000 });
  check(page.url().startsWith('https://'), `the notebook is not on https: ${page.url()}`);
  const cookies = await context.cookies();
  const hubCookies = cookies.filter((c) => c.name.startsWith('nbhub') || c.name.startsWith('jupyterhub'));
  check(hubCookies.length > 0, `no hub cookies: ${JSON.stringify(cookies.map((c) => c.name))}`);
  for (const c of hubCookies) check(c.secure, `cookie ${c.name} is not Secure`);

  const out = await page.evaluate(async () => {
    const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
    const base = location.pathname.replace(/(tree|lab).*$/, '');
    const r = await fetch(base + 'api/kernels', { method: 'POST', body: '{}',
      headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) } });
    if (r.status !== 201) return `POST api/kernels: ${r.status}`;
    const { id } = await r.json();
    const ws = new WebSocket(`wss://${location.host}${base}api/kernels/${id}/channels?session_id=browser`);
    return await new Promise((resolve) => {
      const msgId = 'm' + Date.now();
      let text = '';
      setTimeout(() => resolve('timeout: ' + text), 60000);
      ws.onerror = () => resolve('websocket error');
      ws.onopen = () => ws.send(JSON.stringify({
        header: { msg_id: msgId, username: 'alice', session: 'browser', msg_type: 'execute_request', version: '5.3' },
        parent_header: {}, metadata: {}, channel: 'shell',
        content: { code: 'print(6*7)', silent: false, store_history: false, user_expressions: {}, allow_stdin: false },
      }));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.parent_header?.msg_id !== msgId) return;
        if (m.msg_type === 'stream') text += m.content.text;
        if (m.msg_type === 'status' && m.content.execution_state === 'idle' && text) { ws.close(); resolve(text); }
      };
    });
  });
  check(out === '42\n', `kernel over wss: ${JSON.stringify(out)}`);
  console.log('HTTPS KERNEL OK');
} catch (e) {
  console.error('HTTPS KERNEL FAILED:', e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
