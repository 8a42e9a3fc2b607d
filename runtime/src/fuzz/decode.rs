//! The decoding fuzzer: bytes decoded as the executive decodes them
//! (`decode_all_with_depth_limit(MAX_EXTRINSIC_DEPTH, …)`), as a
//! `RuntimeCall` and as an `UncheckedExtrinsic`. The bytes are mutations of
//! the seed corpus (`runtime/fuzz-corpus/`: every call of the tour, and
//! some of them as signed, authorized and bare extrinsics), or random bytes
//! that start like a call of one of the runtime's pallets.
//!
//! Whatever decodes must encode back to the same bytes (no second encoding
//! of one value), its dispatch info and fee must compute, and a decoded
//! call (not sudo: root may write raw storage) is dispatched on the chain
//! at the end of the tour with the sequences' checks.

use std::{cell::RefCell, time::Instant};

use codec::{DecodeLimit, Encode};
use frame_support::{dispatch::GetDispatchInfo, MAX_EXTRINSIC_DEPTH};
use proptest::{collection::vec, prelude::*, test_runner::TestCaseError};

use super::{
	calls::account,
	chain::{Chain, Stats},
	corpus, runner, tour_states,
};
use crate::{RuntimeCall, RuntimeOrigin, UncheckedExtrinsic};

/// Cases per run: about 30 s on the 2-core CI machine (docs/operations.md).
const DEFAULT_CASES: u32 = 5_000;

