//! Checks against values published in the test suites and documentation of
//! the reference implementations. Every expected number below is copied from
//! the named file; none is computed here.
//!
//! * `dp_accounting`: github.com/google/differential-privacy,
//!   `python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py`
//!   (current version, the tight RDP → (ε, δ) conversion).
//! * TensorFlow Privacy: github.com/tensorflow/privacy,
//!   `tensorflow_privacy/privacy/analysis/rdp_accountant_test.py` (last
//!   version, 38fe4aa, before its removal in 4cb0a11, 2022-07-20),
//!   `tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py`
//!   (values moved to the tight conversion in be8175b, "Improved conversion
//!   from Renyi DP to approx DP", 2020-12-30, and to dp_accounting's
//!   magnitude-summed fractional orders in 8b3d8e1, 2024-04-26), and
//!   `tutorials/README.md`.
//! * Opacus: github.com/meta-pytorch/opacus, `opacus/tests/accountants_test.py`.
//!
//! At fractional orders this crate sums the series of Mironov, Talwar, Zhang
//! with their signs (exact, as Opacus and TF Privacy did), while
//! dp_accounting since April 2024 sums their magnitudes (an over-estimate).
//! Checks of fractional orders therefore use the signed-sum sources where
//! they exist, and dp_accounting's magnitude-summed numbers only as upper
//! bounds or to 1 %; `tests/quadrature.rs` checks `A_α` against numerical
//! integration of its definition.
//!
//! Unless noted, agreement is required to the source's own tolerance, and
//! never worse than 1 %.

// The sources use the literals 3.14159 and 2.71828 as test parameters.
#![allow(clippy::approx_constant)]
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use twinnet_dp::{epsilon, noise_for_epsilon, opacus_orders, rdp, Accountant, SgmParams};

/// Asserts `|got − expected| ≤ rtol·|expected|` and prints both.
fn assert_rel(what: &str, got: f64, expected: f64, rtol: f64) {
	println!("{what}: computed {got:.10e}, published {expected:.10e}");
	assert!(
		(got - expected).abs() <= rtol * expected.abs(),
		"{what}: computed {got}, published {expected} (rtol {rtol})"
	);
}

fn params(q: f64, sigma: f64, steps: u64) -> SgmParams {
	SgmParams::new(q, sigma, steps).unwrap()
}

/// The orders of TF Privacy's `compute_dp_sgd_privacy`
/// (`compute_dp_sgd_privacy_lib.py`, and `compute_dp_sgd_privacy.py` in
/// 2019): `[1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5] +
/// list(range(5, 64)) + [128, 256, 512]`.
fn tf_dp_sgd_orders() -> Vec<f64> {
	let mut orders = vec![1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5];
	orders.extend((5..64).map(f64::from));
	orders.extend([128.0, 256.0, 512.0]);
	orders
}

// --- RDP values ---------------------------------------------------------

/// TF Privacy `rdp_accountant_test.py` (38fe4aa), `test_compute_rdp_sequence`:
/// `compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, np.inf])` (q, noise,
/// steps, orders) `≈ [6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02,
/// 1.6742e+02, np.inf]` with `rtol=1e-4`: fractional and integer orders.
///
/// dp_accounting `test_compute_rdp_poisson_subsampled_gaussian` has the same
/// case, expecting `[6.70579741e-04, 1.08548710e-03, 2.18075656e-03,
/// 2.38460375e-02, 1.67416308e02, inf]` (`rtol=1e-4`): the same at the
/// integer orders, and larger at 1.5 (by 3 %) and 2.5, where it sums
/// magnitudes. Numerical integration of `A_α` (`tests/quadrature.rs`)
/// agrees with the signed values.
#[test]
fn tf_privacy_and_dp_accounting_rdp_sequence() {
	let orders = [1.5, 2.5, 5.0, 50.0, 100.0, f64::INFINITY];
	let got = rdp(&params(0.01, 2.5, 50), &orders).unwrap();
	let tf_privacy = [6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02, 1.6742e+02];
	for ((order, &g), &e) in orders.iter().zip(&got).zip(&tf_privacy) {
		assert_rel(&format!("tf privacy rdp at order {order}"), g, e, 1e-4);
	}
	assert_eq!(got[5], f64::INFINITY);

	let dp_accounting =
		[6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02, 1.67416308e02];
	// Integer orders: the same finite sum.
	for i in 2..5 {
		assert_rel(
			&format!("dp_accounting rdp at order {}", orders[i]),
			got[i],
			dp_accounting[i],
			1e-4,
		);
	}
	// Fractional orders: dp_accounting's magnitude sums bound ours.
	for i in 0..2 {
		println!("order {}: ours {:e}, dp_accounting {:e}", orders[i], got[i], dp_accounting[i]);
		assert!(got[i] <= dp_accounting[i]);
		assert!(got[i] >= 0.96 * dp_accounting[i]);
	}
}

