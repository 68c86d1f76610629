//! Resource use of the hookrelay child, read from `/proc/<pid>/status` and `/proc/<pid>/stat`.

use std::process::Command;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

/// One reading of a process's memory and CPU time.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcStats {
    /// Peak resident set size so far (VmHWM), KiB.
    pub hwm_kb: u64,
    /// User plus system CPU time so far, seconds.
    pub cpu_s: f64,
}

/// Reads `pid`'s memory and CPU figures.
pub fn read(pid: u32) -> anyhow::Result<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(ProcStats {
        hwm_kb: status_kb(&status, "VmHWM:").unwrap_or(0),
        cpu_s: cpu_ticks(&stat).context("parsing /proc/<pid>/stat")? as f64 / clk_tck(),
    })
}

/// `VmRSS` of `pid` in KiB, if the process still exists.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kb(&status, "VmRSS:")
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// utime + stime (fields 14 and 15), counted after the `)` that ends the command name.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux when that fails).
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Samples a process's VmRSS every 100 ms and keeps the maximum.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max_kb: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let max_kb = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (stop, max_kb) = (stop.clone(), max_kb.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kb) = rss_kb(pid) {
                        max_kb.fetch_max(kb, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        Self { stop, max_kb, task }
    }

    /// Stops sampling (after one last sample) and returns the largest VmRSS seen, KiB.
    pub async fn finish(self, pid: u32) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        if let Some(kb) = rss_kb(pid) {
            self.max_kb.fetch_max(kb, Ordering::Relaxed);
        }
        self.max_kb.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(300));
    }

    #[test]
    fn reads_own_process() {
        let s = read(std::process::id()).unwrap();
        let rss = rss_kb(std::process::id()).unwrap();
        assert!(rss > 0 && s.hwm_kb > 0 && s.cpu_s >= 0.0);
    }
}
