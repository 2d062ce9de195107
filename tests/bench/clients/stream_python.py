"""Streams one reply with the official Python SDK (`anthropic` from PyPI)
and prints its text as it arrives, as the SDK's README shows. Reads
ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY like every official client.

Usage: python stream_python.py PROMPT [MODEL]"""

import sys

import anthropic


def main() -> None:
    prompt = sys.argv[1]
    model = sys.argv[2] if len(sys.argv) > 2 else "claude-sonnet-4-5"
    client = anthropic.Anthropic()
    with client.messages.stream(
        model=model,
        max_tokens=8192,
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)


if __name__ == "__main__":
    main()
