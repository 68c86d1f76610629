//! The due queue's partitions, and how delivering nodes share them out. Each pending delivery
//! belongs to one of [`COUNT`] partitions, a hash of its id; a node claims only from the
//! partitions it owns (each through an advisory lock, `membership.rs`), so no other node claims
//! what it holds, and its leases can stay in memory.
//!
//! Why the delivery id and not the webhook. A hash of the id spreads every backlog evenly, one
//! busy webhook's included: by webhook, a node would own whole endpoints, and the node owning a
//! hot one would drain alone while the others idled (100 webhooks in 64 partitions already leave
//! some partitions empty and others with three). What a webhook-wide hash would have bought
//! does not depend on it: each node's per-webhook and per-host limits were per node before
//! partitions too (any node could claim any delivery), and a fifo queue has at most one
//! delivery due at a time (`shared/ordering.rs`), whichever partition it falls in. The hash is
//! `hashtext(id)`, which the claim computes from the due index's entries alone (an index-only
//! scan with a filter, checked with `EXPLAIN`), and which is the same for every node because it
//! is the server's.
//!
//! Why 64. Shares move one partition at a time, so with 64 the nodes' shares differ by at most
//! one partition (1.6 % of the queue) for any number of nodes up to a few dozen; one `int8`
//! mask names any set of them in a query; and a node holds at most 64 advisory locks, well
//! within the server's lock table.

/// How many partitions the due queue has.
pub const COUNT: u32 = 64;

/// Every partition.
pub const ALL: u64 = u64::MAX;

/// SQL: the bit of the partition of the delivery in the row (its `id` column), to `&` with a
/// mask of partitions (an `int8`, bit `p` for partition `p`). Keep in step with [`COUNT`].
pub const BIT: &str = "(1::int8 << (hashtext(id) & 63))";

/// The mask as PostgreSQL's `int8` (the same 64 bits).
pub fn as_sql(mask: u64) -> i64 {
    i64::from_ne_bytes(mask.to_ne_bytes())
}

/// What a node knows of the others at a check (from `pg_locks`).
#[derive(Debug, Default, Clone)]
pub struct Census {
    /// The partitions other sessions hold, whatever they do.
    pub held: u64,
    /// The partitions of each other delivering node that is checking in (see
    /// `membership.rs`): those a fair share counts.
    pub active: Vec<u64>,
    /// Other delivering nodes, checking in or not.
    pub others: usize,
    /// A node of a release before partitions delivers: it claims without looking at them.
    pub older: bool,
}

impl Census {
    /// No other delivering node at all.
    pub fn alone(&self) -> bool {
        self.others == 0 && self.held == 0 && !self.older
    }
}

/// The partitions a node should try to take and those it should give up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moves {
    pub take: u64,
    pub give: u64,
}

/// The moves toward a fair share for a node owning `mine`. Of the `n` nodes checking in (this
/// one included), each should own `COUNT / n` partitions (`floor`), some one more (`ceil`). A
/// node below `ceil` takes free partitions up to it; a node above `ceil` gives up what the
/// others below `ceil` lack, and one above `floor` what the others below `floor` lack, less
/// what is free for them to take already. Every node applying this at its checks
/// leaves no partition free for long (were one free at a check of every node, each would own
/// at least `ceil(COUNT / n)`, `COUNT` in all) and ends with shares that differ by at most one;
/// a node gives up only what another lacks, so shares do not flap between checks. `start`
/// orders the partitions for this node (taking from there, giving from the far end), so that
/// nodes checking at once seldom reach for the same ones.
pub fn moves(mine: u64, census: &Census, start: u32) -> Moves {
    if census.older {
        return Moves {
            take: 0,
            give: mine,
        };
    }
    let nodes = census.active.len() as u32 + 1;
    let floor = COUNT / nodes;
    let ceil = COUNT.div_ceil(nodes);
    let owned = mine.count_ones();
    let free = !(mine | census.held);
    if owned < ceil {
        return Moves {
            take: pick(free, ceil - owned, start, false),
            give: 0,
        };
    }
    // What the others lack to reach the share (`ceil`), and to reach the lower share (`floor`):
    // a node above the share gives for the first, one with the share for the second.
    let lacking = |share: u32| -> u32 {
        let lack: u32 = (census.active.iter())
            .map(|theirs| share.saturating_sub(theirs.count_ones()))
            .sum();
        lack.saturating_sub(free.count_ones())
    };
    let give = (owned.saturating_sub(ceil).min(lacking(ceil)))
        .max(owned.saturating_sub(floor).min(lacking(floor)));
    Moves {
        take: 0,
        give: pick(mine, give, start, true),
    }
}

