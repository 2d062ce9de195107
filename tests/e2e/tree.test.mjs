// Browser tests of the message tree: regenerate and edit add versions that
// the ‹ n / m › navigator switches between, and a reply cut off mid-stream
// can be continued in place. Real wasm client, `kestrel serve`, mock model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack, sendMessage, waitHydrated, ARTIFACTS } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const texts = (page, selector) =>
  page.$$eval(selector, (nodes) => nodes.map((n) => n.innerText.trim()));
const idle = (page) => page.waitForSelector('.message.assistant.streaming', { state: 'detached' });

test('regenerate and edit add versions; ‹ › switches between them, also after a reload', async () => {
  await stack.queue({ kind: 'text', text: 'First answer.' });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'Name a colour');
  await page.waitForSelector('.message.assistant:not(.streaming)');
  await idle(page);

  await stack.queue({ kind: 'text', text: 'Second answer.' });
  await page.click('.message.assistant .tool.regenerate');
  await page.waitForSelector('.message.assistant .branch-label');
  await idle(page);
  assert.deepEqual(await texts(page, '.message.assistant .text'), ['Second answer.']);
  assert.equal(await page.innerText('.message.assistant .branch-label'), '2 / 2');

  await page.click('.message.assistant .branch-prev');
  await page.waitForFunction(() => document.querySelector('.message.assistant .branch-label')?.innerText === '1 / 2');
  assert.deepEqual(await texts(page, '.message.assistant .text'), ['First answer.']);

  // Edit the question: a second version of it, answered on its own.
  await stack.queue({ kind: 'text', text: 'Blue.' });
  await page.click('.message.user .tool.edit');
  await page.fill('.message-editor textarea', 'Name a colour of the sky');
  await page.click('.message-editor .save-edit');
  await page.waitForFunction(() => document.querySelector('.message.user .branch-label')?.innerText === '2 / 2');
  await idle(page);
  assert.deepEqual(await texts(page, '.message.user .text'), ['Name a colour of the sky']);
  assert.deepEqual(await texts(page, '.message.assistant .text'), ['Blue.']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-branches.png') });

  // The first version of the question comes back with its replies.
  await page.click('.message.user .branch-prev');
  await page.waitForFunction(() => document.querySelector('.message.user .branch-label')?.innerText === '1 / 2');
  assert.deepEqual(await texts(page, '.message.user .text'), ['Name a colour']);
  const shown = await texts(page, '.message.assistant .text');
  assert.equal(shown.length, 1);
  assert.ok(['First answer.', 'Second answer.'].includes(shown[0]), shown[0]);

  await page.reload();
  await waitHydrated(page);
  await page.waitForSelector('.message.user .branch-label');
  assert.equal(await page.innerText('.message.user .branch-label'), '1 / 2');
  assert.deepEqual(await texts(page, '.message.user .text'), ['Name a colour']);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a reply cut off by an error is continued in place', async () => {
  await stack.queue({ kind: 'mid_stream_error', text: 'The list begins with' });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'List three things');
  await page.waitForSelector('.message.assistant[data-status="Failed"] .tool.continue');

  await stack.queue({ kind: 'text', text: ' apples, pears and plums.' });
  await page.click('.message.assistant .tool.continue');
  await page.waitForSelector('.message.assistant[data-status=""]:not(.streaming)');
  assert.deepEqual(await texts(page, '.message.assistant .text'), ['The list begins with apples, pears and plums.']);
  assert.equal(await page.$('.message.assistant .branch-nav'), null, 'continuing adds no version');
  assert.equal(await page.$('.error-banner'), null);
  await page.close();
});
