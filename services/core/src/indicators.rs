//! Decision 766/QĐ-TTg scoring of the progress indicators (domain.md §7). The figures
//! themselves (2.1 on-time share, 2.2 average resolution time) come from the fold and the
//! ClickHouse views; this turns them into points with configurable weights, because the
//! national weights have changed before and provinces score differently.

use serde::{Deserialize, Serialize};

/// Rounds to 2 decimals, as every published rate is.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Points for indicator 2.1. Defaults: up to 20 points (the "progress and results" group),
/// linear in the rate, full at 100 %: one province's published method; not confirmed
/// nationally, hence configurable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    /// Points at or above `full_at_percent`.
    pub max_points_2_1: f64,
    /// Rate (percent) that earns full points; below it points fall linearly to 0 at 0 %.
    pub full_at_percent_2_1: f64,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            max_points_2_1: 20.0,
            full_at_percent_2_1: 100.0,
        }
    }
}

impl Scoring {
    /// Points for an on-time rate in percent; `None` (N/A) for an empty denominator.
    pub fn points_2_1(&self, rate_percent: Option<f64>) -> Option<f64> {
        let full = self.full_at_percent_2_1.clamp(f64::MIN_POSITIVE, 100.0);
        rate_percent.map(|r| round2(self.max_points_2_1 * (r.max(0.0) / full).min(1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_linear_capped_and_na_when_empty() {
        let s = Scoring::default();
        assert_eq!(s.points_2_1(Some(100.0)), Some(20.0));
        assert_eq!(s.points_2_1(Some(92.5)), Some(18.5));
        assert_eq!(s.points_2_1(None), None);
        let s = Scoring {
            max_points_2_1: 10.0,
            full_at_percent_2_1: 90.0,
        };
        assert_eq!(s.points_2_1(Some(95.0)), Some(10.0));
        assert_eq!(s.points_2_1(Some(45.0)), Some(5.0));
        let parsed: Scoring = serde_json::from_str(r#"{"max_points_2_1": 6}"#).unwrap();
        assert_eq!(parsed.full_at_percent_2_1, 100.0);
        assert!(serde_json::from_str::<Scoring>(r#"{"max": 6}"#).is_err());
    }
}
