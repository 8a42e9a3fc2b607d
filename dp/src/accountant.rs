//! An RDP accountant that composes heterogeneous DP-SGD runs.

use alloc::vec::Vec;

use crate::convert::epsilon;
use crate::sgm::{rdp, validate_orders};
use crate::{default_orders, DpError, SgmParams};

/// Accumulates the RDP curve of a sequence of DP-SGD runs, possibly with
/// different sampling rates, noise multipliers and step counts (TwinNet
/// composes one charge per federated round), and reports the resulting
/// `(ε, δ)` guarantee.
///
/// RDP composes by addition at each order, so the order in which runs are
/// composed does not matter, and composing the same [`SgmParams`] `n` times
/// is the same as composing it once with `n` times the steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Accountant {
	orders: Vec<f64>,
	rdp: Vec<f64>,
}

impl Default for Accountant {
	fn default() -> Self {
		Self::new()
	}
}

impl Accountant {
	/// An empty accountant (no privacy spent) tracking [`default_orders`].
	pub fn new() -> Self {
		let orders = default_orders();
		let rdp = orders.iter().map(|_| 0.0).collect();
		Self { orders, rdp }
	}

	/// An empty accountant tracking the given orders.
	///
	/// # Errors
	///
	/// [`DpError::EmptyOrders`] if `orders` is empty,
	/// [`DpError::OrderOutOfRange`] if an order is `≤ 1` or NaN.
	pub fn with_orders(orders: Vec<f64>) -> Result<Self, DpError> {
		validate_orders(&orders)?;
		let rdp = orders.iter().map(|_| 0.0).collect();
		Ok(Self { orders, rdp })
	}

	/// Adds the RDP of `params.steps` steps of the Sampled Gaussian
	/// Mechanism. On error nothing is added.
	///
	/// # Errors
	///
	/// As [`SgmParams::validate`].
	pub fn compose(&mut self, params: &SgmParams) -> Result<(), DpError> {
		let charge = rdp(params, &self.orders)?;
		for (total, add) in self.rdp.iter_mut().zip(charge) {
			*total += add;
		}
		Ok(())
	}

	/// The `ε` of everything composed so far, at `δ`.
	///
	/// # Errors
	///
	/// [`DpError::DeltaOutOfRange`] unless `0 < δ < 1`.
	pub fn epsilon(&self, delta: f64) -> Result<f64, DpError> {
		self.epsilon_and_order(delta).map(|(eps, _)| eps)
	}

	/// The `ε` of everything composed so far, at `δ`, and the RDP order that
	/// gives it (see [`epsilon`](crate::epsilon)).
	///
	/// # Errors
	///
	/// [`DpError::DeltaOutOfRange`] unless `0 < δ < 1`.
	pub fn epsilon_and_order(&self, delta: f64) -> Result<(f64, f64), DpError> {
		epsilon(&self.orders, &self.rdp, delta)
	}

	/// The tracked orders.
	pub fn orders(&self) -> &[f64] {
		&self.orders
	}

	/// The accumulated RDP at each of [`orders`](Self::orders).
	pub fn rdp(&self) -> &[f64] {
		&self.rdp
	}
}
