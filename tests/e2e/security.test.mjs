// Security promises of the web mode and of key handling, checked with the
// real `kestrel serve`, the real wasm client in headless Chromium, a real
// Secret Service (gnome-keyring in a private D-Bus session per stack), and
// plain HTTP where a browser would hide the answer. Each test names the
// promise it checks; SECURITY.md maps promises to these tests.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { startStack, sendMessage, waitHydrated, ARTIFACTS, SECRET_KEY, OPENAI_SECRET_KEY } from './harness.mjs';

const WRONG_KEY = 'sk-ant-api03-e2eWRONG-000000000000000000000000-0000';
const WRONG_OPENAI_KEY = 'sk-proj-e2eWRONG-99999999999999999999999999-9999';
/** Both keys the life cycle sets; neither may leak anywhere. */
const KEYS = [SECRET_KEY, OPENAI_SECRET_KEY];
const json = { 'content-type': 'application/json' };
const UNKNOWN_ID = '0190a000-0000-7000-8000-000000000000';

/** Files under `dir` whose bytes contain `needle`. */
function filesContaining(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const file = path.join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (readFileSync(file).includes(needle)) hits.push(file);
    }
  };
  walk(dir);
  return hits;
}

/** Everything the page's origin keeps: Web Storage, IndexedDB, Cache Storage, cookies (HttpOnly too). */
async function browserStorage(page) {
  const inPage = await page.evaluate(async () => {
    const out = { local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, idb: {}, caches: [] };
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      for (const store of db.objectStoreNames) {
        out.idb[`${name}/${store}`] = await new Promise((resolve) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => resolve(JSON.stringify(req.result));
          req.onerror = () => resolve('<unreadable>');
        });
      }
      db.close();
    }
    for (const key of await caches.keys()) {
      const cache = await caches.open(key);
      for (const request of await cache.keys()) out.caches.push(await (await cache.match(request)).text());
    }
    return out;
  });
  const cookies = await page.context().cookies();
  return JSON.stringify({ ...inPage, cookies });
}

/** A raw HTTP request, so `Host` can be anything. */
function rawRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function settings(page) {
  await page.click('.open-settings');
  await page.waitForSelector('.dialog .key-status');
}

const keyStatus = (page) => page.innerText('.dialog .key-status');

/** Shows the OpenAI-compatible key section and waits for its status. */
async function openaiSection(page) {
  await page.click('.key-provider-openai');
  await page.waitForSelector('.key-section[data-provider="openai"] .key-status');
  await page.waitForFunction(() => !document.querySelector('.key-status').innerText.startsWith('Reading'));
}

/** Waits until the key line includes `text`. */
const statusIncludes = (page, text) =>
  page.waitForFunction((t) => document.querySelector('.key-status')?.innerText.includes(t), text);

