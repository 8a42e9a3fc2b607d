//! # TwinNet primitives
//!
//! What TwinNet's pallets, runtime APIs and RPC servers share without
//! depending on one another:
//!
//! - [`did`]: decentralised identifiers (`did:twin:<id>`), their subjects,
//!   keys and the read-only view of a DID that runtime APIs return.
//! - [`traits`]: the interfaces one pallet offers another (for example
//!   "is this account the controller of that twin?").

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod did;
pub mod traits;