/// `n` of the partitions in `mask`, in this node's order from `start` (from its far end if
/// `last`).
fn pick(mask: u64, n: u32, start: u32, last: bool) -> u64 {
    let mut picked = 0;
    let mut left = n;
    for i in 0..COUNT {
        if left == 0 {
            break;
        }
        let step = if last { COUNT - 1 - i } else { i };
        let bit = 1u64 << ((start + step) % COUNT);
        if mask & bit != 0 {
            picked |= bit;
            left -= 1;
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes checking in the given order until nothing moves; each take succeeds only for
    /// partitions still free, as `pg_try_advisory_lock` would. Answers the checks it took.
    fn settle(nodes: &mut [u64], active: &[bool], order: &[usize]) -> usize {
        for round in 0..50 {
            let mut moved = false;
            for &i in order {
                if !active[i] {
                    continue;
                }
                let others: Vec<usize> = (0..nodes.len()).filter(|&j| j != i).collect();
                let census = Census {
                    held: others.iter().fold(0, |m, &j| m | nodes[j]),
                    active: (others.iter())
                        .filter(|&&j| active[j])
                        .map(|&j| nodes[j])
                        .collect(),
                    others: others.len(),
                    older: false,
                };
                let m = moves(nodes[i], &census, (i as u32 * 23) % COUNT);
                assert_eq!(m.take & census.held, 0, "only free partitions are taken");
                assert_eq!(m.give & !nodes[i], 0, "only owned partitions are given");
                moved |= m.take != 0 || m.give != 0;
                nodes[i] = (nodes[i] & !m.give) | m.take;
            }
            if !moved {
                return round;
            }
        }
        panic!("still moving after 50 rounds: {nodes:?}");
    }

    fn counts(nodes: &[u64]) -> Vec<u32> {
        nodes.iter().map(|m| m.count_ones()).collect()
    }

    fn assert_fair(nodes: &[u64]) {
        let all = nodes.iter().fold(0, |m, n| m | n);
        assert_eq!(all, ALL, "every partition owned: {:?}", counts(nodes));
        assert_eq!(
            nodes.iter().map(|m| m.count_ones()).sum::<u32>(),
            COUNT,
            "none owned twice"
        );
        let c = counts(nodes);
        let (min, max) = (c.iter().min().unwrap(), c.iter().max().unwrap());
        assert!(max - min <= 1, "shares differ by at most one: {c:?}");
    }

    #[test]
    fn a_lone_node_takes_every_partition() {
        let mut nodes = [0];
        settle(&mut nodes, &[true], &[0]);
        assert_eq!(nodes, [ALL]);
    }

    #[test]
    fn nodes_joining_one_at_a_time_end_with_fair_shares() {
        for n in 2..=9 {
            let mut nodes = vec![0; n];
            let mut active = vec![false; n];
            for joined in 0..n {
                active[joined] = true;
                let order: Vec<usize> = (0..n).rev().collect();
                settle(&mut nodes, &active, &order);
                assert_fair(&nodes[..=joined]);
            }
        }
    }

    #[test]
    fn nodes_starting_together_in_any_order_end_with_fair_shares() {
        for n in 2..=7 {
            let mut nodes = vec![0; n];
            let order: Vec<usize> = (0..n).map(|i| (i * (n - 1) + 3) % n).collect();
            settle(&mut nodes, &vec![true; n], &order);
            assert_fair(&nodes);
        }
    }

    #[test]
    fn the_partitions_of_a_node_gone_are_shared_out() {
        let mut nodes = vec![0; 4];
        settle(&mut nodes, &[true; 4], &[0, 1, 2, 3]);
        // Gone: its session closed, its locks with it.
        nodes.remove(2);
        settle(&mut nodes, &[true; 3], &[2, 0, 1]);
        assert_fair(&nodes);
    }

    #[test]
    fn a_fair_split_stays_put() {
        let mut nodes = vec![0; 3];
        settle(&mut nodes, &[true; 3], &[0, 1, 2]);
        let before = nodes.clone();
        assert_eq!(settle(&mut nodes, &[true; 3], &[2, 1, 0]), 0);
        assert_eq!(nodes, before);
    }

    #[test]
    fn a_node_not_checking_in_keeps_its_partitions_and_is_given_none() {
        let mut nodes = vec![0; 3];
        settle(&mut nodes, &[true; 3], &[0, 1, 2]);
        let idle = nodes[1];
        settle(&mut nodes, &[true, false, true], &[0, 2]);
        assert_eq!(nodes[1], idle, "what it holds stays held");
        assert_eq!(nodes.iter().fold(0, |m, n| m | n), ALL);
    }

    #[test]
    fn beside_a_node_of_an_older_release_every_partition_is_given_up() {
        let census = Census {
            older: true,
            others: 1,
            ..Census::default()
        };
        assert_eq!(
            moves(0b1011, &census, 0),
            Moves {
                take: 0,
                give: 0b1011
            }
        );
        assert_eq!(moves(0, &census, 0), Moves::default());
    }

    #[test]
    fn picks_from_the_start_and_gives_from_the_far_end() {
        assert_eq!(pick(ALL, 2, 62, false), (1 << 62) | (1 << 63));
        assert_eq!(pick(ALL, 2, 62, true), (1 << 61) | (1 << 60));
        assert_eq!(pick(0b1010, 5, 0, false), 0b1010, "no more than there are");
    }

    #[test]
    fn the_mask_crosses_into_sql_bit_for_bit() {
        assert_eq!(as_sql(ALL), -1);
        assert_eq!(as_sql(1 << 63), i64::MIN);
        assert_eq!(as_sql(5), 5);
    }
}
