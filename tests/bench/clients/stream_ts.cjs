// Streams one reply with the official TypeScript SDK (`@anthropic-ai/sdk`
// from npm) and prints its text as it arrives, as the SDK's README shows.
// Reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY like every official client.
//
// Usage: ANTHROPIC_SDK_DIR=<dir with node_modules> node stream_ts.cjs PROMPT [MODEL]

const path = require("node:path");

const sdkDir = process.env.ANTHROPIC_SDK_DIR;
const Anthropic = require(path.join(sdkDir, "node_modules", "@anthropic-ai", "sdk")).default;

async function main() {
  const [prompt, model = "claude-sonnet-4-5"] = process.argv.slice(2);
  const client = new Anthropic();
  const stream = client.messages
    .stream({ model, max_tokens: 8192, messages: [{ role: "user", content: prompt }] })
    .on("text", (text) => process.stdout.write(text));
  await stream.finalMessage();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
