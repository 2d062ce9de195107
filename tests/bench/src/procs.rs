//! Reading `/proc` (Linux): a process's descendants (by walking every
//! `/proc/<pid>/stat` for its parent), their memory from `smaps_rollup`
//! (PSS, USS, RSS), their CPU time, and stopping them (by pid or process
//! group, never by name).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One process, as `/proc/<pid>/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
}

/// Parses the text of `/proc/<pid>/stat`. The command name is in
/// parentheses and may itself hold spaces and parentheses, so the fields
/// after it are read from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After ")": state ppid pgrp session tty tpgid flags minflt cminflt
    // majflt cmajflt utime stime …  (fields 3.. of proc(5)).
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some(ProcStat {
        pid,
        ppid,
        comm,
        cpu_ticks: utime + stime,
    })
}

/// Every process visible now.
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .collect()
}

/// `root` and all its descendants (children, their children, …), root
/// first. Empty if `root` is gone.
pub fn tree(root: u32) -> Vec<ProcStat> {
    let all = all_processes();
    let mut children: HashMap<u32, Vec<&ProcStat>> = HashMap::new();
    for process in &all {
        children.entry(process.ppid).or_default().push(process);
    }
    let Some(root_stat) = all.iter().find(|p| p.pid == root) else {
        return Vec::new();
    };
    let mut out = vec![root_stat.clone()];
    let mut next = 0;
    while next < out.len() {
        let pid = out[next].pid;
        if let Some(kids) = children.get(&pid) {
            out.extend(kids.iter().map(|p| (*p).clone()));
        }
        next += 1;
    }
    out
}

/// A process's name for reports: the file name of `argv[0]` (which keeps
/// `WebKitWebProcess` whole, where `comm` is cut to 15 bytes), else `comm`.
pub fn display_name(process: &ProcStat) -> String {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", process.pid)).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let argv0 = String::from_utf8_lossy(argv0);
    match Path::new(argv0.as_ref()).file_name() {
        Some(name) if !name.is_empty() => name.to_string_lossy().into_owned(),
        _ => process.comm.clone(),
    }
}

/// Memory of one process, in KiB, from `/proc/<pid>/smaps_rollup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub rss_kb: u64,
    pub pss_kb: u64,
    /// Unique set size: `Private_Clean` + `Private_Dirty`.
    pub uss_kb: u64,
    /// PSS of anonymous memory (heaps: the JS heap, the DOM, Rust's heap).
    pub pss_anon_kb: u64,
    /// PSS of mapped files (code and data of the libraries).
    pub pss_file_kb: u64,
    /// PSS of shared memory (graphics buffers shared between processes).
    pub pss_shmem_kb: u64,
}

impl std::ops::AddAssign for Memory {
    fn add_assign(&mut self, other: Self) {
        self.rss_kb += other.rss_kb;
        self.pss_kb += other.pss_kb;
        self.uss_kb += other.uss_kb;
        self.pss_anon_kb += other.pss_anon_kb;
        self.pss_file_kb += other.pss_file_kb;
        self.pss_shmem_kb += other.pss_shmem_kb;
    }
}

/// Parses the text of `/proc/<pid>/smaps_rollup`.
pub fn parse_smaps_rollup(text: &str) -> Memory {
    let mut memory = Memory::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(kb) = value.parse::<u64>() else {
            continue;
        };
        match key {
            "Rss:" => memory.rss_kb += kb,
            "Pss:" => memory.pss_kb += kb,
            "Private_Clean:" | "Private_Dirty:" => memory.uss_kb += kb,
            "Pss_Anon:" => memory.pss_anon_kb += kb,
            "Pss_File:" => memory.pss_file_kb += kb,
            "Pss_Shmem:" => memory.pss_shmem_kb += kb,
            _ => {}
        }
    }
    memory
}

/// The memory of one process; `None` if it is gone or unreadable.
pub fn memory_of(pid: u32) -> Option<Memory> {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .map(|text| parse_smaps_rollup(&text))
}

/// One process in a memory sample.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessSample {
    pub pid: u32,
    pub name: String,
    pub memory: Memory,
    pub cpu_ms: f64,
}

