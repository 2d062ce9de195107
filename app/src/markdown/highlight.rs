//! Code highlighting with syntect's grammars, as `<span class="hl-…">`
//! elements (one class per scope atom, `hl-keyword hl-control`); the
//! colours for both themes are CSS in `assets/style.css`, so no style
//! attribute is ever produced. The grammars are loaded once, on the first
//! code block that names a language.
//!
//! The grammars are a subset of syntect's bundled set (`tests::BUNDLED`),
//! stored in `assets/grammars.packdump`: the full set is about 0.34 MB of
//! the web bundle even after gzip. The other grammars are kept as empty
//! shells so that references between grammars keep their positions; a
//! test rebuilds the subset from syntect's set and checks the file.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

const GRAMMARS: &[u8] = include_bytes!("../../../assets/grammars.packdump");

/// The prefix of every class the highlighter writes; the sanitiser keeps
/// these classes and no others.
pub const CLASS_PREFIX: &str = "hl-";

/// Code longer than this is shown without colours: grammars are regular
/// expressions, and a reply must not be able to stall the UI.
const MAX_HIGHLIGHTED_BYTES: usize = 64 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(|| {
    syntect::dumps::from_uncompressed_data(GRAMMARS).unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot load the code grammars; code stays plain");
        SyntaxSet::default()
    })
});

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
    use super::{GRAMMARS, highlight};
    use syntect::parsing::syntax_definition::Context;
    use syntect::parsing::{SyntaxDefinition, SyntaxSet};

    /// The grammars that are bundled, by syntect's names: the languages code
    /// in replies is most often in, and the grammars they embed.
    const BUNDLED: &[&str] = &[
        "Plain Text",
        "Bourne Again Shell (bash)",
        "commands-builtin-shell-bash",
        "Shell-Unix-Generic",
        "C",
        "C++",
        "C#",
        "CSS",
        "Diff",
        "Go",
        "HTML",
        "Java",
        "JavaDoc",
        "JavaScript",
        "Regular Expressions (Javascript)",
        "JSON",
        "Lua",
        "Makefile",
        "Python",
        "Regular Expressions (Python)",
        "Ruby",
        "Rust",
        "SQL",
        "XML",
        "YAML",
    ];

    /// syntect's set with every grammar not in [`BUNDLED`] emptied: no
    /// name, extension or pattern, but the same contexts by name, so
    /// that the positions other grammars refer to stay the same.
    fn bundled_subset() -> SyntaxSet {
        let full = SyntaxSet::load_defaults_newlines().into_builder();
        let mut subset = syntect::parsing::SyntaxSetBuilder::new();
        for definition in full.syntaxes() {
            if BUNDLED.contains(&definition.name.as_str()) {
                subset.add(definition.clone());
            } else {
                subset.add(SyntaxDefinition {
                    name: String::new(),
                    file_extensions: Vec::new(),
                    scope: definition.scope,
                    first_line_match: None,
                    hidden: true,
                    variables: Default::default(),
                    contexts: definition
                        .contexts
                        .keys()
                        .map(|name| (name.clone(), Context::new(false)))
                        .collect(),
                });
            }
        }
        subset.build()
    }

    fn names(set: &SyntaxSet) -> Vec<String> {
        let mut names: Vec<String> = set
            .syntaxes()
            .iter()
            .filter(|s| !s.name.is_empty())
            .map(|s| s.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Rebuilds the subset from syntect's grammars and compares it with the
    /// bundled file. `KESTREL_WRITE_GRAMMARS=1` writes the file first.
    #[test]
    fn the_bundled_grammars_are_the_listed_subset() {
        let subset = bundled_subset();
        if std::env::var_os("KESTREL_WRITE_GRAMMARS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/grammars.packdump");
            syntect::dumps::dump_to_uncompressed_file(&subset, path).unwrap();
        }
        let bundled: SyntaxSet = syntect::dumps::from_uncompressed_data(GRAMMARS).unwrap();
        let mut listed: Vec<String> = BUNDLED.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(names(&bundled), listed);
        assert_eq!(names(&subset), listed);
        assert_eq!(bundled.syntaxes().len(), subset.syntaxes().len());
        for (a, b) in bundled.syntaxes().iter().zip(subset.syntaxes()) {
            assert_eq!(
                (&a.name, a.scope, &a.file_extensions),
                (&b.name, b.scope, &b.file_extensions)
            );
        }
    }

    #[test]
    fn grammars_that_embed_others_still_work() {
        let html = "<p onclick=\"go()\">x</p>\n<script>let a = /x+/g;</script>\n\
                    <style>p { color: red }</style>\n";
        let out = highlight(html, "html").unwrap();
        assert!(out.contains("hl-source hl-js"), "{out}");
        assert!(out.contains("hl-source hl-css"), "{out}");
        let out = highlight("import re\nre.compile(r'[a-z]+')\n", "python").unwrap();
        assert!(out.contains("hl-regexp"), "{out}");
    }

    #[test]
    fn grammars_left_out_are_not_found() {
        assert_eq!(highlight("# title\n", "markdown"), None);
        assert_eq!(highlight("<?php echo 1; ?>\n", "php"), None);
    }

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
