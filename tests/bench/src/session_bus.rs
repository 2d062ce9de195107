//! A private D-Bus session bus for the benchmark's apps, as a desktop
//! session would have. Without one, GTK autolaunches a new session bus
//! (and an accessibility bus) for every app started under Xvfb; those
//! daemonise, outlive the app, and add their start-up to every run. One
//! shared bus, started once and stopped (with whatever it activated) when
//! dropped, keeps the runs like a real desktop's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::procs;

/// A running `dbus-daemon --session`. Dropping it stops it and everything
/// it activated.
#[derive(Debug)]
pub struct SessionBus {
    child: Child,
    address: String,
}

impl SessionBus {
    /// Starts the daemon and reads its address.
    pub fn start() -> anyhow::Result<Self> {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start dbus-daemon (install the dbus package)")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("cannot read the session bus address")?;
        let address = line.trim().to_owned();
        if address.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("dbus-daemon printed no address");
        }
        Ok(Self { child, address })
    }

    /// The value for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let pid = self.child.id();
        let mut pids: Vec<u32> = procs::tree(pid).iter().map(|p| p.pid).collect();
        // Services the bus activated (the accessibility bus launcher, its
        // own dbus-daemon and registry) may have left its process tree;
        // they carry this bus's address, whose guid is unique to it.
        pids.extend(activated_by(&self.address));
        pids.sort_unstable();
        pids.dedup();
        procs::terminate(&pids, Duration::from_secs(2));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes (other than this one) whose environment names `address` as
/// their session or starter bus.
fn activated_by(address: &str) -> Vec<u32> {
    let wanted = [
        format!("DBUS_SESSION_BUS_ADDRESS={address}"),
        format!("DBUS_STARTER_ADDRESS={address}"),
    ];
    let me = std::process::id();
    procs::all_processes()
        .into_iter()
        .filter(|p| p.pid != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{}/environ", p.pid))
                .map(|env| {
                    env.split(|b| *b == 0)
                        .any(|var| wanted.iter().any(|w| var == w.as_bytes()))
                })
                .unwrap_or(false)
        })
        .map(|p| p.pid)
        .collect()
}
