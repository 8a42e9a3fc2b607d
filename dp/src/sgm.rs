//! Rényi DP of the Sampled Gaussian Mechanism (Mironov, Talwar, Zhang 2019,
//! arXiv:1908.10530).

use alloc::vec::Vec;

use crate::math::{is_integer, log_add, log_binom, log_erfc, SignedLog};
use crate::DpError;

/// One homogeneous run of DP-SGD: `steps` applications of the Sampled
/// Gaussian Mechanism with the same sampling rate and noise multiplier.
///
/// The fields are public; every function that takes an `SgmParams` checks
/// them with [`SgmParams::validate`], so a value built by hand is as safe as
/// one from [`SgmParams::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgmParams {
	/// Poisson sampling rate `q ∈ [0, 1]`: the probability that a record is
	/// in a step's batch (expected batch size / data-set size).
	pub sampling_rate: f64,
	/// Noise multiplier `σ ≥ 0`: the standard deviation of the Gaussian noise
	/// divided by the clipping norm (the L2 sensitivity). `+∞` is allowed
	/// (no privacy loss).
	pub noise_multiplier: f64,
	/// Number of steps (compositions). `0` means no privacy loss.
	pub steps: u64,
}

impl SgmParams {
	/// Builds validated parameters.
	///
	/// # Errors
	///
	/// [`DpError::SamplingRateOutOfRange`] if `sampling_rate ∉ [0, 1]`,
	/// [`DpError::NegativeNoise`] if `noise_multiplier < 0` (either NaN).
	pub fn new(sampling_rate: f64, noise_multiplier: f64, steps: u64) -> Result<Self, DpError> {
		let params = Self { sampling_rate, noise_multiplier, steps };
		params.validate()?;
		Ok(params)
	}

	/// Checks the parameters.
	///
	/// # Errors
	///
	/// [`DpError::SamplingRateOutOfRange`] if `sampling_rate` is not in
	/// `[0, 1]` or is NaN; [`DpError::NegativeNoise`] if `noise_multiplier`
	/// is negative or NaN.
	pub fn validate(&self) -> Result<(), DpError> {
		if !(0.0..=1.0).contains(&self.sampling_rate) {
			return Err(DpError::SamplingRateOutOfRange(self.sampling_rate));
		}
		if self.noise_multiplier.is_nan() || self.noise_multiplier < 0.0 {
			return Err(DpError::NegativeNoise(self.noise_multiplier));
		}
		Ok(())
	}
}

/// Integer orders up to this use the exact finite binomial sum, which costs
/// `α + 1` terms; larger integer orders use the fractional-order series.
const MAX_BINOMIAL_ORDER: f64 = 1e6;

/// Terms of the fractional-order series before stopping with the partial
/// sum plus the tail bound (`dp_accounting` also stops at 1000, with
/// RDP = ∞).
const MAX_SERIES_TERMS: u32 = 1000;

/// Checks a list of orders: non-empty, every order `> 1` (`+∞` allowed).
pub(crate) fn validate_orders(orders: &[f64]) -> Result<(), DpError> {
	if orders.is_empty() {
		return Err(DpError::EmptyOrders);
	}
	if let Some(&bad) = orders.iter().find(|&&a| a.is_nan() || a <= 1.0) {
		return Err(DpError::OrderOutOfRange(bad));
	}
	Ok(())
}