/// TF Privacy `rdp_accountant_test.py`, `test_compute_rdp_scalar`:
/// `compute_rdp(0.1, 2, 10, 5)` (q, noise, steps, order) `≈ 0.07737`,
/// `places=5`.
#[test]
fn tf_privacy_rdp_scalar() {
	let got = rdp(&params(0.1, 2.0, 10), &[5.0]).unwrap()[0];
	println!("compute_rdp(0.1, 2, 10, 5): computed {got}, published 0.07737");
	assert!((got - 0.07737).abs() < 5e-6);
}

/// TF Privacy `test_compute_rdp_no_data` (`compute_rdp(0, 10, 1, 20) == 0`),
/// `test_compute_rdp_no_sampling` (`compute_rdp(1, 10, 1, 20) == 0.1`), and
/// dp_accounting `test_compute_rdp_gaussian` (order 3.14159, noise 2.71828:
/// `alpha / (2 * sigma**2)`).
#[test]
fn tf_privacy_and_dp_accounting_special_cases() {
	assert_eq!(rdp(&params(0.0, 10.0, 1), &[20.0]).unwrap(), vec![0.0]);
	assert_eq!(rdp(&params(1.0, 10.0, 1), &[20.0]).unwrap(), vec![0.1]);
	let (alpha, sigma) = (3.14159, 2.71828);
	let got = rdp(&params(1.0, sigma, 1), &[alpha]).unwrap()[0];
	assert_rel("gaussian rdp", got, alpha / (2.0 * sigma * sigma), 1e-12);
	// dp_accounting `test_zero_poisson_sample`: q = 0 gives epsilon 0 even
	// without noise; `test_epsilon_non_private_gaussian`: noise 0 gives inf.
	let mut zero = Accountant::with_orders(vec![3.14159]).unwrap();
	zero.compose(&params(0.0, 0.0, 1)).unwrap();
	assert_eq!(zero.epsilon(1e-10).unwrap(), 0.0);
	let mut open = Accountant::with_orders(vec![3.14159]).unwrap();
	open.compose(&params(1.0, 0.0, 1)).unwrap();
	assert_eq!(open.epsilon(1e-1).unwrap(), f64::INFINITY);
}

// --- The conversion -----------------------------------------------------

/// dp_accounting `test_compute_epsilon_delta_pure_dp` (and TF Privacy
/// `test_get_privacy_spent_check_target_delta`): orders `range(2, 33)`, rdp
/// 1.1 at every order, delta 1e-5 → epsilon 1.32783806176 at order 32.
#[test]
fn dp_accounting_epsilon_pure_dp() {
	let orders: Vec<f64> = (2..33).map(f64::from).collect();
	let curve = vec![1.1; orders.len()];
	let (eps, order) = epsilon(&orders, &curve, 1e-5).unwrap();
	assert_rel("pure-dp epsilon", eps, 1.32783806176, 1e-10);
	assert_eq!(order, 32.0);
}

