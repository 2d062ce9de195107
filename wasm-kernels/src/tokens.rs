//! A fast estimate of how many tokens a text costs, for the live count under
//! the composer. The exact count needs the provider's tokenizer (the
//! backend can ask the API); this one must answer within a keystroke for a
//! megabyte of pasted text, on wasm32, so it is one pass over the bytes with
//! no allocation.
//!
//! The model: Claude-family tokenizers spend about one token per four
//! characters of an English word, one per punctuation mark, one per run of
//! whitespace that is not a single space before a word, one per one to two
//! characters of CJK text and about one per two characters of other
//! non-ASCII letters. The estimate errs slightly high so that a draft that
//! looks like it fits does fit.

/// Estimates the token count of `text`.
pub fn estimate_tokens(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut tokens = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            tokens += (i - start).div_ceil(4);
        } else if b == b' ' {
            // A single space folds into the word after it.
            let start = i;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let run = i - start;
            let before_word = i < bytes.len() && bytes[i].is_ascii_alphanumeric();
            if !(run == 1 && before_word) {
                tokens += run.div_ceil(8).max(1);
            }
        } else if b.is_ascii_whitespace() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() && bytes[i] != b' ' {
                i += 1;
            }
            tokens += (i - start).div_ceil(4).max(1);
        } else if b.is_ascii() {
            tokens += 1;
            i += 1;
        } else {
            // Non-ASCII: walk whole UTF-8 sequences (the input is valid UTF-8).
            let start = i;
            let mut chars = 0usize;
            let mut wide = 0usize;
            while i < bytes.len() && !bytes[i].is_ascii() {
                let len = utf8_len(bytes[i]);
                // Three-byte sequences are mostly CJK, kana and symbols.
                if len >= 3 {
                    wide += 1;
                }
                chars += 1;
                i = (i + len).min(bytes.len());
            }
            let narrow = chars - wide;
            tokens += wide + narrow.div_ceil(2);
            debug_assert!(i > start);
        }
    }
    tokens
}

/// The length of the UTF-8 sequence a lead byte starts (1 for a stray
/// continuation byte, so the walk always advances).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    #[test]
    fn known_texts() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("hello"), 2);
        assert_eq!(estimate_tokens("Hello, world!"), 6);
        assert_eq!(estimate_tokens("a b c"), 3);
        assert_eq!(estimate_tokens("\n\n"), 1);
        assert_eq!(estimate_tokens("日本語"), 3);
        assert_eq!(estimate_tokens("héllo"), 3);
    }

    #[test]
    fn prose_lands_near_four_characters_per_token() {
        let prose = "The quick brown fox jumps over the lazy dog. ".repeat(100);
        let estimate = estimate_tokens(&prose);
        // A real tokenizer gives 10 tokens per sentence here.
        assert!((1000..=1400).contains(&estimate), "estimate {estimate}");
    }

    #[test]
    fn a_megabyte_paste_is_counted() {
        let big = "fn main() { println!(\"hi\"); }\n".repeat(35_000);
        assert!(big.len() > 1_000_000);
        assert!(estimate_tokens(&big) > 200_000);
    }

    proptest! {
        #[test]
        fn never_panics_and_grows_with_concatenation(a in any::<String>(), b in any::<String>()) {
            let joined = format!("{a}{b}");
            let whole = estimate_tokens(&joined);
            prop_assert!(whole <= estimate_tokens(&a) + estimate_tokens(&b) + 1);
            prop_assert!(whole <= joined.len());
        }
    }
}