/// A change to a seed's bytes.
#[derive(Clone, Debug)]
enum Mutation {
	/// Flip bit `.1 % 8` of byte `.0`.
	Flip(u16, u8),
	/// Set byte `.0` to `.1`.
	Set(u16, u8),
	/// Insert bytes at `.0`.
	Insert(u16, Vec<u8>),
	/// Delete `.1` bytes from `.0`.
	Delete(u16, u8),
	/// Cut the bytes at `.0`.
	Truncate(u16),
	/// Replace the bytes from `.1` on with those of seed `.0` from `.2` on.
	Splice(u8, u16, u16),
	/// Repeat `.1` bytes from `.0`.
	Duplicate(u16, u8),
	/// Set a length prefix: the byte at `.0` to a compact length `.1`.
	Length(u16, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
	prop_oneof![
		3 => (any::<u16>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
		3 => (any::<u16>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
		2 => (any::<u16>(), vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
		2 => (any::<u16>(), 1u8..16).prop_map(|(at, n)| Mutation::Delete(at, n)),
		1 => any::<u16>().prop_map(Mutation::Truncate),
		1 => (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(s, at, from)| Mutation::Splice(s, at, from)),
		1 => (any::<u16>(), 1u8..32).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
		1 => (any::<u16>(), prop_oneof![0u32..4, Just(1 << 14), Just(u32::MAX)])
			.prop_map(|(at, n)| Mutation::Length(at, n)),
	]
}

fn at(bytes: &[u8], position: u16) -> usize {
	usize::from(position) % (bytes.len() + 1)
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], seeds: &[Vec<u8>]) -> Vec<u8> {
	for mutation in mutations {
		match mutation {
			Mutation::Flip(p, bit) if !bytes.is_empty() => {
				let i = usize::from(*p) % bytes.len();
				bytes[i] ^= 1 << (bit % 8);
			},
			Mutation::Set(p, byte) if !bytes.is_empty() => {
				let i = usize::from(*p) % bytes.len();
				bytes[i] = *byte;
			},
			Mutation::Insert(p, new) => {
				let i = at(&bytes, *p);
				bytes.splice(i..i, new.iter().copied());
			},
			Mutation::Delete(p, n) => {
				let i = at(&bytes, *p);
				let end = (i + usize::from(*n)).min(bytes.len());
				bytes.drain(i..end);
			},
			Mutation::Truncate(p) => bytes.truncate(at(&bytes, *p)),
			Mutation::Splice(seed, p, from) if !seeds.is_empty() => {
				let other = &seeds[usize::from(*seed) % seeds.len()];
				let i = at(&bytes, *p);
				let j = at(other, *from);
				bytes.truncate(i);
				bytes.extend_from_slice(&other[j..]);
			},
			Mutation::Duplicate(p, n) => {
				let i = at(&bytes, *p);
				let end = (i + usize::from(*n)).min(bytes.len());
				let copy = bytes[i..end].to_vec();
				bytes.splice(end..end, copy);
			},
			Mutation::Length(p, n) => {
				let i = at(&bytes, *p);
				let end = (i + 1).min(bytes.len());
				bytes.splice(i..end, codec::Compact(*n).encode());
			},
			_ => {},
		}
	}
	bytes
}

/// What a case decodes.
#[derive(Clone, Debug)]
enum Input {
	/// A mutated seed: a call (`true`) or an extrinsic of the corpus, by index.
	Seed { call: bool, seed: u16, mutations: Vec<Mutation>, signer: u8 },
	/// Random bytes after a pallet index and a call index.
	Random { pallet: u8, call: u8, rest: Vec<u8>, signer: u8 },
}

fn input() -> impl Strategy<Value = Input> {
	// The runtime's pallet indexes, and a few it does not have.
	let pallets = prop_oneof![9 => prop::sample::select(vec![0u8, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14]), 1 => any::<u8>()];
	prop_oneof![
		4 => (any::<bool>(), any::<u16>(), vec(mutation(), 0..5), 0u8..7)
			.prop_map(|(call, seed, mutations, signer)| Input::Seed { call, seed, mutations, signer }),
		1 => (pallets, 0u8..20, vec(any::<u8>(), 0..200), 0u8..7)
			.prop_map(|(pallet, call, rest, signer)| Input::Random { pallet, call, rest, signer }),
	]
}

/// What the decoding fuzzer found, by outcome.
#[derive(Default)]
struct Decoded {
	inputs: u64,
	calls: u64,
	extrinsics: u64,
}

/// Checks that `call` (decoded from `bytes`) is the one encoding of its
/// value, and that its weight and fee compute.
fn check_call(call: &RuntimeCall, bytes: &[u8]) -> Result<(), TestCaseError> {
	prop_assert_eq!(&call.encode(), bytes, "a call decoded from bytes it does not encode to");
	let info = call.get_dispatch_info();
	let _ = pallet_transaction_payment::Pallet::<crate::Runtime>::compute_fee(
		u32::try_from(bytes.len()).unwrap_or(u32::MAX),
		&info,
		0,
	);
	let _ = super::chain::call_name(call);
	Ok(())
}

/// Whether a decoded call is dispatched on the fuzz chain: not sudo or
/// system calls (root's, which may write any storage), nor the timestamp
/// inherent (which panics, by design, when a block has one already).
fn dispatchable(call: &RuntimeCall) -> bool {
	!matches!(call, RuntimeCall::Sudo(_) | RuntimeCall::System(_) | RuntimeCall::Timestamp(_))
}

#[test]
fn decoding_never_panics_and_round_trips() {
	let cases = super::budget("FUZZ_DECODE_CASES", DEFAULT_CASES);
	let (calls, extrinsics) = corpus();
	assert!(!calls.is_empty() && !extrinsics.is_empty(), "the seed corpus is empty");
	let call_seeds: Vec<Vec<u8>> = calls.iter().map(|(_, b)| b.clone()).collect();
	let extrinsic_seeds: Vec<Vec<u8>> = extrinsics.iter().map(|(_, b)| b.clone()).collect();
	let end_of_tour = tour_states().last().expect("the tour has steps");
	let stats = RefCell::new(Stats::default());
	let decoded = RefCell::new(Decoded::default());
	let started = Instant::now();
	let result = runner("fuzz decoding", cases, file!()).run(&input(), |input| {
		let (bytes, signer) = match input {
			Input::Seed { call: true, seed, mutations, signer } => {
				let seed = &call_seeds[usize::from(seed) % call_seeds.len()];
				(mutate(seed.clone(), &mutations, &call_seeds), signer)
			},
			Input::Seed { call: false, seed, mutations, signer } => {
				let seed = &extrinsic_seeds[usize::from(seed) % extrinsic_seeds.len()];
				(mutate(seed.clone(), &mutations, &extrinsic_seeds), signer)
			},
			Input::Random { pallet, call, rest, signer } => {
				let mut bytes = vec![pallet, call];
				bytes.extend(rest);
				(bytes, signer)
			},
		};
		decoded.borrow_mut().inputs += 1;
		let mut chain = None;
		let as_call =
			RuntimeCall::decode_all_with_depth_limit(MAX_EXTRINSIC_DEPTH, &mut bytes.as_slice());
		if let Ok(call) = as_call {
			decoded.borrow_mut().calls += 1;
			let chain = chain.get_or_insert_with(|| Chain::resume(end_of_tour));
			chain.with(|| check_call(&call, &bytes))?;
			if dispatchable(&call) {
				let _ = chain.dispatch(RuntimeOrigin::signed(account(signer)), call)?;
			}
		}
		// As an extrinsic: the bytes themselves, and the bytes with a length prefix.
		let prefixed = {
			let mut prefixed = codec::Compact(bytes.len() as u32).encode();
			prefixed.extend_from_slice(&bytes);
			prefixed
		};
		for bytes in [&bytes, &prefixed] {
			let as_extrinsic = UncheckedExtrinsic::decode_all_with_depth_limit(
				MAX_EXTRINSIC_DEPTH,
				&mut bytes.as_slice(),
			);
			if let Ok(extrinsic) = as_extrinsic {
				decoded.borrow_mut().extrinsics += 1;
				prop_assert_eq!(&extrinsic.encode(), bytes);
				// The call's own encoding, not the bytes it was decoded from.
				let rebuilt = UncheckedExtrinsic::from_parts(
					extrinsic.function.clone(),
					extrinsic.preamble.clone(),
				);
				prop_assert_eq!(
					&rebuilt.encode(),
					bytes,
					"an extrinsic's call re-encodes otherwise"
				);
				let chain = chain.get_or_insert_with(|| Chain::resume(end_of_tour));
				chain.with(|| check_call(&extrinsic.function, &extrinsic.function.encode()))?;
				// Applied as the block author would: checks, fees, dispatch.
				if dispatchable(&extrinsic.function) {
					let _ = chain.apply_extrinsic(extrinsic)?;
				}
			}
		}
		if let Some(mut chain) = chain {
			stats.borrow_mut().merge(std::mem::take(&mut chain.stats));
		}
		Ok(())
	});
	let crashes = u32::from(result.is_err());
	let decoded = decoded.borrow();
	let _ = std::io::Write::write_all(
		&mut std::io::stderr(),
		format!(
			"fuzz decoding: {} inputs decoded, {} of them decoded as calls and {} as \
			 extrinsics (each re-encoded to its bytes, weighed, dispatched or applied)\n",
			decoded.inputs, decoded.calls, decoded.extrinsics
		)
		.as_bytes(),
	);
	stats.borrow().print(
		"fuzz decoding (decoded calls dispatched)",
		crashes,
		started.elapsed().as_secs_f64(),
	);
	if let Err(error) = result {
		panic!("fuzz decoding found a failing case: {error}");
	}
}

/// Every seed decodes as what it is and re-encodes to itself, and the call
/// seeds hold a call of every TwinNet pallet's every call: a seed corpus
/// that no longer decodes (a call's arguments changed) is regenerated with
/// `FUZZ_WRITE_CORPUS=1` (runtime/fuzz-corpus/README.md).
#[test]
fn the_seed_corpus_decodes() {
	let (calls, extrinsics) = corpus();
	let stale = "the seed corpus is stale: regenerate it (runtime/fuzz-corpus/README.md)";
	let mut names = std::collections::BTreeSet::new();
	for (file, bytes) in &calls {
		let call =
			RuntimeCall::decode_all_with_depth_limit(MAX_EXTRINSIC_DEPTH, &mut bytes.as_slice())
				.unwrap_or_else(|e| panic!("{file}: {e}; {stale}"));
		assert_eq!(&call.encode(), bytes, "{file}: {stale}");
		names.insert(super::chain::call_name(&call));
	}
	for (file, bytes) in &extrinsics {
		let extrinsic = UncheckedExtrinsic::decode_all_with_depth_limit(
			MAX_EXTRINSIC_DEPTH,
			&mut bytes.as_slice(),
		)
		.unwrap_or_else(|e| panic!("{file}: {e}; {stale}"));
		assert_eq!(&extrinsic.encode(), bytes, "{file}: {stale}");
	}
	use frame_support::traits::GetCallName;
	for (pallet, calls) in [
		("Twins", pallet_twins::Call::<crate::Runtime>::get_call_names()),
		("Consent", pallet_consent::Call::<crate::Runtime>::get_call_names()),
		("Datasets", pallet_datasets::Call::<crate::Runtime>::get_call_names()),
		("Commitments", pallet_commitments::Call::<crate::Runtime>::get_call_names()),
		("Federated", pallet_federated::Call::<crate::Runtime>::get_call_names()),
	] {
		for call in calls {
			assert!(
				names.contains(&format!("{pallet}.{call}")),
				"no seed of {pallet}.{call}: {stale}"
			);
		}
	}
}

/// Calls nested in `sudo` up to and past the depth limit decode (or are
/// refused) without exhausting the stack.
#[test]
fn nested_calls_stop_at_the_depth_limit() {
	let mut call: RuntimeCall = frame_system::Call::remark { remark: vec![1] }.into();
	let mut deepest_decoded = 0;
	for depth in 1..=300u32 {
		call = pallet_sudo::Call::sudo { call: Box::new(call) }.into();
		let bytes = call.encode();
		if RuntimeCall::decode_all_with_depth_limit(MAX_EXTRINSIC_DEPTH, &mut bytes.as_slice())
			.is_ok()
		{
			deepest_decoded = depth;
		}
	}
	assert!(deepest_decoded > 0 && deepest_decoded < 300, "decoded {deepest_decoded} levels");
	println!("sudo nesting: {deepest_decoded} levels decode under MAX_EXTRINSIC_DEPTH");
}
