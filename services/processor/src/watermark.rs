//! The event-time watermark of one processor instance over the input partitions it owns.
//!
//! - Each owned `(topic, partition)` contributes the latest event time it has delivered.
//! - A partition read to its end (idle) does not hold the watermark back: a quiet partition
//!   must not stop every overdue figure and every period close.
//! - While a partition that is *not* idle has delivered nothing yet, the watermark is not
//!   advanced (the first batch of a replay, from one fast partition, must not set it).
//! - When every owned partition is idle, everything has been read: the watermark is the
//!   latest event time seen on any of them.
//! - It never decreases, and starts at the floor restored from the checkpoint (the
//!   watermark last published), so a restart or a rebalance never makes figures go back.

use std::collections::HashMap;

use motcua_core::event::Timestamp;

#[derive(Debug, Clone, Copy, Default)]
struct Part {
    time: Option<Timestamp>,
    idle: bool,
}

/// The watermark over the owned partitions.
#[derive(Debug, Default)]
pub struct Watermarks {
    parts: HashMap<(String, i32), Part>,
    current: Option<Timestamp>,
}

impl Watermarks {
    /// No partitions, no watermark.
    pub fn new() -> Self {
        Watermarks::default()
    }

    /// Starts owning a partition (not idle until told so).
    pub fn assign(&mut self, topic: &str, partition: i32) {
        self.parts
            .entry((topic.to_string(), partition))
            .or_default();
    }

