// Starts what a browser test needs: the mock Anthropic server, the
// `kestrel serve` web server pointed at it (fresh data dir), and headless
// Debian Chromium through playwright-core. Never downloads a browser.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the browser tests through scripts/test.sh`);
  return value;
};

export const ARTIFACTS = process.env.KESTREL_ARTIFACTS ?? path.resolve('artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * Spawns a program and resolves with the first stdout line matching `pattern`.
 * The child leads its own process group (`stopGroup` ends all of it), and
 * `child.output()` returns everything it printed so far.
 */
function startAndWaitFor(command, args, env, pattern, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.output = () => output;
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code}:\n${output}`));
    });
  });
}

/** Ends a child started by `startAndWaitFor` and everything it started. */
function stopGroup(child) {
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
}

/**
 * The command that runs `kestrel` with a Secret Service of its own: a
 * private D-Bus session and gnome-keyring-daemon, its keyrings in `home`,
 * unlocked without a prompt. Each stack gets its own, so no test sees
 * another's keys and the keyring of the person running the tests is never
 * touched.
 */
function withPrivateKeyring(bin, args, home) {
  const script = 'printf kestrel-e2e | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; exec "$0" "$@"';
  return {
    command: 'dbus-run-session',
    args: ['--', 'sh', '-c', script, bin, ...args],
    env: { HOME: home, XDG_DATA_HOME: path.join(home, '.local/share'), XDG_RUNTIME_DIR: home },
  };
}

/** A key shaped like a real one, so a leak of it anywhere is unmistakable. */
export const SECRET_KEY = 'sk-ant-api03-e2eSECRET-Zq8mW4vR7tY1uI3oP5aS9dF2gH6jK0lX-LEAK';
/** The OpenAI-compatible server's key (`openaiMock`), as unmistakable. */
export const OPENAI_SECRET_KEY = 'sk-proj-e2eOPENAI-Hq3nB8xT2wC5vM9kL1pR7sD4fG6jZ0aY-OAIK';

/** Starts a mock server that wants `apiKey`; resolves with its child and address. */
async function startMock(apiKey) {
  const mock = await startAndWaitFor(need('MOCK_BIN'), ['--port', '0', '--api-key', apiKey], {},
    /listening on (http:\/\/\S+)/, 'mock-anthropic');
  return { child: mock.child, url: mock.match[1] };
}

/** Queues scripted replies on the mock server at `url`. */
async function queueOn(url, replies) {
  const res = await fetch(`${url}/_mock/replies`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(replies),
  });
  if (!res.ok) throw new Error(`queueing replies failed: ${res.status} ${await res.text()}`);
}

/**
 * Starts the mock, `kestrel serve` and Chromium. `keyring`: 'private' (a
 * Secret Service of its own) or 'none' (no D-Bus session at all);
 * `serveArgs` are added to `kestrel serve`, `env` to its environment.
 * `prepare(dataDir)` runs before Kestrel starts (to plant a file there).
 * The title request after a first exchange is off unless `autoTitle`, so
 * that it never takes a reply queued for the test itself. `openaiMock`
 * starts a second mock, wanting `OPENAI_SECRET_KEY`, to be pointed at as
 * an OpenAI-compatible server (`openaiUrl`, `queueOpenAi`); Kestrel is
 * not told about it. `OPENAI_API_KEY` and `OPENAI_BASE_URL` are cleared
 * unless `env` sets them.
 */
export async function startStack({
  apiKey = SECRET_KEY, baseUrl, keyring = 'private', serveArgs = [], env: extraEnv = {}, prepare, autoTitle = false,
  openaiMock = false,
} = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kestrel-e2e-'));
  if (prepare) prepare(dataDir);
  const keyringHome = mkdtempSync(path.join(tmpdir(), 'kestrel-e2e-home-'));
  const mock = await startMock(SECRET_KEY);
  const mockUrl = mock.url;
  let openai = null;
  if (openaiMock) {
    openai = await startMock(OPENAI_SECRET_KEY).catch((error) => {
      stopGroup(mock.child);
      throw error;
    });
  }
  const stopMocks = () => {
    stopGroup(mock.child);
    if (openai) stopGroup(openai.child);
  };
  const env = {
    ANTHROPIC_BASE_URL: baseUrl ?? mockUrl,
    DIOXUS_PUBLIC_PATH: need('KESTREL_PUBLIC_DIR'),
    RUST_LOG: 'warn,kestrel=info,kestrel_server=info',
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    ...extraEnv,
  };
  if (apiKey) env.ANTHROPIC_API_KEY = apiKey; else env.ANTHROPIC_API_KEY = '';
  const serve = ['serve', '--port', '0', '--data-dir', dataDir, ...serveArgs];
  let launch = { command: need('KESTREL_BIN'), args: serve, env: {} };
  if (keyring === 'private') {
    launch = withPrivateKeyring(need('KESTREL_BIN'), serve, keyringHome);
  } else {
    // No session bus to find, and no X display to start one from.
    launch.env = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/kestrel-e2e-bus', DISPLAY: '' };
  }
  let kestrel;
  try {
    kestrel = await startAndWaitFor(launch.command, launch.args, { ...env, ...launch.env },
      /serving the web UI at (http:\/\/\S+?)\/?\s/, 'kestrel serve');
  } catch (error) {
    stopMocks();
    throw error;
  }
  // A server on every address is reached through loopback.
  const appUrl = kestrel.match[1].replace('//0.0.0.0:', '//127.0.0.1:');
  // A set-up step that fails must not leave the servers running (the test
  // run would wait for them forever).
  const abandon = (error) => {
    stopGroup(kestrel.child);
    stopMocks();
    throw error;
  };
  if (!autoTitle) {
    // Beyond loopback the server wants the access token it printed.
    const token = kestrel.child.output().match(/Access token \(shown once; only its hash is kept\): ([0-9a-f]{64})/)?.[1];
    const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const res = await fetch(`${appUrl}/api/v1/settings/skip-auto-title`, {
      method: 'POST', headers, body: JSON.stringify({ skip: true }),
    }).catch(abandon);
    if (!res.ok) abandon(new Error(`turning the title request off failed: ${res.status}`));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  }).catch(abandon);
  const bodies = [];
  return {
    bodies,
    mockUrl,
    /** The second mock's address (`openaiMock`), without `/v1`. */
    openaiUrl: openai?.url,
    appUrl,
    dataDir,
    browser,
    /** Everything `kestrel serve` printed (stdout and stderr). */
    output: () => kestrel.child.output(),
    /** Queues scripted replies on the mock server. */
    async queue(...replies) {
      await queueOn(mockUrl, replies);
    },
    /** Queues scripted replies on the OpenAI-compatible mock. */
    async queueOpenAi(...replies) {
      await queueOn(openai.url, replies);
    },
    async newPage({ hydrate = true } = {}) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.errors = [];
      page.on('pageerror', (e) => page.errors.push(e.message));
      // Every response body the page receives, for the leak check.
      page.on('response', async (response) => {
        try { bodies.push(await response.text()); } catch { /* redirects and aborted requests have none */ }
      });
      await page.goto(`${appUrl}/`);
      if (hydrate) await waitHydrated(page);
      return page;
    },
    async stop() {
      await browser.close();
      stopGroup(kestrel.child);
      stopMocks();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(keyringHome, { recursive: true, force: true });
    },
  };
}

/** Waits until the wasm client has taken over the server-rendered page. */
export async function waitHydrated(page) {
  await page.waitForSelector('#composer-input');
  // The client marks the root once it is live and has loaded its data;
  // server-rendered HTML never carries the mark.
  await page.waitForSelector('.app[data-ready="true"]', { timeout: 30_000 });
}

/** Types into the composer the way a user does and presses Enter. */
export async function sendMessage(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** Samples the streaming reply's text until the turn ends. */
export async function watchStream(page, { stopAfterChars } = {}) {
  const lengths = [];
  for (let i = 0; i < 2000; i++) {
    const state = await page.evaluate(() => {
      // The reply's text so far (finished paragraphs and the growing tail),
      // not the "Thinking" indicator shown before it.
      const blocks = [...document.querySelectorAll('.message.assistant.streaming .text')];
      const live = blocks.length ? blocks.map((b) => b.innerText).join('\n\n').length : null;
      return { live, streaming: !!document.querySelector('.message.assistant.streaming') };
    });
    if (state.live !== null && lengths[lengths.length - 1] !== state.live) lengths.push(state.live);
    if (stopAfterChars && state.live !== null && state.live >= stopAfterChars) return { lengths, stopped: true };
    if (!state.streaming && i > 0) break;
    await page.waitForTimeout(20);
  }
  return { lengths, stopped: false };
}
