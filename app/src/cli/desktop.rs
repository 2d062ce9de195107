//! `kestrel` / `kestrel desktop`: hands over to the `kestrel-desktop`
//! binary beside this one, by exec (same process id, same arguments'
//! meaning, same environment). Keeping the window in its own binary means
//! `kestrel -p` and `kestrel serve` never map WebKitGTK and GTK (about
//! 170 shared libraries) at every start.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The desktop binary's file name.
const DESKTOP_BINARY: &str = "kestrel-desktop";

/// The `kestrel-desktop` beside this executable, if it exists.
fn desktop_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(DESKTOP_BINARY);
    path.is_file().then_some(path)
}

/// Whether a window can open here: a display, and the desktop binary.
pub fn available() -> bool {
    has_display() && desktop_binary().is_some()
}

fn has_display() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
    } else {
        true
    }
}

/// Replaces this process with `kestrel-desktop`. Returns only on failure.
pub fn exec(data_dir: Option<&Path>) -> ExitCode {
    if !has_display() {
        eprintln!(
            "kestrel: no display (DISPLAY and WAYLAND_DISPLAY are unset); \
             `kestrel serve` serves the web UI instead"
        );
        return ExitCode::FAILURE;
    }
    let Some(binary) = desktop_binary() else {
        eprintln!(
            "kestrel: no {DESKTOP_BINARY} beside this executable; build it with \
             `cargo build -p kestrel-app --features desktop` (or use scripts/run.sh)"
        );
        return ExitCode::FAILURE;
    };
    let mut command = Command::new(&binary);
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    run(command, &binary)
}

#[cfg(unix)]
fn run(mut command: Command, binary: &Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    eprintln!("kestrel: cannot start {}: {error}", binary.display());
    ExitCode::FAILURE
}

#[cfg(not(unix))]
fn run(mut command: Command, binary: &Path) -> ExitCode {
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("kestrel: cannot start {}: {error}", binary.display());
            ExitCode::FAILURE
        }
    }
}
