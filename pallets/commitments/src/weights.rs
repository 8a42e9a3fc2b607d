//! PLACEHOLDER until `scripts/bench commitments` runs: not measured.

#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::weights::Weight;

/// Weight functions needed for `pallet_commitments`.
pub trait WeightInfo {
	fn commit(i: u32, l: u32) -> Weight;
	fn attest() -> Weight;
	fn dispute() -> Weight;
	fn answer() -> Weight;
	fn resolve() -> Weight;
	fn prune_leaves(l: u32) -> Weight;
}

pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn commit(_i: u32, _l: u32) -> Weight {
		Weight::zero()
	}
	fn attest() -> Weight {
		Weight::zero()
	}
	fn dispute() -> Weight {
		Weight::zero()
	}
	fn answer() -> Weight {
		Weight::zero()
	}
	fn resolve() -> Weight {
		Weight::zero()
	}
	fn prune_leaves(_l: u32) -> Weight {
		Weight::zero()
	}
}

impl WeightInfo for () {
	fn commit(_i: u32, _l: u32) -> Weight {
		Weight::zero()
	}
	fn attest() -> Weight {
		Weight::zero()
	}
	fn dispute() -> Weight {
		Weight::zero()
	}
	fn answer() -> Weight {
		Weight::zero()
	}
	fn resolve() -> Weight {
		Weight::zero()
	}
	fn prune_leaves(_l: u32) -> Weight {
		Weight::zero()
	}
}
