//! The lists of RDP orders tracked by default.

use alloc::vec::Vec;

/// The RDP orders tracked by [`Accountant::new`](crate::Accountant::new),
/// [`epsilon_of`](crate::epsilon_of) and
/// [`noise_for_epsilon`](crate::noise_for_epsilon).
///
/// This is `DEFAULT_RDP_ORDERS` of Google's `dp_accounting`
/// (`python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant.py`,
/// unchanged since 2022):
/// `[1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024]`,
/// i.e. 1.1, 1.2, …, 10.9, then 11, 12, …, 63, then 128, 256, 512, 1024
/// (156 orders). It contains every order of [`opacus_orders`], so its
/// epsilon is never larger.
pub fn default_orders() -> Vec<f64> {
	let mut orders = Vec::with_capacity(156);
	for x in 1..100_u32 {
		// Same IEEE operations as Python's `1 + x / 10.0`: the same doubles.
		orders.push(1.0 + f64::from(x) / 10.0);
	}
	for n in 11..64_u32 {
		orders.push(f64::from(n));
	}
	orders.extend([128.0, 256.0, 512.0, 1024.0]);
	orders
}

/// Opacus' `RDPAccountant.DEFAULT_ALPHAS` (`opacus/accountants/rdp.py`):
/// `[1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))`, i.e.
/// 1.1, …, 10.9, then 12, …, 63 (151 orders). Use it to reproduce Opacus'
/// numbers exactly.
pub fn opacus_orders() -> Vec<f64> {
	let mut orders = Vec::with_capacity(151);
	for x in 1..100_u32 {
		orders.push(1.0 + f64::from(x) / 10.0);
	}
	for n in 12..64_u32 {
		orders.push(f64::from(n));
	}
	orders
}
