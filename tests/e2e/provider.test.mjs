// Browser tests of the provider layer's UI: the model picker fed by the
// model list (and the next request using the chosen model), tokens and
// cost under a reply and for the conversation, the thinking switch,
// specific error advice with the request id, a retry said while it waits,
// and thinking shown while it streams.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack, sendMessage, ARTIFACTS } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

async function requests() {
  const res = await fetch(`${stack.mockUrl}/_mock/requests`);
  return (await res.json()).filter((r) => r.path === '/v1/messages');
}

test('the model picker lists the models and the next request uses the chosen one', async () => {
  const page = await stack.newPage();
  // Options of a closed select are never "visible"; being there is enough.
  await page.waitForSelector('select.model-picker option[value="claude-haiku-4-5"]', { state: 'attached' });
  const labels = await page.$$eval('select.model-picker option', (os) => os.map((o) => o.textContent));
  assert.ok(labels.includes('Claude Sonnet 4.5') && labels.includes('Claude Haiku 4.5'), labels.join(', '));

  await page.selectOption('select.model-picker', 'claude-haiku-4-5');
  await page.waitForFunction(() => document.querySelector('select.model-picker').value === 'claude-haiku-4-5');
  await stack.queue({ kind: 'text', text: 'Answered by the small model.' });
  await sendMessage(page, 'Which model?');
  await page.waitForSelector('.message.assistant:not(.streaming) .usage');
  const last = (await requests()).at(-1);
  assert.equal(last.body.model, 'claude-haiku-4-5');

  // Tokens and a cost (Haiku has a price) under the reply and in the header.
  const usage = await page.innerText('.message.assistant .usage');
  assert.match(usage, /^[\d,]+ in · [\d,]+ out · \$\d/);
  assert.match(await page.innerText('.conversation-usage'), /in · .* out · \$\d/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-model-picker.png') });

  // The model can think: switching thinking on makes the next request ask
  // for it, with a budget inside the model's output limit.
  await page.click('.thinking-toggle');
  await page.waitForSelector('.thinking-toggle[aria-pressed="true"]');
  await stack.queue({ kind: 'text', text: 'Thought about it.' });
  await sendMessage(page, 'Think, then answer');
  await page.waitForFunction(() => document.querySelectorAll('.message.assistant:not(.streaming)').length === 2);
  const thinking = (await requests()).at(-1).body.thinking;
  assert.equal(thinking.type, 'enabled');
  assert.ok(thinking.budget_tokens >= 1024 && thinking.budget_tokens < 64000, JSON.stringify(thinking));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a rate limit says how long to wait and shows the request id', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  await stack.queue({
    kind: 'error', status: 429, error_type: 'rate_limit_error', message: 'Rate limited',
    retry_after: 3, should_retry: false,
  });
  await sendMessage(page, 'Too fast?');
  await page.waitForSelector('.error-banner[data-kind="rate_limited"]');
  const banner = await page.innerText('.error-banner');
  assert.match(banner, /Try again in 3 seconds/);
  assert.match(banner, /Request id: req_/);
  assert.equal(await page.inputValue('#composer-input'), 'Too fast?', 'the message is kept');
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-rate-limited.png') });
  await page.close();
});

test('a retried request says so while it waits, then the reply streams', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  await stack.queue(
    { kind: 'error', status: 529, error_type: 'overloaded_error', message: 'Overloaded', retry_after: 2 },
    { kind: 'text', text: 'Through at last.' },
  );
  await sendMessage(page, 'Busy?');
  await page.waitForSelector('.message.streaming .pending.retrying');
  assert.equal(
    await page.innerText('.pending.retrying'),
    'The model is overloaded. Trying again in 2 s (retry 1)',
  );
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-retrying.png') });
  await page.waitForSelector('.message.assistant:not(.streaming)');
  assert.match(await page.innerText('.message.assistant:not(.streaming)'), /Through at last\./);
  assert.equal(await page.locator('.pending.retrying').count(), 0);
  assert.equal(await page.locator('.error-banner').count(), 0);
  // Sent twice: the refused attempt and the retry (a title request, if
  // one was made by now, is told apart by its instructions).
  const sent = (await requests()).filter((r) => JSON.stringify(r.body.messages).includes('Busy?')
    && !JSON.stringify(r.body).includes('You name conversations'));
  assert.equal(sent.length, 2);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('thinking is shown while it streams, then kept with the reply', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  const thinking = Array.from({ length: 40 }, (_, i) => `step${i}`).join(' ');
  await stack.queue({
    kind: 'blocks',
    blocks: [
      { type: 'thinking', thinking, signature: 'sig-e2e' },
      { type: 'text', text: 'Done thinking.' },
    ],
    pacing: { first_token_ms: 100, tokens_per_second: 40 },
  });
  await sendMessage(page, 'Think first');
  await page.waitForSelector('.thinking.live');
  assert.match(await page.innerText('.thinking.live'), /step0/);
  await page.waitForSelector('.message.assistant:not(.streaming) details.thinking');
  assert.equal((await page.innerText('.message.assistant:not(.streaming) .bubble > .text')).trim(), 'Done thinking.');
  assert.deepEqual(page.errors, []);
  await page.close();
});
