// Browser end-to-end tests of the web UI: the real wasm client in headless
// Chromium, `kestrel serve`, and the mock Anthropic server. Each test names
// the promise it checks. Screenshots land in $KESTREL_ARTIFACTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { startStack, sendMessage, watchStream, waitHydrated, ARTIFACTS, SECRET_KEY } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const paced = (tokensPerSecond) => ({ first_token_ms: 150, tokens_per_second: tokensPerSecond });
const words = (n) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

test('a reply streams in progressively and is still there after a reload', async () => {
  const reply = 'Streaming works: this reply arrives one word at a time, and the page shows it as it comes.';
  await stack.queue({ kind: 'text', text: reply, pacing: paced(25) });
  const page = await stack.newPage();

  await sendMessage(page, 'Show me streaming');
  const { lengths } = await watchStream(page);
  assert.ok(lengths.length >= 3, `the reply grew in at least 3 steps, saw ${JSON.stringify(lengths)}`);
  assert.ok(lengths.every((n, i) => i === 0 || n > lengths[i - 1]), 'the text only grows');

  await page.waitForSelector('.message.assistant:not(.streaming)');
  assert.equal((await page.innerText('.message.assistant .text')).trim(), reply);
  assert.equal(await page.inputValue('#composer-input'), '', 'the composer is cleared after sending');
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-streamed.png') });

  await page.reload();
  await waitHydrated(page);
  await page.waitForSelector('.message.assistant');
  assert.equal((await page.innerText('.message.user .text')).trim(), 'Show me streaming');
  assert.equal((await page.innerText('.message.assistant .text')).trim(), reply);
  assert.equal((await page.innerText('.conversation-item.active')).trim(), 'Show me streaming');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Stop during a slow stream keeps the partial reply, also after a reload', async () => {
  const full = words(300);
  await stack.queue({ kind: 'text', text: full, pacing: paced(20) });
  const page = await stack.newPage();
  await page.click('.new-chat');

  await sendMessage(page, 'Talk slowly');
  const { stopped } = await watchStream(page, { stopAfterChars: 30 });
  assert.ok(stopped, 'some text streamed before Stop');
  await page.click('button.stop');
  await page.waitForSelector('.message.assistant[data-status="Stopped"]');
  const partial = (await page.innerText('.message.assistant .text')).trim();
  assert.ok(partial.length >= 30 && partial.length < full.length, `partial reply kept (${partial.length} chars)`);
  assert.ok(full.startsWith(partial), 'the partial reply is a prefix of the full one');
  assert.ok(await page.isEnabled('#composer-input'));

  await page.reload();
  await waitHydrated(page);
  await page.waitForSelector('.message.assistant[data-status="Stopped"]');
  assert.equal((await page.innerText('.message.assistant .text')).trim(), partial);
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-stopped.png') });
  await page.close();
});

test('Esc stops a reply too', async () => {
  await stack.queue({ kind: 'text', text: words(300), pacing: paced(20) });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'Talk slowly again');
  await watchStream(page, { stopAfterChars: 10 });
  await page.keyboard.press('Escape');
  await page.waitForSelector('.message.assistant[data-status="Stopped"]');
  await page.close();
});

test('an empty message cannot be sent', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  assert.equal(await page.isDisabled('button.send'), true);
  await page.fill('#composer-input', '   \n  ');
  assert.equal(await page.isDisabled('button.send'), true);
  await page.press('#composer-input', 'Enter');
  assert.equal(await page.locator('.message').count(), 0);
  await page.close();
});

test('a rejected key shows "API key rejected", links to settings, and keeps the message', async () => {
  await stack.queue({ kind: 'error', status: 401, error_type: 'authentication_error', message: 'invalid x-api-key' });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'This message must not be lost');
  await page.waitForSelector('.error-banner');
  assert.match(await page.innerText('.error-banner'), /API key rejected/);
  assert.equal(await page.inputValue('#composer-input'), 'This message must not be lost');
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-key-rejected.png') });
  await page.click('.open-settings-from-error');
  await page.waitForSelector('.dialog .key-status');
  await page.click('.close-settings');

  // Editing the kept text and sending again replaces the failed attempt.
  await stack.queue({ kind: 'text', text: 'Got it this time.' });
  await sendMessage(page, 'This message must not be lost, edited');
  await page.waitForSelector('.message.assistant:not(.streaming)');
  const shown = await page.$$eval('.message .text', (nodes) => nodes.map((n) => n.innerText));
  assert.deepEqual(shown, ['This message must not be lost, edited', 'Got it this time.']);
  assert.equal(await page.locator('.error-banner').count(), 0);
  await page.close();
});

test('a 1 MB paste is accepted and sent', async () => {
  const big = 'lorem ipsum dolor sit amet '.repeat(40_000); // ~1.08 MB
  const page = await stack.newPage();
  await page.click('.new-chat');
  await page.fill('#composer-input', big);
  await page.waitForFunction(() => /≈ \d+ tokens/.test(document.querySelector('.token-count')?.innerText ?? ''));
  assert.equal(await page.isEnabled('button.send'), true);
  await page.click('button.send');
  await page.waitForSelector('.message.assistant:not(.streaming)', { timeout: 60_000 });
  const sent = await page.evaluate(() => document.querySelector('.message.user .text').innerText.length);
  assert.equal(sent, big.length, 'the whole paste reached the transcript');
  await page.close();
});

