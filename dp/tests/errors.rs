//! Rejected inputs and edge cases.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use twinnet_dp::{
	default_orders, epsilon, epsilon_of, noise_for_epsilon, opacus_orders, rdp, Accountant,
	DpError, SgmParams,
};

fn ok_params() -> SgmParams {
	SgmParams::new(0.01, 1.0, 100).unwrap()
}

#[test]
fn sampling_rate_outside_unit_interval() {
	for q in [-0.1, 1.000_001, f64::NAN, f64::INFINITY, -0.0 - 1e-300] {
		let err = SgmParams::new(q, 1.0, 1).unwrap_err();
		assert!(matches!(err, DpError::SamplingRateOutOfRange(_)), "{q}: {err:?}");
	}
	// Hand-built parameters are checked too.
	let bad = SgmParams { sampling_rate: 2.0, noise_multiplier: 1.0, steps: 1 };
	assert_eq!(rdp(&bad, &[2.0]), Err(DpError::SamplingRateOutOfRange(2.0)));
	assert_eq!(epsilon_of(&bad, 1e-5), Err(DpError::SamplingRateOutOfRange(2.0)));
	assert_eq!(noise_for_epsilon(-1.0, 10, 1e-5, 1.0), Err(DpError::SamplingRateOutOfRange(-1.0)));
	// The bounds themselves are fine.
	assert!(SgmParams::new(0.0, 1.0, 1).is_ok());
	assert!(SgmParams::new(1.0, 1.0, 1).is_ok());
}

#[test]
fn negative_or_nan_noise() {
	assert_eq!(SgmParams::new(0.5, -1.0, 1), Err(DpError::NegativeNoise(-1.0)));
	assert!(matches!(SgmParams::new(0.5, f64::NAN, 1), Err(DpError::NegativeNoise(_))));
	let mut accountant = Accountant::new();
	let bad = SgmParams { sampling_rate: 0.5, noise_multiplier: -0.5, steps: 3 };
	assert_eq!(accountant.compose(&bad), Err(DpError::NegativeNoise(-0.5)));
	// A failed compose adds nothing.
	assert_eq!(accountant, Accountant::new());
}

#[test]
fn delta_outside_open_unit_interval() {
	let orders = [2.0, 3.0];
	let curve = [0.1, 0.2];
	for delta in [0.0, 1.0, -1e-5, 1.5, f64::NAN] {
		assert!(
			matches!(epsilon(&orders, &curve, delta), Err(DpError::DeltaOutOfRange(_))),
			"{delta}"
		);
		assert!(matches!(epsilon_of(&ok_params(), delta), Err(DpError::DeltaOutOfRange(_))));
		assert!(matches!(Accountant::new().epsilon(delta), Err(DpError::DeltaOutOfRange(_))));
		assert!(matches!(
			noise_for_epsilon(0.01, 10, delta, 1.0),
			Err(DpError::DeltaOutOfRange(_))
		));
	}
}

#[test]
fn empty_and_mismatched_orders() {
	assert_eq!(rdp(&ok_params(), &[]), Err(DpError::EmptyOrders));
	assert_eq!(epsilon(&[], &[], 1e-5), Err(DpError::EmptyOrders));
	assert_eq!(Accountant::with_orders(vec![]), Err(DpError::EmptyOrders));
	assert_eq!(
		epsilon(&[2.0, 3.0], &[0.1], 1e-5),
		Err(DpError::LengthMismatch { orders: 2, rdp: 1 })
	);
	assert_eq!(
		epsilon(&[2.0], &[0.1, 0.2], 1e-5),
		Err(DpError::LengthMismatch { orders: 1, rdp: 2 })
	);
}

#[test]
fn orders_must_exceed_one() {
	for order in [1.0, 0.5, -3.0] {
		assert_eq!(rdp(&ok_params(), &[2.0, order]), Err(DpError::OrderOutOfRange(order)));
		assert_eq!(epsilon(&[order], &[0.1], 1e-5), Err(DpError::OrderOutOfRange(order)));
		assert_eq!(Accountant::with_orders(vec![order]), Err(DpError::OrderOutOfRange(order)));
	}
	assert!(matches!(rdp(&ok_params(), &[f64::NAN]), Err(DpError::OrderOutOfRange(_))));
	// An infinite order is allowed: RDP there is infinite unless q = 0.
	assert_eq!(rdp(&ok_params(), &[f64::INFINITY]).unwrap(), vec![f64::INFINITY]);
}

