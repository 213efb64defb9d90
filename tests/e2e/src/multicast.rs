//! Publisher and subscriber in two namespaces with nftables dropping increments in between
//! ([`rltop_netlab::loss_run`]): random loss at three rates, bursts, and both the A and B
//! lines lossy; the subscriber's books must equal the simulator's oracle books. Then the
//! gateway (SPEC.md §11): the 20 % run (same seed) repaired by replay, and a retention too
//! small for most replays, where they are refused and the snapshots recover the books.

use rltop_netlab::{loss_run, GatewaySetup, Loss};

use crate::{Check, Env};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "multicast::loss_1_percent",
            run: |e| plain(e, Loss::Percent(1), 11),
        },
        Check {
            name: "multicast::loss_5_percent",
            run: |e| plain(e, Loss::Percent(5), 12),
        },
        Check {
            name: "multicast::loss_20_percent",
            run: |e| plain(e, Loss::Percent(20), 13),
        },
        Check {
            name: "multicast::loss_in_bursts",
            run: |e| {
                let loss = Loss::Bursts {
                    burst: 40,
                    every: 400,
                };
                plain(e, loss, 14)
            },
        },
        Check {
            name: "multicast::loss_on_both_lines",
            run: |e| plain(e, Loss::BothLines(20), 15),
        },
        Check {
            name: "gateway::repairs_20_percent_loss",
            run: |e| repaired(e, 1 << 20, 13),
        },
        Check {
            name: "gateway::refuses_beyond_retention",
            run: |e| repaired(e, 20, 16),
        },
    ]
}

fn plain(e: &Env, loss: Loss, seed: u64) -> Result<String, String> {
    loss_run(&e.rltop, loss, seed, &e.dir, None).map(|run| run.to_string())
}

/// 20 % loss, a gateway in the publisher's namespace retaining `retention_messages` a
/// channel.
fn repaired(e: &Env, retention_messages: usize, seed: u64) -> Result<String, String> {
    let gateway = Some(GatewaySetup { retention_messages });
    loss_run(&e.rltop, Loss::Percent(20), seed, &e.dir, gateway).map(|run| run.to_string())
}
