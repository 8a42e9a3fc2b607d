#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;

use proptest::{prelude::*, test_runner::TestRng};
use twinnet_primitives::federated::{fed_avg, fed_avg_of_sum};

use super::*;

const GENESIS: [u8; 32] = [7; 32];
const OPENING: [u8; 32] = [6; 32];

/// The parties of a round with a seed per pair, as the agents would derive
/// them (the shared secrets stand in for X25519 outputs).
struct Round {
	parties: Vec<PartyId>,
	seeds: BTreeMap<(PartyId, PartyId), Seed>,
}

impl Round {
	fn new(parties: Vec<PartyId>, secret: u8) -> Self {
		let mut seeds = BTreeMap::new();
		for a in &parties {
			for b in parties.iter().filter(|b| a < *b) {
				let shared = [secret ^ a[0] ^ b[0]; 32];
				seeds.insert((*a, *b), pair_seed(&shared, &GENESIS, &OPENING, 3, 1, a, b));
			}
		}
		Self { parties, seeds }
	}

	fn seed(&self, a: &PartyId, b: &PartyId) -> &Seed {
		self.seeds.get(&if a < b { (*a, *b) } else { (*b, *a) }).unwrap()
	}

	/// `party`'s update masked with its seed of every other party.
	fn masked(&self, party: &PartyId, update: &[Element]) -> Vec<Element> {
		let mut masked = update.to_vec();
		let peers: Vec<(&PartyId, &Seed)> = self
			.parties
			.iter()
			.filter(|p| *p != party)
			.map(|p| (p, self.seed(party, p)))
			.collect();
		mask_update(&mut masked, party, peers);
		masked
	}
}

fn sum(updates: &[Vec<Element>], len: usize) -> Vec<Element> {
	let mut total = vec![0; len];
	for update in updates {
		assert!(add_into(&mut total, update));
	}
	total
}

/// Between 2 and 8 distinct parties (a round's participants).
fn parties() -> impl Strategy<Value = Vec<PartyId>> {
	proptest::collection::btree_set(any::<[u8; 32]>(), 2..=8)
		.prop_map(|set| set.into_iter().collect::<Vec<_>>())
		.prop_shuffle()
}

#[test]
fn the_mask_is_the_rfc_8439_chacha20_keystream() {
	// RFC 8439, appendix A.1, test vector #1: key and nonce all zero, counter 0.
	assert_eq!(mask(&[0; 32], 4), vec![0xade0_b876, 0x903d_f1a0, 0xe56a_5d40, 0x28bd_8653]);
	assert_eq!(mask(&[0; 32], 20)[..4], mask(&[0; 32], 4)[..]);
	assert_ne!(mask(&[1; 32], 4), mask(&[0; 32], 4));
}

#[test]
fn a_pair_seed_is_the_same_from_both_sides_and_good_for_one_round_only() {
	let (a, b, secret) = ([1; 32], [2; 32], [9; 32]);
	let seed = pair_seed(&secret, &GENESIS, &OPENING, 3, 1, &a, &b);
	assert_eq!(seed, pair_seed(&secret, &GENESIS, &OPENING, 3, 1, &b, &a));
	assert_ne!(seed, pair_seed(&secret, &GENESIS, &OPENING, 3, 2, &a, &b));
	assert_ne!(seed, pair_seed(&secret, &GENESIS, &OPENING, 4, 1, &a, &b));
	assert_ne!(seed, pair_seed(&secret, &[8; 32], &OPENING, 3, 1, &a, &b));
	// The same round opened on another fork.
	assert_ne!(seed, pair_seed(&secret, &GENESIS, &[5; 32], 3, 1, &a, &b));
	assert_ne!(seed, pair_seed(&[10; 32], &GENESIS, &OPENING, 3, 1, &a, &b));
	assert_ne!(seed, pair_seed(&secret, &GENESIS, &OPENING, 3, 1, &a, &[3; 32]));
}