    /// Stops owning a partition.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.parts.remove(&(topic.to_string(), partition));
    }

    /// Owned partitions.
    pub fn owned(&self) -> impl Iterator<Item = &(String, i32)> {
        self.parts.keys()
    }

    /// The latest event time a partition delivered (only moves forward); returns how far
    /// it moved (zero for a partition's first time, or when it did not move).
    pub fn observe(&mut self, topic: &str, partition: i32, t: Timestamp) -> chrono::Duration {
        let mut moved = chrono::Duration::zero();
        if let Some(p) = self.parts.get_mut(&(topic.to_string(), partition)) {
            if p.time.is_none_or(|cur| t > cur) {
                if let Some(cur) = p.time {
                    moved = t - cur;
                }
                p.time = Some(t);
            }
        }
        moved
    }

    /// Whether the partition has been read to its end.
    pub fn set_idle(&mut self, topic: &str, partition: i32, idle: bool) {
        if let Some(p) = self.parts.get_mut(&(topic.to_string(), partition)) {
            p.idle = idle;
        }
    }

    /// Raises the watermark to at least `t` (the one last published before a restart).
    pub fn raise_floor(&mut self, t: Timestamp) {
        self.current = self.current.max(Some(t));
    }

    /// The owned partitions running more than `skew` of event time ahead of the slowest
    /// active one, or every partition that delivered while an active one has delivered
    /// nothing yet: pausing them makes the client fetch the laggards (event-time alignment),
    /// so the watermark, and with it eviction, keeps moving during a catch-up.
    pub fn ahead(&self, skew: chrono::Duration) -> Vec<(String, i32)> {
        let active: Vec<(&(String, i32), &Part)> =
            self.parts.iter().filter(|(_, p)| !p.idle).collect();
        let slowest = if active.iter().any(|(_, p)| p.time.is_none()) {
            None
        } else {
            match active.iter().filter_map(|(_, p)| p.time).min() {
                Some(t) => Some(t),
                None => return Vec::new(),
            }
        };
        let mut out: Vec<(String, i32)> = active
            .iter()
            .filter(|(_, p)| match (slowest, p.time) {
                (None, t) => t.is_some(),
                (Some(min), Some(t)) => t > min + skew,
                (Some(_), None) => false,
            })
            .map(|(tp, _)| (*tp).clone())
            .collect();
        out.sort();
        out
    }

    /// The watermark now; `None` while unknown.
    pub fn current(&mut self) -> Option<Timestamp> {
        let active: Vec<&Part> = self.parts.values().filter(|p| !p.idle).collect();
        let computed = if active.is_empty() {
            self.parts.values().filter_map(|p| p.time).max()
        } else if active.iter().any(|p| p.time.is_none()) {
            None
        } else {
            active.iter().filter_map(|p| p.time).min()
        };
        self.current = self.current.max(computed);
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::samples::ts;

    #[test]
    fn waits_for_every_active_partition_and_is_the_slowest() {
        let mut w = Watermarks::new();
        for p in 0..3 {
            w.assign("t", p);
        }
        w.observe("t", 1, ts("2026-10-10T09:00:00+07:00"));
        assert_eq!(
            w.current(),
            None,
            "partitions 0 and 2 have not delivered yet"
        );
        w.observe("t", 0, ts("2026-10-08T09:00:00+07:00"));
        assert_eq!(w.current(), None, "partition 2 has not delivered yet");
        w.set_idle("t", 2, true);
        assert_eq!(w.current(), Some(ts("2026-10-08T09:00:00+07:00")));
    }

    #[test]
    fn a_quiet_partition_read_to_its_end_does_not_hold_it_back() {
        let mut w = Watermarks::new();
        w.assign("t", 0);
        w.assign("t", 1);
        w.observe("t", 0, ts("2026-08-01T09:00:00+07:00"));
        w.observe("t", 1, ts("2026-08-01T10:00:00+07:00"));
        assert_eq!(w.current(), Some(ts("2026-08-01T09:00:00+07:00")));
        // Partition 0 goes quiet at its end; partition 1 moves on.
        w.set_idle("t", 0, true);
        w.observe("t", 1, ts("2026-09-05T10:00:00+07:00"));
        assert_eq!(w.current(), Some(ts("2026-09-05T10:00:00+07:00")));
        // Everything read: the latest event anywhere.
        w.set_idle("t", 1, true);
        assert_eq!(w.current(), Some(ts("2026-09-05T10:00:00+07:00")));
    }

    #[test]
    fn partitions_far_ahead_are_named_for_pausing_until_the_laggards_catch_up() {
        let mut w = Watermarks::new();
        for p in 0..3 {
            w.assign("t", p);
        }
        w.observe("t", 0, ts("2026-03-01T09:00:00+07:00"));
        w.observe("t", 1, ts("2026-03-01T10:00:00+07:00"));
        let day = chrono::Duration::days(1);
        // Partition 2 has data but delivered nothing: everything that did waits for it.
        assert_eq!(
            w.ahead(day),
            vec![("t".to_string(), 0), ("t".to_string(), 1)]
        );
        w.observe("t", 2, ts("2026-01-10T09:00:00+07:00"));
        assert_eq!(
            w.ahead(day),
            vec![("t".to_string(), 0), ("t".to_string(), 1)]
        );
        w.observe("t", 2, ts("2026-03-01T08:00:00+07:00"));
        assert!(w.ahead(day).is_empty());
        // A laggard read to its end holds nobody.
        w.observe("t", 1, ts("2026-05-01T08:00:00+07:00"));
        w.set_idle("t", 1, true);
        assert!(w.ahead(day).is_empty());
    }

    #[test]
    fn observing_tells_how_far_a_partition_moved() {
        let mut w = Watermarks::new();
        w.assign("t", 0);
        let first = w.observe("t", 0, ts("2026-03-01T09:00:00+07:00"));
        assert_eq!(first, chrono::Duration::zero(), "a first time is no move");
        let moved = w.observe("t", 0, ts("2026-03-03T21:00:00+07:00"));
        assert_eq!(moved, chrono::Duration::hours(60));
        let back = w.observe("t", 0, ts("2026-03-02T09:00:00+07:00"));
        assert_eq!(
            back,
            chrono::Duration::zero(),
            "an older event moves nothing"
        );
        assert_eq!(
            w.observe("t", 9, ts("2026-03-09T09:00:00+07:00")),
            chrono::Duration::zero()
        );
    }

    #[test]
    fn never_goes_back_even_below_a_restored_floor() {
        let mut w = Watermarks::new();
        w.raise_floor(ts("2026-09-05T00:00:00+07:00"));
        w.assign("t", 0);
        w.observe("t", 0, ts("2026-08-27T00:00:00+07:00"));
        assert_eq!(w.current(), Some(ts("2026-09-05T00:00:00+07:00")));
        w.observe("t", 0, ts("2026-09-06T00:00:00+07:00"));
        assert_eq!(w.current(), Some(ts("2026-09-06T00:00:00+07:00")));
        w.revoke("t", 0);
        assert_eq!(w.current(), Some(ts("2026-09-06T00:00:00+07:00")));
    }
}
