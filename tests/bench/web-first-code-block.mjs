// web-first-code-block.mjs: what the first highlighted code block costs the
// browser's main thread, against a second one. The first loads the
// grammars (once per page); both then highlight. Measured as the longest
// main-thread task (PerformanceObserver "longtask", tasks ≥ 50 ms) and the
// total of long tasks while each reply renders, in the release web build.
//
// Usage (after tests/bench/web-bundle-size.sh and a native build):
//   cd tests/e2e && KESTREL_BIN=../../target/debug/kestrel \
//     MOCK_BIN=../../target/debug/mock-anthropic \
//     KESTREL_PUBLIC_DIR=../../target/dx/kestrel/release/web/public \
//     node ../bench/web-first-code-block.mjs [runs]

import { startStack, sendMessage } from '../e2e/harness.mjs';

const RUNS = Number(process.argv[2] ?? 5);
const CODE = [
  'Here is the function:',
  '',
  '```rust',
  'use std::collections::HashMap;',
  '',
  '/// Counts the words of `text`.',
  'fn count(text: &str) -> HashMap<&str, usize> {',
  '    let mut counts = HashMap::new();',
  '    for word in text.split_whitespace() {',
  '        *counts.entry(word).or_insert(0) += 1;',
  '    }',
  '    counts',
  '}',
  '```',
  '',
  'That is all.',
].join('\n');

async function turn(stack, page, prompt) {
  await stack.queue({ kind: 'text', text: CODE, pacing: { first_token_ms: 0, tokens_per_second: null } });
  await page.evaluate(() => { window.__longTasks = []; });
  const before = await page.locator('.message.assistant:not(.streaming)').count();
  await sendMessage(page, prompt);
  await page.waitForFunction((n) => document.querySelectorAll('.message.assistant:not(.streaming) .hl-source').length > n, before);
  await page.waitForTimeout(300);
  const tasks = await page.evaluate(() => window.__longTasks);
  return { longest: Math.max(0, ...tasks), total: tasks.reduce((a, b) => a + b, 0) };
}

const stack = await startStack();
const results = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const page = await stack.newPage();
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask' });
    });
    await page.click('.new-chat');
    const first = await turn(stack, page, `first code block ${run}`);
    const second = await turn(stack, page, `second code block ${run}`);
    results.push({ first, second });
    await page.close();
  }
} finally {
  await stack.stop();
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (name, pick) => {
  const xs = results.map(pick);
  console.log(`| ${name} | ${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}) |`);
};
console.log(`${RUNS} runs, medians (min–max)`);
console.log('| main-thread long tasks while the reply renders | |');
console.log('|---|---|');
row('first code block of the page: longest task', (r) => r.first.longest);
row('first code block of the page: all long tasks', (r) => r.first.total);
row('second code block: longest task', (r) => r.second.longest);
row('second code block: all long tasks', (r) => r.second.total);
