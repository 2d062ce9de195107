//! `measure-child REPORT PROGRAM ARGS…`: runs PROGRAM with ARGS (stdin,
//! stdout and stderr inherited), waits for it with `wait4`, and writes one
//! line to the file REPORT: `<spawn unix µs> <exit unix µs> <user µs>
//! <system µs> <max RSS KiB> <exit code>`; then exits with PROGRAM's code.
//!
//! Why a launcher: Linux carries the peak RSS of the address space a
//! process execs from into its `ru_maxrss`. A vfork'd child of a large
//! harness execs from the harness's address space, so its `ru_maxrss`
//! would be at least the harness's size. This launcher is tiny, so the
//! client's `ru_maxrss` is its own.

use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(report), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: measure-child REPORT PROGRAM ARGS…");
        return ExitCode::from(2);
    };
    let spawned = unix_micros();
    let child = match Command::new(&program).args(args).spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("measure-child: cannot start {}: {error}", program.display());
            return ExitCode::from(2);
        }
    };
    let usage = match kestrel_bench::child::wait(&child) {
        Ok(usage) => usage,
        Err(error) => {
            eprintln!("measure-child: wait4 failed: {error}");
            return ExitCode::from(2);
        }
    };
    let exited = unix_micros();
    let line = format!(
        "{spawned} {exited} {} {} {} {}\n",
        usage.user.as_micros(),
        usage.system.as_micros(),
        usage.max_rss_kib,
        usage.exit_code
    );
    if let Err(error) = std::fs::write(&report, line) {
        eprintln!("measure-child: cannot write the report: {error}");
        return ExitCode::from(2);
    }
    ExitCode::from(u8::try_from(usage.exit_code).unwrap_or(1))
}
