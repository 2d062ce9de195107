//! `kestrel export` and `kestrel import` as a person runs them: the real
//! binary on real data dirs. A ChatGPT export comes in, everything goes out
//! as our JSON, that JSON goes into an empty data dir and comes out
//! identical; a bad file is refused with a clear message and changes
//! nothing.
//!
//! Run: `cargo test -p kestrel-app --features desktop --test cli_transfer`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn kestrel(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("ANTHROPIC_API_KEY", "")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../server/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The archive without the time it was made.
fn conversations(json: &[u8]) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
    value["conversations"].take()
}

#[test]
fn import_export_and_reimport_round_trip_through_the_binary() {
    let first = tempfile::tempdir().unwrap();
    let out = kestrel(
        first.path(),
        &["import", &fixture("chatgpt-conversations.json")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Imported 1 conversations (4 messages); 0 already present were left as they were."
    );
    let out = kestrel(
        first.path(),
        &[
            "import",
            "--from",
            "claude",
            &fixture("claude-conversations.json"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let archive = first.path().join("all.json");
    let out = kestrel(first.path(), &["export", "-o", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read(&archive).unwrap();
    assert_eq!(conversations(&exported).as_array().unwrap().len(), 3);

    let second = tempfile::tempdir().unwrap();
    let out = kestrel(second.path(), &["import", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kestrel(second.path(), &["export"]);
    assert!(out.status.success());
    assert_eq!(conversations(&out.stdout), conversations(&exported));

    // One conversation's active branch as Markdown, then every branch.
    let all = conversations(&exported);
    let packing = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["conversation"]["title"] == "Packing list")
        .unwrap();
    let id = packing["conversation"]["id"].as_str().unwrap().to_owned();
    let out = kestrel(
        second.path(),
        &[
            "export",
            "--conversation",
            &id,
            "--format",
            "markdown",
            "--branch",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        markdown,
        "# Packing list\n\n## You\n\nWhat should I pack for a hike?\n\n\
         ## Assistant\n\nWater, snacks, a map and a jacket.\n\n## You\n\nAnd for rain?\n\n"
    );
    let out = kestrel(
        second.path(),
        &["export", "--conversation", &id, "--format", "markdown"],
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "# Packing list\n\n## You\n\nWhat should I pack for a hike?\n\n\
         ## Assistant (version 1 of 2)\n\nWater and snacks.\n\n---\n\n\
         ## Assistant (version 2 of 2)\n\nWater, snacks, a map and a jacket.\n\n\
         ## You\n\nAnd for rain?\n\n"
    );
}

#[test]
fn a_bad_file_is_refused_with_a_reason_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = kestrel(
        dir.path(),
        &["import", &fixture("claude-conversations.json")],
    );
    assert!(out.status.success());
    let before = kestrel(dir.path(), &["export"]).stdout;

    let bad = dir.path().join("conversations.json");
    std::fs::write(
        &bad,
        r#"[{"title": "x", "mapping": {"a": {"message": 5}}}]"#,
    )
    .unwrap();
    let out = kestrel(dir.path(), &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing was imported") && stderr.contains("not a valid ChatGPT export"),
        "{stderr}"
    );
    let after = kestrel(dir.path(), &["export"]).stdout;
    assert_eq!(conversations(&after), conversations(&before));
}