/// The RDP of `params.steps` compositions of the Sampled Gaussian Mechanism,
/// at each of `orders`: `steps · ln(A_α) / (α − 1)` (see the crate docs for
/// `A_α`).
///
/// Values can be `+∞` (no noise, an infinite order, or a fractional-order
/// series that did not converge). They are never negative: a value that
/// rounds below zero is reported as 0.
///
/// # Errors
///
/// [`DpError::SamplingRateOutOfRange`], [`DpError::NegativeNoise`] for bad
/// parameters; [`DpError::EmptyOrders`] if `orders` is empty;
/// [`DpError::OrderOutOfRange`] if an order is `≤ 1` or NaN.
pub fn rdp(params: &SgmParams, orders: &[f64]) -> Result<Vec<f64>, DpError> {
	params.validate()?;
	validate_orders(orders)?;
	if params.steps == 0 {
		return Ok(orders.iter().map(|_| 0.0).collect());
	}
	// Exact for every count below 2⁵³.
	let steps = params.steps as f64;
	Ok(orders
		.iter()
		.map(|&alpha| {
			let one = rdp_one_step(params.sampling_rate, params.noise_multiplier, alpha);
			if one == 0.0 {
				0.0
			} else {
				one * steps
			}
		})
		.collect())
}

/// RDP of one SGM step at order `alpha`; inputs already validated.
fn rdp_one_step(q: f64, sigma: f64, alpha: f64) -> f64 {
	if q == 0.0 {
		return 0.0;
	}
	if alpha == f64::INFINITY || sigma == 0.0 {
		return f64::INFINITY;
	}
	if sigma == f64::INFINITY {
		return 0.0;
	}
	// The Gaussian mechanism (Mironov 2017, Proposition 7).
	let gaussian = alpha / (2.0 * sigma * sigma);
	if q == 1.0 {
		return gaussian;
	}
	let log_a = if alpha > MAX_BINOMIAL_ORDER {
		log_a_fractional(q, sigma, alpha)
	} else if is_integer(alpha) {
		log_a_integer(q, sigma, alpha)
	} else {
		log_a_fractional(q, sigma, alpha).min(log_a_interpolated(q, sigma, alpha))
	};
	let value = log_a / (alpha - 1.0);
	if value < 0.0 {
		// RDP is non-negative; rounding can leave a tiny negative number.
		0.0
	} else if value > gaussian {
		// `A_α` grows with `q` (its derivative is `α·Cov_μ₀(L, (1−q+qL)^{α−1})`
		// with `L = μ₁/μ₀`, and both factors grow with `L`), so the
		// unsampled Gaussian bounds the SGM. The fractional-order fallbacks
		// (tail bound, chord, magnitude sum) can exceed it where loose.
		gaussian
	} else {
		value
	}
}

/// `ln A_α` for integer `α` and `0 < q < 1`: log-sum-exp of
/// `C(α,k) (1−q)^{α−k} q^k exp((k²−k)/(2σ²))`, `k = 0..=α`
/// (Mironov, Talwar, Zhang 2019, Sec. 3.2).
fn log_a_integer(q: f64, sigma: f64, alpha: f64) -> f64 {
	let log_q = libm::log(q);
	let log_1mq = libm::log1p(-q);
	let two_sigma2 = 2.0 * sigma * sigma;
	let mut log_a = f64::NEG_INFINITY;
	let mut k = 0.0_f64;
	while k <= alpha {
		let term =
			log_binom(alpha, k) + k * log_q + (alpha - k) * log_1mq + (k * k - k) / two_sigma2;
		log_a = log_add(log_a, term);
		k += 1.0;
	}
	log_a
}

/// An upper bound on `ln A_α` for fractional `α` from the neighbouring
/// integer orders: `ln A_α = ln E_{μ₀}[X^α]` (with `X = 1 − q + q·μ₁/μ₀`) is
/// a cumulant generating function, hence convex in `α`, so it lies below the
/// chord between `⌊α⌋` and `⌈α⌉`; `ln A_1 = ln E[X] = 0`.
///
/// A safety net for the fractional series: where they run out of terms
/// and their tail bound does not apply (`z₀` beyond the last term, e.g. a
/// tiny `q` with a huge `σ`) they give `+∞`, and this keeps the order
/// finite. Both are upper bounds, so their minimum is.
fn log_a_interpolated(q: f64, sigma: f64, alpha: f64) -> f64 {
	let lower = libm::floor(alpha);
	let upper = lower + 1.0;
	let t = alpha - lower;
	let at_lower = if lower <= 1.0 { 0.0 } else { log_a_integer(q, sigma, lower) };
	(1.0 - t) * at_lower + t * log_a_integer(q, sigma, upper)
}