/// dp_accounting `test_compute_epsilon_delta_gaussian` (and TF Privacy
/// `test_get_privacy_spent_check_target_delta`): orders
/// `[0.001 * i for i in range(1000, 100000)]`, q = 1, noise 4.530877117
/// ("chosen to obtain exactly (1, 1e-6)-DP"), delta 1e-6 → epsilon 1
/// (`assertAlmostEqual`, 7 places). Our orders must exceed 1, so the single
/// order 1.0 is left out; there the source's conversion only has its KL
/// shortcut, which does not fire (δ² = 1e-12 < 1 − e^{−0.024}).
#[test]
fn dp_accounting_epsilon_gaussian_fine_orders() {
	let orders: Vec<f64> = (1001..100_000).map(|i| 0.001 * f64::from(i)).collect();
	let curve = rdp(&params(1.0, 4.530877117, 1), &orders).unwrap();
	let (eps, _) = epsilon(&orders, &curve, 1e-6).unwrap();
	println!("gaussian (1, 1e-6): computed {eps}");
	assert!((eps - 1.0).abs() < 5e-8);
}

// --- Full DP-SGD epsilons -----------------------------------------------

/// TF Privacy `compute_dp_sgd_privacy_test.py`, `test_compute_dp_sgd_privacy`:
/// (n, batch_size, noise_multiplier, epochs, delta, expected_eps,
/// expected_order) with q = batch/n, steps = ceil(epochs·n/batch) and
/// [`tf_dp_sgd_orders`]:
/// `('Test0', 60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0)`,
/// `('Test1', 100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0)`,
/// `('Test2', 100000000, 1024, 0.1, 10, 1e-7, 5907982.3113984, 1.25)`.
/// Test2 (σ = 0.1, fractional best order) is the hard numerical case.
#[test]
fn tf_privacy_compute_dp_sgd_privacy() {
	let cases: [(f64, f64, f64, u64, f64, f64, f64); 3] = [
		(60000.0, 150.0, 1.3, 6000, 1e-5, 0.7242234026109595, 19.0),
		(100000.0, 100.0, 1.0, 30000, 1e-7, 1.4154988495444842, 13.0),
		(1e8, 1024.0, 0.1, 976_563, 1e-7, 5907982.3113984, 1.25),
	];
	let orders = tf_dp_sgd_orders();
	for (n, batch, sigma, steps, delta, expected_eps, expected_order) in cases {
		let curve = rdp(&params(batch / n, sigma, steps), &orders).unwrap();
		let (eps, order) = epsilon(&orders, &curve, delta).unwrap();
		assert_rel(&format!("dp-sgd n={n} sigma={sigma}"), eps, expected_eps, 1e-6);
		assert_eq!(order, expected_order);
	}
}

/// TF Privacy `compute_dp_sgd_privacy_test.py`,
/// `test_compute_dp_sgd_example_privacy`: num_epochs 1.2, noise 0.7 (halved
/// to 0.35 "with microbatching"), delta 1e-5, dp_accounting's default
/// orders; with Poisson rate 1e-2 the count is ceil(1.2 / 0.01) = 120
/// steps, without subsampling ceil(1.2) = 2 Gaussian steps. Current values
/// (`assertAlmostEqual`, 7 places):
/// `no_microbatching_with_subsampling_rdp` 3.2392676,
/// `microbatching_with_subsampling_rdp` 22.6248601,
/// `no_microbatching_no_subsampling_rdp` 10.8602036,
/// `microbatching_no_subsampling_rdp` 26.2880374.
/// Before 8b3d8e1 (signed sums at fractional orders, as here) the two
/// subsampled values were 3.2391922 and 22.5970358. The unsampled ones are
/// plain Gaussians and did not change.
#[test]
fn tf_privacy_example_privacy() {
	// (q, sigma, steps, current value, value before 8b3d8e1)
	let cases = [
		(0.01, 0.7, 120, 3.2392676, 3.2391922),
		(0.01, 0.35, 120, 22.6248601, 22.5970358),
		(1.0, 0.7, 2, 10.8602036, 10.8602036),
		(1.0, 0.35, 2, 26.2880374, 26.2880374),
	];
	for (q, sigma, steps, current, signed) in cases {
		let eps = twinnet_dp::epsilon_of(&params(q, sigma, steps), 1e-5).unwrap();
		assert_rel(&format!("example privacy q={q} sigma={sigma} (signed)"), eps, signed, 1e-6);
		// The magnitude-summed value is an upper bound, within 1 %.
		assert!(eps <= current + 1e-7);
		assert_rel(&format!("example privacy q={q} sigma={sigma} (current)"), eps, current, 0.01);
	}
}

