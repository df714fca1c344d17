//! Spark's quantiles: the `quantiles` parameter ([`parse_quantiles`]) and
//! the value a quantile picks from a metric's values ([`quantiles_of`]),
//! which the task summary and a stage's distributions share.
//!
//! Owns: the pick (Spark's position, found by selection) and the
//! parameter's 400. Must not: know which metric it is given.

use super::{Response, bad_parameter};

/// Spark's `quantiles` parameter: comma-separated numbers (any number; below 0
/// picks the least value, above 1 the greatest).
pub(super) fn parse_quantiles(text: &str) -> Result<Vec<f64>, Response> {
    let mut quantiles = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<f64>() {
            Ok(q) if q.is_finite() => quantiles.push(q),
            _ => return Err(bad_parameter("quantiles", "double", part)),
        }
    }
    Ok(quantiles)
}

/// Spark's quantile pick: the value at `min(q × count, count − 1)` of the sorted values.
///
/// Found by selection, not a sort: the positions asked for, in ascending
/// order, are each selected in what is left to the right of the previous one
/// (everything there is at least as large), which gives the sorted order's
/// values at those positions in linear time — a stage of 260,000 tasks asks
/// for five positions of some thirty metrics on every summary.
pub(super) fn quantiles_of(mut values: Vec<f64>, quantiles: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![0.0; quantiles.len()];
    }
    let index_of = |q: &f64| ((q * n as f64) as usize).min(n - 1);
    let mut positions: Vec<usize> = quantiles.iter().map(index_of).collect();
    positions.sort_unstable();
    positions.dedup();
    let mut start = 0;
    for &position in &positions {
        if position >= start {
            values[start..].select_nth_unstable_by(position - start, f64::total_cmp);
            start = position + 1;
        }
    }
    quantiles.iter().map(|q| values[index_of(q)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The selection picks what a full sort picks, for any values (ties,
    /// NaN, signed zeros, one value, none) and any list of quantiles
    /// (unsorted, repeated, the ends).
    #[test]
    fn quantiles_by_selection_are_the_sorted_values_at_sparks_positions() {
        let by_sort = |mut values: Vec<f64>, quantiles: &[f64]| -> Vec<f64> {
            values.sort_by(f64::total_cmp);
            let n = values.len();
            quantiles
                .iter()
                .map(|q| values.get(((q * n as f64) as usize).min(n.saturating_sub(1))).copied().unwrap_or(0.0))
                .collect()
        };
        let mut seed: u64 = 7;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let lists: [&[f64]; 4] = [&[0.0, 0.25, 0.5, 0.75, 1.0], &[0.95, 0.05, 0.5, 0.5], &[1.0], &[0.3, 0.0, 0.999]];
        for n in [0_usize, 1, 2, 3, 10, 257, 5_000] {
            let values: Vec<f64> = (0..n)
                .map(|i| match next() % 9 {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 => 0.0,
                    3 => (i % 4) as f64,
                    _ => (next() % 1_000) as f64 - 500.0,
                })
                .collect();
            for quantiles in lists {
                let (got, want) = (quantiles_of(values.clone(), quantiles), by_sort(values.clone(), quantiles));
                let same = got.iter().zip(&want).all(|(a, b)| a.total_cmp(b).is_eq());
                assert!(same && got.len() == want.len(), "n={n} {quantiles:?}: {got:?} != {want:?}");
            }
        }
    }
}
