//! PROVISIONAL: replaced by `scripts/bench consent` output before landing.
#![allow(missing_docs)]
use frame_support::weights::Weight;
pub trait WeightInfo {
	fn grant() -> Weight;
	fn revoke() -> Weight;
	fn narrow() -> Weight;
	fn request_access() -> Weight;
	fn approve_request() -> Weight;
	fn reject_request() -> Weight;
	fn close_request() -> Weight;
	fn record_use() -> Weight;
	fn prune_grant() -> Weight;
}
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn grant() -> Weight { Weight::zero() }
	fn revoke() -> Weight { Weight::zero() }
	fn narrow() -> Weight { Weight::zero() }
	fn request_access() -> Weight { Weight::zero() }
	fn approve_request() -> Weight { Weight::zero() }
	fn reject_request() -> Weight { Weight::zero() }
	fn close_request() -> Weight { Weight::zero() }
	fn record_use() -> Weight { Weight::zero() }
	fn prune_grant() -> Weight { Weight::zero() }
}
impl WeightInfo for () {
	fn grant() -> Weight { Weight::zero() }
	fn revoke() -> Weight { Weight::zero() }
	fn narrow() -> Weight { Weight::zero() }
	fn request_access() -> Weight { Weight::zero() }
	fn approve_request() -> Weight { Weight::zero() }
	fn reject_request() -> Weight { Weight::zero() }
	fn close_request() -> Weight { Weight::zero() }
	fn record_use() -> Weight { Weight::zero() }
	fn prune_grant() -> Weight { Weight::zero() }
}
