//! Markdown to sanitised HTML with pulldown-cmark (CommonMark plus tables,
//! strikethrough and task lists). Changes to what pulldown-cmark would
//! write, each for safety or readability:
//!
//! - Raw HTML in the reply is shown as text: an HTML block as a code
//!   block, inline HTML escaped in place. A model quoting `<script>` means
//!   the characters, never an element.
//! - Fenced code is highlighted ([`super::highlight`]) and labelled with
//!   its language; unknown languages and the live tail stay plain.
//! - Images load only from inline `data:image/…`; an image with any other
//!   address becomes a link showing its alt text, so a reply cannot make
//!   the app fetch a URL (which could carry data out).
//! - Task-list boxes are characters (☐ ☑), not form inputs.
//!
//! Whatever the renderer writes then passes [`super::sanitize`].

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

use super::highlight::highlight;
use super::sanitize::sanitize;

/// Whether fenced code is highlighted. The live tail of a streaming reply
/// is rendered on every flush and stays plain to keep that cheap; its
/// blocks are highlighted once they are finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlight {
    Code,
    Plain,
}

/// `markdown` as HTML that is safe to insert into the page.
pub fn to_html(markdown: &str, highlight: Highlight) -> String {
    sanitize(&render(markdown, highlight))
}

/// The renderer's HTML, before sanitising.
fn render(markdown: &str, mode: Highlight) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    // The fenced or indented code block being collected, with its language.
    let mut code: Option<(String, String)> = None;
    let mut image_as_link = false;
    for event in Parser::new_ext(markdown, options) {
        if let Some((language, text)) = &mut code {
            match event {
                Event::Text(t) | Event::Html(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock | TagEnd::HtmlBlock) => {
                    events.push(Event::Html(code_block(language, text, mode).into()));
                    code = None;
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((language, String::new()));
            }
            Event::Start(Tag::HtmlBlock) => code = Some((String::new(), String::new())),
            Event::Html(html) | Event::InlineHtml(html) => events.push(Event::Text(html)),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) if !is_inline_image(&dest_url) => {
                image_as_link = true;
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }));
            }
            Event::End(TagEnd::Image) if image_as_link => {
                image_as_link = false;
                events.push(Event::End(TagEnd::Link));
            }
            Event::TaskListMarker(done) => {
                events.push(Event::Text(CowStr::Borrowed(if done {
                    "☑ "
                } else {
                    "☐ "
                })));
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

fn is_inline_image(url: &str) -> bool {
    url.get(..11)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:image/"))
}

/// A code block: an optional language label over `<pre><code>`.
fn code_block(language: &str, code: &str, mode: Highlight) -> String {
    let body = match mode {
        Highlight::Code => highlight(code, language),
        Highlight::Plain => None,
    }
    .unwrap_or_else(|| escape(code));
    let label = if language.is_empty() {
        String::new()
    } else {
        format!("<div class=\"code-lang\">{}</div>", escape(language))
    };
    format!("<div class=\"code-block\">{label}<pre><code>{body}</code></pre></div>\n")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Highlight, to_html};
    use pretty_assertions::assert_eq;

    fn html(markdown: &str) -> String {
        to_html(markdown, Highlight::Code)
    }

    #[test]
    fn common_markdown_renders() {
        let markdown = "# Title\n\nSome **bold**, *em*, ~~gone~~ and `code`.\n\n\
                        > quoted\n\n1. one\n2. two\n\n- [x] done\n- [ ] open\n\n\
                        | a | b |\n|---|---|\n| 1 | 2 |\n\n---\n";
        assert_eq!(
            html(markdown),
            "<h1>Title</h1>\n<p>Some <strong>bold</strong>, <em>em</em>, <del>gone</del> and \
             <code>code</code>.</p>\n<blockquote>\n<p>quoted</p>\n</blockquote>\n<ol>\n\
             <li>one</li>\n<li>two</li>\n</ol>\n<ul>\n<li>☑ done</li>\n<li>☐ open</li>\n</ul>\n\
             <table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n<tr><td>1</td>\
             <td>2</td></tr>\n</tbody></table>\n<hr>\n"
        );
    }

    #[test]
    fn fenced_code_is_labelled_and_highlighted() {
        let out = html("```rust\nlet s = \"<i>\";\n```\n");
        assert!(
            out.starts_with(
                "<div class=\"code-block\"><div class=\"code-lang\">rust</div><pre><code>\
                 <span class=\"hl-source hl-rust\">"
            ),
            "{out}"
        );
        assert!(out.contains("hl-string"), "{out}");
        assert!(out.contains("&lt;i&gt;"), "{out}");
        assert!(out.ends_with("</code></pre></div>\n"), "{out}");
    }

    #[test]
    fn plain_mode_and_unknown_languages_escape_the_code() {
        let expected = "<div class=\"code-block\"><div class=\"code-lang\">rust</div><pre><code>\
                        a &lt; b &amp;&amp; c\n</code></pre></div>\n";
        assert_eq!(
            to_html("```rust\na < b && c\n```", Highlight::Plain),
            expected
        );
        assert_eq!(
            html("```nope\n<b>x</b>\n```"),
            "<div class=\"code-block\"><div class=\"code-lang\">nope</div><pre><code>\
             &lt;b&gt;x&lt;/b&gt;\n</code></pre></div>\n"
        );
        assert_eq!(
            html("    indented <code>\n"),
            "<div class=\"code-block\"><pre><code>indented &lt;code&gt;\n</code></pre></div>\n"
        );
    }

    #[test]
    fn an_unclosed_fence_renders_what_has_arrived() {
        assert_eq!(
            to_html("```py\nx = 1\n", Highlight::Plain),
            "<div class=\"code-block\"><div class=\"code-lang\">py</div><pre><code>x = 1\n\
             </code></pre></div>\n"
        );
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        assert_eq!(
            html("<script>window.__pwned = 1</script>\n"),
            "<div class=\"code-block\"><pre><code>&lt;script&gt;window.__pwned = 1\
             &lt;/script&gt;\n</code></pre></div>\n"
        );
        assert_eq!(
            html("Hi <img src=x onerror=alert(1)> there"),
            "<p>Hi &lt;img src=x onerror=alert(1)&gt; there</p>\n"
        );
    }

    #[test]
    fn links_keep_safe_addresses_only() {
        assert_eq!(
            html("[site](https://example.com \"T\") <https://example.com/auto>"),
            "<p><a href=\"https://example.com\" title=\"T\" rel=\"noopener noreferrer\">site</a> \
             <a href=\"https://example.com/auto\" rel=\"noopener noreferrer\">\
             https://example.com/auto</a></p>\n"
        );
        for markdown in [
            "[x](javascript:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](  javascript:alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](JAVASCRIPT:alert(1))",
            "[x](java%0ascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](/relative)",
            "[x][r]\n\n[r]: javascript:alert(1)",
        ] {
            let out = html(markdown);
            assert!(
                out.contains("<a rel=\"noopener noreferrer\">x</a>"),
                "{markdown}: {out}"
            );
            assert!(!out.contains("href"), "{markdown}: {out}");
        }
        let out = html("<javascript:alert(1)>");
        assert!(!out.contains("href"), "{out}");
        assert!(out.contains("javascript:alert(1)"), "{out}");
    }

    #[test]
    fn images_load_only_inline_data() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(
            html(&format!("![a dot]({png})")),
            format!("<p><img src=\"{png}\" alt=\"a dot\"></p>\n")
        );
        assert_eq!(
            html("![secret](https://tracker.example/p.png?q=secret)"),
            "<p><a href=\"https://tracker.example/p.png?q=secret\" rel=\"noopener noreferrer\">\
             secret</a></p>\n"
        );
        assert_eq!(
            html("![x](javascript:alert(1))"),
            "<p><a rel=\"noopener noreferrer\">x</a></p>\n"
        );
    }

    #[test]
    fn entities_that_spell_markup_stay_text() {
        assert_eq!(
            html("&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</p>\n"
        );
    }

    /// The browser test's catalogue of hostile replies
    /// (`tests/fixtures/hostile.md`), rendered both ways: no element or
    /// attribute outside the allow-list survives, and every item's text
    /// is still there to read.
    #[test]
    fn the_hostile_catalogue_renders_inert_and_readable() {
        let catalogue = include_str!("../../../tests/fixtures/hostile.md");
        for mode in [Highlight::Code, Highlight::Plain] {
            let out = to_html(catalogue, mode);
            for (tag, attributes) in tags(&out) {
                let allowed: &[&str] = match tag.as_str() {
                    "a" => &["href", "title", "rel"],
                    "img" => &["src", "alt", "title"],
                    "span" | "div" | "pre" | "code" => &["class"],
                    "p" | "h1" | "strong" | "em" | "li" | "ul" | "ol" | "blockquote" => &[],
                    other => panic!("unexpected element <{other}> in {out}"),
                };
                for (name, value) in attributes {
                    assert!(allowed.contains(&name.as_str()), "<{tag} {name}={value:?}>");
                    match name.as_str() {
                        "href" => assert!(value.starts_with("http://127.0.0.1:9/"), "{value}"),
                        "src" => assert!(value.starts_with("data:image/png;base64,"), "{value}"),
                        "class" => assert!(
                            value
                                .split(' ')
                                .all(|c| c.starts_with("hl-") || c.starts_with("code-")),
                            "{value}"
                        ),
                        "rel" => assert_eq!(value, "noopener noreferrer"),
                        _ => {}
                    }
                }
            }
            for label in (1..=26).map(|i| format!("H{i:02}")) {
                assert!(out.contains(&label), "{label} is missing from {out}");
            }
            // Quoted markup is visible as the characters the model wrote.
            assert!(
                out.contains("&lt;script&gt;window.__pwned = 'H01'&lt;/script&gt;"),
                "{out}"
            );
            assert!(
                out.contains("click H03") && out.contains("click H09"),
                "{out}"
            );
        }
    }

    /// The start tags in serialised HTML, with their attributes. The
    /// sanitiser's serialiser escapes `<` in text and quotes every
    /// attribute value, which is what makes this small scanner enough.
    fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut found = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            if rest.starts_with('/') {
                continue;
            }
            let end = rest.find('>').expect("a start tag ends");
            let mut inside = &rest[..end];
            let name_end = inside.find(' ').unwrap_or(inside.len());
            let name = inside[..name_end].to_owned();
            inside = inside[name_end..].trim_start();
            let mut attributes = Vec::new();
            while !inside.is_empty() {
                let (key, after) = inside.split_once("=\"").expect("a quoted attribute");
                let (value, after) = after.split_once('"').expect("a closing quote");
                attributes.push((key.to_owned(), value.replace("&amp;", "&")));
                inside = after.trim_start();
            }
            found.push((name, attributes));
            rest = &rest[end..];
        }
        found
    }
}
