//! The agent's part in secure aggregation (docs/federated.md, "Secure
//! aggregation"): for a masked job it reports, instead of its model, its
//! weighted update masked with the seed it shares with every other
//! participant of the round ([`Masks`]); when a masked round is in recovery
//! it reveals the seeds it shares with the institutions that dropped
//! ([`recovery_seeds`]).
//!
//! Every seed comes from the institution's key file ([`AgreementKey`]) and
//! the participants' keys that the round snapshotted when it opened
//! (`federated_round`'s `masking`), and is bound to the round's opening
//! block (its `openingBlock`), all read from the agent's own node: never
//! from anything a caller sends.

use std::collections::BTreeSet;

use serde_json::Value;
use twinnet_primitives::did::{parse_did, DidId};
use twinnet_secagg::{mask_update, weighted_update, Element, PartyId, Seed};

use crate::{
	agreement::AgreementKey,
	round::{dids, field, hash, job_is, number, Refusal},
};

/// A masked round, from `federated_round`'s `masking`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedRound {
	/// Every expected institution's X25519 key, in participant order.
	pub agreement_keys: Vec<(DidId, [u8; 32])>,
	/// The institutions that had not reported by the round's deadline.
	pub dropped: Vec<DidId>,
}

/// A round of a masked job: the job's per-parameter update bound and the
/// round's masking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masking {
	/// The bound `B` of each parameter's update (fixed point).
	pub update_bound: u32,
	/// The round.
	pub round: MaskedRound,
}

/// What a survivor of a masked round in recovery reveals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reveal {
	/// The round's opening block, as the round view the seeds were derived
	/// from shows it: the fork they were derived for.
	pub opening_block: [u8; 32],
	/// Each dropped institution's DID id and the seed shared with it, in
	/// the round's `dropped` order.
	pub seeds: Vec<(PartyId, Seed)>,
}

/// What masks an institution's update in a round: the job's update bound
/// and the seed the institution shares with every other participant. Not
/// `Debug`, so that its seeds are not logged by mistake.
pub struct Masks {
	update_bound: u32,
	seeds: Vec<(DidId, Seed)>,
}

/// Field `name` of a view, `None` if it is absent or null.
fn optional<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
	value.get(name).filter(|value| !value.is_null())
}

/// The update bound of a job view: `None` for a job without masking.
fn update_bound(job: &Value) -> Result<Option<u32>, Refusal> {
	let Some(masking) = optional(job, "masking") else { return Ok(None) };
	u32::try_from(number(masking, "updateBound")?)
		.map(Some)
		.map_err(|_| Refusal::MalformedView("updateBound"))
}

/// One entry of `agreementKeys`: `{"institution": DID, "key": hex}`.
fn agreement_key(entry: &Value) -> Result<(DidId, [u8; 32]), Refusal> {
	let institution = field(entry, "institution")?
		.as_str()
		.and_then(|did| parse_did(did).ok())
		.ok_or(Refusal::MalformedView("institution"))?;
	Ok((institution, hash(entry, "key")?))
}

impl MaskedRound {
	/// The masking of a round view: `None` for a round without masking.
	/// An institution listed twice among the keys is a malformed view.
	pub fn from_view(round: &Value) -> Result<Option<Self>, Refusal> {
		let Some(masking) = optional(round, "masking") else { return Ok(None) };
		let agreement_keys = field(masking, "agreementKeys")?
			.as_array()
			.ok_or(Refusal::MalformedView("agreementKeys"))?
			.iter()
			.map(agreement_key)
			.collect::<Result<Vec<_>, _>>()?;
		let mut listed = BTreeSet::new();
		if !agreement_keys.iter().all(|(institution, _)| listed.insert(*institution)) {
			return Err(Refusal::MalformedView("agreementKeys"));
		}
		Ok(Some(Self { agreement_keys, dropped: dids(masking, "dropped")? }))
	}

	/// The key the round lists for `institution`.
	fn key_of(&self, institution: &DidId) -> Option<[u8; 32]> {
		self.agreement_keys
			.iter()
			.find(|(listed, _)| listed == institution)
			.map(|(_, key)| *key)
	}

