//! The process's own figures, read from `/proc/self` at each scrape and
//! written under the names Prometheus' client libraries use (so the usual
//! dashboards and alerts work unchanged), and the build-info series.
//!
//! CPU time is in clock ticks of `USER_HZ`, which Linux fixes at 100 for
//! every user-space interface on every architecture. On a system without
//! `/proc` the process series are left out (the build info stays).

use std::fmt::Write as _;

/// What `/proc/self/stat` and friends say.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    threads: u64,
    start_time_seconds: f64,
    open_fds: u64,
    max_fds: Option<u64>,
}

const USER_HZ: f64 = 100.0;

/// The exposition of the process series and `adpulse_build_info` for
/// `service`, HELP and TYPE included.
pub fn exposition(service: &str) -> String {
    let mut out = String::new();
    line(
        &mut out,
        "adpulse_build_info",
        "gauge",
        "Always 1; the labels say which build runs (the crate version, the git commit it was built from when known) and which service.",
        &format!(
            "{{version=\"{}\",commit=\"{}\",service=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            option_env!("ADPULSE_GIT_COMMIT").unwrap_or("unknown"),
            service
        ),
    );
    if let Some(f) = read() {
        line(
            &mut out,
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            &format!(" {}", f.cpu_seconds),
        );
        line(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            &format!(" {}", f.resident_bytes),
        );
        line(
            &mut out,
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            &format!(" {}", f.virtual_bytes),
        );
        line(
            &mut out,
            "process_threads",
            "gauge",
            "Number of OS threads in the process.",
            &format!(" {}", f.threads),
        );
        line(
            &mut out,
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            &format!(" {}", f.start_time_seconds),
        );
        line(
            &mut out,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            &format!(" {}", f.open_fds),
        );
        if let Some(max) = f.max_fds {
            line(
                &mut out,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                &format!(" {max}"),
            );
        }
    }
    out
}

fn line(out: &mut String, name: &str, kind: &str, help: &str, sample: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name}{sample}");
}

fn read() -> Option<Figures> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let mut f = parse(&stat, &status, &boot, &limits)?;
    f.open_fds = open_fds;
    Some(f)
}

/// The figures in the texts of `/proc/self/stat`, `/proc/self/status`,
/// `/proc/stat` and `/proc/self/limits`.
fn parse(stat: &str, status: &str, boot: &str, limits: &str) -> Option<Figures> {
    // The command name (field 2) is in parentheses and may hold spaces:
    // fields are counted from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is fields[n - 3].
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    let (utime, stime) = (field(14)?, field(15)?);
    let threads = field(20)?;
    let start_ticks = field(22)?;
    let virtual_bytes = field(23)?;
    let kib = |key: &str| -> Option<u64> {
        let l = status.lines().find(|l| l.starts_with(key))?;
        l[key.len()..].split_whitespace().next()?.parse().ok()
    };
    let btime: u64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let max_fds = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok());
    Some(Figures {
        cpu_seconds: (utime + stime) as f64 / USER_HZ,
        resident_bytes: kib("VmRSS:")? * 1024,
        virtual_bytes,
        threads,
        start_time_seconds: btime as f64 + start_ticks as f64 / USER_HZ,
        open_fds: 0,
        max_fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_proc_texts_even_with_a_spaced_command_name() {
        let stat = "4242 (adpulse (x) y) S 1 4242 4242 0 -1 4194560 3000 0 0 0 250 130 0 0 20 0 7 0 123456 987654321 2500 18446744073709551615";
        let status = "Name:\tadpulse\nVmRSS:\t   10240 kB\nThreads:\t7\n";
        let boot = "cpu  1 2 3\nbtime 1800000000\nprocesses 9\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1048576              1048576              files\n";
        let f = parse(stat, status, boot, limits).expect("parsed");
        assert_eq!(
            f,
            Figures {
                cpu_seconds: 3.8,
                resident_bytes: 10_485_760,
                virtual_bytes: 987_654_321,
                threads: 7,
                start_time_seconds: 1_800_001_234.56,
                open_fds: 0,
                max_fds: Some(1_048_576),
            }
        );
    }

    #[test]
    fn this_process_has_figures_and_a_build_info_line() {
        let text = exposition("test");
        assert!(text.contains("# HELP adpulse_build_info "), "{text}");
        assert!(text.contains("service=\"test\"} 1"), "{text}");
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}: {text}");
        }
        let f = read().expect("linux");
        assert!(
            f.open_fds >= 3 && f.resident_bytes > 0 && f.threads >= 1,
            "{f:?}"
        );
    }
}
