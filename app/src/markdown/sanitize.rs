//! The allow-list every rendered reply passes before the UI inserts it as
//! HTML: the elements Markdown produces and nothing else. No script,
//! style, iframe, form, object, embed, meta or base element (their text
//! content stays, `script` and `style` lose theirs); no event handler, no
//! `style` or `id` attribute; links only to `http:`, `https:` and
//! `mailto:`; images only from `data:image/…` (never a remote address,
//! which could leak what the reply contains); classes only the
//! highlighter's (`hl-…`) and the renderer's own.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

use super::highlight::CLASS_PREFIX;

/// The renderer's own classes (everything else must start `hl-`).
pub const OWN_CLASSES: &[&str] = &["code-block", "code-lang"];

/// Link addresses that may be followed; a positive list of prefixes, so
/// an address that is anything else (`javascript:`, `data:`, a relative
/// path, a scheme hidden behind whitespace) loses its `href`.
const LINK_PREFIXES: &[&str] = &["http://", "https://", "mailto:"];

/// The only images shown: inline raster data. SVG is left out because it
/// is a document, not a picture.
const IMAGE_PREFIXES: &[&str] = &[
    "data:image/png;base64,",
    "data:image/jpeg;base64,",
    "data:image/gif;base64,",
    "data:image/webp;base64,",
];

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "hr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "strong",
            "em",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
            "img",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "span",
            "div",
        ])
        .add_clean_content_tags(["script", "style"])
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("img", ["src", "alt", "title"])
        .add_tag_attributes("ol", ["start"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("pre", ["class"])
        .add_tag_attributes("div", ["class"])
        .url_schemes(HashSet::from(["http", "https", "mailto", "data"]))
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(filter_attribute);
    // In the browser a link opens a new tab. The desktop window has no
    // tabs: there a click is a navigation, which the window hands to the
    // system browser (`desktop::allow_navigation`).
    if cfg!(target_arch = "wasm32") {
        builder.set_tag_attribute_value("a", "target", "_blank");
    }
    builder
});

/// `html` with everything outside the allow-list removed.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Runs after ammonia's own checks (allowed attribute, allowed scheme) and
/// narrows them per element: `data:` only for images, remote addresses
/// never for images, and classes only from the list.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        ("a", "href") => has_prefix(value, LINK_PREFIXES).then_some(Cow::Borrowed(value)),
        ("img", "src") => has_prefix(value, IMAGE_PREFIXES).then_some(Cow::Borrowed(value)),
        (_, "class") => {
            let kept: Vec<&str> = value
                .split_ascii_whitespace()
                .filter(|class| class.starts_with(CLASS_PREFIX) || OWN_CLASSES.contains(class))
                .collect();
            (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
        }
        _ => Some(Cow::Borrowed(value)),
    }
}

fn has_prefix(value: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        value
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::sanitize;
    use pretty_assertions::assert_eq;

    #[test]
    fn markdown_output_passes_unchanged() {
        let html = "<h2>Title</h2>\n<p>Some <strong>bold</strong>, <em>em</em>, <del>gone</del> \
                    and <code>code</code>.</p>\n<blockquote>\n<p>quoted</p>\n</blockquote>\n\
                    <ol start=\"3\">\n<li>three</li>\n</ol>\n<table><thead><tr><th>a</th></tr>\
                    </thead><tbody><tr><td>1</td></tr></tbody></table>\n<hr>\n\
                    <pre class=\"code-block\"><code><span class=\"hl-source hl-rust\">fn</span>\
                    </code></pre>";
        assert_eq!(sanitize(html), html);
    }

    #[test]
    fn links_keep_safe_addresses_and_get_rel() {
        assert_eq!(
            sanitize("<a href=\"https://example.com/a?b=c\" title=\"t\">x</a>"),
            "<a href=\"https://example.com/a?b=c\" title=\"t\" rel=\"noopener noreferrer\">x</a>"
        );
        assert_eq!(
            sanitize("<a href=\"mailto:a@example.com\">m</a>"),
            "<a href=\"mailto:a@example.com\" rel=\"noopener noreferrer\">m</a>"
        );
    }

    #[test]
    fn unsafe_link_addresses_are_removed_and_the_text_kept() {
        for href in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "javascript&#58;alert(1)",
            "&#106;avascript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "data:image/png;base64,AAAA",
            "/api/v1/conversations",
            "//evil.example/",
            "#top",
            "file:///etc/passwd",
        ] {
            let out = sanitize(&format!("<a href=\"{href}\">click</a>"));
            assert_eq!(
                out, "<a rel=\"noopener noreferrer\">click</a>",
                "href {href:?}"
            );
        }
    }

    #[test]
    fn scripts_handlers_and_styles_are_removed() {
        let cases = [
            ("<script>window.__pwned = 1</script>after", "after"),
            ("<img src=x onerror=\"window.__pwned=1\">", "<img>"),
            (
                "<p onclick=\"x()\" style=\"color:red\" id=\"main\">hi</p>",
                "<p>hi</p>",
            ),
            ("<style>body{display:none}</style>text", "text"),
            (
                "<svg onload=\"x()\"><script>x()</script><text>svg</text></svg>",
                "",
            ),
            (
                "<iframe src=\"https://evil.example\">frame</iframe>",
                "frame",
            ),
            (
                "<form action=\"https://evil.example\"><input name=a>f</form>",
                "f",
            ),
            (
                "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">m",
                "m",
            ),
            ("<base href=\"https://evil.example/\">b", "b"),
            (
                "<object data=\"x.swf\">o</object><embed src=\"x.swf\">",
                "o",
            ),
            (
                "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>",
                "",
            ),
            ("<details open ontoggle=\"x()\">d</details>", "d"),
            ("<!-- <script>x()</script> -->c", "c"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize(input), expected, "input {input}");
        }
    }

    #[test]
    fn only_raster_data_images_are_kept() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(
            sanitize(&format!("<img src=\"{png}\" alt=\"dot\">")),
            format!("<img src=\"{png}\" alt=\"dot\">")
        );
        for src in [
            "https://tracker.example/pixel.png?secret=1",
            "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
            "data:text/html;base64,PHNjcmlwdD4=",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                sanitize(&format!("<img src=\"{src}\" alt=\"a\">")),
                "<img alt=\"a\">"
            );
        }
    }

    #[test]
    fn only_known_classes_are_kept() {
        assert_eq!(
            sanitize("<span class=\"hl-keyword app sidebar hl-rust\">k</span>"),
            "<span class=\"hl-keyword hl-rust\">k</span>"
        );
        assert_eq!(sanitize("<div class=\"app modal\">d</div>"), "<div>d</div>");
        assert_eq!(sanitize("<p class=\"code-block\">p</p>"), "<p>p</p>");
    }
}