describe('keys', () => {
  test('the key life cycle in the UI, for Anthropic and an OpenAI-compatible server, uses the OS keychain and neither full key reaches a file, log, response or browser storage', async () => {
    // Every crate logs at its most verbose, to the log file and stderr.
    const stack = await startStack({ apiKey: null, env: { RUST_LOG: 'trace' }, openaiMock: true });
    try {
      const page = await stack.newPage();
      const console = [];
      page.on('console', (message) => console.push(message.text()));
      await settings(page);
      assert.equal(await keyStatus(page), 'No API key is configured.');
      assert.equal(await page.locator('.keychain-unavailable').count(), 0, 'the keychain works here');

      // A wrong key: saved to the keychain, rejected by "Check key" and by a chat.
      await page.fill('#api-key-input', WRONG_KEY);
      await page.click('.save-key');
      await page.waitForFunction(() => document.querySelector('.key-status')?.innerText.includes('system keychain (…0000)'));
      assert.equal(await page.inputValue('#api-key-input'), '', 'the field is cleared once saved');
      await page.click('.check-key');
      await page.waitForSelector('.key-note.bad');
      assert.match(await page.innerText('.key-note'), /rejected the key/);
      await page.click('.close-settings');
      await sendMessage(page, 'Hello with the wrong key');
      await page.waitForSelector('.error-banner');

      // The right key replaces it and checks out.
      await settings(page);
      await page.fill('#api-key-input', SECRET_KEY);
      await page.click('.save-key');
      await page.waitForFunction(() => document.querySelector('.key-status')?.innerText.includes('system keychain (…LEAK)'));
      await page.click('.check-key');
      await page.waitForSelector('.key-note.good:has-text("accepted")');
      await page.screenshot({ path: path.join(ARTIFACTS, 'security-settings-keychain.png') });
      await page.click('.close-settings');

      await stack.queue({ kind: 'text', text: 'Keychain key works.' });
      await sendMessage(page, 'Hello with the keychain key');
      await page.waitForSelector('.message.assistant:not(.streaming) >> text=Keychain key works.');
      // An error path with the right key: the provider fails.
      await stack.queue({ kind: 'error', status: 400, error_type: 'invalid_request_error', message: 'This request is not valid.' });
      await sendMessage(page, 'And now a provider error');
      await page.waitForSelector('.error-banner');

      // Export the conversation, as JSON and as Markdown, the way the
      // header's export menu asks for it (the answers are captured too).
      const conversation = await page.evaluate(() => window.location.hash.slice(1));
      assert.match(conversation, /^[0-9a-f-]{36}$/, 'the open conversation is in the address');
      for (const markdown of [false, true]) {
        const exported = await page.evaluate(async ([id, markdown]) => {
          const res = await fetch('/api/v1/conversations/export', {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id, markdown, branch_only: false }),
          });
          return [res.status, await res.text()];
        }, [conversation, markdown]);
        assert.equal(exported[0], 200, exported[1]);
        assert.match(exported[1], /Keychain key works/, 'the export holds the conversation');
        assert.ok(!exported[1].includes(SECRET_KEY), 'no export holds the key');
      }

      // The OpenAI-compatible provider, from the same section: its server
      // address first (a garbage one is refused and changes nothing).
      await settings(page);
      await openaiSection(page);
      assert.equal(await keyStatus(page), 'No key is set for this server.');
      assert.equal(await page.inputValue('#openai-base-url-input'), 'https://api.openai.com/v1', 'the default server');
      await page.fill('#openai-base-url-input', 'ftp://files.example/v1');
      await page.click('.save-base-url');
      await page.waitForSelector('.key-note.bad');
      assert.match(await page.innerText('.key-note'), /must start with http:\/\/ or https:\/\//);
      assert.equal(await page.inputValue('#openai-base-url-input'), 'ftp://files.example/v1', 'what was typed stays');
      const endpoint = `${stack.openaiUrl}/v1`;
      await page.fill('#openai-base-url-input', `${endpoint}/`);
      await page.click('.save-base-url');
      await page.waitForSelector(`.key-note.good:has-text("Requests now go to ${endpoint}.")`);
      assert.equal(await page.inputValue('#openai-base-url-input'), endpoint);
      assert.equal(await keyStatus(page), 'No key is set for this server.');

      // A wrong key, rejected by the server; then the right one.
      await page.fill('#api-key-input', WRONG_OPENAI_KEY);
      await page.click('.save-key');
      await statusIncludes(page, 'system keychain (…9999)');
      assert.equal(await page.inputValue('#api-key-input'), '', 'the field is cleared once saved');
      await page.click('.check-key');
      await page.waitForSelector('.key-note.bad:has-text("rejected the key")');
      await page.fill('#api-key-input', OPENAI_SECRET_KEY);
      await page.click('.save-key');
      await statusIncludes(page, 'system keychain (…OAIK)');
      await page.click('.check-key');
      await page.waitForSelector('.key-note.good:has-text("The server accepted the key.")');
      await page.screenshot({ path: path.join(ARTIFACTS, 'security-settings-openai.png') });
      // Each provider keeps its own key.
      await page.click('.key-provider-anthropic');
      await statusIncludes(page, 'system keychain (…LEAK)');
      await page.click('.close-settings');

      // A conversation on the OpenAI-compatible provider chats with that key.
      await page.click('.new-chat');
      await page.selectOption('select.provider-picker', 'openai');
      await page.waitForFunction(() => document.querySelector('select.provider-picker').value === 'openai');
      await stack.queueOpenAi({ kind: 'text', text: 'Compatible server works.' });
      await sendMessage(page, 'Hello through the compatible server');
      await page.waitForSelector('.message.assistant:not(.streaming) >> text=Compatible server works.');
      const sent = await (await fetch(`${stack.openaiUrl}/_mock/requests`)).json();
      const chats = sent.filter((r) => r.path === '/v1/chat/completions');
      assert.equal(chats.length, 1, 'the turn went to the compatible server');
      assert.equal(chats[0].headers.authorization, `Bearer ${OPENAI_SECRET_KEY}`);
      const wrongCheck = sent.filter((r) => r.path === '/v1/models' && r.headers.authorization === `Bearer ${WRONG_OPENAI_KEY}`);
      assert.equal(wrongCheck.length, 1, '"Check key" is one model list call');

      // A reload reads both statuses again; the endpoint is remembered.
      await page.reload();
      await waitHydrated(page);
      await settings(page);
      assert.match(await keyStatus(page), /system keychain \(…LEAK\)/);
      await openaiSection(page);
      assert.match(await keyStatus(page), /system keychain \(…OAIK\)/);
      assert.equal(await page.inputValue('#openai-base-url-input'), endpoint);
      const dom = await page.content();
      const storage = await browserStorage(page);
      for (const key of KEYS) {
        assert.ok(!dom.includes(key), 'the DOM never holds a key');
        assert.ok(!storage.includes(key), 'localStorage, sessionStorage, IndexedDB, Cache Storage, cookies');
      }

      // Remove both.
      await page.click('.remove-key');
      await page.waitForFunction(() => document.querySelector('.key-status')?.innerText === 'No key is set for this server.');
      await page.click('.key-provider-anthropic');
      await page.click('.remove-key');
      await page.waitForFunction(() => document.querySelector('.key-status')?.innerText === 'No API key is configured.');
      await page.click('.close-settings');
      await page.click('.new-chat');
      await sendMessage(page, 'Hello after removing the key');
      await page.waitForSelector('.error-banner >> text=Add an API key');
      await page.screenshot({ path: path.join(ARTIFACTS, 'security-key-removed.png') });
      const finalDom = await page.content();
      const finalStorage = await browserStorage(page);
      await page.close();

      for (const key of KEYS) {
        assert.ok(!finalDom.includes(key) && !finalStorage.includes(key), 'nothing in the page at the end');
        assert.deepEqual(filesContaining(stack.dataDir, key), [], 'no file in the data dir (database, WAL, logs)');
        assert.ok(!stack.output().includes(key), 'nothing kestrel printed, at trace level');
        assert.ok(!console.some((line) => line.includes(key)), 'no browser console line');
        assert.ok(!stack.bodies.some((body) => body.includes(key)), 'no HTTP response body');
      }
      assert.ok(filesContaining(stack.dataDir, 'reply chunk').length > 0, 'trace-level lines reached the log file');
      assert.ok(filesContaining(stack.dataDir, endpoint).length > 0, 'the server address is a saved setting');
      assert.ok(stack.bodies.length > 20, `response bodies were captured (${stack.bodies.length})`);
      assert.ok(stack.bodies.some((body) => body.includes('"last_four":"LEAK"')), 'the capture saw the Anthropic key status');
      assert.ok(stack.bodies.some((body) => body.includes('"last_four":"OAIK"')), 'the capture saw the OpenAI-compatible key status');
    } finally {
      await stack.stop();
    }
  });

  test('without a secure store the app says so and keeps a key for this session only', async () => {
    const stack = await startStack({ apiKey: null, keyring: 'none' });
    try {
      const page = await stack.newPage();
      await settings(page);
      assert.match(await page.innerText('.keychain-unavailable'),
        /^No secure key store is available \(.+\)\. A key entered here is kept in memory for this session only and is never written to disk\.$/);
      assert.equal((await page.innerText('.save-key')).trim(), 'Use for this session');
      await page.fill('#api-key-input', SECRET_KEY);
      await page.click('.save-key');
      await page.waitForSelector('.key-note.good:has-text("this session only")');
      assert.match(await keyStatus(page), /entered here \(…LEAK\), kept in memory until Kestrel exits/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'security-settings-session-only.png') });
      await page.click('.close-settings');
      await stack.queue({ kind: 'text', text: 'Session key works.' });
      await sendMessage(page, 'Hello with a session key');
      await page.waitForSelector('.message.assistant:not(.streaming) >> text=Session key works.');
      await page.screenshot({ path: path.join(ARTIFACTS, 'security-session-key.png') });
      await page.close();
      assert.deepEqual(filesContaining(stack.dataDir, SECRET_KEY), [], 'nothing on disk');
      assert.ok(!stack.output().includes(SECRET_KEY), 'nothing printed');
    } finally {
      await stack.stop();
    }
  });
});

