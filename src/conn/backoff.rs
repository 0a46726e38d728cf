//! Reconnect delays: exponential from `delay` up to `delay_max`, each scaled by a random factor
//! in `1 ± jitter` so that many clients do not reconnect in lockstep.

use super::config::Reconnect;
use std::time::Duration;

pub struct Backoff {
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Backoff { attempt: 0, rng: seed | 1 }
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt; advances the attempt count.
    pub fn next_delay(&mut self, cfg: &Reconnect) -> Duration {
        let base = cfg.delay.as_secs_f64() * 2f64.powi(self.attempt.min(62) as i32);
        let capped = base.min(cfg.delay_max.as_secs_f64());
        self.attempt = self.attempt.saturating_add(1);
        let jitter = cfg.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * self.unit() - 1.0);
        Duration::from_secs_f64((capped * factor).max(0.0))
    }

    /// A uniform number in [0, 1) (xorshift64*).
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(jitter: f64) -> Reconnect {
        Reconnect {
            enabled: true,
            delay: Duration::from_millis(100),
            delay_max: Duration::from_secs(2),
            jitter,
        }
    }

    #[test]
    fn doubles_up_to_the_cap_without_jitter() {
        let mut b = Backoff::new(7);
        let got: Vec<u128> = (0..7).map(|_| b.next_delay(&cfg(0.0)).as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.next_delay(&cfg(0.0)).as_millis(), 100);
    }

    #[test]
    fn jitter_stays_in_band_and_varies() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let d = Backoff::new(seed).next_delay(&cfg(0.25)).as_secs_f64();
            assert!((0.075..=0.125).contains(&d), "{d}");
            seen.insert((d * 1e6) as u64);
        }
        assert!(seen.len() > 50);
    }
}