/// `ln A_α` for any `α > 1` and `0 < q < 1`, by the two convergent series
/// of Mironov, Talwar, Zhang 2019, Sec. 3.3 (the integral split at
/// `z₀ = σ² ln((1−q)/q) + ½`, each half expanded binomially).
///
/// The terms are, with `j = α − i`,
///
/// ```text
/// s0ᵢ = C(α,i) qⁱ (1−q)ʲ exp((i² − i)/(2σ²)) · ½ erfc((i − z₀)/(√2 σ))
/// s1ᵢ = C(α,i) qʲ (1−q)ⁱ exp((j² − j)/(2σ²)) · ½ erfc((z₀ − j)/(√2 σ))
/// ```
///
/// and `A_α = Σᵢ (s0ᵢ + s1ᵢ)` exactly. For fractional `α`, `C(α,i)`
/// alternates in sign once `i > α + 1`. The sum is kept with its signs (as
/// in the paper, TensorFlow Privacy before 2024 and Opacus), and also by
/// magnitude (as `dp_accounting` does since 2024, a conservative bound that
/// can exceed the exact value by tens of percent for `q` near 1); the
/// signed sum is used unless cancellation makes it untrustworthy
/// ([`MAX_CANCELLATION`]), then the magnitudes.
///
/// Summation stops at the first of:
///
/// * `dp_accounting`'s rule: both series' terms decreasing in magnitude and
///   the latest below `e^{−30}` of the total;
/// * a proven bound on the magnitude of the rest of both series below
///   [`TAIL_TOLERANCE`] times `ln A_α` (see [`log_tail_bound`]); the bound
///   is then added, so the result stays an upper bound. For `q` near ½ and
///   `α` near 1 the terms decay only like `i^{−α−2}` and the first rule
///   needs many thousand terms.
///
/// After [`MAX_SERIES_TERMS`] terms it returns the partial sum plus the tail
/// bound, or `+∞` where the bound does not apply.
fn log_a_fractional(q: f64, sigma: f64, alpha: f64) -> f64 {
	let log_q = libm::log(q);
	let log_1mq = libm::log1p(-q);
	let two_sigma2 = 2.0 * sigma * sigma;
	let z0 = sigma * sigma * (log_1mq - log_q) + 0.5;
	let erfc_scale = core::f64::consts::SQRT_2 * sigma;
	let log_half = -core::f64::consts::LN_2;
	// ln K, K = (1−q)^α e^{−z₀²/(2σ²)} σ/√(2π): see `log_tail_bound`.
	let log_k = alpha * log_1mq - z0 * z0 / two_sigma2 + libm::log(sigma) - HALF_LN_2PI;
	let log_alpha = libm::log(alpha);
	let log_tolerance = libm::log(TAIL_TOLERANCE);

	// Both halves together: signed, and by magnitude.
	let mut signed = SignedLog::ZERO;
	let mut log_magnitude = f64::NEG_INFINITY;
	// sign of C(α, i): C(α, i) = C(α, i−1) (α − i + 1) / i.
	let mut coef_negative = false;
	let mut last_s0 = f64::NEG_INFINITY;
	let mut last_s1 = f64::NEG_INFINITY;
	let mut last_total = f64::NEG_INFINITY;
	let mut last_tail = f64::INFINITY;
	let mut i = 0.0_f64;
	for _ in 0..MAX_SERIES_TERMS {
		if alpha - i + 1.0 < 0.0 {
			coef_negative = !coef_negative;
		}
		let log_coef = log_binom(alpha, i);
		let j = alpha - i;

		let log_t0 = log_coef + i * log_q + j * log_1mq;
		let log_t1 = log_coef + j * log_q + i * log_1mq;

		let log_e0 = log_half + log_erfc((i - z0) / erfc_scale);
		let log_e1 = log_half + log_erfc((z0 - j) / erfc_scale);

		let log_s0 = log_t0 + (i * i - i) / two_sigma2 + log_e0;
		let log_s1 = log_t1 + (j * j - j) / two_sigma2 + log_e1;

		let log_s = log_add(log_s0, log_s1);
		log_magnitude = log_add(log_magnitude, log_s);
		signed = signed.add(SignedLog { negative: coef_negative, log_abs: log_s });
		// ln A_α so far: the signed sum if it is trustworthy.
		let total = if !signed.negative
			&& signed.log_abs.is_finite()
			&& log_magnitude - signed.log_abs <= MAX_CANCELLATION
		{
			signed.log_abs
		} else {
			log_magnitude
		};

		// Both series decreasing and their latest terms negligible.
		if log_s0 < last_s0 && log_s1 < last_s1 && log_s0.max(log_s1) < total - 30.0 {
			return total;
		}
		// The rest provably negligible against ln A_α (> 0 once the sum
		// exceeds 1).
		let tail = log_tail_bound(log_k, log_coef, log_alpha, alpha, z0, i);
		if total > 0.0 && tail <= log_tolerance + total + libm::log(total) {
			return log_add(total, tail);
		}
		last_s0 = log_s0;
		last_s1 = log_s1;
		last_total = total;
		last_tail = tail;
		i += 1.0;
	}
	// Out of terms: the partial sum plus the bound on the rest is still an
	// upper bound (`+∞` if the bound does not apply).
	log_add(last_total, last_tail)
}

