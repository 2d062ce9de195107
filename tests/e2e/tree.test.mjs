// Browser tests of the message tree: regenerate and edit add versions that
// the ‹ n / m › navigator switches between, and a reply cut off mid-stream
// can be continued in place. Real wasm client, `kestrel serve`, mock model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
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

test('an unsent draft survives a reload', async () => {
  const page = await stack.newPage();
  await page.click('.new-chat');
  await page.fill('#composer-input', 'half a thought I must not lose');
  // Saved once typing pauses.
  await page.waitForTimeout(1200);
  await page.reload();
  await waitHydrated(page);
  await page.waitForFunction(() => document.querySelector('#composer-input')?.value === 'half a thought I must not lose');
  await page.fill('#composer-input', '');
  await page.waitForTimeout(1200);
  await page.close();
});

test('conversations can be renamed, pinned, archived, deleted and the delete undone', async () => {
  const page = await stack.newPage();
  for (const name of ['Alpha topic', 'Beta topic']) {
    await stack.queue({ kind: 'text', text: `About ${name}.` });
    await page.click('.new-chat');
    await sendMessage(page, name);
    await page.waitForSelector(`.message.assistant:not(.streaming) >> text=About ${name}.`);
    await idle(page);
  }
  const row = (title) => page.locator('.conversation-list li', { hasText: title });
  const titles = () => texts(page, '.conversation-list .conversation-row .conversation-item');

  await row('Alpha topic').locator('.conversation-menu').click();
  await row('Alpha topic').locator('.conversation-actions .rename').click();
  await page.fill('.rename-input', 'Renamed alpha');
  await page.press('.rename-input', 'Enter');
  await page.waitForSelector('.conversation-item:has-text("Renamed alpha")');

  await row('Renamed alpha').locator('.conversation-menu').click();
  await row('Renamed alpha').locator('.conversation-actions .pin').click();
  await page.waitForFunction(() => document.querySelector('.conversation-list li')?.innerText.includes('Renamed alpha'));
  assert.equal((await titles())[0].replace('★', '').trim(), 'Renamed alpha');

  await row('Beta topic').locator('.conversation-menu').click();
  await row('Beta topic').locator('.conversation-actions .archive').click();
  await page.waitForSelector('.archived-toggle');
  // Archived rows are listed apart, under the toggle (the open one stays
  // visible there).
  const rows = await texts(page, '.conversation-list li');
  const toggleAt = rows.findIndex((t) => t.startsWith('Archived (1)'));
  assert.ok(toggleAt >= 0 && rows.findIndex((t) => t.includes('Beta topic')) > toggleAt, JSON.stringify(rows));

  await row('Renamed alpha').locator('.conversation-menu').click();
  await row('Renamed alpha').locator('.conversation-actions .delete').click();
  await page.waitForSelector('.undo-toast');
  assert.equal(await page.locator('.conversation-item:has-text("Renamed alpha")').count(), 0);
  await page.click('.undo-delete');
  await page.waitForSelector('.conversation-item:has-text("Renamed alpha")');

  // All of it is what the backend holds.
  await page.reload();
  await waitHydrated(page);
  await page.waitForSelector('.conversation-item:has-text("Renamed alpha")');
  assert.equal((await titles())[0].replace('★', '').trim(), 'Renamed alpha');
  assert.equal(await page.locator('.archived-toggle').count(), 1);
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-conversation-actions.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('after the first exchange the model names the conversation', async () => {
  const setSkip = (skip) => fetch(`${stack.appUrl}/api/v1/settings/skip-auto-title`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ skip }),
  });
  await setSkip(false);
  try {
    await stack.queue({ kind: 'text', text: 'Boil water, add tea, wait.' }, { kind: 'text', text: 'Making tea.' });
    const page = await stack.newPage();
    await page.click('.new-chat');
    await sendMessage(page, 'how do i make a cup of tea properly at home');
    await page.waitForSelector('.conversation-item.active:has-text("Making tea")');
    assert.equal((await page.innerText('.chat-title')).trim(), 'Making tea');
    await page.close();
  } finally {
    await setSkip(true);
  }
});

test('an unreadable database is kept aside and the user is told', async () => {
  const damaged = await startStack({
    prepare: (dir) => writeFileSync(path.join(dir, 'kestrel.db'), 'not a database '.repeat(1000)),
  });
  try {
    const page = await damaged.newPage();
    await page.waitForSelector('.startup-notice');
    const notice = await page.innerText('.startup-notice');
    assert.match(notice, /could not be read/);
    assert.match(notice, /kestrel\.db\.damaged-/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-damaged-database.png') });
    await page.close();
  } finally {
    await damaged.stop();
  }
});

test('a conversation downloads as Markdown and as JSON, its branch or every branch', async () => {
  await stack.queue({ kind: 'text', text: 'Red.' }, { kind: 'text', text: 'Green.' });
  const page = await stack.newPage();
  await page.click('.new-chat');
  await sendMessage(page, 'Pick a colour');
  await page.waitForSelector('.message.assistant:not(.streaming)');
  await idle(page);
  await page.click('.message.assistant .tool.regenerate');
  await page.waitForSelector('.message.assistant .branch-label');
  await idle(page);

  const fetchDownload = async (choice) => {
    await page.click('.toggle-export');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(choice)]);
    const stream = await download.createReadStream();
    let text = '';
    for await (const chunk of stream) text += chunk;
    return { name: download.suggestedFilename(), text };
  };
  const markdown = await fetchDownload('.export-markdown');
  assert.match(markdown.name, /^kestrel-.*\.md$/);
  assert.equal(markdown.text, '# Pick a colour\n\n## You\n\nPick a colour\n\n## Assistant\n\nGreen.\n\n');
  const json = await fetchDownload('.export-json');
  const archive = JSON.parse(json.text);
  assert.equal(archive.format, 'kestrel.archive');
  const texts = archive.conversations[0].messages.map((m) => m.content.map((b) => b.text).join(''));
  assert.deepEqual(texts, ['Pick a colour', 'Red.', 'Green.']);

  // The other two: the branch on screen as JSON, every branch as Markdown.
  const branch = await fetchDownload('.export-json-branch');
  assert.match(branch.name, /^kestrel-.*-branch\.json$/);
  const branchTexts = JSON.parse(branch.text).conversations[0].messages
    .map((m) => m.content.map((b) => b.text).join(''));
  assert.deepEqual(branchTexts, ['Pick a colour', 'Green.']);
  const tree = await fetchDownload('.export-markdown-tree');
  assert.match(tree.name, /^kestrel-.*\.md$/);
  assert.ok(tree.text.includes('Red.') && tree.text.includes('Green.'), tree.text);
  await page.close();
});
