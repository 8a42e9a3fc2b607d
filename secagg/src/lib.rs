//! # twinnet-secagg: secure aggregation of federated updates
//!
//! With secure aggregation (Bonawitz et al., CCS 2017) the chain learns the
//! sum of a round's updates and nothing about any one of them. This crate is
//! the arithmetic that the compute agents (masking), the runtime (removing
//! a dropped party's masks, summing) and auditors (recomputing) share; it is
//! `no_std` and allocation-light, so the runtime runs the same code as the
//! agents.
//!
//! ## Quantization
//!
//! Parameters are fixed point, `i32` in units of 2⁻¹⁶
//! (`twinnet_primitives::federated::FRACTION_BITS`). An institution with
//! `n` records whose round moved the model from `s` to `w` contributes, per
//! parameter, `n · clamp(w − s, −B, B)`, where `B` is the job's update
//! bound (in the same units): [`weighted_update`]. Its two's complement
//! bits are an element of the ring ℤ/2³² ([`Element`], `u32` with wrapping
//! arithmetic). With at most `P` participants of at most `N` records each,
//! every partial sum lies in `[−P·N·B, P·N·B]`; [`fits_in_ring`] checks
//! `P·N·B ≤ 2³¹ − 1`, so the sum of honest parties' updates read back as
//! `i32` ([`sum_to_integers`]) is the exact integer sum, never a wrapped
//! one (masked values cannot be range-checked: a dishonest party can
//! corrupt the sum, as it can with any update it sends). (In this runtime
//! `P ≤ 8` and `N ≤ 256`, so any `B < 2²⁰`, just under 16.0 in model
//! units, fits.)
//! Clamping is post-processing of the DP-noised update, so it costs no
//! privacy. The Gaussian noise has no bound, so a bound can always bind;
//! choosing it several noise standard deviations above what the learning
//! rate, steps and clip norm allow makes that rare.
//!
//! ## Masks
//!
//! Every pair of participants `{a, b}` of round `r` of job `j` shares a
//! seed ([`pair_seed`]): BLAKE2b-256 of [`PAIR_SEED_CONTEXT`], their X25519
//! shared secret, the chain's genesis hash, the hash of the parent of the
//! block the round opened in, `j` (u64 LE), `r` (u32 LE) and the two party ids in ascending
//! order (every field of fixed length, so the input is unambiguous). A seed
//! is good for one round of one job on one chain, on the forks that share
//! the round's opening; revealing it reveals nothing about other rounds,
//! or about the same round reopened on a fork that split before it.
//! The mask of a seed ([`mask`]) is the ChaCha20 keystream (RFC 8439: the
//! seed as key, an all-zero nonce, block counter from 0) read as
//! little-endian `u32` words. The party with the smaller id adds the
//! mask, the other subtracts it ([`mask_update`]), so in the sum of all
//! masked updates every mask appears once with each sign and cancels.
//!
//! ## Dropout recovery
//!
//! If party `d` never reports, the sum of the survivors' masked updates
//! still carries each survivor's mask for the pair `{survivor, d}`. Each
//! survivor reveals that pair's seed and [`remove_pair_mask`] takes its
//! mask out; what is left is the survivors' plain sum. Revealing the seeds
//! is safe only if `d`'s masked update never left `d`: anyone holding it
//! (from the transaction pool, say, if `d` sent it and was censored) can
//! strip every mask from it once all of `d`'s seeds are out. The pairwise
//! masks alone therefore protect a party that truly failed, not one that
//! was made to look failed; SecAgg+'s Shamir-shared self-masks close that
//! (docs/federated.md, "Secure aggregation").

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use chacha20::{
	cipher::{KeyIvInit, StreamCipher},
	ChaCha20,
};

/// A party: the 32-byte id of an institution's DID.
pub type PartyId = [u8; 32];
/// A pair's seed for one round.
pub type Seed = [u8; 32];
/// An element of the ring ℤ/2³² that masked updates live in.
pub type Element = u32;

/// The domain tag of [`pair_seed`].
pub const PAIR_SEED_CONTEXT: &[u8] = b"twinnet/secagg/pair-seed:v1";

/// Why an update cannot be quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantizationError {
	/// The model and the starting model differ in length.
	LengthMismatch,
	/// `records × bound` does not fit in an `i32`.
	BoundTooLarge,
}

/// Whether sums of up to `participants` updates of up to `max_records`
/// records, each parameter's update clamped to `±bound`, always fit in an
/// `i32` (and so are read back exactly from the ring).
pub fn fits_in_ring(participants: u32, max_records: u32, bound: u32) -> bool {
	u64::from(participants)
		.checked_mul(u64::from(max_records))
		.and_then(|n| n.checked_mul(u64::from(bound)))
		.is_some_and(|largest| largest <= i32::MAX as u64)
}

/// The weighted update of a report: per parameter
/// `records × clamp(model − start, −bound, bound)` as a ring element.
pub fn weighted_update(
	records: u32,
	model: &[i32],
	start: &[i32],
	bound: u32,
) -> Result<Vec<Element>, QuantizationError> {
	if model.len() != start.len() {
		return Err(QuantizationError::LengthMismatch);
	}
	if !fits_in_ring(1, records, bound) {
		return Err(QuantizationError::BoundTooLarge);
	}
	let bound = i64::from(bound);
	let records = i64::from(records);
	model
		.iter()
		.zip(start)
		.map(|(model, start)| {
			let delta = i64::from(*model)
				.saturating_sub(i64::from(*start))
				.clamp(bound.saturating_neg(), bound);
			// |records × delta| ≤ records × bound ≤ i32::MAX: checked above.
			let weighted = i32::try_from(records.saturating_mul(delta))
				.map_err(|_| QuantizationError::BoundTooLarge)?;
			Ok(weighted as Element)
		})
		.collect()
}

