//! Conversion from Rényi DP to `(ε, δ)`-DP.

use crate::sgm::{rdp, validate_orders};
use crate::{default_orders, DpError, SgmParams};

/// Below this order the conversion formula is numerically unstable (and never
/// the best one); such orders only contribute through the KL shortcut.
const MIN_CONVERSION_ORDER: f64 = 1.01;

/// Checks that `δ ∈ (0, 1)`.
pub(crate) fn validate_delta(delta: f64) -> Result<(), DpError> {
	// Written so that NaN fails.
	if delta > 0.0 && delta < 1.0 {
		Ok(())
	} else {
		Err(DpError::DeltaOutOfRange(delta))
	}
}

/// The smallest `ε` such that an RDP curve gives `(ε, δ)`-DP, and the order
/// that achieves it: `(epsilon, best_order)`.
///
/// For each order `α` with RDP `ρ` (Balle et al. 2020, arXiv:1905.09982,
/// Theorem 21; Canonne, Kamath, Steinke 2020, arXiv:2004.00010,
/// Proposition 12):
///
/// ```text
/// ε(α) = ρ + ln((α − 1)/α) − (ln δ + ln α) / (α − 1)      (α > 1.01)
/// ε(α) = ρ                                                  (α = ∞)
/// ε(α) = 0                  if δ² > 1 − e^{−ρ}  (KL/total-variation bound)
/// ε(α) = ∞                  otherwise (1 < α ≤ 1.01)
/// ```
///
/// The result is `max(0, min_α ε(α))`; the order is the first minimiser
/// (the first order if every `ε(α)` is infinite). Negative RDP values
/// (numerical noise) are treated as 0, as `dp_accounting` does.
///
/// # Errors
///
/// [`DpError::DeltaOutOfRange`] unless `0 < δ < 1`; [`DpError::EmptyOrders`];
/// [`DpError::LengthMismatch`] if the slices differ in length;
/// [`DpError::OrderOutOfRange`] for an order `≤ 1` or NaN;
/// [`DpError::InvalidRdp`] for a NaN RDP value.
pub fn epsilon(orders: &[f64], rdp: &[f64], delta: f64) -> Result<(f64, f64), DpError> {
	validate_delta(delta)?;
	validate_orders(orders)?;
	if orders.len() != rdp.len() {
		return Err(DpError::LengthMismatch { orders: orders.len(), rdp: rdp.len() });
	}
	if let Some(&bad) = rdp.iter().find(|r| r.is_nan()) {
		return Err(DpError::InvalidRdp(bad));
	}

	let log_delta = libm::log(delta);
	let mut best = f64::INFINITY;
	let mut best_order = orders.first().copied().unwrap_or(f64::INFINITY);
	for (&alpha, &rho) in orders.iter().zip(rdp) {
		let rho = if rho < 0.0 { 0.0 } else { rho };
		let eps = if delta * delta + libm::expm1(-rho) > 0.0 {
			// δ ≥ √(1 − e^{−KL}) ≥ total variation: (0, δ)-DP.
			0.0
		} else if alpha == f64::INFINITY {
			rho
		} else if alpha > MIN_CONVERSION_ORDER {
			rho + libm::log1p(-1.0 / alpha) - (log_delta + libm::log(alpha)) / (alpha - 1.0)
		} else {
			f64::INFINITY
		};
		if eps < best {
			best = eps;
			best_order = alpha;
		}
	}
	Ok((if best < 0.0 { 0.0 } else { best }, best_order))
}

/// The `ε` at `δ` of one homogeneous DP-SGD run, tracked at
/// [`default_orders`]: `epsilon(&default_orders(), &rdp(params, …), δ).0`.
///
/// # Errors
///
/// As [`rdp`] and [`epsilon`]: bad parameters or `δ ∉ (0, 1)`.
pub fn epsilon_of(params: &SgmParams, delta: f64) -> Result<f64, DpError> {
	validate_delta(delta)?;
	let orders = default_orders();
	let curve = rdp(params, &orders)?;
	epsilon(&orders, &curve, delta).map(|(eps, _)| eps)
}