/// The memory and CPU time of a process tree at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct TreeSample {
    pub total: Memory,
    /// The root process alone.
    pub app: Memory,
    /// Everything below it (WebKit's web and network processes, sandbox
    /// helpers).
    pub children: Memory,
    /// PSS in KiB summed by process name.
    pub pss_kb_by_name: BTreeMap<String, u64>,
    pub cpu_ms: f64,
    pub processes: Vec<ProcessSample>,
}

/// Samples `root` and all its descendants. `ticks_per_second` converts
/// CPU ticks (see [`clock_ticks_per_second`]).
pub fn sample_tree(root: u32, ticks_per_second: f64) -> TreeSample {
    let mut sample = TreeSample {
        total: Memory::default(),
        app: Memory::default(),
        children: Memory::default(),
        pss_kb_by_name: BTreeMap::new(),
        cpu_ms: 0.0,
        processes: Vec::new(),
    };
    for process in tree(root) {
        let Some(memory) = memory_of(process.pid) else {
            continue;
        };
        let name = display_name(&process);
        let cpu_ms = process.cpu_ticks as f64 * 1000.0 / ticks_per_second;
        sample.total += memory;
        if process.pid == root {
            sample.app += memory;
        } else {
            sample.children += memory;
        }
        *sample.pss_kb_by_name.entry(name.clone()).or_default() += memory.pss_kb;
        sample.cpu_ms += cpu_ms;
        sample.processes.push(ProcessSample {
            pid: process.pid,
            name,
            memory,
            cpu_ms,
        });
    }
    sample
}

/// CPU time (user + system) in milliseconds of `root` and its descendants
/// now, summed by process name ([`display_name`]).
pub fn cpu_ms_by_name(root: u32, ticks_per_second: f64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for process in tree(root) {
        let ms = process.cpu_ticks as f64 * 1000.0 / ticks_per_second;
        *out.entry(display_name(&process)).or_insert(0.0) += ms;
    }
    out
}

/// `getconf CLK_TCK`, or the usual 100.
pub fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Sends SIGKILL to process group `pgid` and to each of `pids` (some
/// helpers may have left the group), then waits up to `wait` for all of
/// `pids` to disappear. Returns whether they did.
pub fn kill_all(pgid: u32, pids: &[u32], wait: Duration) -> bool {
    let mut targets = vec![format!("-{pgid}")];
    targets.extend(pids.iter().map(u32::to_string));
    for target in &targets {
        let _ = Command::new("kill")
            .args(["-KILL", "--", target])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let deadline = Instant::now() + wait;
    loop {
        let alive = pids.iter().any(|pid| is_alive(*pid));
        if !alive {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asks each of `pids` to stop (SIGTERM), waits up to `wait` for them to
/// go, then kills (SIGKILL) any left.
pub fn terminate(pids: &[u32], wait: Duration) {
    signal(pids, "-TERM");
    let deadline = Instant::now() + wait;
    while pids.iter().any(|pid| is_alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = pids.iter().copied().filter(|pid| is_alive(*pid)).collect();
    signal(&left, "-KILL");
}

fn signal(pids: &[u32], which: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(which)
        .arg("--")
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => {
            let state = text
                .rfind(')')
                .and_then(|i| text[i + 1..].split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let text =
            "4242 (Web (Content) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 25 7 0 0 20 0 1 0 0";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.pid, 4242);
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.comm, "Web (Content) x");
        assert_eq!(stat.cpu_ticks, 32);
    }

    #[test]
    fn smaps_rollup_sums() {
        let text = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\n\
                    Rss:              120000 kB\n\
                    Pss:               80000 kB\n\
                    Pss_Anon:          30000 kB\n\
                    Shared_Clean:      40000 kB\n\
                    Private_Clean:      5000 kB\n\
                    Private_Dirty:     45000 kB\n";
        assert_eq!(
            parse_smaps_rollup(text),
            Memory {
                rss_kb: 120000,
                pss_kb: 80000,
                uss_kb: 50000,
                pss_anon_kb: 30000,
                pss_file_kb: 0,
                pss_shmem_kb: 0,
            }
        );
    }

    #[test]
    fn this_process_is_its_own_tree_root() {
        let me = std::process::id();
        let tree = tree(me);
        assert_eq!(tree.first().map(|p| p.pid), Some(me));
        assert!(memory_of(me).is_some_and(|m| m.pss_kb > 0));
    }
}
