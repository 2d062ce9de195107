// Browser tests of how replies are rendered: Markdown with highlighted
// code in both themes, and a catalogue of hostile replies
// (tests/fixtures/hostile.md) that must not run script, open a dialog,
// load anything from elsewhere or leave the page, while their text stays
// readable. The real wasm client in headless Chromium, `kestrel serve`,
// and the mock Anthropic server. Screenshots land in $KESTREL_ARTIFACTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { startStack, sendMessage, watchStream, waitHydrated, ARTIFACTS } from './harness.mjs';

const HOSTILE = readFileSync(new URL('../fixtures/hostile.md', import.meta.url), 'utf8');
const LABELS = Array.from({ length: 26 }, (_, i) => `H${String(i + 1).padStart(2, '0')}`);

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/**
 * Installs the watchers before anything hostile arrives: dialogs, popups,
 * requests to other origins, main-frame navigations, and a
 * MutationObserver that checks every element added inside a rendered
 * reply (while it streams, too) against the allow-list.
 */
async function watchPage(page) {
  const seen = { dialogs: [], foreignRequests: [], navigations: [] };
  page.on('dialog', async (dialog) => { seen.dialogs.push(dialog.message()); await dialog.dismiss(); });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(stack.appUrl) && !url.startsWith('data:')) seen.foreignRequests.push(url);
  });
  // The app itself only ever changes the fragment (the open conversation).
  const appPage = (url) => url.split('#')[0].replace(/\/$/, '') === stack.appUrl.replace(/\/$/, '');
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && !appPage(frame.url())) seen.navigations.push(frame.url());
  });
  await page.evaluate(() => {
    window.__violations = [];
    const forbidden = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'FORM', 'INPUT', 'BUTTON', 'OBJECT', 'EMBED',
      'SVG', 'svg', 'MATH', 'math', 'META', 'BASE', 'LINK', 'DETAILS', 'TEXTAREA', 'SELECT']);
    window.__checkElement = (el) => {
      if (!el.closest('.markdown')) return;
      const where = `${el.tagName} in ${el.closest('.markdown').className}`;
      if (forbidden.has(el.tagName)) window.__violations.push(`forbidden element ${where}`);
      for (const { name, value } of el.attributes) {
        if (name.startsWith('on') || name === 'style' || name === 'srcdoc' || name === 'id' ||
            name === 'formaction' || name === 'action') {
          window.__violations.push(`attribute ${name}="${value}" on ${where}`);
        }
      }
      if (el.tagName === 'A' && el.hasAttribute('href')) {
        if (!/^(https?:|mailto:)/i.test(el.getAttribute('href'))) window.__violations.push(`link ${el.getAttribute('href')}`);
        if (!(el.getAttribute('rel') ?? '').split(' ').includes('noopener')) window.__violations.push(`link without noopener ${el.href}`);
        if (el.getAttribute('target') !== '_blank') window.__violations.push(`link not opening a new tab ${el.href}`);
      }
      if (el.tagName === 'IMG' && !/^data:image\/(png|jpeg|gif|webp);base64,/i.test(el.getAttribute('src') ?? '')) {
        window.__violations.push(`image from ${el.getAttribute('src')}`);
      }
    };
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.nodeType !== Node.ELEMENT_NODE) continue;
          window.__checkElement(node);
          node.querySelectorAll('*').forEach(window.__checkElement);
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  return seen;
}

/** Checks every element of every rendered reply now on the page. */
async function checkRendered(page, seen, when) {
  await page.evaluate(() => document.querySelectorAll('.markdown, .markdown *').forEach(window.__checkElement));
  const state = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    violations: window.__violations,
    appVisible: getComputedStyle(document.querySelector('.app')).display !== 'none',
  }));
  assert.equal(state.pwned, null, `${when}: a payload ran and set window.__pwned`);
  assert.deepEqual(state.violations, [], `${when}: the rendered reply holds only allowed markup`);
  assert.deepEqual(seen.dialogs, [], `${when}: no dialog opened`);
  assert.deepEqual(seen.foreignRequests, [], `${when}: nothing was loaded from another origin`);
  assert.ok(state.appVisible, `${when}: the app is still visible (no injected style hid it)`);
}

