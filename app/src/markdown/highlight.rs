//! Code highlighting with syntect's grammars, as `<span class="hl-…">`
//! elements (one class per scope atom, `hl-keyword hl-control`); the
//! colours for both themes are CSS in `assets/style.css`, so no style
//! attribute is ever produced. The grammars are loaded once, on the first
//! code block that names a language.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// The prefix of every class the highlighter writes; the sanitiser keeps
/// these classes and no others.
pub const CLASS_PREFIX: &str = "hl-";

/// Code longer than this is shown without colours: grammars are regular
/// expressions, and a reply must not be able to stall the UI.
const MAX_HIGHLIGHTED_BYTES: usize = 64 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// `code` as highlighted HTML for `language` (a name or file extension as
/// written after a code fence: `rust`, `py`, `JavaScript`), or `None` if the
/// language is unknown, the code too long, or a grammar fails on it. The
/// code's text is HTML-escaped.
pub fn highlight(code: &str, language: &str) -> Option<String> {
    let language = language.trim();
    if language.is_empty() || code.len() > MAX_HIGHLIGHTED_BYTES {
        return None;
    }
    let syntaxes = &*SYNTAXES;
    let syntax = syntaxes
        .find_syntax_by_token(language)
        .or_else(|| syntaxes.find_syntax_by_token(&alias(language)?))?;
    let style = ClassStyle::SpacedPrefixed {
        prefix: CLASS_PREFIX,
    };
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, syntaxes, style);
    for line in LinesWithEndings::from(code) {
        if let Err(error) = generator.parse_html_for_line_which_includes_newline(line) {
            tracing::debug!(%error, language, "highlighting failed; showing plain code");
            return None;
        }
    }
    Some(generator.finalize())
}

/// Common names that syntect's bundled grammars know by another token.
fn alias(language: &str) -> Option<String> {
    let lower = language.to_ascii_lowercase();
    let token = match lower.as_str() {
        "shell" | "zsh" | "console" => "bash",
        "ts" | "typescript" | "tsx" | "jsx" => "js",
        "jsonc" | "json5" => "json",
        "c++" => "cpp",
        "golang" => "go",
        "py3" | "python3" => "py",
        "csharp" | "c#" => "cs",
        "objc" | "objective-c" => "m",
        "text" | "plaintext" => "txt",
        _ => return (lower != language).then_some(lower),
    };
    Some(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn known_languages_become_classed_spans() {
        let html = highlight("fn main() { let x = \"<b>\"; }\n", "rust").unwrap();
        assert!(
            html.contains("<span class=\"hl-source hl-rust\">"),
            "{html}"
        );
        assert!(html.contains("hl-keyword"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
        // The code's text is escaped, never markup.
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn names_and_extensions_and_aliases_are_found() {
        for language in [
            "py",
            "Python",
            "javascript",
            "ts",
            "sh",
            "shell",
            "json",
            "c++",
            "go",
        ] {
            assert!(highlight("x = 1\n", language).is_some(), "{language}");
        }
    }

    #[test]
    fn unknown_languages_and_huge_code_are_left_plain() {
        assert_eq!(highlight("x", "no-such-language"), None);
        assert_eq!(highlight("x", ""), None);
        assert_eq!(highlight(&"x = 1\n".repeat(20_000), "py"), None);
    }
}
