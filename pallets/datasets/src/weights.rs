//! Weights for `pallet_datasets`: a placeholder until `scripts/bench
//! pallet_datasets` generates this file from the pallet's benchmarks.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::weights::Weight;

/// Weight functions needed for `pallet_datasets`.
pub trait WeightInfo {
	fn register(p: u32, ) -> Weight;
	fn add_contributors(n: u32, ) -> Weight;
	fn remove_contributor() -> Weight;
	fn refresh_contributors(n: u32, ) -> Weight;
	fn set_state() -> Weight;
	fn set_algorithms(a: u32, ) -> Weight;
	fn buy_licence(c: u32, ) -> Weight;
	fn prune_licence() -> Weight;
	fn on_revoked(d: u32, ) -> Weight;
	fn withdraw_twin(d: u32, ) -> Weight;
	fn can_compute(c: u32, ) -> Weight;
}

/// Replaced by the generated weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn register(_: u32, ) -> Weight { Weight::zero() }
	fn add_contributors(_: u32, ) -> Weight { Weight::zero() }
	fn remove_contributor() -> Weight { Weight::zero() }
	fn refresh_contributors(_: u32, ) -> Weight { Weight::zero() }
	fn set_state() -> Weight { Weight::zero() }
	fn set_algorithms(_: u32, ) -> Weight { Weight::zero() }
	fn buy_licence(_: u32, ) -> Weight { Weight::zero() }
	fn prune_licence() -> Weight { Weight::zero() }
	fn on_revoked(_: u32, ) -> Weight { Weight::zero() }
	fn withdraw_twin(_: u32, ) -> Weight { Weight::zero() }
	fn can_compute(_: u32, ) -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn register(_: u32, ) -> Weight { Weight::zero() }
	fn add_contributors(_: u32, ) -> Weight { Weight::zero() }
	fn remove_contributor() -> Weight { Weight::zero() }
	fn refresh_contributors(_: u32, ) -> Weight { Weight::zero() }
	fn set_state() -> Weight { Weight::zero() }
	fn set_algorithms(_: u32, ) -> Weight { Weight::zero() }
	fn buy_licence(_: u32, ) -> Weight { Weight::zero() }
	fn prune_licence() -> Weight { Weight::zero() }
	fn on_revoked(_: u32, ) -> Weight { Weight::zero() }
	fn withdraw_twin(_: u32, ) -> Weight { Weight::zero() }
	fn can_compute(_: u32, ) -> Weight { Weight::zero() }
}
