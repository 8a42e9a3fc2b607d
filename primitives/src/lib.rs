//! # TwinNet primitives
//!
//! What TwinNet's pallets, runtime APIs and RPC servers share without
//! depending on one another:
//!
//! - [`did`]: decentralised identifiers (`did:twin:<id>`), their subjects,
//!   keys and the read-only view of a DID that runtime APIs return.
//! - [`commitments`]: result commitments, their kinds, inputs and the
//!   message attesters sign.
//! - [`datasets`]: dataset tokens, their states and licences, and the
//!   [`datasets::DatasetAccess`] check made before computing on one.
//! - [`consent`]: consent grants, scopes, purposes, privacy budgets, and
//!   the [`consent::ConsentLedger`] pallets check before touching a twin's data.
//! - [`deposit`]: storage deposits as fungible holds.
//! - [`traits`]: the interfaces one pallet offers another (for example
//!   "is this account the controller of that twin?").

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod commitments;
pub mod consent;
pub mod datasets;
pub mod deposit;
pub mod federated;
pub mod did;
pub mod traits;

/// Whether `items[index]` repeats an item before it: how calls that take
/// lists refuse a repeat at the first one, in order with their other checks.
pub fn repeats_earlier<T: PartialEq>(items: &[T], index: usize) -> bool {
	match items.get(index) {
		Some(item) => items.iter().take(index).any(|earlier| earlier == item),
		None => false,
	}
}
