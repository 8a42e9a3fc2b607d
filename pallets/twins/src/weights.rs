//! PROVISIONAL: replaced by `scripts/bench pallet_twins` output before landing.
#![allow(missing_docs)]
use frame_support::weights::Weight;
pub trait WeightInfo {
	fn create(n: u32) -> Weight;
	fn add_verification_method() -> Weight;
	fn remove_verification_method() -> Weight;
	fn rotate_key() -> Weight;
	fn rotate_controller() -> Weight;
	fn add_service() -> Weight;
	fn remove_service() -> Weight;
	fn set_metadata() -> Weight;
	fn deactivate() -> Weight;
	fn offer_custody() -> Weight;
	fn accept_custody() -> Weight;
	fn cancel_custody_offer() -> Weight;
	fn end_custody() -> Weight;
}
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn create(n: u32) -> Weight { <() as WeightInfo>::create(n) }
	fn add_verification_method() -> Weight { Weight::zero() }
	fn remove_verification_method() -> Weight { Weight::zero() }
	fn rotate_key() -> Weight { Weight::zero() }
	fn rotate_controller() -> Weight { Weight::zero() }
	fn add_service() -> Weight { Weight::zero() }
	fn remove_service() -> Weight { Weight::zero() }
	fn set_metadata() -> Weight { Weight::zero() }
	fn deactivate() -> Weight { Weight::zero() }
	fn offer_custody() -> Weight { Weight::zero() }
	fn accept_custody() -> Weight { Weight::zero() }
	fn cancel_custody_offer() -> Weight { Weight::zero() }
	fn end_custody() -> Weight { Weight::zero() }
}
impl WeightInfo for () {
	fn create(_n: u32) -> Weight { Weight::zero() }
	fn add_verification_method() -> Weight { Weight::zero() }
	fn remove_verification_method() -> Weight { Weight::zero() }
	fn rotate_key() -> Weight { Weight::zero() }
	fn rotate_controller() -> Weight { Weight::zero() }
	fn add_service() -> Weight { Weight::zero() }
	fn remove_service() -> Weight { Weight::zero() }
	fn set_metadata() -> Weight { Weight::zero() }
	fn deactivate() -> Weight { Weight::zero() }
	fn offer_custody() -> Weight { Weight::zero() }
	fn accept_custody() -> Weight { Weight::zero() }
	fn cancel_custody_offer() -> Weight { Weight::zero() }
	fn end_custody() -> Weight { Weight::zero() }
}