test('a hostile reply runs no script, loads nothing, navigates nowhere, and stays readable', async () => {
  await stack.queue({ kind: 'text', text: HOSTILE, pacing: { first_token_ms: 100, tokens_per_second: 400 } });
  const page = await stack.newPage();
  const seen = await watchPage(page);

  await sendMessage(page, 'Show me the hostile catalogue');
  const { lengths } = await watchStream(page);
  assert.ok(lengths.length >= 2, `the hostile reply streamed in pieces, saw ${JSON.stringify(lengths)}`);
  await page.waitForSelector('.message.assistant:not(.streaming) .markdown');
  // Give anything that would fire late (image errors, SVG animations,
  // meta refresh) time to do so.
  await page.waitForTimeout(800);
  await checkRendered(page, seen, 'after streaming');
  assert.deepEqual(seen.navigations, [], 'no main-frame navigation away from the app');
  const startUrl = page.url();

  const reply = page.locator('.message.assistant .markdown');
  const text = await reply.innerText();
  for (const label of LABELS) assert.ok(text.includes(label), `${label} is readable`);
  assert.ok(text.includes("<script>window.__pwned = 'H01'</script>"), 'quoted markup shows as its characters');
  assert.ok(text.includes("<img src=x onerror=window.__pwned='H12b'>"), 'entities show as the characters they stand for');
  assert.ok(await page.isVisible('#composer-input'), 'the composer is still usable');

  // Hover and click what a person might: the handler-bearing paragraph
  // (shown as text), and every link.
  await page.hover('text=H19 hover me');
  const links = reply.locator('a');
  const count = await links.count();
  assert.ok(count >= 10, `the links are there as links (${count})`);
  let popups = 0;
  page.context().on('page', async (popup) => { popups += 1; await popup.close().catch(() => {}); });
  for (let i = 0; i < count; i++) await links.nth(i).click({ modifiers: [] });
  await page.waitForTimeout(500);
  const withHref = await reply.locator('a[href]').count();
  assert.equal(withHref, 3, 'only the three http links (H18 image-as-link, H22, H24) keep an address');
  assert.equal(popups, withHref, 'each safe link opened a new tab; the others did nothing');
  assert.equal(page.url(), startUrl, 'the app page never navigated');
  assert.deepEqual(seen.navigations, [], 'no main-frame navigation away from the app');
  await checkRendered(page, seen, 'after clicking every link');
  assert.deepEqual(page.errors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'render-hostile.png'), fullPage: false });

  // The same reply, rendered from storage rather than from the stream.
  await page.reload();
  await waitHydrated(page);
  await page.waitForSelector('.message.assistant .markdown');
  const afterReload = await watchPage(page);
  await page.waitForTimeout(800);
  await checkRendered(page, afterReload, 'after a reload');
  assert.ok((await page.innerText('.message.assistant .markdown')).includes('H26 unclosed tag'));

  // The watchers can see a payload. One inserted past the renderer is
  // stopped by the page's CSP (the second line of defence: its inline
  // handler never runs), yet the request log sees its image; playing the
  // part of a payload that did run then trips the sentinel and the element
  // check.
  await page.evaluate(() => document.querySelector('.markdown').insertAdjacentHTML('beforeend',
    '<img src="http://127.0.0.1:9/selfcheck" onerror="window.__pwned = \'selfcheck\'">'));
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'the CSP refused the inline handler');
  assert.ok(afterReload.foreignRequests.some((url) => url.includes('selfcheck')), 'the request log saw the image');
  await page.evaluate(() => { window.__pwned = 'selfcheck'; });
  await assert.rejects(checkRendered(page, afterReload, 'self-check'), /__pwned/);
  await page.evaluate(() => { delete window.__pwned; });
  await assert.rejects(checkRendered(page, afterReload, 'self-check'), /allowed markup/);
  await page.close();
});

