//! Deterministic, realistic-looking English text for the benchmarks: the
//! titles and messages `fill-db` stores, and the long replies the mock
//! server streams. A fixed seed gives the same text on every run.

/// Common words, weighted towards the short ones real chat text is made of.
const VOCABULARY: &[&str] = &[
    "the", "a", "to", "of", "and", "in", "is", "it", "you", "that", "for", "on", "with", "as",
    "this", "be", "can", "are", "or", "if", "your", "by", "we", "not", "from", "at", "have", "an",
    "will", "use", "one", "all", "more", "when", "which", "there", "how", "what", "so", "some",
    "data", "file", "function", "value", "error", "request", "server", "window", "message",
    "reply", "token", "stream", "query", "index", "table", "column", "memory", "thread", "task",
    "build", "test", "release", "version", "config", "option", "string", "number", "list", "model",
    "prompt", "answer", "question", "example", "problem", "result", "change", "update", "return",
    "call", "check", "read", "write", "open", "close", "start", "stop", "run", "keep", "first",
    "last", "next", "small", "large", "fast", "slow", "simple", "short", "long", "new", "old",
    "same", "other", "each", "every", "only", "also", "then", "because", "while", "after",
    "before", "without", "between", "through", "usually", "probably", "instead", "together",
    "Rust", "SQLite", "JSON", "Linux", "HTTP", "API", "UI", "CSS", "async", "cache", "layout",
    "browser", "desktop", "user", "person", "team", "project", "week", "morning", "recipe",
    "garden", "travel", "budget", "letter", "summary", "meeting", "schedule", "email", "story",
];

const OPENERS: &[&str] = &[
    "Can you explain",
    "How do I",
    "What is the best way to",
    "Help me write",
    "Why does",
    "Summarize",
    "Compare",
    "Give me ideas for",
    "Fix",
    "Translate",
];

/// How many made-up words (names, jargon, identifiers) the long tail has.
pub const LONG_TAIL: usize = 100_000;

/// Consonant-vowel syllables the long-tail words are built from.
const ONSETS: &[u8] = b"bdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

/// The long-tail word of `rank` (0 is the commonest): a made-up word of
/// three or four syllables, distinct for every rank.
pub fn long_tail_word(rank: usize) -> String {
    let syllables = ONSETS.len() * VOWELS.len();
    let mut n = rank;
    let mut out = String::with_capacity(10);
    for i in 0..4 {
        if i == 3 && n == 0 {
            break;
        }
        let s = n % syllables;
        n /= syllables;
        out.push(char::from(ONSETS[s / VOWELS.len()]));
        out.push(char::from(VOWELS[s % VOWELS.len()]));
    }
    // Every long-tail word ends in `x`, which no common word does.
    out.push('x');
    out
}

/// A small, fast, seedable generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Words {
    state: u64,
}