describe('web server on loopback', () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  test('the app runs under a strict CSP with zero violations, and the policy blocks injected script', async () => {
    const page = await stack.browser.newPage();
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const console = [];
    page.on('console', (message) => console.push(message.text()));
    const response = await page.goto(`${stack.appUrl}/`);
    const csp = response.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self' 'nonce-[0-9a-f]{32}' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(csp, /'unsafe-eval'|script-src[^;]*'unsafe-inline'/);
    assert.match(csp, /frame-ancestors 'none'/);
    await waitHydrated(page);
    await stack.queue({ kind: 'text', text: 'Works under the policy.' });
    await sendMessage(page, 'Hello under CSP');
    await page.waitForSelector('.message.assistant:not(.streaming) >> text=Works under the policy.');
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation while the app loads and chats');
    assert.ok(!console.some((line) => /Content Security Policy/i.test(line)), console.join('\n'));

    // The same listener sees a violation when something injects script.
    await page.evaluate(() => {
      const div = document.createElement('div');
      div.innerHTML = '<img src="data:," onerror="window.__ran = true">';
      document.body.append(div);
    });
    await page.waitForFunction(() => window.__csp.length > 0);
    assert.equal(await page.evaluate(() => window.__ran), undefined, 'the inline handler did not run');
    await page.close();
  });

  test('every response carries the security headers', async () => {
    const page = await fetch(`${stack.appUrl}/`);
    const script = await fetch(`${stack.appUrl}/wasm/kestrel.js`);
    const api = await fetch(`${stack.appUrl}/api/v1/conversations`);
    const missing = await fetch(`${stack.appUrl}/api/v1/no-such-endpoint`);
    for (const [name, res] of Object.entries({ page, script, api, missing })) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', name);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', name);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, name);
    }
    assert.equal(script.status, 200);
    assert.equal(api.headers.get('cache-control'), 'no-store');
    assert.equal(missing.status, 404, 'an unknown API path is not answered with the app page');
  });

  test('a page on another origin cannot make the server do anything (CSRF)', async () => {
    const before = await (await fetch(`${stack.appUrl}/api/v1/conversations`)).json();
    const page = await stack.browser.newPage();
    await page.goto(`${stack.mockUrl}/_mock/requests`); // any page on another origin
    await page.evaluate(async (url) => {
      for (const type of ['text/plain', 'application/json']) {
        await fetch(`${url}/api/v1/conversations/new`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': type }, body: '{}' }).catch(() => {});
      }
      const form = Object.assign(document.createElement('form'), { method: 'POST', action: `${url}/api/v1/settings/key`, enctype: 'text/plain' });
      document.body.append(form);
      form.submit();
    }, stack.appUrl);
    await page.waitForLoadState('load');
    await page.close();
    const after = await (await fetch(`${stack.appUrl}/api/v1/conversations`)).json();
    assert.equal(after.length, before.length, 'no conversation was created');

    const forged = await fetch(`${stack.appUrl}/api/v1/conversations/new`, { method: 'POST', headers: { ...json, origin: 'http://evil.example' }, body: '{}' });
    assert.equal(forged.status, 403);
    const sameOrigin = await fetch(`${stack.appUrl}/api/v1/conversations/new`, { method: 'POST', headers: { ...json, origin: stack.appUrl }, body: '{}' });
    assert.equal(sameOrigin.status, 200, 'the app itself still can');
  });

  test('a request for another host name is refused (DNS rebinding)', async () => {
    const port = new URL(stack.appUrl).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      const page = await rawRequest(`${stack.appUrl}/`, { headers: { host } });
      assert.equal(page.status, 403, host);
      const api = await rawRequest(`${stack.appUrl}/api/v1/settings/key?provider=anthropic`, { headers: { host } });
      assert.equal(api.status, 403, host);
      assert.ok(!api.text.includes('last_four'), 'no data for a rebound name');
    }
    assert.equal((await rawRequest(`${stack.appUrl}/`, { headers: { host: `localhost:${port}` } })).status, 200);
  });

  test('oversized requests get a clear 413, with or without a length', async () => {
    const big = 'a'.repeat(9 * 1024 * 1024);
    const body = JSON.stringify({ request: { conversation_id: null, text: big } });
    const sized = await fetch(`${stack.appUrl}/api/v1/chat`, { method: 'POST', headers: json, body });
    assert.equal(sized.status, 413);
    assert.match((await sized.json()).error, /larger than 8 MiB/);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 9; i++) controller.enqueue(new TextEncoder().encode(big.slice(0, 1024 * 1024)));
        controller.close();
      },
    });
    const chunked = await fetch(`${stack.appUrl}/api/v1/chat`, { method: 'POST', headers: json, body: stream, duplex: 'half' });
    assert.equal(chunked.status, 413);
    // The server is fine afterwards.
    assert.equal((await fetch(`${stack.appUrl}/api/v1/conversations`)).status, 200);
  });

  test('bad input gets a clear 4xx, never a 500 or a trace, never data from elsewhere', async () => {
    // A conversation whose text must not leak into any error.
    await stack.queue({ kind: 'text', text: 'PRIVATE-REPLY-7731' });
    const created = await (await fetch(`${stack.appUrl}/api/v1/conversations/new`, { method: 'POST', headers: json, body: '{}' })).json();
    const chat = await fetch(`${stack.appUrl}/api/v1/chat`, { method: 'POST', headers: json,
      body: JSON.stringify({ request: { conversation_id: created.id, text: 'PRIVATE-QUESTION-7731' } }) });
    assert.match(await chat.text(), /PRIVATE-REPLY-7731/);

    const cases = [
      ['malformed JSON', '/api/v1/conversations/load', '{"id": ', 400],
      ['not JSON at all', '/api/v1/chat', 'hello', 400],
      ['a number for an id', '/api/v1/conversations/load', '{"id": 5}', 400],
      ['a missing argument', '/api/v1/conversations/system-prompt', `{"id": "${created.id}"}`, 400],
      ['an unknown conversation', '/api/v1/conversations/load', `{"id": "${UNKNOWN_ID}"}`, 400],
      ['an unknown conversation for a prompt', '/api/v1/conversations/system-prompt', `{"id": "${UNKNOWN_ID}", "system_prompt": "x"}`, 400],
      ['a wrong theme', '/api/v1/settings/theme', '{"theme": "purple"}', 400],
      ['an unknown endpoint', '/api/v1/conversations/delete-everything', '{}', 405],
      ['an unknown message to switch to', '/api/v1/conversations/switch-branch', `{"message_id": "${UNKNOWN_ID}"}`, 400],
      ['an unknown message to reveal', '/api/v1/search/reveal', `{"message_id": "${UNKNOWN_ID}"}`, 400],
      ['an unknown conversation to rename', '/api/v1/conversations/rename', `{"id": "${UNKNOWN_ID}", "title": "x"}`, 400],
      ['an unknown conversation to export', '/api/v1/conversations/export', `{"id": "${UNKNOWN_ID}", "markdown": false, "branch_only": false}`, 400],
      ['a key for an unknown provider', '/api/v1/settings/key', '{"provider": "gemini", "key": "sk-x"}', 400],
      ['a key without its provider', '/api/v1/settings/key', '{"key": "sk-x"}', 400],
      ['checking an unknown provider', '/api/v1/settings/key/check', '{"provider": "gemini"}', 400],
      ['removing an unknown provider', '/api/v1/settings/key/delete', '{"provider": 7}', 400],
      ['a server address that is not one', '/api/v1/settings/openai-base-url', '{"base_url": "not an address"}', 400],
      ['a server address that is not http', '/api/v1/settings/openai-base-url', '{"base_url": "javascript:alert(1)"}', 400],
      ['a server address with a password', '/api/v1/settings/openai-base-url', '{"base_url": "https://me:PRIVATE-pw@example.com/v1"}', 400],
    ];
    for (const [what, endpoint, body, status] of cases) {
      const res = await fetch(`${stack.appUrl}${endpoint}`, { method: 'POST', headers: json, body });
      const text = await res.text();
      assert.equal(res.status, status, `${what}: ${text}`);
      assert.doesNotMatch(text, /panicked|backtrace|\.rs:\d+|PRIVATE-/, what);
      assert.match(text, /"kind":"bad_input"/, what);
    }
    // A turn for an unknown conversation is refused as an event, saving nothing.
    const unknown = await fetch(`${stack.appUrl}/api/v1/chat`, { method: 'POST', headers: json,
      body: JSON.stringify({ request: { conversation_id: UNKNOWN_ID, text: 'into the void' } }) });
    const events = (await unknown.text()).trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(events.map((e) => [e.type, e.error?.kind]), [['error', 'bad_input']]);
    assert.doesNotMatch(JSON.stringify(events), /PRIVATE-/);
    // So is a new reply to, or the continuation of, a message that does not exist.
    for (const endpoint of ['/api/v1/chat/regenerate', '/api/v1/chat/continue']) {
      const res = await fetch(`${stack.appUrl}${endpoint}`, { method: 'POST', headers: json,
        body: JSON.stringify({ message_id: UNKNOWN_ID }) });
      const refused = (await res.text()).trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(refused.map((e) => e.type), ['error'], endpoint);
      assert.doesNotMatch(JSON.stringify(refused), /PRIVATE-|panicked|\.rs:\d+/, endpoint);
    }
    // The key status of an unknown provider, or of none, is a 400 too.
    for (const query of ['?provider=gemini', '?provider=', '']) {
      const res = await fetch(`${stack.appUrl}/api/v1/settings/key${query}`);
      const text = await res.text();
      assert.equal(res.status, 400, `key status ${query}: ${text}`);
      assert.doesNotMatch(text, /panicked|backtrace|\.rs:\d+|last_four/, query);
    }
    const known = await fetch(`${stack.appUrl}/api/v1/settings/key?provider=openai`);
    assert.equal(known.status, 200);
    assert.equal((await known.json()).base_url, 'https://api.openai.com/v1');
    // Cancelling a turn that does not exist is a plain "no".
    const cancel = await fetch(`${stack.appUrl}/api/v1/chat/cancel`, { method: 'POST', headers: json, body: `{"turn_id": "${UNKNOWN_ID}"}` });
    assert.equal(await cancel.text(), 'false');
  });
});