/// Opacus `accountants_test.py`, `test_rdp_accountant`: noise 1.5, sample
/// rate 0.04, `steps = int(90 / 0.04)` = 2250 single steps, delta 1e-5,
/// Opacus' `DEFAULT_ALPHAS` → epsilon 7.32911117143 (`assertAlmostEqual`).
///
/// Opacus sums the fractional-order series with signs, as we do.
#[test]
fn opacus_rdp_accountant() {
	let mut stepwise = Accountant::with_orders(opacus_orders()).unwrap();
	for _ in 0..2250 {
		stepwise.compose(&params(0.04, 1.5, 1)).unwrap();
	}
	assert_rel("opacus stepwise", stepwise.epsilon(1e-5).unwrap(), 7.32911117143, 1e-6);
	let mut at_once = Accountant::with_orders(opacus_orders()).unwrap();
	at_once.compose(&params(0.04, 1.5, 2250)).unwrap();
	assert_rel("opacus at once", at_once.epsilon(1e-5).unwrap(), 7.32911117143, 1e-6);
}

/// Opacus `accountants_test.py`, `test_get_noise_multiplier_rdp_epochs`
/// (eps 8, delta 1e-5, rate 0.04, 90 epochs = `int(90 / 0.04)` = 2250
/// steps → 1.416) and `test_get_noise_multiplier_rdp_steps` (2000 steps →
/// 1.3562). Opacus stops its bisection once the epsilon is within 0.01 below
/// the target and uses its own orders, so only 1 % agreement is expected.
#[test]
fn opacus_get_noise_multiplier() {
	for (steps, expected) in [(2250, 1.416), (2000, 1.3562)] {
		let sigma = noise_for_epsilon(0.04, steps, 1e-5, 8.0).unwrap();
		assert_rel(&format!("noise for eps 8, {steps} steps"), sigma, expected, 0.01);
	}
}

/// TF Privacy `tutorials/README.md` (2019, e.g. commit 0776ed1): MNIST with
/// N = 60000, batch 256, delta 1e-5: noise 1.1 for 60 epochs → eps 3.01
/// (`compute_dp_sgd_privacy.py --N=60000 --batch_size=256
/// --noise_multiplier=1.1 --epochs=60 --delta=1e-5`); the table's noise 1.3
/// for 15 epochs → 1.19 and noise 0.7 for 45 epochs → 7.10. Those numbers
/// predate the tight conversion: they use Mironov 2017, Proposition 3,
/// `eps = min(rdp − ln δ / (α − 1))` (`_compute_eps` of `rdp_accountant.py`
/// at the time) over [`tf_dp_sgd_orders`], with steps = ceil(epochs·N/256).
/// The RDP curve is ours; the old conversion is the one line below. The tight
/// conversion must give less.
#[test]
fn tf_privacy_mnist_tutorial() {
	let orders = tf_dp_sgd_orders();
	let delta: f64 = 1e-5;
	for (sigma, steps, expected) in [(1.1, 14_063, 3.01), (1.3, 3516, 1.19), (0.7, 10_547, 7.10)] {
		let curve = rdp(&params(256.0 / 60000.0, sigma, steps), &orders).unwrap();
		let classic = orders
			.iter()
			.zip(&curve)
			.map(|(a, r)| r - delta.ln() / (a - 1.0))
			.fold(f64::INFINITY, f64::min);
		// Published to three significant digits.
		assert_rel(&format!("mnist classic sigma={sigma}"), classic, expected, 0.005);
		let (tight, _) = epsilon(&orders, &curve, delta).unwrap();
		println!("mnist sigma={sigma}: tight conversion {tight}");
		assert!(tight < classic);
	}
}
