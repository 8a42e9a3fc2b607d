//! Choosing the noise multiplier for a privacy budget.

use crate::convert::validate_delta;
use crate::{epsilon_of, DpError, SgmParams};

/// The largest noise multiplier [`noise_for_epsilon`] tries.
pub const MAX_NOISE_MULTIPLIER: f64 = 1e6;

/// Relative precision of [`noise_for_epsilon`]'s bisection.
const RELATIVE_TOLERANCE: f64 = 1e-3;

/// The smallest noise multiplier `σ` (to 0.1 % relative precision) such that
/// `steps` steps of DP-SGD at `sampling_rate` are `(target_eps, δ)`-DP by
/// [`epsilon_of`] (i.e. at [`default_orders`](crate::default_orders)).
///
/// The result `σ` always meets the target (`epsilon_of(σ) ≤ target_eps`),
/// and every `σ' < σ·(1 − 10⁻³)` misses it. If the target is met without
/// any noise (`sampling_rate == 0` or `steps == 0`) the result is 0.
///
/// The search doubles an upper bound from 1 until it meets the target, then
/// bisects; it relies on `ε` decreasing as `σ` grows.
///
/// # Errors
///
/// [`DpError::SamplingRateOutOfRange`], [`DpError::DeltaOutOfRange`] for bad
/// inputs; [`DpError::TargetEpsilonOutOfRange`] unless `target_eps` is
/// positive and finite; [`DpError::TargetUnreachable`] if even
/// [`MAX_NOISE_MULTIPLIER`] is not enough.
pub fn noise_for_epsilon(
	sampling_rate: f64,
	steps: u64,
	delta: f64,
	target_eps: f64,
) -> Result<f64, DpError> {
	validate_delta(delta)?;
	if !(target_eps > 0.0 && target_eps.is_finite()) {
		return Err(DpError::TargetEpsilonOutOfRange(target_eps));
	}
	let eps_at = |sigma: f64| -> Result<f64, DpError> {
		epsilon_of(&SgmParams::new(sampling_rate, sigma, steps)?, delta)
	};
	if eps_at(0.0)? <= target_eps {
		return Ok(0.0);
	}

	// Invariant: eps(lo) > target, eps(hi) <= target.
	let mut lo = 0.0;
	let mut hi = 1.0;
	while eps_at(hi)? > target_eps {
		lo = hi;
		hi *= 2.0;
		if hi > MAX_NOISE_MULTIPLIER {
			if eps_at(MAX_NOISE_MULTIPLIER)? > target_eps {
				return Err(DpError::TargetUnreachable);
			}
			hi = MAX_NOISE_MULTIPLIER;
			break;
		}
	}
	while hi - lo > RELATIVE_TOLERANCE * hi {
		let mid = 0.5 * (lo + hi);
		if eps_at(mid)? <= target_eps {
			hi = mid;
		} else {
			lo = mid;
		}
	}
	Ok(hi)
}