	/// The seed `institution`, whose key is `key`, shares with each of
	/// `peers` (in that order) in round `round` of `job`, opened on
	/// `opening_block` of the chain of `genesis`. The round must list
	/// `key`'s public key for `institution`, and a key for every peer.
	fn seeds(
		&self,
		key: &AgreementKey,
		genesis: &[u8; 32],
		opening_block: &[u8; 32],
		job: u64,
		round: u32,
		institution: &DidId,
		peers: &[DidId],
	) -> Result<Vec<(DidId, Seed)>, Refusal> {
		if self.key_of(institution) != Some(key.public()) {
			return Err(Refusal::AgreementKeyMismatch);
		}
		let peers = peers
			.iter()
			.map(|peer| {
				self.key_of(peer)
					.map(|peer_key| (*peer, peer_key))
					.ok_or(Refusal::MalformedView("agreementKeys"))
			})
			.collect::<Result<Vec<_>, _>>()?;
		key.round_seeds(genesis, opening_block, job, round, institution, &peers)
			.map_err(Refusal::Agreement)
	}
}

impl Masking {
	/// The masking of a round from the job's and the round's views: `None`
	/// for a plain job. A masked job's round without masking, or a plain
	/// job's round with it, is a malformed view.
	pub fn from_views(job: &Value, round: &Value) -> Result<Option<Self>, Refusal> {
		match (update_bound(job)?, MaskedRound::from_view(round)?) {
			(Some(update_bound), Some(round)) => Ok(Some(Self { update_bound, round })),
			(None, None) => Ok(None),
			_ => Err(Refusal::MalformedView("masking")),
		}
	}

	/// The masks of `institution`'s update in round `round` of `job`,
	/// opened on `opening_block` (the round view's `openingBlock`) of the
	/// chain of `genesis`: the seeds its `key` shares with every other
	/// institution the round lists.
	pub fn masks(
		&self,
		key: &AgreementKey,
		genesis: &[u8; 32],
		opening_block: &[u8; 32],
		job: u64,
		round: u32,
		institution: &DidId,
	) -> Result<Masks, Refusal> {
		let peers: Vec<DidId> = self
			.round
			.agreement_keys
			.iter()
			.map(|(peer, _)| *peer)
			.filter(|peer| peer != institution)
			.collect();
		let seeds =
			self.round.seeds(key, genesis, opening_block, job, round, institution, &peers)?;
		Ok(Masks { update_bound: self.update_bound, seeds })
	}
}

impl Masks {
	/// What `institution` reports for `records` records that took the
	/// model from `start` to `model` (fixed point): the weighted update
	/// `records · clamp(model − start, −B, B)`, masked.
	pub fn masked_update(
		&self,
		institution: &DidId,
		records: u32,
		model: &[i32],
		start: &[i32],
	) -> Result<Vec<Element>, Refusal> {
		let mut update = weighted_update(records, model, start, self.update_bound)
			.map_err(Refusal::Quantization)?;
		mask_update(
			&mut update,
			institution.as_fixed_bytes(),
			self.seeds.iter().map(|(peer, seed)| (peer.as_fixed_bytes(), seed)),
		);
		Ok(update)
	}
}

/// The seeds `institution`, whose key is `key`, reveals in round `round` of
/// `job` on the chain of `genesis`, from the node's views of the job and
/// the round: the round's opening block, and for each institution the
/// round lists as dropped, in that order, its DID id and the seed the two
/// share. Only a survivor (a reporter, not dropped) of a masked round in
/// recovery reveals, and only seeds shared with institutions that did not
/// report.
pub fn recovery_seeds(
	key: &AgreementKey,
	genesis: &[u8; 32],
	job_view: &Value,
	round_view: &Value,
	job: u64,
	round: u32,
	institution: &DidId,
) -> Result<Reveal, Refusal> {
	if !job_is(job_view, "recovering", round)? {
		return Err(Refusal::NotRecovering);
	}
	let masked = Masking::from_views(job_view, round_view)?.ok_or(Refusal::NotMasked)?.round;
	let dropped = &masked.dropped;
	let reporters = dids(round_view, "reporters")?;
	if !reporters.contains(institution) || dropped.contains(institution) {
		return Err(Refusal::NotSurvivor);
	}
	if dropped.is_empty() {
		return Err(Refusal::NoneDropped);
	}
	// A seed shared with a reporter would unmask its report.
	if dropped.iter().any(|peer| reporters.contains(peer)) {
		return Err(Refusal::MalformedView("dropped"));
	}
	let opening_block = hash(round_view, "openingBlock")?;
	let seeds = masked.seeds(key, genesis, &opening_block, job, round, institution, dropped)?;
	let seeds = seeds.into_iter().map(|(peer, seed)| (peer.to_fixed_bytes(), seed)).collect();
	Ok(Reveal { opening_block, seeds })
}

