//! What the run watches besides the probes: CPU time by thread group and
//! by server, the services' own metrics, and how many window results were
//! published.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use adpulse_config::Config;
use tokio::sync::oneshot;

use crate::Res;

/// CPU seconds of this process's threads so far, by group (nanoseconds on
/// a CPU, from each thread's schedstat).
fn own_threads(out: &mut HashMap<String, f64>) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for t in tasks.flatten() {
        let path = t.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns: f64 = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0.0);
        let group = match comm.trim() {
            "alerter" => "alerter (its thread)",
            "receiver" => "webhook receiver (its thread)",
            c if c.starts_with("rdk:") => "librdkafka threads (all clients)",
            _ => "gateway, worker, load, probes (tokio)",
        };
        *out.entry(group.into()).or_default() += ns / 1e9;
    }
}

/// /proc/PID/stat's fields after the command (state first).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Every process's stat fields, and its children.
type Procs = (HashMap<u32, Vec<String>>, HashMap<u32, Vec<u32>>);

fn procs() -> Procs {
    let (mut stats, mut kids): Procs = Default::default();
    for p in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(f) = stat_fields(pid) {
            if let Some(ppid) = f.get(1).and_then(|v| v.parse().ok()) {
                kids.entry(ppid).or_default().push(pid);
            }
            stats.insert(pid, f);
        }
    }
    (stats, kids)
}

/// Clock ticks of `pid` and its descendants (their own and their reaped
/// children's user and system time).
fn tree(pid: u32, p: &Procs) -> f64 {
    let own = p.0.get(&pid).map_or(0.0, |f| {
        (11..=14)
            .filter_map(|i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
            .sum()
    });
    own + p
        .1
        .get(&pid)
        .map_or(0.0, |ks| ks.iter().map(|k| tree(*k, p)).sum())
}

/// CPU seconds used so far: this process's thread groups, the stack's
/// servers (each a process tree, pids from the stack's folder) and the
/// whole machine (busy time of all cores).
pub fn cpu_snapshot() -> HashMap<String, f64> {
    let mut out = HashMap::new();
    own_threads(&mut out);
    let tck = clock_ticks();
    let dir =
        std::env::var("ADPULSE_STACK_DIR").unwrap_or_else(|_| "/var/lib/adpulse/stack".into());
    let all = procs();
    for s in ["kafka", "cassandra", "postgres", "redis"] {
        if let Some(pid) = std::fs::read_to_string(format!("{dir}/{s}/pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        {
            out.insert(s.into(), tree(pid, &all) / tck);
        }
    }
    let line = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = line
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() >= 8 {
        let busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        out.insert(MACHINE.into(), busy / tck);
    }
    out
}

pub const MACHINE: &str = "machine (all cores busy)";

/// `after − before` per group, largest first, and what the machine spent
/// beyond all of them.
pub fn cpu_delta(
    after: &HashMap<String, f64>,
    before: &HashMap<String, f64>,
) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    let machine = out
        .iter()
        .find(|(k, _)| k == MACHINE)
        .map_or(0.0, |(_, v)| *v);
    let ours: f64 = out
        .iter()
        .filter(|(k, _)| k != MACHINE)
        .map(|(_, v)| v)
        .sum();
    out.push((
        "anything else on the machine (machine − the above)".into(),
        machine - ours,
    ));
    out
}

/// The sum of every series of `name` in a Prometheus text rendering whose
/// labels include all of `labels`.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Counts the records of a topic as they arrive, from its beginning (so
/// the count is the sum of its partitions' end offsets, a fetch behind).
pub struct TopicCount {
    pub records: Arc<AtomicU64>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl TopicCount {
    pub fn start(cfg: &Config, topic: &str) -> Res<Self> {
        let reader =
            adpulse_kafka::Consumer::from_beginning(&cfg.kafka, topic, cfg.kafka.partitions)?;
        let records = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let counted = Arc::clone(&records);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    got = reader.recv(Duration::from_millis(200)) => match got {
                        Ok(Some(_)) => {
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(None) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    },
                }
            }
        });
        Ok(Self {
            records,
            stop,
            task,
        })
    }

    pub fn get(&self) -> i64 {
        i64::try_from(self.records.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
