//! Token cost: each phase's tokens by provider × the scenario's prices (USD
//! per million input and output tokens). A failover to a pricier model
//! shows up as cost moving between providers.
//!
//! The total is the `run` phase's (the measured run; phases overlap, so
//! summing them would count tokens twice). Providers without a price are
//! left out of the cost (their tokens are still in the phase statistics).

use std::collections::BTreeMap;

use crate::results::{Cost, PhaseStats};
use crate::scenario::Scenario;

/// The cost of a run, when the scenario has a price table.
pub fn cost(scenario: &Scenario, phases: &[PhaseStats]) -> Option<Cost> {
    if scenario.prices.is_empty() {
        return None;
    }
    let by_phase: BTreeMap<String, BTreeMap<String, f64>> = phases
        .iter()
        .map(|stats| {
            let costs = stats
                .tokens
                .iter()
                .filter_map(|(provider, tokens)| {
                    let price = scenario.prices.get(provider)?;
                    let usd = tokens.input as f64 / 1e6 * price.input_per_mtok
                        + tokens.output as f64 / 1e6 * price.output_per_mtok;
                    Some((provider.clone(), usd))
                })
                .collect();
            (stats.name.clone(), costs)
        })
        .collect();
    let total = by_phase
        .get("run")
        .map_or(0.0, |providers| providers.values().sum());
    Some(Cost {
        currency: "USD".to_string(),
        total,
        by_phase,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::results::Tokens;

    #[test]
    fn tokens_are_priced_per_provider_and_phase() {
        let scenario = fixture::scenario(
            "prices:\n  primary: { input_per_mtok: 2.5, output_per_mtok: 10 }\n  fallback: { input_per_mtok: 3, output_per_mtok: 15 }\n",
        );
        let tokens = |input, output| Tokens { input, output };
        let mut run = fixture::stats("run", 10, 0);
        run.tokens
            .insert("primary".to_string(), tokens(1_000_000, 200_000));
        run.tokens
            .insert("fallback".to_string(), tokens(400_000, 100_000));
        run.tokens
            .insert("unpriced".to_string(), tokens(9_000_000, 9_000_000));
        let mut fault = fixture::stats("redis-down", 10, 0);
        fault
            .tokens
            .insert("fallback".to_string(), tokens(400_000, 100_000));
        let cost = cost(&scenario, &[fault, run]).unwrap();
        assert_eq!(cost.currency, "USD");
        // primary 2.5 + 2.0; fallback 1.2 + 1.5.
        assert!((cost.total - 7.2).abs() < 1e-9, "{}", cost.total);
        assert!((cost.by_phase["redis-down"]["fallback"] - 2.7).abs() < 1e-9);
        assert!(!cost.by_phase["run"].contains_key("unpriced"));

        let unpriced = fixture::scenario("");
        assert_eq!(super::cost(&unpriced, &[]), None);
    }
}
