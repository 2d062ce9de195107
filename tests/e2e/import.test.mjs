// Browser tests of import and export from Settings: a Claude.ai export and
// a ChatGPT export chosen in the file picker become conversations in the
// sidebar, with their branches; a bad file is refused with its reason and
// changes nothing; "Export all" downloads every conversation as one
// archive. Real wasm client, `kestrel serve`, mock model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { startStack, waitHydrated, ARTIFACTS } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const FIXTURES = path.resolve('../../server/tests/fixtures');
const titles = (page) =>
  page.$$eval('.conversation-list .conversation-item', (nodes) => nodes.map((n) => n.innerText.trim()));

/** Opens Settings and picks `file` ({ name, buffer }) in the import picker. */
async function importFile(page, file) {
  if (await page.locator('.data-section').count() === 0) await page.click('.open-settings');
  await page.setInputFiles('.import-input', { mimeType: 'application/json', ...file });
}

const fixture = (name) => ({ name, buffer: readFileSync(path.join(FIXTURES, name)) });

test('Claude.ai and ChatGPT exports import from Settings, branches and all', async () => {
  const page = await stack.newPage();
  await importFile(page, fixture('claude-conversations.json'));
  const note = page.locator('.import-note.good');
  await note.waitFor();
  assert.equal(
    await note.innerText(),
    'Imported 2 conversations (3 messages); 0 already present were left as they were.',
  );
  await page.waitForSelector('.conversation-item:has-text("Sourdough starter")');

  await importFile(page, fixture('chatgpt-conversations.json'));
  await page.waitForSelector('.import-note.good:has-text("Imported 1 conversations (4 messages)")');
  await page.waitForSelector('.conversation-item:has-text("Packing list")');

  // The same file again adds nothing.
  await importFile(page, fixture('chatgpt-conversations.json'));
  await page.waitForSelector('.import-note.good:has-text("Imported 0 conversations (0 messages); 1 already present")');
  assert.equal((await titles(page)).filter((t) => t.includes('Packing list')).length, 1);

  // The ChatGPT conversation opens on its current branch, with the other
  // reply one click away.
  await page.click('.close-settings');
  await page.click('.conversation-item:has-text("Packing list")');
  await page.waitForSelector('.message.user >> text=And for rain?');
  const messages = await page.$$eval('.message', (nodes) => nodes.map((n) => n.innerText));
  assert.ok(messages.some((t) => t.includes('Water, snacks, a map and a jacket.')), JSON.stringify(messages));
  assert.ok(!messages.some((t) => t.includes('Water and snacks.')), JSON.stringify(messages));
  assert.equal(await page.locator('.message.assistant .branch-label').innerText(), '2 / 2');

  // "Export all" holds every imported conversation.
  await page.click('.open-settings');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.export-all')]);
  assert.equal(download.suggestedFilename(), 'kestrel-all-conversations.json');
  let text = '';
  for await (const chunk of await download.createReadStream()) text += chunk;
  const archive = JSON.parse(text);
  assert.equal(archive.format, 'kestrel.archive');
  assert.deepEqual(
    archive.conversations.map((c) => c.conversation.title).sort(),
    ['', 'Packing list', 'Sourdough starter'],
  );
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-import.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a malformed, hostile or oversized file is refused with its reason and changes nothing', async () => {
  const page = await stack.newPage();
  const before = await titles(page);
  let previous = '';
  const refused = async (file, reason) => {
    await importFile(page, file);
    // Each refusal replaces the note before it.
    await page.waitForFunction(
      (prev) => {
        const note = document.querySelector('.import-note.bad');
        return note && note.innerText.trim() !== prev;
      },
      previous,
    );
    const text = (await page.locator('.import-note.bad').innerText()).trim();
    assert.match(text, reason);
    previous = text;
    assert.deepEqual(await titles(page), before);
    await page.evaluate(() => { document.querySelector('.import-input').value = ''; });
  };
  await refused(
    { name: 'notes.json', buffer: Buffer.from('{"format": "kestrel.archive", ') },
    /^Nothing was imported: this is not a valid .* file/,
  );
  await refused(
    { name: 'deep.json', buffer: Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)) },
    /^Nothing was imported: this is not a valid .* file: .*recursion limit/,
  );
  await refused(
    { name: 'big.json', buffer: Buffer.alloc(3 * 1024 * 1024 + 1, 0x20) },
    /kestrel import FILE/,
  );
  await page.reload();
  await waitHydrated(page);
  assert.deepEqual(await titles(page), before);
  assert.deepEqual(page.errors, []);
  await page.close();
});
