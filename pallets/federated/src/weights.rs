//! Placeholder until `scripts/bench pallet_federated` generates this file.

#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::weights::Weight;

/// Weight functions needed for `pallet_federated`.
pub trait WeightInfo {
	fn create_job(d: u32, ) -> Weight;
	fn cancel_job(d: u32, ) -> Weight;
	fn submit_update(p: u32, ) -> Weight;
	fn authorize_submit_update(p: u32, ) -> Weight;
	fn open_round(d: u32, ) -> Weight;
	fn close_round(d: u32, p: u32, ) -> Weight;
	fn on_initialize_idle() -> Weight;
}

pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_job(_d: u32, ) -> Weight { Weight::zero() }
	fn cancel_job(_d: u32, ) -> Weight { Weight::zero() }
	fn submit_update(_p: u32, ) -> Weight { Weight::zero() }
	fn authorize_submit_update(_p: u32, ) -> Weight { Weight::zero() }
	fn open_round(_d: u32, ) -> Weight { Weight::zero() }
	fn close_round(_d: u32, _p: u32, ) -> Weight { Weight::zero() }
	fn on_initialize_idle() -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn create_job(_d: u32, ) -> Weight { Weight::zero() }
	fn cancel_job(_d: u32, ) -> Weight { Weight::zero() }
	fn submit_update(_p: u32, ) -> Weight { Weight::zero() }
	fn authorize_submit_update(_p: u32, ) -> Weight { Weight::zero() }
	fn open_round(_d: u32, ) -> Weight { Weight::zero() }
	fn close_round(_d: u32, _p: u32, ) -> Weight { Weight::zero() }
	fn on_initialize_idle() -> Weight { Weight::zero() }
}
