//! Running one benchmark app from outside: spawn it in its own process
//! group with stdout piped, time spawn → a marker line on stdout with the
//! monotonic clock, sample its process tree, and kill the whole tree.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procs::{self, TreeSample};

/// How to start one app.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// Set in the child's environment.
    pub set_env: Vec<(String, String)>,
    /// Removed from the child's environment.
    pub remove_env: Vec<String>,
    /// Where the child's stderr goes.
    pub log: PathBuf,
}

/// A started app: its process, and its stdout lines with the instant each
/// arrived.
pub struct Running {
    pub child: Child,
    pub spawned_at: Instant,
    lines: Receiver<(Instant, String)>,
    log: PathBuf,
}

impl Launch {
    /// Spawns the app in a new process group and starts reading its stdout.
    pub fn spawn(&self) -> anyhow::Result<Running> {
        let log = File::create(&self.log)
            .with_context(|| format!("cannot create {}", self.log.display()))?;
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0);
        for name in &self.remove_env {
            command.env_remove(name);
        }
        for (name, value) in &self.set_env {
            command.env(name, value);
        }
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            child,
            spawned_at,
            lines,
            log: self.log.clone(),
        })
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the first stdout line `accept` takes; returns it and when
    /// it arrived. Fails if the app exits first or `timeout` passes.
    pub fn wait_line(
        &mut self,
        timeout: Duration,
        mut accept: impl FnMut(&str) -> bool,
    ) -> anyhow::Result<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if accept(&line) => return Ok((at, line)),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "no expected line within {timeout:?}; stderr: {}",
                        tail(&self.log)
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    bail!(
                        "the app exited ({status:?}) before the expected line; stderr: {}",
                        tail(&self.log)
                    )
                }
            }
        }
    }

    /// A line `accept` takes, if one arrives within `timeout`.
    pub fn try_line(
        &mut self,
        timeout: Duration,
        accept: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        self.wait_line(timeout, accept).ok().map(|(_, line)| line)
    }

    /// Memory and CPU of the app and all its descendants now.
    pub fn sample(&self, ticks_per_second: f64) -> TreeSample {
        procs::sample_tree(self.pid(), ticks_per_second)
    }

    /// Kills the app's process group and every descendant, and reaps it.
    /// Returns whether everything was gone within five seconds.
    pub fn kill(mut self) -> bool {
        let pid = self.pid();
        let pids: Vec<u32> = procs::tree(pid).iter().map(|p| p.pid).collect();
        let gone = procs::kill_all(pid, &pids, Duration::from_secs(5));
        let _ = self.child.kill();
        let _ = self.child.wait();
        gone
    }
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    format!("({}) {}", path.display(), lines[start..].join(" | "))
}

/// Milliseconds from `from` to `to`.
pub fn ms_between(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}