#[test]
fn nan_rdp_is_rejected_infinite_rdp_is_not() {
	assert!(matches!(epsilon(&[2.0], &[f64::NAN], 1e-5), Err(DpError::InvalidRdp(_))));
	assert_eq!(epsilon(&[2.0], &[f64::INFINITY], 1e-5).unwrap().0, f64::INFINITY);
	// Pure DP at the infinite order: epsilon is the RDP value.
	assert_eq!(epsilon(&[f64::INFINITY], &[0.7], 1e-5).unwrap(), (0.7, f64::INFINITY));
	// Negative RDP (numerical noise from elsewhere) counts as zero.
	assert_eq!(epsilon(&[2.0], &[-1e-18], 1e-5).unwrap().0, 0.0);
}

#[test]
fn noise_for_epsilon_bad_targets_and_trivial_cases() {
	for target in [0.0, -1.0, f64::NAN, f64::INFINITY] {
		assert!(matches!(
			noise_for_epsilon(0.01, 10, 1e-5, target),
			Err(DpError::TargetEpsilonOutOfRange(_))
		));
	}
	// Nothing sampled or nothing run: no noise needed.
	assert_eq!(noise_for_epsilon(0.0, 10, 1e-5, 1.0), Ok(0.0));
	assert_eq!(noise_for_epsilon(0.5, 0, 1e-5, 1.0), Ok(0.0));
	// 10¹⁸ unsampled Gaussian steps need σ ≈ 10⁹ for ε = 1.
	assert_eq!(
		noise_for_epsilon(1.0, 1_000_000_000_000_000_000, 1e-5, 1.0),
		Err(DpError::TargetUnreachable)
	);
}

#[test]
fn zero_steps_infinite_noise_and_no_noise() {
	let orders = default_orders();
	let none = rdp(&SgmParams::new(0.3, 0.0, 0).unwrap(), &orders).unwrap();
	assert!(none.iter().all(|&v| v == 0.0));
	let quiet = rdp(&SgmParams::new(0.3, f64::INFINITY, 10).unwrap(), &orders).unwrap();
	assert!(quiet.iter().all(|&v| v == 0.0));
	let open = rdp(&SgmParams::new(0.3, 0.0, 10).unwrap(), &orders).unwrap();
	assert!(open.iter().all(|&v| v == f64::INFINITY));
	assert_eq!(epsilon_of(&SgmParams::new(0.3, 0.0, 10).unwrap(), 1e-5), Ok(f64::INFINITY));
	assert_eq!(Accountant::new().epsilon(1e-5), Ok(0.0));
}

#[test]
fn order_lists() {
	let orders = default_orders();
	assert_eq!(orders.len(), 156);
	assert_eq!(orders[0], 1.1);
	assert_eq!(orders[98], 10.9);
	assert_eq!(orders[99], 11.0);
	assert_eq!(&orders[152..], &[128.0, 256.0, 512.0, 1024.0]);
	let opacus = opacus_orders();
	assert_eq!(opacus.len(), 151);
	assert_eq!(opacus[99], 12.0);
	assert_eq!(*opacus.last().unwrap(), 63.0);
	assert!(opacus.iter().all(|a| orders.contains(a)));
	assert_eq!(Accountant::new().orders(), &orders[..]);
}

#[test]
fn errors_display() {
	let all = [
		DpError::SamplingRateOutOfRange(2.0),
		DpError::NegativeNoise(-1.0),
		DpError::DeltaOutOfRange(0.0),
		DpError::EmptyOrders,
		DpError::LengthMismatch { orders: 2, rdp: 1 },
		DpError::OrderOutOfRange(1.0),
		DpError::InvalidRdp(f64::NAN),
		DpError::TargetEpsilonOutOfRange(0.0),
		DpError::TargetUnreachable,
	];
	for err in all {
		let text = err.to_string();
		assert!(!text.is_empty());
		let _: &dyn std::error::Error = &err;
	}
}