#[cfg(test)]
mod tests {
	#![allow(
		clippy::unwrap_used,
		clippy::expect_used,
		clippy::indexing_slicing,
		clippy::arithmetic_side_effects
	)]
	use super::*;
	use crate::round::hash_hex;
	use serde_json::json;
	use twinnet_primitives::did::format_did;
	use twinnet_secagg::add_into;

	const GENESIS: [u8; 32] = [9; 32];
	const OPENING: [u8; 32] = [8; 32];

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	/// `count` real X25519 keys, each created in its own file.
	fn keys(count: usize) -> Vec<AgreementKey> {
		let dir = tempfile::tempdir().unwrap();
		(0..count)
			.map(|i| AgreementKey::load_or_create(&dir.path().join(format!("{i}.key"))).unwrap())
			.collect()
	}

	fn masked_job(status: &str, round: u32) -> Value {
		json!({
			"state": { "status": status, "round": round, "deadline": 40 },
			"masking": { "updateBound": 1_000 },
		})
	}

	/// A masked round view of `institutions` with `keys`.
	fn masked_round(
		institutions: &[DidId],
		keys: &[AgreementKey],
		reporters: &[DidId],
		dropped: &[DidId],
	) -> Value {
		let list = |dids: &[DidId]| dids.iter().map(format_did).collect::<Vec<_>>();
		json!({
			"openingBlock": hash_hex(&OPENING),
			"reporters": list(reporters),
			"masking": {
				"agreementKeys": institutions.iter().zip(keys).map(|(institution, key)| json!({
					"institution": format_did(institution),
					"key": hash_hex(&key.public()),
				})).collect::<Vec<_>>(),
				"dropped": list(dropped),
				"revealed": [],
				"recoveryDeadline": null,
				"maskedSumHash": null,
			},
		})
	}

	#[test]
	fn three_agents_masked_updates_sum_to_the_sum_of_their_weighted_updates() {
		let keys = keys(3);
		let dids = [did(1), did(2), did(3)];
		let round = masked_round(&dids, &keys, &[], &[]);
		let masking = Masking::from_views(&masked_job("running", 2), &round).unwrap().unwrap();
		assert_eq!(masking.update_bound, 1_000);
		let start = [0, 500, -500, 7];
		let models = [[10, 400, -2_000, 7], [-5, 600, 0, 8], [i32::MAX, i32::MIN, -500, 0]];
		let records = [3u32, 20, 1];
		let (mut masked_sum, mut plain_sum) = (vec![0u32; 4], vec![0u32; 4]);
		for i in 0..3 {
			let masks = masking.masks(&keys[i], &GENESIS, &OPENING, 5, 2, &dids[i]).unwrap();
			let masked = masks.masked_update(&dids[i], records[i], &models[i], &start).unwrap();
			let plain = weighted_update(records[i], &models[i], &start, 1_000).unwrap();
			assert_ne!(masked, plain);
			assert!(add_into(&mut masked_sum, &masked));
			assert!(add_into(&mut plain_sum, &plain));
		}
		assert_eq!(masked_sum, plain_sum);
		assert_eq!(
			twinnet_secagg::sum_to_integers(&plain_sum),
			vec![
				3 * 10 - 20 * 5 + 1_000,
				-3 * 100 + 20 * 100 - 1_000,
				-3 * 1_000 + 20 * 500,
				20 - 7
			]
		);
		// A bound that records × bound overflows is refused.
		let masks = masking.masks(&keys[0], &GENESIS, &OPENING, 5, 2, &dids[0]).unwrap();
		assert_eq!(
			masks.masked_update(&dids[0], u32::MAX, &models[0], &start).err(),
			Some(Refusal::Quantization(twinnet_secagg::QuantizationError::BoundTooLarge))
		);
	}

	#[test]
	fn a_key_the_round_does_not_list_for_the_institution_is_refused() {
		let keys = keys(3);
		let dids = [did(1), did(2)];
		let masking = Masking::from_views(
			&masked_job("running", 2),
			&masked_round(&dids, &keys[..2], &[], &[]),
		)
		.unwrap()
		.unwrap();
		// Another key file than the one listed; an institution not listed.
		assert_eq!(
			masking.masks(&keys[2], &GENESIS, &OPENING, 5, 2, &dids[0]).err(),
			Some(Refusal::AgreementKeyMismatch)
		);
		assert_eq!(
			masking.masks(&keys[2], &GENESIS, &OPENING, 5, 2, &did(3)).err(),
			Some(Refusal::AgreementKeyMismatch)
		);
		// A low-order peer key.
		let mut round = masked_round(&dids, &keys[..2], &[], &[]);
		round["masking"]["agreementKeys"][1]["key"] = json!(hash_hex(&[0; 32]));
		let masking = Masking::from_views(&masked_job("running", 2), &round).unwrap().unwrap();
		assert_eq!(
			masking.masks(&keys[0], &GENESIS, &OPENING, 5, 2, &dids[0]).err(),
			Some(Refusal::Agreement(crate::agreement::AgreementError::NonContributory(did(2))))
		);
	}

	#[test]
	fn the_masking_views_are_parsed_and_malformed_ones_refused() {
		let keys = keys(2);
		let dids = [did(1), did(2)];
		let round = masked_round(&dids, &keys, &[did(1)], &[did(2)]);
		let job = masked_job("running", 2);
		let parsed = Masking::from_views(&job, &round).unwrap().unwrap();
		assert_eq!(
			parsed.round,
			MaskedRound {
				agreement_keys: vec![(did(1), keys[0].public()), (did(2), keys[1].public())],
				dropped: vec![did(2)],
			}
		);
		// A plain job: no masking, absent or null.
		let plain = json!({ "state": {} });
		assert_eq!(Masking::from_views(&plain, &json!({})), Ok(None));
		assert_eq!(Masking::from_views(&json!({ "masking": null }), &json!({})), Ok(None));
		// Masking on one side only.
		assert_eq!(Masking::from_views(&plain, &round), Err(Refusal::MalformedView("masking")));
		assert_eq!(Masking::from_views(&job, &json!({})), Err(Refusal::MalformedView("masking")));
		let refused = |change: &dyn Fn(&mut Value, &mut Value)| {
			let (mut job, mut round) = (job.clone(), round.clone());
			change(&mut job, &mut round);
			Masking::from_views(&job, &round).unwrap_err()
		};
		let malformed = [
			(
				refused(&|job, _| job["masking"]["updateBound"] = json!(u64::from(u32::MAX) + 1)),
				"updateBound",
			),
			(refused(&|job, _| job["masking"] = json!({})), "updateBound"),
			(
				refused(&|_, r| {
					r["masking"]["agreementKeys"][0]["key"] =
						json!(hash_hex(&OPENING).replace("0x", ""))
				}),
				"key",
			),
			(
				refused(&|_, r| r["masking"]["agreementKeys"][0]["institution"] = json!("did:x")),
				"institution",
			),
			(
				refused(&|_, r| {
					r["masking"]["agreementKeys"][1]["institution"] = json!(format_did(&did(1)))
				}),
				"agreementKeys",
			),
			(refused(&|_, r| r["masking"]["agreementKeys"] = json!({})), "agreementKeys"),
			(refused(&|_, r| r["masking"]["dropped"] = json!([7])), "dropped"),
		];
		for (refusal, name) in malformed {
			assert_eq!(refusal, Refusal::MalformedView(name));
		}
	}

	#[test]
	fn survivors_reveal_the_seeds_shared_with_the_dropped_in_dropped_order() {
		let keys = keys(4);
		let dids = [did(1), did(2), did(3), did(4)];
		// Institutions 4 and 2 dropped (listed in that order); 1 and 3 survived.
		let round = masked_round(&dids, &keys, &[did(1), did(3)], &[did(4), did(2)]);
		let recovering = masked_job("recovering", 2);
		let reveal = |job: &Value, round: &Value, i: usize| {
			recovery_seeds(&keys[i], &GENESIS, job, round, 5, 2, &dids[i])
		};
		let masked = Masking::from_views(&recovering, &round).unwrap().unwrap().round;
		for survivor in [0, 2] {
			let Reveal { opening_block, seeds } = reveal(&recovering, &round, survivor).unwrap();
			assert_eq!(opening_block, OPENING);
			let all = masked.seeds(
				&keys[survivor],
				&GENESIS,
				&OPENING,
				5,
				2,
				&dids[survivor],
				&[did(4), did(2)],
			);
			let expected: Vec<(PartyId, Seed)> =
				all.unwrap().into_iter().map(|(d, s)| (d.to_fixed_bytes(), s)).collect();
			assert_eq!(seeds, expected);
			assert_eq!(seeds[0].0, [4; 32]);
			assert_eq!(seeds[1].0, [2; 32]);
			// The dropped party's own seed with the survivor is the same.
			let dropped =
				masked.seeds(&keys[3], &GENESIS, &OPENING, 5, 2, &did(4), &[dids[survivor]]);
			assert_eq!(dropped.unwrap()[0].1, seeds[0].1);
		}
		// The same round opened on another block: other seeds, named with
		// that block; a round view without a valid opening block reveals
		// nothing.
		let mut reopened = round.clone();
		reopened["openingBlock"] = json!(hash_hex(&[7; 32]));
		let other = reveal(&recovering, &reopened, 0).unwrap();
		assert_eq!(other.opening_block, [7; 32]);
		assert_ne!(other.seeds, reveal(&recovering, &round, 0).unwrap().seeds);
		for malformed in [Value::Null, json!("0x1234"), json!(format!("0x{}", "g".repeat(64)))] {
			let mut view = round.clone();
			view["openingBlock"] = malformed;
			assert_eq!(reveal(&recovering, &view, 0), Err(Refusal::MalformedView("openingBlock")));
		}
		// The job still running, recovering another round, or plain.
		assert_eq!(reveal(&masked_job("running", 2), &round, 0), Err(Refusal::NotRecovering));
		assert_eq!(reveal(&masked_job("recovering", 3), &round, 0), Err(Refusal::NotRecovering));
		let plain = json!({ "state": { "status": "recovering", "round": 2, "deadline": 9 } });
		assert_eq!(reveal(&plain, &json!({ "reporters": [] }), 0), Err(Refusal::NotMasked));
		// A dropped institution, or one that did not report, reveals nothing.
		assert_eq!(reveal(&recovering, &round, 1), Err(Refusal::NotSurvivor));
		let unreported = masked_round(&dids, &keys, &[did(1)], &[did(4)]);
		assert_eq!(reveal(&recovering, &unreported, 2), Err(Refusal::NotSurvivor));
		// Nobody dropped; a "dropped" reporter; another key file.
		let none = masked_round(&dids, &keys, &[did(1), did(3)], &[]);
		assert_eq!(reveal(&recovering, &none, 0), Err(Refusal::NoneDropped));
		let both = masked_round(&dids, &keys, &[did(1), did(3)], &[did(3)]);
		assert_eq!(reveal(&recovering, &both, 0), Err(Refusal::MalformedView("dropped")));
		assert_eq!(
			recovery_seeds(&keys[1], &GENESIS, &recovering, &round, 5, 2, &dids[0]),
			Err(Refusal::AgreementKeyMismatch)
		);
	}
}