/// The signed fractional-order sum is used only while the sum of the terms'
/// magnitudes exceeds it by at most this factor (in log space: `e^{20}`,
/// about 5·10⁸, leaving some seven significant digits); otherwise rounding
/// in the cancellation could matter and the magnitude sum (an upper bound)
/// is used.
const MAX_CANCELLATION: f64 = 20.0;

/// Relative precision of `ln A_α` at which the fractional series may stop
/// on the strength of [`log_tail_bound`].
const TAIL_TOLERANCE: f64 = 1e-6;

/// `½ ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// An upper bound on `ln Σ_{i>n} (s0ᵢ + s1ᵢ)`, the rest of both fractional
/// series after the terms `0..=n`; `+∞` while the bound does not apply,
/// i.e. unless `n > α`, `n + 1 > z₀` and `n + 1 > α − z₀`.
///
/// With `erfc(x) ≤ e^{−x²}/(x√π)` for `x > 0` and
/// `2z₀ − 1 = 2σ² ln((1−q)/q)`, the exponentials cancel exactly:
/// `s0ᵢ ≤ K |C(α,i)| / (i − z₀)` and `s1ᵢ ≤ K |C(α,i)| / (i − α + z₀)`,
/// `K = (1−q)^α e^{−z₀²/(2σ²)} σ/√(2π)`. For `i > n > α`,
/// `|C(α,i+1)| / |C(α,i)| = 1 − (α+1)/(i+1)`, so
/// `|C(α,i)| ≤ |C(α,n)| ((n+1)/(i+1))^{α+1}`, and comparing the sum with
/// an integral, `Σ_{i>n} |C(α,i)| / (i − c) ≤ |C(α,n)| (n+1) / (α (n+1−c))`.
fn log_tail_bound(log_k: f64, log_coef_n: f64, log_alpha: f64, alpha: f64, z0: f64, n: f64) -> f64 {
	let gap0 = n + 1.0 - z0;
	let gap1 = n + 1.0 - (alpha - z0);
	if !(n > alpha && gap0 > 0.0 && gap1 > 0.0) {
		return f64::INFINITY;
	}
	let common = log_k + log_coef_n + libm::log(n + 1.0) - log_alpha;
	log_add(common - libm::log(gap0), common - libm::log(gap1))
}