impl Words {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        let span = high.saturating_sub(low) as u64 + 1;
        low + usize::try_from(self.next_u64() % span).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.between(0, from.len() - 1)]
    }

    fn word(&mut self) -> &'static str {
        // Squaring skews the pick towards the front of the list, so short
        // function words come up most, as in real text.
        let n = VOCABULARY.len() as u64;
        let r = self.next_u64() % (n * n);
        let index = n - 1 - isqrt(r).min(n - 1);
        VOCABULARY[usize::try_from(index).unwrap_or(0)]
    }

    /// One sentence of `low..=high` words, capitalised, with a full stop.
    pub fn sentence(&mut self, low: usize, high: usize) -> String {
        let count = self.between(low.max(1), high.max(low).max(1));
        let mut out = String::new();
        for i in 0..count {
            if i > 0 {
                out.push(' ');
                if self.between(0, 11) == 0 {
                    out.pop();
                    out.push_str(", ");
                }
            }
            out.push_str(self.word());
        }
        capitalise(&mut out);
        out.push('.');
        out
    }

    /// A conversation title: three to six words, capitalised.
    pub fn title(&mut self) -> String {
        let count = self.between(3, 6);
        let mut out = (0..count)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ");
        capitalise(&mut out);
        out
    }

    /// A short question, as a person types it.
    pub fn user_message(&mut self) -> String {
        let opener = self.pick(OPENERS);
        let rest = (0..self.between(3, 12))
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ");
        let mut out = format!("{opener} {rest}?");
        if self.between(0, 2) == 0 {
            out.push(' ');
            out.push_str(&self.sentence(5, 14));
        }
        out
    }

    /// A reply of a few sentences, sometimes in two paragraphs.
    pub fn assistant_message(&mut self) -> String {
        let mut out = String::new();
        for i in 0..self.between(2, 6) {
            if i > 0 {
                out.push_str(if self.between(0, 3) == 0 { "\n\n" } else { " " });
            }
            out.push_str(&self.sentence(6, 20));
        }
        out
    }

    /// A long-tail word, picked Zipf-like: rank `r` about as often as
    /// `1 / (r + 1)`, so a few are common and most are rare, as names and
    /// jargon are in real chats.
    pub fn rare_word(&mut self) -> String {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = ((LONG_TAIL as f64 + 1.0).ln() * unit).exp() as usize;
        long_tail_word(rank.saturating_sub(1).min(LONG_TAIL - 1))
    }

    /// `text` followed by a sentence holding `count` long-tail words.
    pub fn with_tail(&mut self, mut text: String, count: usize) -> String {
        if count == 0 {
            return text;
        }
        text.push_str(" See");
        for i in 0..count {
            if i > 0 {
                text.push_str(if i + 1 == count { " and" } else { "," });
            }
            text.push(' ');
            text.push_str(&self.rare_word());
        }
        text.push('.');
        text
    }

    /// Exactly `count` whitespace-separated words in sentences and
    /// paragraphs: the mock server streams it as `count` deltas.
    pub fn words(&mut self, count: usize) -> String {
        let mut out = String::with_capacity(count * 7);
        let mut in_sentence = 0;
        let mut sentence_len = self.between(6, 22);
        let mut in_paragraph = 0;
        let mut paragraph_len = self.between(40, 110);
        for i in 0..count {
            if i > 0 {
                if in_paragraph >= paragraph_len && in_sentence == 0 {
                    out.push_str("\n\n");
                    in_paragraph = 0;
                    paragraph_len = self.between(40, 110);
                } else {
                    out.push(' ');
                }
            }
            let word = self.word();
            if in_sentence == 0 {
                let mut capital = word.to_owned();
                capitalise(&mut capital);
                out.push_str(&capital);
            } else {
                out.push_str(word);
            }
            in_sentence += 1;
            in_paragraph += 1;
            if in_sentence >= sentence_len || i + 1 == count {
                out.push('.');
                in_sentence = 0;
                sentence_len = self.between(6, 22);
            }
        }
        out
    }
}

fn capitalise(text: &mut String) {
    if let Some(first) = text.chars().next() {
        let upper: String = first.to_uppercase().collect();
        text.replace_range(..first.len_utf8(), &upper);
    }
}

fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let mut x = (n as f64).sqrt() as u64;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_gives_exactly_the_asked_count() {
        for count in [1, 2, 199, 2000] {
            let text = Words::new(7).words(count);
            assert_eq!(text.split_whitespace().count(), count);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_text() {
        assert_eq!(Words::new(3).words(50), Words::new(3).words(50));
        assert_ne!(Words::new(3).title(), Words::new(4).title());
    }

    #[test]
    fn long_tail_words_are_distinct_and_skewed() {
        let words: std::collections::HashSet<_> = (0..LONG_TAIL).map(long_tail_word).collect();
        assert_eq!(words.len(), LONG_TAIL);
        let mut words = Words::new(5);
        let picks: Vec<_> = (0..10_000).map(|_| words.rare_word()).collect();
        let top = picks.iter().filter(|w| **w == long_tail_word(0)).count();
        let tail = picks
            .iter()
            .filter(|w| **w == long_tail_word(50_000))
            .count();
        assert!(top > 300 && tail < 5, "top {top}, tail {tail}");
    }

    #[test]
    fn messages_look_like_text() {
        let mut words = Words::new(1);
        let question = words.user_message();
        assert!(question.contains('?'));
        let reply = words.assistant_message();
        assert!(reply.ends_with('.'));
        assert!(words.title().chars().next().is_some_and(char::is_uppercase));
    }
}
