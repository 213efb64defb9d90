//! What the harnesses and load generators of this crate share to measure a machine and to
//! write their tables.

/// The machine's (busy, stolen, total) jiffies, all cores, from /proc/stat: the shares of a
/// window are the differences of two readings.
pub fn machine() -> (f64, f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    jiffies(text.lines().next().unwrap_or(""))
}

/// The `cpu` line of /proc/stat: busy is everything but idle, iowait and steal.
fn jiffies(cpu_line: &str) -> (f64, f64, f64) {
    let v: Vec<f64> = cpu_line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0.0, 0.0, 1.0);
    }
    let total: f64 = v[..8].iter().sum();
    (total - v[3] - v[4] - v[7], v[7], total)
}

/// A rate as the tables write it: `1.23 M`, `412 k`, `950`.
pub fn rate(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_leaves_out_idle_iowait_and_steal() {
        // user nice system idle iowait irq softirq steal
        let (busy, steal, total) = jiffies("cpu  10 20 30 400 50 6 7 80 0 0");
        assert_eq!((busy, steal, total), (73.0, 80.0, 603.0));
        assert_eq!(jiffies("cpu 1 2"), (0.0, 0.0, 1.0));
    }

    #[test]
    fn rates_are_written_in_three_sizes() {
        assert_eq!(rate(1_234_567.0), "1.23 M");
        assert_eq!(rate(412_345.0), "412 k");
        assert_eq!(rate(950.0), "950");
    }
}