describe('web server beyond loopback', () => {
  let stack;
  let token;
  before(async () => {
    stack = await startStack({ serveArgs: ['--host', '0.0.0.0'] });
    token = stack.output().match(/Access token \(shown once; only its hash is kept\): ([0-9a-f]{64})/)?.[1];
  });
  after(async () => { await stack?.stop(); });

  test('the access token is printed once and only its hash is stored', () => {
    assert.ok(token, stack.output());
    const stored = readFileSync(path.join(stack.dataDir, 'web-token.sha256'), 'utf8');
    assert.match(stored, /^[0-9a-f]{64}$/);
    assert.ok(!stored.includes(token));
    assert.equal(statSync(path.join(stack.dataDir, 'web-token.sha256')).mode & 0o777, 0o600);
    assert.deepEqual(filesContaining(stack.dataDir, token), []);
  });

  test('without the token: a login page for browsers, 401 for everything else', async () => {
    for (const endpoint of ['/api/v1/conversations', '/api/v1/settings/key?provider=anthropic', '/api/v1/settings/key?provider=openai']) {
      const res = await fetch(`${stack.appUrl}${endpoint}`);
      assert.equal(res.status, 401, endpoint);
      assert.doesNotMatch(await res.text(), /last_four|base_url/);
    }
    const post = await fetch(`${stack.appUrl}/api/v1/settings/key`, { method: 'POST', headers: json, body: '{"provider": "anthropic", "key": "sk-evil"}' });
    assert.equal(post.status, 401);
    const wrong = await fetch(`${stack.appUrl}/api/v1/conversations`, { headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${stack.appUrl}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(right.status, 200);
  });

  test('signing in with the token sets an HttpOnly, SameSite=Strict cookie and the app works', async () => {
    const page = await stack.newPage({ hydrate: false });
    await page.waitForSelector('form[action="/login"]');
    assert.equal(await page.locator('#composer-input').count(), 0, 'no app before signing in');
    await page.fill('#token', 'not-the-token');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[role="alert"]:has-text("not right")');
    await page.fill('#token', token);
    await page.click('button[type="submit"]');
    await waitHydrated(page);
    const [cookie] = await page.context().cookies();
    assert.equal(cookie.name, 'kestrel_access');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read it');
    await stack.queue({ kind: 'text', text: 'Signed in and chatting.' });
    await sendMessage(page, 'Hello over the network');
    await page.waitForSelector('.message.assistant:not(.streaming) >> text=Signed in and chatting.');
    await page.screenshot({ path: path.join(ARTIFACTS, 'security-signed-in.png') });
    await page.close();
  });
});

describe('rate limit', () => {
  let stack;
  before(async () => { stack = await startStack({ serveArgs: ['--chat-per-minute', '3'] }); });
  after(async () => { await stack?.stop(); });

  test('the chat endpoint is limited per client, and the UI says so and keeps the message', async () => {
    const send = () => fetch(`${stack.appUrl}/api/v1/chat`, { method: 'POST', headers: json,
      body: JSON.stringify({ request: { conversation_id: null, text: '' } }) });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send()).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    const limited = await send();
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    const event = JSON.parse((await limited.text()).trim());
    assert.equal(event.error.kind, 'rate_limited');
    // Other endpoints are not limited.
    assert.equal((await fetch(`${stack.appUrl}/api/v1/conversations`)).status, 200);

    const page = await stack.newPage();
    await sendMessage(page, 'One message too many');
    await page.waitForSelector('.error-banner');
    assert.match(await page.innerText('.error-banner'), /Too many messages from this client; try again in \d+ s\./);
    assert.equal(await page.inputValue('#composer-input'), 'One message too many', 'the message is not lost');
    await page.close();
  });
});
