//! Where a streaming reply may be cut: into blocks that are finished (a
//! blank line follows them) and the live tail still being written. A blank
//! line inside an open code fence is part of the code, so an open fence
//! keeps everything from its opening line in the tail.

/// The finished blocks of `text` (each non-empty, without the blank lines
/// that separate them) and the tail after the last blank line that is
/// outside a code fence. One pass over the text, no allocation but the
/// vector.
pub fn split_finished(text: &str) -> (Vec<&str>, &str) {
    let mut blocks = Vec::new();
    // Start of the block being collected, and the fence it is inside.
    let mut block_start = 0;
    let mut fence: Option<Fence> = None;
    let mut line_start = 0;
    while line_start < text.len() {
        let Some(newline) = text[line_start..].find('\n') else {
            // The last line has no newline yet: it is part of the tail.
            break;
        };
        let line_end = line_start + newline;
        let line = &text[line_start..line_end];
        match fence {
            Some(open) => {
                if open.is_closed_by(line) {
                    fence = None;
                }
            }
            None => {
                if let Some(opened) = Fence::opened_by(line) {
                    fence = Some(opened);
                } else if line.trim().is_empty() {
                    let block = &text[block_start..line_start];
                    if !block.trim().is_empty() {
                        blocks.push(block.trim_end_matches(['\n', '\r']));
                    }
                    block_start = line_end + 1;
                }
            }
        }
        line_start = line_end + 1;
    }
    (blocks, &text[block_start..])
}

/// An open code fence: its character and length.
#[derive(Debug, Clone, Copy)]
struct Fence {
    marker: u8,
    len: usize,
}

impl Fence {
    /// A fence opening on `line`: up to three spaces, then three or more
    /// backticks or tildes (a backtick fence's info string has no backtick).
    fn opened_by(line: &str) -> Option<Fence> {
        let rest = strip_indent(line)?;
        let marker = *rest.as_bytes().first()?;
        if marker != b'`' && marker != b'~' {
            return None;
        }
        let len = rest.bytes().take_while(|&b| b == marker).count();
        if len < 3 || (marker == b'`' && rest[len..].contains('`')) {
            return None;
        }
        Some(Fence { marker, len })
    }

    /// Whether `line` closes this fence: the same character, at least as
    /// many, and nothing after but spaces.
    fn is_closed_by(self, line: &str) -> bool {
        let Some(rest) = strip_indent(line) else {
            return false;
        };
        let len = rest.bytes().take_while(|&b| b == self.marker).count();
        len >= self.len && rest[len..].trim().is_empty()
    }
}

/// The line without up to three leading spaces; `None` if it is indented
/// four or more (an indented code line, which cannot be a fence).
fn strip_indent(line: &str) -> Option<&str> {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    (spaces < 4).then(|| &line[spaces..])
}

#[cfg(test)]
mod tests {
    use super::split_finished;
    use pretty_assertions::assert_eq;

    #[test]
    fn text_without_a_blank_line_is_all_tail() {
        assert_eq!(split_finished(""), (vec![], ""));
        assert_eq!(split_finished("Hello wor"), (vec![], "Hello wor"));
        assert_eq!(
            split_finished("line one\nline tw"),
            (vec![], "line one\nline tw")
        );
    }

    #[test]
    fn paragraphs_before_the_last_blank_line_are_finished() {
        let text = "# Title\n\nFirst paragraph\nstill first.\n\n\nSecond.\n\nThe ta";
        assert_eq!(
            split_finished(text),
            (
                vec!["# Title", "First paragraph\nstill first.", "Second."],
                "The ta"
            )
        );
    }

    #[test]
    fn a_blank_line_just_written_finishes_the_block() {
        assert_eq!(split_finished("Done.\n\n"), (vec!["Done."], ""));
        assert_eq!(split_finished("Done.\n \n"), (vec!["Done."], ""));
        assert_eq!(split_finished("Done.\r\n\r\nNext"), (vec!["Done."], "Next"));
    }

    #[test]
    fn an_open_fence_keeps_its_blank_lines_in_the_tail() {
        let text = "Intro.\n\n```rust\nfn a() {}\n\nfn b() {}\n";
        assert_eq!(
            split_finished(text),
            (vec!["Intro."], "```rust\nfn a() {}\n\nfn b() {}\n")
        );
    }

    #[test]
    fn a_closed_fence_is_one_block() {
        let text = "```py\na = 1\n\n\nb = 2\n```\n\nAfter";
        assert_eq!(
            split_finished(text),
            (vec!["```py\na = 1\n\n\nb = 2\n```"], "After")
        );
    }

    #[test]
    fn a_fence_closes_only_with_its_own_marker_and_length() {
        // A shorter run, a tilde run and a run with text after it do not
        // close a four-backtick fence.
        let text = "````md\n```\n\n~~~~\n\n```` not yet\n\nstill code\n````\n\nTail";
        let (blocks, tail) = split_finished(text);
        assert_eq!(
            blocks,
            vec!["````md\n```\n\n~~~~\n\n```` not yet\n\nstill code\n````"]
        );
        assert_eq!(tail, "Tail");

        let text = "~~~\nx\n\n```\n\n~~~~\n\nTail";
        assert_eq!(
            split_finished(text),
            (vec!["~~~\nx\n\n```\n\n~~~~"], "Tail")
        );
    }

    #[test]
    fn backticks_that_do_not_open_a_fence() {
        // Inline code at the start of a line, and an indented line.
        let text = "``` not a fence ` here\n\n    ```\n\nTail";
        assert_eq!(
            split_finished(text),
            (vec!["``` not a fence ` here", "    ```"], "Tail")
        );
    }

    #[test]
    fn the_blocks_and_tail_cover_the_text_in_order() {
        let text = "a\n\n```\n\n```\n\nb\n\n\n\nc\nd\n\ne";
        let (blocks, tail) = split_finished(text);
        let joined: String = blocks.iter().map(|b| format!("{b}\n\n")).collect();
        assert_eq!(
            joined.replace("\n", ""),
            text[..text.len() - tail.len()].replace("\n", "")
        );
        assert_eq!(tail, "e");
    }

    #[test]
    fn growing_text_only_ever_adds_finished_blocks() {
        let text = "Para one.\n\n```js\nlet a;\n\nlet b;\n```\n\n- item\n- item\n\nEnd.";
        let mut finished: Vec<&str> = Vec::new();
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let (blocks, _) = split_finished(&text[..end]);
            assert!(
                blocks.starts_with(&finished),
                "at {end}: {blocks:?} vs {finished:?}"
            );
            finished = blocks;
        }
        assert_eq!(
            finished,
            vec![
                "Para one.",
                "```js\nlet a;\n\nlet b;\n```",
                "- item\n- item"
            ]
        );
    }
}
