//! The wall clock as the protocol counts time: nanoseconds since the Unix epoch (UTC), the
//! unit of every header `timestamp`. One function, for every program that stamps or ages a
//! message.

/// Nanoseconds since the Unix epoch; 0 for a clock set before 1970.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_is_now_in_nanoseconds() {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ns = super::realtime_ns();
        assert!(
            ns / 1_000_000_000 >= secs && ns / 1_000_000_000 <= secs + 1,
            "{ns} vs {secs}"
        );
    }
}