#[test]
fn updates_are_weighted_clamped_and_refused_when_they_could_overflow() {
	let start = [0, 100, -100, 5];
	let model = [10, 100 + 70_000, -100 - 70_000, 5];
	assert_eq!(
		sum_to_integers(&weighted_update(3, &model, &start, 65_536).unwrap()),
		vec![30, 3 * 65_536, -3 * 65_536, 0]
	);
	assert_eq!(weighted_update(3, &model[..3], &start, 1), Err(QuantizationError::LengthMismatch));
	assert_eq!(weighted_update(2, &model, &start, 1 << 30), Err(QuantizationError::BoundTooLarge));
	// This runtime's limits: 8 participants, 256 records, a bound just under 16.0.
	assert!(fits_in_ring(8, 256, (1 << 20) - 1));
	assert!(!fits_in_ring(8, 256, 1 << 20));
	assert!(!fits_in_ring(u32::MAX, u32::MAX, u32::MAX));
	assert!(fits_in_ring(1, 1, i32::MAX as u32));
	assert!(!fits_in_ring(1, 1, 1 << 31));
	// At the edge: 8 parties of 256 records, every update at ±bound.
	let bound = (1 << 20) - 1;
	for sign in [1, -1] {
		let update = weighted_update(256, &[sign * (1 << 24)], &[0], bound).unwrap();
		let total = sum(&vec![update; 8], 1);
		assert_eq!(sum_to_integers(&total), vec![sign * (i32::MAX - 2_047)]);
	}
}

#[test]
fn a_clamped_round_averages_the_clamped_updates() {
	// From start 100, models 100 + 5.0 and 100 − 0.5 (in units of 2⁻¹⁶),
	// 3 and 1 records, bound 1.0: the first update counts as +1.0.
	let (one, start) = (1 << 16, 100);
	let updates = [
		weighted_update(3, &[start + 5 * one], &[start], one as u32).unwrap(),
		weighted_update(1, &[start - one / 2], &[start], one as u32).unwrap(),
	];
	let total = sum_to_integers(&sum(&updates, 1));
	assert_eq!(total, vec![3 * one - one / 2]);
	// (4 · 100 + 2.5 · 2¹⁶) / 4 = 100 + 40,960.
	assert_eq!(fed_avg_of_sum(&[start], &total, 4), Some(vec![start + 40_960]));
}

#[test]
fn sums_of_different_lengths_are_refused_unchanged() {
	let mut total = vec![1, 2];
	assert!(!add_into(&mut total, &[1]));
	assert_eq!(total, vec![1, 2]);
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(256))]

	#[test]
	fn masks_cancel_exactly(
		parties in parties(),
		secret in any::<u8>(),
		len in 1usize..48,
		values in proptest::collection::vec(any::<u32>(), 8 * 48),
	) {
		let round = Round::new(parties, secret);
		let updates: Vec<Vec<Element>> =
			round.parties.iter().enumerate().map(|(i, _)| values[i * len..(i + 1) * len].to_vec()).collect();
		let masked: Vec<Vec<Element>> =
			round.parties.iter().zip(&updates).map(|(p, u)| round.masked(p, u)).collect();
		prop_assert_eq!(sum(&masked, len), sum(&updates, len));
	}

	#[test]
	fn dropout_recovery_gives_the_survivors_unmasked_aggregate(
		parties in parties(),
		secret in any::<u8>(),
		dropped in proptest::collection::vec(any::<bool>(), 8),
		records in proptest::collection::vec(1u32..=256, 8),
		models in proptest::collection::vec(-(1i32 << 16)..=(1 << 16), 8 * 6),
		start in proptest::collection::vec(-(1i32 << 16)..=(1 << 16), 6),
	) {
		// Models and start within ±1.0: no update exceeds the bound 2.0, and
		// 8 parties × 256 records × 2.0 fits in the ring.
		let bound = 1 << 17;
		prop_assert!(fits_in_ring(8, 256, bound));
		let round = Round::new(parties, secret);
		let n = round.parties.len();
		let is_dropped = |i: usize| dropped[i] && i != 0; // party 0 always survives
		let model = |i: usize| &models[i * 6..(i + 1) * 6];
		let survivors: Vec<usize> = (0..n).filter(|i| !is_dropped(*i)).collect();
		// Every party masked its update; only the survivors' reach the chain.
		let reported: Vec<Vec<Element>> = survivors
			.iter()
			.map(|&i| {
				let update = weighted_update(records[i], model(i), &start, bound).unwrap();
				round.masked(&round.parties[i], &update)
			})
			.collect();
		let mut recovered = sum(&reported, 6);
		for &s in &survivors {
			for d in (0..n).filter(|d| is_dropped(*d)) {
				let (survivor, gone) = (&round.parties[s], &round.parties[d]);
				remove_pair_mask(&mut recovered, round.seed(survivor, gone), survivor, gone);
			}
		}
		// The survivors' plain weighted sum, exactly, ...
		let plain: Vec<Vec<Element>> = survivors
			.iter()
			.map(|&i| weighted_update(records[i], model(i), &start, bound).unwrap())
			.collect();
		prop_assert_eq!(&recovered, &sum(&plain, 6));
		// ... whose average is the survivors' FedAvg of their models to the bit.
		let total: u64 = survivors.iter().map(|&i| u64::from(records[i])).sum();
		let aggregate = fed_avg_of_sum(&start, &sum_to_integers(&recovered), total).unwrap();
		let reference =
			fed_avg(survivors.iter().map(|&i| (records[i], model(i)))).unwrap();
		prop_assert_eq!(aggregate, reference);
	}

	#[test]
	fn sums_within_the_ring_bound_read_back_exactly(
		records in proptest::collection::vec(1u32..=256, 1..=8),
		deltas in proptest::collection::vec(-((1i32 << 20) - 1)..(1 << 20), 8),
	) {
		let bound = (1 << 20) - 1;
		prop_assert!(fits_in_ring(records.len() as u32, 256, bound));
		let updates: Vec<Vec<Element>> = records
			.iter()
			.zip(&deltas)
			.map(|(n, delta)| weighted_update(*n, &[*delta], &[0], bound).unwrap())
			.collect();
		let exact: i64 = records.iter().zip(&deltas).map(|(n, d)| i64::from(*n) * i64::from(*d)).sum();
		prop_assert_eq!(i64::from(sum_to_integers(&sum(&updates, 1))[0]), exact);
	}
}

