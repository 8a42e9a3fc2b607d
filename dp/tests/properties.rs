//! Properties of the accountant that must hold for all parameters.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use proptest::prelude::*;
use twinnet_dp::{default_orders, epsilon_of, noise_for_epsilon, rdp, Accountant, SgmParams};

fn eps(q: f64, sigma: f64, steps: u64, delta: f64) -> f64 {
	epsilon_of(&SgmParams::new(q, sigma, steps).unwrap(), delta).unwrap()
}

/// `a ≤ b` up to floating-point noise.
fn le(a: f64, b: f64) -> bool {
	a <= b + 1e-9 * b.abs() + 1e-12
}

fn sampling_rate() -> impl Strategy<Value = f64> {
	prop_oneof![1e-5..1e-2_f64, 1e-2..1.0_f64, Just(1.0)]
}

fn delta() -> impl Strategy<Value = f64> {
	prop_oneof![Just(1e-5), Just(1e-8), 1e-9..0.5_f64]
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(64))]

	/// More noise never costs more privacy.
	#[test]
	fn epsilon_non_increasing_in_noise(
		q in sampling_rate(),
		sigma in 0.3..8.0_f64,
		factor in 1.0..3.0_f64,
		steps in 1..5_000_u64,
		delta in delta(),
	) {
		let low_noise = eps(q, sigma, steps, delta);
		let high_noise = eps(q, sigma * factor, steps, delta);
		prop_assert!(le(high_noise, low_noise), "{high_noise} > {low_noise}");
	}

	/// More steps never cost less privacy.
	#[test]
	fn epsilon_non_decreasing_in_steps(
		q in sampling_rate(),
		sigma in 0.3..8.0_f64,
		steps in 1..5_000_u64,
		more in 0..5_000_u64,
		delta in delta(),
	) {
		let fewer = eps(q, sigma, steps, delta);
		let longer = eps(q, sigma, steps + more, delta);
		prop_assert!(le(fewer, longer), "{fewer} > {longer}");
	}

	/// A higher sampling rate never costs less privacy.
	#[test]
	fn epsilon_non_decreasing_in_sampling_rate(
		q in 1e-5..1.0_f64,
		factor in 1.0..10.0_f64,
		sigma in 0.3..8.0_f64,
		steps in 1..5_000_u64,
		delta in delta(),
	) {
		let q_high = (q * factor).min(1.0);
		let low = eps(q, sigma, steps, delta);
		let high = eps(q_high, sigma, steps, delta);
		prop_assert!(le(low, high), "{low} > {high}");
	}

	/// Composing the same run `n` times in the accountant is the same as
	/// one run with `n` times the steps.
	#[test]
	fn composing_n_times_equals_n_steps(
		q in sampling_rate(),
		sigma in 0.3..8.0_f64,
		steps in 1..200_u64,
		n in 1..40_u64,
		delta in delta(),
	) {
		let one = SgmParams::new(q, sigma, steps).unwrap();
		let mut repeated = Accountant::new();
		for _ in 0..n {
			repeated.compose(&one).unwrap();
		}
		let mut at_once = Accountant::new();
		at_once.compose(&SgmParams::new(q, sigma, steps * n).unwrap()).unwrap();
		for (a, b) in repeated.rdp().iter().zip(at_once.rdp()) {
			prop_assert!(a == b || (a - b).abs() <= 1e-12 * b.abs(), "rdp {a} vs {b}");
		}
		let (ea, eb) = (repeated.epsilon(delta).unwrap(), at_once.epsilon(delta).unwrap());
		prop_assert!((ea - eb).abs() <= 1e-10 * eb.abs() + 1e-12, "eps {ea} vs {eb}");
	}

	/// Without subsampling the SGM is the Gaussian mechanism:
	/// RDP = steps · α / (2σ²) at every order.
	#[test]
	fn full_sampling_is_the_gaussian_mechanism(
		sigma in 0.01..100.0_f64,
		steps in 1..100_000_u64,
		order in 1.0001..2000.0_f64,
	) {
		let got = rdp(&SgmParams::new(1.0, sigma, steps).unwrap(), &[order, order.ceil()]).unwrap();
		for (alpha, value) in [order, order.ceil()].into_iter().zip(got) {
			let expected = steps as f64 * alpha / (2.0 * sigma * sigma);
			prop_assert!((value - expected).abs() <= 1e-12 * expected, "{value} vs {expected}");
		}
	}

	/// RDP is non-negative, and zero exactly when nothing is sampled.
	#[test]
	fn rdp_is_non_negative(
		q in sampling_rate(),
		sigma in 0.05..50.0_f64,
		steps in 0..10_000_u64,
	) {
		let orders = default_orders();
		for value in rdp(&SgmParams::new(q, sigma, steps).unwrap(), &orders).unwrap() {
			prop_assert!(value >= 0.0);
		}
		let none = rdp(&SgmParams::new(0.0, sigma, steps).unwrap(), &orders).unwrap();
		prop_assert!(none.iter().all(|&v| v == 0.0));
	}
}

proptest! {
	// Each case runs a bisection of some twenty epsilon evaluations.
	#![proptest_config(ProptestConfig::with_cases(24))]

	/// The calibrated noise meets the target, and 1 % less noise does not.
	#[test]
	fn noise_for_epsilon_is_tight(
		q in prop_oneof![1e-4..1e-2_f64, 1e-2..0.3_f64, Just(1.0)],
		steps in 1..3_000_u64,
		delta in prop_oneof![Just(1e-5), 1e-8..1e-3_f64],
		target in 0.3..10.0_f64,
	) {
		let sigma = noise_for_epsilon(q, steps, delta, target).unwrap();
		prop_assert!(sigma > 0.0);
		let reached = eps(q, sigma, steps, delta);
		prop_assert!(reached <= target, "eps({sigma}) = {reached} > {target}");
		let short = eps(q, 0.99 * sigma, steps, delta);
		prop_assert!(short > target, "eps(0.99 · {sigma}) = {short} <= {target}");
	}
}
