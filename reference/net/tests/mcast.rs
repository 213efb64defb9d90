//! The kernel sender's three ways of sending deliver the same datagrams, in order per group,
//! to receivers bound to their groups (loopback multicast).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use rltop_net::mcast::{Outgoing, Receiver, SendMode, Sender};

fn datagrams(groups: &[SocketAddrV4]) -> Vec<(SocketAddrV4, Vec<u8>)> {
    // Runs of full 1408-byte datagrams, a shorter tail, interleaved groups, odd sizes.
    let mut out = Vec::new();
    for i in 0..150u32 {
        let g = groups[(i as usize * 7 / 5) % groups.len()];
        let len = match i % 9 {
            8 => 40 + (i as usize % 200),
            _ => 1408,
        };
        let mut bytes = vec![0u8; len];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        bytes[len - 1] = i as u8;
        out.push((g, bytes));
    }
    out
}

fn round_trip(mode: SendMode, base_port: u16) {
    let groups: Vec<SocketAddrV4> = (0..3)
        .map(|k| SocketAddrV4::new(Ipv4Addr::new(239, 253, 7, 1 + k), base_port))
        .chain([SocketAddrV4::new(
            Ipv4Addr::new(239, 253, 7, 9),
            base_port + 1,
        )])
        .collect();
    let mut rx = Receiver::join(&groups, Ipv4Addr::LOCALHOST, 8 << 20).expect("join on loopback");
    let mut tx = Sender::new(Ipv4Addr::LOCALHOST, 1, true, mode).expect("socket");
    let sent = datagrams(&groups);
    let batch: Vec<Outgoing<'_>> = sent
        .iter()
        .map(|(dst, b)| Outgoing {
            dst: *dst,
            payload: b,
        })
        .collect();
    tx.send(&batch).expect("send");
    let mut want: BTreeMap<SocketAddrV4, Vec<Vec<u8>>> = BTreeMap::new();
    for (dst, b) in &sent {
        want.entry(*dst).or_default().push(b.clone());
    }
    let mut got: BTreeMap<SocketAddrV4, Vec<Vec<u8>>> = BTreeMap::new();
    let start = Instant::now();
    let mut n = 0;
    while n < sent.len() && start.elapsed() < Duration::from_secs(5) {
        rx.poll(Duration::from_millis(50), &mut |d| {
            assert!(!d.truncated);
            assert!(d.rx_ns > 0, "kernel receive timestamp");
            got.entry(groups[d.group])
                .or_default()
                .push(d.payload.to_vec());
            n += 1;
        })
        .expect("receive");
    }
    assert_eq!(got, want, "{mode:?}");
    if mode == SendMode::Gso {
        assert!(
            tx.calls < 10,
            "{} sendmmsg calls for {} datagrams",
            tx.calls,
            sent.len()
        );
    }
}

#[test]
fn sendto_delivers_every_datagram_in_order() {
    round_trip(SendMode::SendTo, 29_100);
}

#[test]
fn sendmmsg_delivers_every_datagram_in_order() {
    round_trip(SendMode::SendMmsg, 29_200);
}

#[test]
fn gso_delivers_the_same_datagrams() {
    round_trip(SendMode::Gso, 29_300);
}