/// Pearson's correlation of two samples.
fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
	let n = xs.len() as f64;
	let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
	let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
	let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
	let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
	cov / (vx * vy).sqrt()
}

#[test]
fn a_masked_update_neither_equals_nor_correlates_with_its_update() {
	// A smoke test of the masks' distribution (the seeds' binding to the
	// shared secret, job, round and fork is the unit tests' job).
	// 1,000 rounds of 3 parties with 64 parameters: 192,000 pairs of a
	// masked and an unmasked value. The updates are strongly structured
	// (a ramp plus noise, as real updates are); the masked values must not
	// be. With independent values the correlation's standard error is
	// 1/√192000 ≈ 0.0023; the bound below is 8 of them.
	let mut rng = TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha);
	let (mut plain, mut masked) = (Vec::new(), Vec::new());
	for run in 0..1_000u32 {
		let parties: Vec<PartyId> = (0..3).map(|_| rng.random()).collect();
		let round = Round::new(parties, rng.random());
		for party in &round.parties {
			let update: Vec<Element> = (0..64i32)
				.map(|k| {
					(k * 1_000 - 32_000 + (rng.random::<u16>() as i32 >> 6) + run as i32) as u32
				})
				.collect();
			let hidden = round.masked(party, &update);
			assert_ne!(hidden, update);
			assert!(hidden.iter().zip(&update).filter(|(h, u)| h == u).count() <= 1);
			plain.extend(update.iter().map(|u| f64::from(*u as i32)));
			masked.extend(hidden.iter().map(|h| f64::from(*h as i32)));
		}
	}
	let r = correlation(&plain, &masked);
	assert!(r.abs() < 8.0 / (plain.len() as f64).sqrt(), "correlation {r}");
	// And the masked values fill the ring evenly: each of 16 bins of the
	// top four bits within 3% of its expected 12,000.
	let mut bins = [0u32; 16];
	for value in &masked {
		bins[((*value as i32 as u32) >> 28) as usize] += 1;
	}
	let expected = masked.len() as f64 / 16.0;
	for count in bins {
		assert!((f64::from(count) - expected).abs() < 0.03 * expected, "{bins:?}");
	}
}

#[test]
fn small_order_keys_are_exactly_those_x25519_finds_non_contributory() {
	let secret = x25519_dalek::StaticSecret::from([0x42; 32]);
	let contributory = |key: [u8; 32]| {
		secret.diffie_hellman(&x25519_dalek::PublicKey::from(key)).was_contributory()
	};
	for key in SMALL_ORDER_KEYS {
		let mut high = key;
		high[31] |= 0x80;
		for encoding in [key, high] {
			assert!(is_small_order_key(&encoding), "{encoding:?}");
			assert!(!contributory(encoding), "{encoding:?} is of small order");
		}
	}
	// Real keys, and the neighbours of the small-order ones, are not.
	let mut rng = TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha);
	for _ in 0..64 {
		let mut bytes = [0u8; 32];
		rng.fill_bytes(&mut bytes);
		let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(bytes));
		assert!(!is_small_order_key(public.as_bytes()));
		assert!(contributory(*public.as_bytes()));
	}
	for mut near in SMALL_ORDER_KEYS {
		near[1] ^= 0x01;
		assert!(!is_small_order_key(&near), "{near:?}");
	}
}
