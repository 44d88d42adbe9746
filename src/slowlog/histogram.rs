//! pt-query-digest's log-scale buckets (1,000 buckets of ratio 1.05 from 1 µs), so that
//! memory per class is bounded and p95/median come out as pt-query-digest reports them.

const BUCKET_RATIO: f64 = 1.05;
const BUCKET_COUNT: u16 = 1000;
const MIN_BUCKET_VALUE: f64 = 0.000_001;

fn base_offset() -> f64 {
    (1.0 - MIN_BUCKET_VALUE.ln() / BUCKET_RATIO.ln()).abs()
}

fn bucket_index(value: f64) -> u16 {
    if value < MIN_BUCKET_VALUE || value.is_nan() {
        return 0;
    }
    let index = (base_offset() + value.ln() / BUCKET_RATIO.ln()) as i64;
    index.clamp(0, i64::from(BUCKET_COUNT - 1)) as u16
}

/// The representative (lower bound) value of a bucket.
pub fn bucket_value(bucket: u16) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    BUCKET_RATIO.powi(i32::from(bucket) - 1) * MIN_BUCKET_VALUE
}

/// Sparse bucket counts plus exact count, min and max.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// (bucket, count), sorted by bucket.
    buckets: Vec<(u16, u32)>,
    count: u64,
    min: f64,
    max: f64,
}

impl Histogram {
    pub fn add(&mut self, value: f64) {
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        let bucket = bucket_index(value);
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (bucket, 1)),
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// (lower bound in seconds, count) per non-empty bucket, fastest first: for drawing
    /// a latency histogram.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u32)> + '_ {
        self.buckets.iter().map(|&(b, n)| (bucket_value(b), n))
    }

    /// (min, max); zeros when empty.
    pub fn min_max(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    /// (p95, median) computed the way pt-query-digest's `_calc_metrics` does.
    pub fn p95_and_median(&self) -> (f64, f64) {
        let n = self.count;
        if n == 0 {
            return (0.0, 0.0);
        }
        if n == 1 || self.max == self.min {
            return (self.max, self.max);
        }
        if n == 2 {
            return (self.max, (self.min + self.max) / 2.0);
        }
        let cutoff = if n >= 10 { (n as f64 * 0.95) as u64 } else { n };
        let top_values = n - cutoff;
        let mid = n / 2;
        let (mut left, mut above, mut p95_bucket, mut median) = (n, 0u64, 0u16, 0.0);
        let mut prev = BUCKET_COUNT - 1;
        for &(bucket, hits) in self.buckets.iter().rev() {
            let hits = u64::from(hits);
            left -= hits;
            above += hits;
            if p95_bucket == 0 && above > top_values {
                p95_bucket = bucket;
            }
            if median == 0.0 && left <= mid {
                median = if cutoff % 2 == 1 || hits > 1 {
                    bucket_value(bucket)
                } else {
                    (bucket_value(bucket) + bucket_value(prev)) / 2.0
                };
            }
            prev = bucket;
        }
        (bucket_value(p95_bucket), median)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_pt_scale() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(1e-6), 1);
        assert_eq!(bucket_index(1e9), 708);
        assert_eq!(bucket_index(1e30), 999);
        // Each bucket's value lies within 5% below the values it holds.
        for v in [0.0001, 0.5, 1.0, 13.7] {
            let b = bucket_value(bucket_index(v));
            assert!(b <= v * 1.000_001 && b > v / 1.06, "{v} -> {b}");
        }
    }

    #[test]
    fn small_counts_are_exact() {
        let mut h = Histogram::default();
        h.add(2.0);
        assert_eq!(h.p95_and_median(), (2.0, 2.0));
        h.add(4.0);
        assert_eq!(h.p95_and_median(), (4.0, 3.0));
        let buckets: Vec<_> = h.buckets().map(|(_, n)| n).collect();
        assert_eq!(buckets, [1, 1]);
    }

    #[test]
    fn p95_of_a_spread_lands_near_the_top() {
        let mut h = Histogram::default();
        (1..=100).for_each(|i| h.add(f64::from(i) / 100.0));
        let (p95, median) = h.p95_and_median();
        assert!((0.90..=0.96).contains(&p95), "p95 {p95}");
        assert!((0.47..=0.51).contains(&median), "median {median}");
    }
}