/// The round seed of the pair `{a, b}` from their X25519 shared secret,
/// for `round` of `job` opened in the child of block `opening_block` of
/// the chain of `genesis` (the same whichever of the two computes it).
pub fn pair_seed(
	shared_secret: &[u8; 32],
	genesis: &[u8; 32],
	opening_block: &[u8; 32],
	job: u64,
	round: u32,
	a: &PartyId,
	b: &PartyId,
) -> Seed {
	let (low, high) = if a <= b { (a, b) } else { (b, a) };
	let mut input = Vec::with_capacity(PAIR_SEED_CONTEXT.len().saturating_add(172));
	input.extend_from_slice(PAIR_SEED_CONTEXT);
	input.extend_from_slice(shared_secret);
	input.extend_from_slice(genesis);
	input.extend_from_slice(opening_block);
	input.extend_from_slice(&job.to_le_bytes());
	input.extend_from_slice(&round.to_le_bytes());
	input.extend_from_slice(low);
	input.extend_from_slice(high);
	sp_crypto_hashing::blake2_256(&input)
}

/// The first `len` words of the mask of `seed`: the ChaCha20 keystream
/// (key `seed`, nonce zero, counter from 0) as little-endian `u32`s.
pub fn mask(seed: &Seed, len: usize) -> Vec<Element> {
	let mut bytes = alloc::vec![0u8; len.saturating_mul(4)];
	ChaCha20::new(seed.into(), &[0u8; 12].into()).apply_keystream(&mut bytes);
	bytes
		.chunks_exact(4)
		.filter_map(|word| word.try_into().ok().map(Element::from_le_bytes))
		.collect()
}

/// Whether `party` adds (rather than subtracts) the mask it shares with `peer`.
fn adds(party: &PartyId, peer: &PartyId) -> bool {
	party < peer
}

/// Adds `party`'s share of the pair mask of `seed` (shared with `peer`) to
/// `values`: `+mask` if `party` has the smaller id, `−mask` otherwise.
fn apply_pair_mask(values: &mut [Element], seed: &Seed, party: &PartyId, peer: &PartyId) {
	let adding = adds(party, peer);
	let words = mask(seed, values.len());
	for (value, word) in values.iter_mut().zip(words) {
		*value = if adding { value.wrapping_add(word) } else { value.wrapping_sub(word) };
	}
}

/// Masks `party`'s weighted update with the seed of every pair it is in.
pub fn mask_update<'a>(
	update: &mut [Element],
	party: &PartyId,
	peers: impl IntoIterator<Item = (&'a PartyId, &'a Seed)>,
) {
	for (peer, seed) in peers {
		apply_pair_mask(update, seed, party, peer);
	}
}

/// Takes `survivor`'s share of the mask it shared with `dropped` (the
/// revealed `seed`) out of a sum that contains `survivor`'s masked update.
pub fn remove_pair_mask(sum: &mut [Element], seed: &Seed, survivor: &PartyId, dropped: &PartyId) {
	// Applying the dropped party's share is subtracting the survivor's.
	apply_pair_mask(sum, seed, dropped, survivor);
}

/// The X25519 public keys (Montgomery u-coordinates, little-endian) of
/// small order, ignoring the unused top bit: 0, 1, the two points of order
/// 8, and p − 1, p, p + 1 (p = 2²⁵⁵ − 19), as libsodium refuses them. A
/// shared secret with any of them is one of a handful of values whatever
/// the other secret, so a seed derived from it is public.
const SMALL_ORDER_KEYS: [[u8; 32]; 7] = [
	[0; 32],
	[
		1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0,
	],
	[
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
		0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
		0xb8, 0x00,
	],
	[
		0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
		0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
		0x11, 0x57,
	],
	small_order_near_p(0xec),
	small_order_near_p(0xed),
	small_order_near_p(0xee),
];

/// p − 1, p or p + 1 for a low byte of 0xec, 0xed or 0xee.
const fn small_order_near_p(low: u8) -> [u8; 32] {
	let mut key = [0xff; 32];
	key[0] = low;
	key[31] = 0x7f;
	key
}

/// Whether `key` is an X25519 public key of small order (in any of its
/// encodings): no seed may be derived with it, and a participant listing
/// it as its key agreement key has none.
pub fn is_small_order_key(key: &[u8; 32]) -> bool {
	let mut canonical = *key;
	if let Some(last) = canonical.last_mut() {
		*last &= 0x7f;
	}
	SMALL_ORDER_KEYS.contains(&canonical)
}

/// Adds `update` into `sum` in the ring; `false` (and `sum` unchanged) if
/// their lengths differ.
pub fn add_into(sum: &mut [Element], update: &[Element]) -> bool {
	if sum.len() != update.len() {
		return false;
	}
	for (total, value) in sum.iter_mut().zip(update) {
		*total = total.wrapping_add(*value);
	}
	true
}

/// Reads a sum of weighted updates back as integers (two's complement):
/// exact when [`fits_in_ring`] held for the parties summed.
pub fn sum_to_integers(sum: &[Element]) -> Vec<i32> {
	sum.iter().map(|value| *value as i32).collect()
}

#[cfg(test)]
mod tests;
