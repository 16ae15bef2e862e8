//! The weighted [`Mix`] of a run's scenarios: which one each request sends.

use anyhow::bail;

use super::scenario::Scenario;

/// The weighted mix: ticket `n` is sent as scenario `mix.pick(n)`. The order
/// is a smooth weighted round robin (80/20 gives 4 of one, 1 of the other,
/// interleaved), deterministic, with no random numbers on the hot path.
#[derive(Debug, Clone)]
pub struct Mix {
    pub scenarios: Vec<Scenario>,
    order: Vec<usize>,
}

impl Mix {
    pub fn new(scenarios: Vec<Scenario>) -> anyhow::Result<Self> {
        if scenarios.is_empty() {
            bail!("nothing to send: give a URL with a path, or --scenario FILE");
        }
        let weights: Vec<u64> = scenarios.iter().map(|s| u64::from(s.weight)).collect();
        let gcd = weights.iter().copied().fold(0, gcd);
        let weights: Vec<i64> = weights.iter().map(|w| (w / gcd) as i64).collect();
        let total: i64 = weights.iter().sum();
        if total > 100_000 {
            bail!("scenario weights are too fine-grained (their reduced sum is {total}; keep it under 100000)");
        }
        let mut current = vec![0i64; weights.len()];
        let mut order = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .unwrap_or((0, &0));
            current[best] -= total;
            order.push(best);
        }
        Ok(Self { scenarios, order })
    }

    /// The scenario index for ticket `n`.
    pub fn pick(&self, n: u64) -> usize {
        self.order[(n % self.order.len() as u64) as usize]
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::load::scenario::BodySource;

    fn scenario(name: &str, weight: u32) -> Scenario {
        Scenario::new(name, None, "/x", &[], &BodySource::Empty, weight).unwrap()
    }

    #[test]
    fn the_mix_follows_the_weights_and_interleaves() {
        let mix = Mix::new(vec![scenario("a", 80), scenario("b", 20)]).unwrap();
        let picks: Vec<usize> = (0..10).map(|n| mix.pick(n)).collect();
        assert_eq!(picks.iter().filter(|i| **i == 1).count(), 2);
        // Never two of the rare one in a row.
        assert!(picks.windows(2).all(|w| w != [1, 1]));
        let single = Mix::new(vec![scenario("only", 7)]).unwrap();
        assert!((0..100).all(|n| single.pick(n) == 0));
        assert!(Mix::new(Vec::new()).is_err());
    }
}