test('a 3 MB message goes through; one over the limit is refused before sending', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  const three = 'x'.repeat(3 * 1024 * 1024);
  await page.fill('#composer-input', three);
  await page.click('button.send');
  await page.waitForSelector('.message.assistant:not(.streaming)', { timeout: 60_000 });
  assert.equal(await page.locator('.error-banner').count(), 0);

  await page.click('.new-chat');
  await page.fill('#composer-input', 'y'.repeat(5 * 1024 * 1024));
  await page.waitForSelector('.too-long');
  assert.equal(await page.isDisabled('button.send'), true);
  await page.press('#composer-input', 'Enter');
  assert.equal(await page.locator('.message').count(), 0);
  await page.close();
});

test('theme choice applies at once and is remembered', async () => {
  const page = await stack.newPage();
  await page.click('.open-settings');
  await page.click('.dialog .theme-dark');
  assert.equal(await page.getAttribute('.app', 'data-theme'), 'dark');
  await page.reload();
  await waitHydrated(page);
  assert.equal(await page.getAttribute('.app', 'data-theme'), 'dark');
  await page.click('.open-settings');
  await page.click('.dialog .theme-system');
  assert.equal(await page.getAttribute('.app', 'data-theme'), 'system');
  await page.close();
});

test('a system prompt set in the UI is sent with the next message', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  await page.click('.toggle-system-prompt');
  await page.fill('#system-prompt-input', 'Answer like a pirate.');
  await page.click('.save-system-prompt');
  await page.waitForSelector('#system-prompt-input', { state: 'detached' });
  await sendMessage(page, 'Ahoy?');
  await page.waitForSelector('.message.assistant:not(.streaming)');
  const requests = await (await fetch(`${stack.mockUrl}/_mock/requests`)).json();
  const last = requests.filter((r) => r.path === '/v1/messages').at(-1);
  // Sent as a text block, so it can carry a prompt-cache breakpoint.
  assert.equal(last.body.system[0].text, 'Answer like a pirate.');
  await page.close();
});

test('the sidebar switches between conversations', async () => {
  await stack.queue({ kind: 'text', text: 'Answer about apples.' }, { kind: 'text', text: 'Answer about pears.' });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'Tell me about apples');
  await page.waitForSelector('.message.assistant:not(.streaming)');
  await page.click('.new-chat');
  assert.equal(await page.locator('.message').count(), 0, 'a new conversation starts empty');
  await sendMessage(page, 'Tell me about pears');
  await page.waitForSelector('.message.assistant:not(.streaming)');

  const items = page.locator('.conversation-item');
  assert.equal((await items.nth(0).innerText()).trim(), 'Tell me about pears', 'most recent first');
  await page.click('.conversation-item:has-text("Tell me about apples")');
  await page.waitForFunction(() => document.querySelector('.message.assistant .text')?.innerText === 'Answer about apples.');
  assert.equal((await page.innerText('.chat-title')).trim(), 'Tell me about apples');
  await page.click('.conversation-item:has-text("Tell me about pears")');
  await page.waitForFunction(() => document.querySelector('.message.assistant .text')?.innerText === 'Answer about pears.');
  await page.close();
});

test('the API key appears in no file, log line or response', async () => {
  const page = await stack.newPage();
  await page.click('.open-settings');
  const status = await page.innerText('.dialog .key-status');
  assert.match(status, /environment \(…LEAK\)/, 'settings show only the last four characters');
  const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookies: document.cookie }));
  assert.ok(!storage.includes(SECRET_KEY), 'browser storage');
  await page.close();

  const hits = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (readFileSync(file).includes(SECRET_KEY)) hits.push(file);
    }
  };
  walk(stack.dataDir);
  assert.deepEqual(hits, [], 'no file in the data dir (database, WAL, logs) holds the key');
  assert.ok(stack.bodies.length > 20, `response bodies were captured (${stack.bodies.length})`);
  assert.ok(!stack.bodies.some((body) => body.includes(SECRET_KEY)), 'no response body holds the key');
});

test('without a key the app asks for one and keeps the message', async () => {
  const keyless = await startStack({ apiKey: null });
  try {
    const page = await keyless.newPage();
    assert.match(await page.getAttribute('#composer-input', 'placeholder'), /Add an API key/);
    await sendMessage(page, 'Hello without a key');
    await page.waitForSelector('.error-banner');
    assert.match(await page.innerText('.error-banner'), /Add an API key to start chatting/);
    assert.equal(await page.inputValue('#composer-input'), 'Hello without a key');
    assert.equal(await page.locator('.message').count(), 0, 'nothing was sent or saved');
    await page.click('.open-settings-from-error');
    await page.fill('#api-key-input', SECRET_KEY);
    await page.click('.save-key');
    await page.waitForFunction(() => /(system keychain|entered here) \(…LEAK\)/.test(document.querySelector('.key-status')?.innerText ?? ''));
    await page.click('.close-settings');
    await page.press('#composer-input', 'Enter');
    await page.waitForSelector('.message.assistant:not(.streaming)');
    assert.equal(await page.locator('.error-banner').count(), 0);
    await page.close();
  } finally {
    await keyless.stop();
  }
});

test('an unreachable provider is a clear connection error and the message is kept', async () => {
  const down = await startStack({ baseUrl: 'http://127.0.0.1:9' });
  try {
    const page = await down.newPage();
    await sendMessage(page, 'Is anyone there?');
    await page.waitForSelector('.error-banner');
    const banner = await page.innerText('.error-banner');
    assert.match(banner, /Cannot reach the provider/);
    assert.match(banner, /127\.0\.0\.1:9/);
    assert.equal(await page.inputValue('#composer-input'), 'Is anyone there?');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-provider-down.png') });
    await page.close();
  } finally {
    await down.stop();
  }
});
