//! Readiness, asked until answered: a server is ready when its port listens or a page
//! answers, not after a sleep. Each probe is one question; [`until`] asks it within a
//! deadline and names what never became true.

use std::time::{Duration, Instant};

/// Asks `ready` every 20 ms until it says true; Err naming `what` after `limit`, or the
/// probe's own error at once.
pub fn until(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while !ready()? {
        if Instant::now() > deadline {
            return Err(format!("not {what} after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A TCP port on loopback that nothing listens on now.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether something listens on TCP `port` in this network namespace (IPv4 or IPv6), as
/// `/proc/net/tcp*` says (no connection is made: a server that counts its clients sees none).
pub fn listening(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|path| {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| listens_on(line, port))
    })
}

/// One line of `/proc/net/tcp`: local address `HEX:PORT` in the second column, state `0A`
/// (LISTEN) in the fourth.
fn listens_on(line: &str, port: u16) -> bool {
    let f: Vec<&str> = line.split_whitespace().collect();
    f.len() > 3
        && f[3] == "0A"
        && f[1]
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
            == Some(port)
}

/// `GET path` on loopback: (status, body), or None if nothing answers within `limit`.
fn get(port: u16, path: &str, limit: Duration, body: bool) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A 404 or a 503 is an answer too: the caller decides what it means.
        .http_status_as_error(false)
        .timeout_global(Some(limit))
        .build()
        .into();
    let response = agent
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call()
        .ok()?;
    let status = response.status().as_u16();
    let text = if body {
        response.into_body().read_to_string().ok()?
    } else {
        String::new()
    };
    Some((status, text))
}

/// `GET path` on loopback: (status, body), or None if nothing answers (5 s at most).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    get(port, path, Duration::from_secs(5), true)
}

/// The status of `GET path` on loopback, or None if nothing answers (2 s at most); the body
/// is not read, so a streaming page answers too.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    get(port, path, Duration::from_secs(2), false).map(|(status, _)| status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_listening_socket_is_seen_and_a_closed_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listening(port));
        drop(listener);
        assert!(!listening(port));
    }

    #[test]
    fn proc_net_tcp_lines_are_read_by_state_and_port() {
        let listen = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000";
        let established =
            "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000";
        assert!(listens_on(listen, 8080));
        assert!(!listens_on(listen, 8081));
        assert!(!listens_on(established, 8080));
    }

    #[test]
    fn until_names_what_never_happened() {
        let e = until("ready", Duration::from_millis(50), || Ok(false)).unwrap_err();
        assert!(e.starts_with("not ready after"), "{e}");
        let mut n = 0;
        until("counted", Duration::from_secs(5), || {
            n += 1;
            Ok(n == 3)
        })
        .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn http_get_reads_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // The whole request is read before the answer: closing with unread bytes
            // would reset the connection.
            let mut request = Vec::new();
            let mut buf = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy")
                .unwrap();
        });
        assert_eq!(http_get(port, "/healthz"), Some((503, "busy".to_string())));
        server.join().unwrap();
        assert_eq!(http_status(free_port().unwrap(), "/"), None);
    }
}
