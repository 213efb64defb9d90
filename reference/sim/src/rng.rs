//! A small deterministic generator (SplitMix64): the same seed gives the same market on
//! every machine and every version of this crate — which a general-purpose RNG crate does
//! not promise across its releases.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponential with the given mean (inter-arrival times).
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }

    /// 1, 2, 3, … with P(k) = p (1-p)^(k-1): distance from the touch, in ticks.
    pub fn geometric(&mut self, p: f64) -> u64 {
        1 + ((1.0 - self.f64()).ln() / (1.0 - p).ln()).floor() as u64
    }

    /// Pareto (heavy-tailed) with minimum `min` and tail index `alpha`, capped.
    pub fn pareto(&mut self, min: f64, alpha: f64, cap: f64) -> u64 {
        let x = min / (1.0 - self.f64()).powf(1.0 / alpha);
        x.min(cap).max(1.0) as u64
    }
}
