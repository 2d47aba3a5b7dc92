//! The delivery queue: a min-priority queue of pending items keyed by delivery time.
//!
//! Keys only move forward (nothing is ever pushed before the last key popped), so the queue
//! is a binary heap for the current hour plus a map of later hours to unsorted buckets. A
//! single heap over hundreds of thousands of open dossiers spends its time on cache misses;
//! here the heap holds one hour's items and a push into a later hour is a `Vec` push.
//! Ties on the key are broken by push order, so the output is deterministic.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// Width of a bucket, in key units (seconds).
const BUCKET: u64 = 3600;

struct Entry<T> {
    key: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.seq) == (other.key, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // Reversed: `BinaryHeap` is a max-heap and the earliest delivery must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.key, other.seq).cmp(&(self.key, self.seq))
    }
}

/// Items ordered by `(key, push order)`, for keys that never go backwards.
pub(crate) struct DeliveryQueue<T> {
    /// Items with keys below `current_end`.
    current: BinaryHeap<Entry<T>>,
    /// End (exclusive) of the bucket `current` drains.
    current_end: u64,
    /// Later items by bucket (`key / BUCKET`), unsorted until their hour comes.
    later: BTreeMap<u64, Vec<Entry<T>>>,
    /// Push counter: the tie-breaker.
    seq: u64,
    len: usize,
}

impl<T> DeliveryQueue<T> {
    pub(crate) fn new() -> Self {
        DeliveryQueue {
            current: BinaryHeap::new(),
            current_end: 0,
            later: BTreeMap::new(),
            seq: 0,
            len: 0,
        }
    }

    /// Number of items queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues `item` for delivery at `key`. `key` must not be below the last key popped.
    pub(crate) fn push(&mut self, key: u64, item: T) {
        self.seq += 1;
        let entry = Entry {
            key,
            seq: self.seq,
            item,
        };
        if key < self.current_end {
            self.current.push(entry);
        } else {
            self.later.entry(key / BUCKET).or_default().push(entry);
        }
        self.len += 1;
    }

    /// Moves the next non-empty bucket into the heap when the heap is empty.
    fn refill(&mut self) {
        while self.current.is_empty() {
            let Some((bucket, entries)) = self.later.pop_first() else {
                return;
            };
            self.current_end = (bucket + 1) * BUCKET;
            self.current = BinaryHeap::from(entries);
        }
    }

    /// Key of the next item.
    pub(crate) fn peek_key(&mut self) -> Option<u64> {
        self.refill();
        self.current.peek().map(|e| e.key)
    }

    /// The next item and its key.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        self.refill();
        let entry = self.current.pop()?;
        self.len -= 1;
        Some((entry.key, entry.item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn pops_in_key_then_push_order_like_a_sorted_list() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut queue = DeliveryQueue::new();
        let mut expected = Vec::new();
        let mut popped = Vec::new();
        let mut now = 0u64;
        let mut n = 0u32;
        for _ in 0..20_000 {
            if rng.gen_bool(0.55) {
                let key = now + rng.gen_range(0..3 * BUCKET);
                queue.push(key, n);
                expected.push((key, n));
                n += 1;
            } else if let Some((key, item)) = queue.pop() {
                assert!(key >= now);
                now = key;
                popped.push((key, item));
            }
        }
        while let Some(p) = queue.pop() {
            popped.push(p);
        }
        assert_eq!(queue.len(), 0);
        // Items pushed with equal keys come out in push order: a stable sort of what went in,
        // restricted to the interleaving, equals what came out.
        expected.sort_by_key(|&(key, item)| (key, item));
        let mut got = popped.clone();
        got.sort_by_key(|&(key, item)| (key, item));
        assert_eq!(got, expected);
        assert!(popped.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(popped
            .windows(2)
            .all(|w| w[0].0 < w[1].0 || w[0].1 < w[1].1));
    }
}
