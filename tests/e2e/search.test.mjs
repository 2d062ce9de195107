// Browser tests of search: Ctrl+K focuses the sidebar's search box, typed
// words show highlighted hits, and choosing a hit opens the right
// conversation on the right branch, scrolled to the message and marked.
// The real wasm client, `kestrel serve` and the mock Anthropic server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack, sendMessage, ARTIFACTS } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** Sends `text` and waits for the reply to be saved. */
async function ask(page, text) {
  const before = await page.locator('.message.assistant:not(.streaming)').count();
  await sendMessage(page, text);
  await page.waitForFunction(
    (n) => document.querySelectorAll('.message.assistant:not(.streaming)').length > n
      && !document.querySelector('.message.assistant.streaming'),
    before,
  );
}

/** Opens search with the keyboard from wherever focus is, and types. */
async function search(page, text) {
  await page.locator('.chat-title').click();
  await page.keyboard.press('Control+K');
  await page.waitForFunction(() => document.activeElement?.id === 'search-input');
  await page.keyboard.type(text);
}

test('Ctrl+K searches every conversation and a hit opens its message', async () => {
  const filler = Array.from({ length: 12 }, (_, i) => `Filler paragraph ${i} about nothing much.`).join('\n\n');
  await stack.queue(
    { kind: 'text', text: `The resplendent quetzal lives in cloud forests.\n\n${filler}` },
    { kind: 'text', text: filler },
    { kind: 'text', text: filler },
    { kind: 'text', text: 'Bring sandwiches and lemonade.' },
  );
  const page = await stack.newPage();
  await page.click('.new-chat');
  await ask(page, 'Tell me about the quetzal bird');
  await ask(page, 'And something else');
  await ask(page, 'And more');
  await page.click('.new-chat');
  await ask(page, 'Plan a picnic');

  await search(page, 'quetzal cloud');
  await page.waitForSelector('.search-hit mark');
  const marks = await page.locator('.search-hit mark').allInnerTexts();
  assert.deepEqual(marks.map((m) => m.toLowerCase()).sort(), ['cloud', 'quetzal']);
  assert.equal(await page.locator('.conversation-list').isVisible(), false, 'hits replace the list');
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-search-results.png') });

  const hit = page.locator('.search-hit', { hasText: 'forests' });
  const messageId = await hit.getAttribute('data-message-id');
  await hit.click();
  const target = page.locator(`.transcript [data-message-id="${messageId}"]`);
  await target.waitFor();
  assert.equal((await page.innerText('.chat-title')).trim(), 'Tell me about the quetzal bird');
  await page.waitForSelector(`.message.search-target[data-message-id="${messageId}"]`);
  assert.match(await target.innerText(), /resplendent quetzal/);
  // Scrolled into view inside the transcript.
  const inView = await target.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const pane = document.querySelector('.transcript').getBoundingClientRect();
    return box.top < pane.bottom && box.bottom > pane.top;
  });
  assert.ok(inView, 'the message is scrolled into view');
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-search-jump.png') });

  // Esc clears the search and the list is back.
  await page.press('#search-input', 'Escape');
  await page.waitForSelector('.conversation-list');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a hit on another branch switches to that branch; filters narrow the hits', async () => {
  await stack.queue(
    { kind: 'error', status: 400, error_type: 'invalid_request_error', message: 'Refused for the test' },
    { kind: 'text', text: 'Walruses haul out on ice.' },
  );
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'First attempt about narwhals');
  await page.waitForSelector('.error-banner');
  // A different text after a failed attempt becomes a sibling branch.
  await ask(page, 'Second attempt about walruses');
  assert.equal(await page.locator('.message.user', { hasText: 'narwhals' }).count(), 0);

  await search(page, 'narwhals');
  const hit = page.locator('.search-hit', { hasText: 'narwhals' });
  await hit.waitFor();
  await hit.click();
  await page.waitForSelector('.message.search-target');
  assert.match(await page.innerText('.message.search-target'), /First attempt about narwhals/);
  assert.equal(await page.locator('.message', { hasText: 'walruses' }).count(), 0,
    'the other branch is no longer shown');

  // Titles only: the conversation's title is its first message.
  await page.fill('#search-input', 'attempt');
  await page.selectOption('.search-scope', 'titles');
  await page.waitForFunction(() => {
    const hits = [...document.querySelectorAll('.search-hit')];
    return hits.length === 1 && hits[0].dataset.messageId === '';
  });
  // A word only in messages finds nothing among titles.
  await page.fill('#search-input', 'walruses');
  await page.waitForSelector('.search-note:text("No matches.")');
  await page.selectOption('.search-scope', 'messages');
  await page.selectOption('.search-period', 'day');
  await page.waitForSelector('.search-hit mark:text-is("Walruses")');

  // FTS syntax is searched as text, never an error.
  await page.fill('#search-input', '"NEAR( walruses* title:');
  await page.waitForSelector('.search-note:text("No matches.")');
  assert.equal(await page.locator('.search-note.error').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});