const SAMPLE = `## Plan

Some **bold** text, some *emphasis*, and \`inline code\`.

1. First step
2. Second step
   - a nested point

> A quoted line.

| Crate | Job |
|---|---|
| pulldown-cmark | Markdown |
| syntect | highlighting |

\`\`\`rust
fn main() {
    let answer: u32 = 42; // the answer
    println!("{answer}");
}
\`\`\`

See [the docs](https://docs.rs/) for more.`;

test('Markdown renders as formatted text, with highlighted code in both themes', async () => {
  await stack.queue({ kind: 'text', text: SAMPLE, pacing: { first_token_ms: 100, tokens_per_second: 200 } });
  const page = await stack.newPage();
  await page.click('.new-chat');
  const seen = await watchPage(page);
  await sendMessage(page, 'Show me some Markdown');
  await watchStream(page);
  await page.waitForSelector('.message.assistant:not(.streaming) .markdown');
  const reply = '.message.assistant .markdown';

  assert.equal(await page.innerText(`${reply} h2`), 'Plan');
  assert.equal(await page.innerText(`${reply} p strong`), 'bold');
  assert.equal(await page.innerText(`${reply} p em`), 'emphasis');
  assert.equal(await page.innerText(`${reply} p > code`), 'inline code');
  assert.deepEqual(await page.$$eval(`${reply} ol > li`, (items) => items.length), 2);
  assert.equal((await page.innerText(`${reply} ol ul li`)).trim(), 'a nested point');
  assert.equal((await page.innerText(`${reply} blockquote`)).trim(), 'A quoted line.');
  assert.deepEqual(await page.$$eval(`${reply} table th`, (cells) => cells.map((c) => c.innerText)), ['Crate', 'Job']);
  assert.equal(await page.$$eval(`${reply} table tbody tr`, (rows) => rows.length), 2);
  assert.equal(await page.innerText(`${reply} .code-block .code-lang`), 'rust');
  assert.ok((await page.innerText(`${reply} .code-block pre`)).includes('let answer: u32 = 42; // the answer'));
  assert.equal(await page.getAttribute(`${reply} a`, 'href'), 'https://docs.rs/');
  assert.equal(await page.getAttribute(`${reply} a`, 'target'), '_blank');
  assert.equal(await page.getAttribute(`${reply} a`, 'rel'), 'noopener noreferrer');

  const colours = () => page.evaluate((sel) => {
    const colour = (el) => getComputedStyle(el).color;
    const code = document.querySelector(`${sel} .code-block code`);
    return {
      keyword: colour(document.querySelector(`${sel} .code-block .hl-storage, ${sel} .code-block .hl-keyword`)),
      comment: colour(document.querySelector(`${sel} .code-block .hl-comment`)),
      number: colour(document.querySelector(`${sel} .code-block .hl-constant.hl-numeric`)),
      text: colour(code),
      background: getComputedStyle(document.querySelector(`${sel} .code-block`)).backgroundColor,
      body: colour(document.querySelector(sel)),
    };
  }, reply);
  const light = await colours();
  await page.screenshot({ path: path.join(ARTIFACTS, 'render-markdown-light.png') });
  await page.click('.open-settings');
  await page.click('.dialog .theme-dark');
  await page.click('.close-settings');
  assert.equal(await page.getAttribute('.app', 'data-theme'), 'dark');
  const dark = await colours();
  await page.screenshot({ path: path.join(ARTIFACTS, 'render-markdown-dark.png') });

  for (const [name, theme] of [['light', light], ['dark', dark]]) {
    assert.notEqual(theme.keyword, theme.text, `${name}: keywords are coloured`);
    assert.notEqual(theme.comment, theme.text, `${name}: comments are coloured`);
    assert.notEqual(theme.number, theme.text, `${name}: numbers are coloured`);
    assert.notEqual(theme.keyword, theme.comment, `${name}: keywords and comments differ`);
  }
  for (const key of ['keyword', 'comment', 'text', 'background', 'body']) {
    assert.notEqual(light[key], dark[key], `${key} colour changes with the theme`);
  }
  await checkRendered(page, seen, 'sample');
  assert.deepEqual(page.errors, []);
  await page.close();
});
