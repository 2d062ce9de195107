//! What one child process cost, measured on the process itself: `wait4`
//! reaps it and returns its own resource usage (user and system CPU time,
//! peak resident set), not the harness's and not other children's.

use std::io;
use std::process::Child;
use std::time::Duration;

/// The resources a finished child used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildUsage {
    pub user: Duration,
    pub system: Duration,
    /// Peak resident set size (`ru_maxrss`), in KiB.
    pub max_rss_kib: u64,
    /// The exit code, or 128 + the signal that ended it.
    pub exit_code: i32,
}

impl ChildUsage {
    /// User plus system CPU time.
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

/// Waits for `child` to exit, reaps it, and returns what it used. Call it
/// once, instead of `Child::wait`.
pub fn wait(child: &Child) -> io::Result<ChildUsage> {
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (`Child::wait` is
        // not called on it); `status` and `usage` are valid, writable
        // locals that outlive the call.
        #[allow(unsafe_code)]
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok(ChildUsage {
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_code,
    })
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::zombie_processes)] // `wait` reaps it.
    fn a_busy_child_shows_its_own_cpu_and_exit_code() {
        let child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3",
            ])
            .spawn()
            .unwrap();
        let usage = wait(&child).unwrap();
        assert_eq!(usage.exit_code, 3);
        assert!(usage.cpu() > Duration::ZERO, "{usage:?}");
        assert!(usage.max_rss_kib > 0, "{usage:?}");
    }
}
