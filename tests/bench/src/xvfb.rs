//! A private X server for the benchmarks: one `Xvfb :N -screen 0
//! 1280x800x24` on a display number nobody uses, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running Xvfb. Dropping it stops it.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts Xvfb on the first free display from `:first` on, and waits
    /// until it accepts connections (its socket appears).
    pub fn start(first: u32) -> anyhow::Result<Self> {
        for number in first..first + 100 {
            let socket = format!("/tmp/.X11-unix/X{number}");
            let lock = format!("/tmp/.X{number}-lock");
            if Path::new(&socket).exists() || Path::new(&lock).exists() {
                continue;
            }
            let display = format!(":{number}");
            let mut child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start Xvfb (install the xvfb package)")?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = child.try_wait()? {
                    // Someone took the display between the check and the
                    // start; try the next one.
                    eprintln!("Xvfb {display} exited at once ({status}); trying the next display");
                    break;
                }
                if Path::new(&socket).exists() {
                    return Ok(Self { child, display });
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("Xvfb {display} did not come up within 10 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        bail!("no free X display between :{first} and :{}", first + 99)
    }

    /// The value for `DISPLAY`, e.g. `:99`.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its lock file and socket.
        crate::procs::terminate(&[self.child.id()], Duration::from_secs(3));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
