#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use sp_core::{Pair, H256};
use sp_runtime::DispatchError;
use twinnet_primitives::{
	commitments::{CommitmentKind::*, CommitmentStatus, Input, JobRound, MerkleRoot, Statement},
	did::{DidId, SubjectKind},
};

use crate::{mock::*, Commitments as Stored, Error, Event, MerkleInput, Verdict};

/// The DIDs of a test: two institutions, a dataset, a model and a twin.
struct World {
	/// Alice's institution: commits.
	lab: DidId,
	/// Bob's institution: attests.
	other_lab: DidId,
	/// A dataset Alice registered.
	dataset: DidId,
	/// A model Alice controls.
	model: DidId,
	/// A patient twin (not a dataset).
	twin: DidId,
}

fn world() -> World {
	World {
		lab: create_did(&alice(), SubjectKind::Institution),
		other_lab: create_did(&bob(), SubjectKind::Institution),
		dataset: create_did(&alice(), SubjectKind::Dataset),
		model: create_did(&alice(), SubjectKind::Model),
		twin: create_did(&stranger(), SubjectKind::PatientTwin),
	}
}

fn hash(byte: u8) -> H256 {
	H256::repeat_byte(byte)
}

fn schema(tag: &str) -> BoundedVec<u8, frame_support::traits::ConstU32<16>> {
	BoundedVec::truncate_from(tag.as_bytes().to_vec())
}

fn inputs(inputs: &[Input]) -> BoundedVec<Input, frame_support::traits::ConstU32<MAX_INPUTS>> {
	BoundedVec::truncate_from(inputs.to_vec())
}

fn leaves(count: u8) -> MerkleInput<frame_support::traits::ConstU32<MAX_LEAVES>> {
	MerkleInput::Leaves(BoundedVec::truncate_from((0..count).map(hash).collect()))
}

/// A call of `commit` by `who` with everything but the kind, inputs and
/// Merkle tree fixed.
fn commit_as(
	who: &sp_runtime::AccountId32,
	committer: DidId,
	kind: twinnet_primitives::commitments::CommitmentKind,
	links: &[Input],
	merkle: Option<MerkleInput<frame_support::traits::ConstU32<MAX_LEAVES>>>,
) -> frame_support::dispatch::DispatchResult {
	Commitments::commit(
		RuntimeOrigin::signed(who.clone()),
		committer,
		kind,
		hash(0xaa),
		merkle,
		schema("nwb-2.7"),
		inputs(links),
		None,
	)
}

/// Alice's lab commits a snapshot of the dataset: commitment 0.
fn snapshot(world: &World) -> u64 {
	assert_ok!(commit_as(
		&alice(),
		world.lab,
		DatasetSnapshot,
		&[Input::Dataset(world.dataset)],
		None
	));
	0
}

fn held(who: &sp_runtime::AccountId32, reason: crate::HoldReason) -> u64 {
	Balances::balance_on_hold(&reason.into(), who)
}

fn last_event() -> Event<Test> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Commitments(event) => Some(event),
			_ => None,
		})
		.next_back()
		.expect("an event of pallet-commitments")
}

mod commit {
	use super::*;

	#[test]
	fn records_a_dataset_snapshot_with_its_deposit_and_index() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			let stored = Stored::<Test>::get(id).unwrap();
			assert_eq!(stored.kind, DatasetSnapshot);
			assert_eq!(stored.committer, world.lab);
			assert_eq!(stored.account, alice());
			assert_eq!(stored.status, CommitmentStatus::Standing);
			assert_eq!(stored.block, 1);
			assert!(stored.deposit > DEPOSIT_BASE);
			assert_eq!(held(&alice(), crate::HoldReason::CommitmentDeposit), stored.deposit);
			assert!(crate::ByCommitter::<Test>::contains_key(world.lab, id));
			assert_eq!(crate::NextCommitmentId::<Test>::get(), 1);
			assert_eq!(
				last_event(),
				Event::Committed {
					id,
					kind: DatasetSnapshot,
					committer: world.lab,
					account: alice(),
					hash: hash(0xaa),
					merkle: None,
					job_round: None,
					leaves_stored: 0,
				}
			);
		});
	}

	#[test]
	fn with_leaves_stores_them_computes_the_root_and_charges_for_them() {
		run_test(|| {
			let world = world();
			let links = [Input::Dataset(world.dataset)];
			assert_ok!(commit_as(&alice(), world.lab, DatasetSnapshot, &links, Some(leaves(5))));
			let stored = Stored::<Test>::get(0).unwrap();
			let expected =
				twinnet_merkle::root(&(0..5).map(|i| [i; 32]).collect::<Vec<_>>()).unwrap();
			assert_eq!(stored.merkle, Some(MerkleRoot { root: H256(expected), leaf_count: 5 }));
			assert_eq!(Commitments::stored_leaves(0).unwrap().len(), 5);
			assert_eq!(
				held(&alice(), crate::HoldReason::CommitmentDeposit),
				stored.deposit + 5 * 32 * DEPOSIT_PER_BYTE
			);
		});
	}

	#[test]
	fn by_a_model_in_a_job_round_is_indexed_by_job() {
		run_test(|| {
			let world = world();
			let round = JobRound { job: 7, round: 2 };
			KnownRounds::add(round);
			assert_ok!(Commitments::commit(
				RuntimeOrigin::signed(alice()),
				world.model,
				EvaluationMetric,
				hash(1),
				Some(MerkleInput::Root(MerkleRoot { root: hash(2), leaf_count: 1_000_000 })),
				schema("safetensors"),
				inputs(&[Input::Dataset(world.dataset)]),
				Some(round),
			));
			assert!(crate::ByJob::<Test>::contains_key(7, (2, 0)));
			assert_eq!(Commitments::by_job(7, None, 10), vec![(2, 0)]);
			assert_eq!(Commitments::stored_leaves(0), None);
		});
	}

	#[test]
	fn an_evaluation_links_the_model_it_evaluates() {
		run_test(|| {
			let world = world();
			let data = snapshot(&world);
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				EvaluationMetric,
				&[Input::Commitment(data), Input::Dataset(world.dataset)],
				None
			));
			assert_eq!(
				Stored::<Test>::get(1).unwrap().inputs.into_inner(),
				vec![Input::Commitment(0), Input::Dataset(world.dataset)]
			);
		});
	}

	#[test]
	fn needs_a_signed_origin() {
		run_test(|| {
			let world = world();
			assert_noop!(
				Commitments::commit(
					RuntimeOrigin::none(),
					world.lab,
					DatasetSnapshot,
					hash(1),
					None,
					schema("csv"),
					inputs(&[Input::Dataset(world.dataset)]),
					None
				),
				DispatchError::BadOrigin
			);
		});
	}

	#[test]
	fn by_someone_who_does_not_control_the_committer_fails() {
		run_test(|| {
			let world = world();
			let links = [Input::Dataset(world.dataset)];
			assert_noop!(
				commit_as(&bob(), world.lab, DatasetSnapshot, &links, None),
				Error::<Test>::NotAuthorized
			);
		});
	}

	#[test]
	fn by_an_unknown_or_wrong_kind_of_did_fails() {
		run_test(|| {
			let world = world();
			let links = [Input::Dataset(world.dataset)];
			assert_noop!(
				commit_as(&alice(), hash(9), DatasetSnapshot, &links, None),
				Error::<Test>::CommitterNotFound
			);
			assert_noop!(
				commit_as(&alice(), world.dataset, DatasetSnapshot, &links, None),
				Error::<Test>::InvalidCommitter
			);
			assert_noop!(
				commit_as(&stranger(), world.twin, DatasetSnapshot, &links, None),
				Error::<Test>::InvalidCommitter
			);
		});
	}

	#[test]
	fn of_a_zero_hash_fails() {
		run_test(|| {
			let world = world();
			assert_noop!(
				Commitments::commit(
					RuntimeOrigin::signed(alice()),
					world.lab,
					DatasetSnapshot,
					H256::zero(),
					None,
					schema("csv"),
					inputs(&[Input::Dataset(world.dataset)]),
					None
				),
				Error::<Test>::ZeroHash
			);
		});
	}

	#[test]
	fn with_a_malformed_schema_fails() {
		run_test(|| {
			let world = world();
			for bad in [&b""[..], b" csv", b"csv ", b"c\nsv", &[0xff]] {
				assert_noop!(
					Commitments::commit(
						RuntimeOrigin::signed(alice()),
						world.lab,
						DatasetSnapshot,
						hash(1),
						None,
						BoundedVec::truncate_from(bad.to_vec()),
						inputs(&[Input::Dataset(world.dataset)]),
						None
					),
					Error::<Test>::InvalidSchema
				);
			}
		});
	}

	#[test]
	fn without_inputs_or_with_one_twice_fails() {
		run_test(|| {
			let world = world();
			assert_noop!(
				commit_as(&alice(), world.lab, DatasetSnapshot, &[], None),
				Error::<Test>::NoInputs
			);
			let twice = [Input::Dataset(world.dataset), Input::Dataset(world.dataset)];
			assert_noop!(
				commit_as(&alice(), world.lab, DatasetSnapshot, &twice, None),
				Error::<Test>::DuplicateInput
			);
		});
	}

	#[test]
	fn linking_something_that_is_not_a_dataset_as_one_fails() {
		run_test(|| {
			let world = world();
			for not_a_dataset in [world.twin, world.lab, hash(9)] {
				assert_noop!(
					commit_as(
						&alice(),
						world.lab,
						DatasetSnapshot,
						&[Input::Dataset(not_a_dataset)],
						None
					),
					Error::<Test>::UnknownDataset
				);
			}
		});
	}

	#[test]
	fn a_commitment_cannot_link_itself_or_a_later_one() {
		run_test(|| {
			let world = world();
			snapshot(&world);
			// The next id is 1: linking 1 would be a self-loop, 2 a forward edge.
			for id in [1, 2, u64::MAX] {
				assert_noop!(
					commit_as(&alice(), world.lab, AggregatedModel, &[Input::Commitment(id)], None),
					Error::<Test>::UnknownInput
				);
			}
		});
	}

	#[test]
	fn of_a_fake_aggregate_or_update_of_a_job_round_fails_as_only_the_chain_commits_them() {
		run_test(|| {
			let world = world();
			let round = JobRound { job: 7, round: 0 };
			KnownRounds::add(round);
			for (committer, kind) in [
				(world.model, AggregatedModel),
				(world.lab, AggregatedModel),
				(world.model, ModelUpdate),
				(world.lab, ModelUpdate),
			] {
				assert_noop!(
					Commitments::commit(
						RuntimeOrigin::signed(alice()),
						committer,
						kind,
						hash(1),
						Some(leaves(2)),
						schema("fedavg-q15.16"),
						inputs(&[Input::Dataset(world.dataset)]),
						Some(round),
					),
					Error::<Test>::RoundModelByChainOnly
				);
			}
			// Outside a job round a model is anyone's to commit.
			assert_ok!(commit_as(
				&alice(),
				world.model,
				AggregatedModel,
				&[Input::Dataset(world.dataset)],
				None
			));
			assert!(Commitments::by_job(7, None, 10).is_empty());
		});
	}

	#[test]
	fn in_an_unknown_job_round_fails() {
		run_test(|| {
			let world = world();
			KnownRounds::add(JobRound { job: 7, round: 0 });
			assert_noop!(
				Commitments::commit(
					RuntimeOrigin::signed(alice()),
					world.lab,
					EvaluationMetric,
					hash(1),
					None,
					schema("csv"),
					inputs(&[Input::Dataset(world.dataset)]),
					Some(JobRound { job: 7, round: 1 })
				),
				Error::<Test>::UnknownJobRound
			);
		});
	}

	#[test]
	fn with_inputs_that_do_not_suit_the_kind_fails() {
		run_test(|| {
			let world = world();
			let data = snapshot(&world);
			assert_noop!(
				commit_as(&alice(), world.lab, DatasetSnapshot, &[Input::Commitment(data)], None),
				Error::<Test>::SnapshotOfNonDataset
			);
			assert_noop!(
				commit_as(
					&bob(),
					world.other_lab,
					Reproduction,
					&[Input::Dataset(world.dataset)],
					None
				),
				Error::<Test>::ReproductionWithoutOriginal
			);
		});
	}

	#[test]
	fn with_an_empty_merkle_tree_fails() {
		run_test(|| {
			let world = world();
			let links = [Input::Dataset(world.dataset)];
			let empty_root = MerkleInput::Root(MerkleRoot { root: hash(1), leaf_count: 0 });
			assert_noop!(
				commit_as(&alice(), world.lab, DatasetSnapshot, &links, Some(empty_root)),
				Error::<Test>::EmptyMerkleTree
			);
			assert_noop!(
				commit_as(&alice(), world.lab, DatasetSnapshot, &links, Some(leaves(0))),
				Error::<Test>::EmptyMerkleTree
			);
		});
	}

	#[test]
	fn without_the_deposit_fails() {
		run_test(|| {
			let world = world();
			let poor_lab = create_did(&poor(), SubjectKind::Institution);
			assert_noop!(
				commit_as(
					&poor(),
					poor_lab,
					DatasetSnapshot,
					&[Input::Dataset(world.dataset)],
					None
				),
				Error::<Test>::CannotPayDeposit
			);
		});
	}
}

mod attest {
	use super::*;

	fn attest_as(
		submitter: &sp_runtime::AccountId32,
		id: u64,
		attester: DidId,
		signer: &sp_runtime::AccountId32,
	) -> frame_support::dispatch::DispatchResult {
		let signature = attestation(signer, id, hash(0xaa), &attester, Statement::Reproduced);
		Commitments::attest(
			RuntimeOrigin::signed(submitter.clone()),
			id,
			attester,
			Statement::Reproduced,
			signature,
		)
	}

	#[test]
	fn records_another_institutions_signed_statement_submitted_by_anyone() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			// A relayer submits Bob's institution's signed statement.
			assert_ok!(attest_as(&stranger(), id, world.other_lab, &bob()));
			let attestation = crate::Attestations::<Test>::get(id, world.other_lab).unwrap();
			assert_eq!(attestation.statement, Statement::Reproduced);
			assert_eq!(attestation.submitter, stranger());
			assert_eq!(Stored::<Test>::get(id).unwrap().attestations, 1);
			assert_eq!(
				held(&stranger(), crate::HoldReason::AttestationDeposit),
				ATTESTATION_DEPOSIT
			);
			assert_eq!(
				last_event(),
				Event::Attested {
					id,
					attester: world.other_lab,
					statement: Statement::Reproduced,
					submitter: stranger()
				}
			);
		});
	}

	#[test]
	fn of_an_unknown_commitment_fails() {
		run_test(|| {
			let world = world();
			assert_noop!(attest_as(&bob(), 0, world.other_lab, &bob()), Error::<Test>::NotFound);
		});
	}

	#[test]
	fn needs_a_signed_origin() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			let signature =
				attestation(&bob(), id, hash(0xaa), &world.other_lab, Statement::Verified);
			assert_noop!(
				Commitments::attest(
					RuntimeOrigin::none(),
					id,
					world.other_lab,
					Statement::Verified,
					signature
				),
				DispatchError::BadOrigin
			);
		});
	}

	#[test]
	fn by_a_did_that_is_not_an_institution_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			let bobs_model = create_did(&bob(), SubjectKind::Model);
			assert_noop!(
				attest_as(&bob(), id, bobs_model, &bob()),
				Error::<Test>::AttesterNotInstitution
			);
		});
	}

	#[test]
	fn by_the_committer_itself_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_noop!(
				attest_as(&alice(), id, world.lab, &alice()),
				Error::<Test>::SelfAttestation
			);
		});
	}

	#[test]
	fn by_another_did_of_the_committing_account_fails() {
		run_test(|| {
			let world = world();
			// Alice commits as her model and would vouch for it as her lab.
			assert_ok!(commit_as(
				&alice(),
				world.model,
				ModelUpdate,
				&[Input::Dataset(world.dataset)],
				None
			));
			assert_noop!(
				attest_as(&stranger(), 0, world.lab, &alice()),
				Error::<Test>::SelfAttestation
			);
		});
	}

	#[test]
	fn twice_by_one_institution_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(attest_as(&bob(), id, world.other_lab, &bob()));
			assert_noop!(
				attest_as(&bob(), id, world.other_lab, &bob()),
				Error::<Test>::AlreadyAttested
			);
		});
	}

	#[test]
	fn by_throwaway_institutions_cannot_keep_a_genuine_attester_out() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			// A stranger attests with more throwaway institutions than a
			// view lists, each holding its deposit.
			let throwaway = crate::ATTESTATIONS_IN_VIEW + 4;
			for _ in 0..throwaway {
				let did = create_did(&stranger(), SubjectKind::Institution);
				assert_ok!(attest_as(&stranger(), id, did, &stranger()));
			}
			assert_eq!(
				held(&stranger(), crate::HoldReason::AttestationDeposit),
				u64::from(throwaway) * ATTESTATION_DEPOSIT
			);
			// The genuine attester is not refused, and is found by its DID.
			assert_ok!(attest_as(&bob(), id, world.other_lab, &bob()));
			assert_eq!(Stored::<Test>::get(id).unwrap().attestations, throwaway + 1);
			let found = Commitments::attestation(id, world.other_lab).expect("found");
			assert_eq!((found.statement, found.submitter), (Statement::Reproduced, bob()));
			assert_eq!(Commitments::attestation(id, world.lab), None);
			// The view lists the first ones; pages list each exactly once.
			let view = Commitments::view(id).unwrap();
			assert_eq!(
				view.attestations,
				Commitments::attestations(id, None, crate::ATTESTATIONS_IN_VIEW)
			);
			let mut paged = Vec::new();
			let mut after = None;
			// Each page starts strictly after its cursor: four pages of 7.
			for _ in 0..5 {
				let page = Commitments::attestations(id, after, 7);
				assert!(page.len() <= 7);
				let Some(last) = page.last() else { break };
				after = Some(last.attester);
				paged.extend(page.into_iter().map(|a| a.attester));
			}
			assert_eq!(paged.len() as u32, throwaway + 1);
			paged.sort();
			paged.dedup();
			assert_eq!(paged.len() as u32, throwaway + 1);
			assert!(paged.contains(&world.other_lab));
		});
	}

	#[test]
	fn signed_by_a_key_the_attester_does_not_hold_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			// Charlie signs as if he were Bob's institution.
			assert_noop!(
				attest_as(&charlie(), id, world.other_lab, &charlie()),
				Error::<Test>::BadSignature
			);
		});
	}

	#[test]
	fn a_signature_cannot_be_replayed_on_another_commitment_or_statement() {
		run_test(|| {
			let world = world();
			let first = snapshot(&world);
			let second = snapshot(&world) + 1;
			let signature =
				attestation(&bob(), first, hash(0xaa), &world.other_lab, Statement::Reproduced);
			// The same hash, another id.
			assert_noop!(
				Commitments::attest(
					RuntimeOrigin::signed(bob()),
					second,
					world.other_lab,
					Statement::Reproduced,
					signature.clone()
				),
				Error::<Test>::BadSignature
			);
			// The same commitment, a stronger-sounding statement.
			assert_noop!(
				Commitments::attest(
					RuntimeOrigin::signed(bob()),
					first,
					world.other_lab,
					Statement::Verified,
					signature
				),
				Error::<Test>::BadSignature
			);
		});
	}

	#[test]
	fn an_attesters_key_without_assertion_method_does_not_count() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			// An institution whose only key serves authentication.
			let lab = pallet_twins::Pallet::<Test>::do_create(
				charlie(),
				SubjectKind::Institution,
				None,
				BoundedVec::truncate_from(vec![pallet_twins::VerificationMethod {
					fragment: BoundedVec::truncate_from(b"key-1".to_vec()),
					key: twinnet_primitives::did::PublicKey::Sr25519(key_of(&charlie()).public().0),
					relationships: twinnet_primitives::did::Relationships {
						authentication: true,
						..Default::default()
					},
				}]),
			)
			.unwrap();
			assert_noop!(attest_as(&charlie(), id, lab, &charlie()), Error::<Test>::BadSignature);
		});
	}

	#[test]
	fn without_the_deposit_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_noop!(
				attest_as(&poor(), id, world.other_lab, &bob()),
				Error::<Test>::CannotPayDeposit
			);
		});
	}

	#[test]
	fn of_a_refuted_commitment_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(Commitments::dispute(RuntimeOrigin::signed(stranger()), id, hash(7)));
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Upheld));
			assert_noop!(attest_as(&bob(), id, world.other_lab, &bob()), Error::<Test>::Refuted);
		});
	}
}

mod disputes {
	use super::*;

	fn dispute_by(
		who: &sp_runtime::AccountId32,
		id: u64,
	) -> frame_support::dispatch::DispatchResult {
		Commitments::dispute(RuntimeOrigin::signed(who.clone()), id, hash(7))
	}

	/// Alice's counter-commitment to commitment `id`: the next id.
	fn counter(world: &World, id: u64) -> u64 {
		assert_ok!(commit_as(&alice(), world.lab, Reproduction, &[Input::Commitment(id)], None));
		crate::NextCommitmentId::<Test>::get() - 1
	}

	#[test]
	fn anyone_disputes_within_the_window_for_a_bond() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			System::set_block_number(1 + DISPUTE_WINDOW);
			assert_ok!(dispute_by(&stranger(), id));
			assert_eq!(Stored::<Test>::get(id).unwrap().status, CommitmentStatus::Disputed(0));
			assert_eq!(held(&stranger(), crate::HoldReason::DisputeBond), DISPUTE_BOND);
			assert_eq!(crate::OpenDisputesAgainst::<Test>::get(world.lab), 1);
			assert_eq!(
				last_event(),
				Event::Disputed { dispute: 0, id, disputer: stranger(), reason: hash(7) }
			);
		});
	}

	#[test]
	fn after_the_window_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			System::set_block_number(2 + DISPUTE_WINDOW);
			assert_noop!(dispute_by(&stranger(), id), Error::<Test>::DisputeWindowClosed);
		});
	}

	#[test]
	fn of_an_unknown_commitment_or_unsigned_fails() {
		run_test(|| {
			let world = world();
			assert_noop!(dispute_by(&stranger(), 0), Error::<Test>::NotFound);
			let id = snapshot(&world);
			assert_noop!(
				Commitments::dispute(RuntimeOrigin::none(), id, hash(7)),
				DispatchError::BadOrigin
			);
		});
	}

	#[test]
	fn while_another_is_open_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			assert_noop!(dispute_by(&bob(), id), Error::<Test>::AlreadyDisputed);
		});
	}

	#[test]
	fn without_the_bond_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_noop!(dispute_by(&poor(), id), Error::<Test>::CannotPayBond);
		});
	}

	#[test]
	fn the_committer_answers_with_a_counter_commitment() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			let counter = counter(&world, id);
			assert_ok!(Commitments::answer(RuntimeOrigin::signed(alice()), 0, counter));
			assert_eq!(
				crate::Disputes::<Test>::get(0).unwrap().state,
				crate::DisputeState::Answered(counter)
			);
			assert_eq!(last_event(), Event::Answered { dispute: 0, id, counter });
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(alice()), 0, counter),
				Error::<Test>::AlreadyAnswered
			);
		});
	}

	#[test]
	fn only_the_committer_answers() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			let counter = counter(&world, id);
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(bob()), 0, counter),
				Error::<Test>::NotAuthorized
			);
			assert_noop!(
				Commitments::answer(RuntimeOrigin::none(), 0, counter),
				DispatchError::BadOrigin
			);
		});
	}

	#[test]
	fn an_answer_must_be_the_committers_and_link_the_disputed_commitment() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(alice()), 1, 0),
				Error::<Test>::DisputeNotFound
			);
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(alice()), 0, 5),
				Error::<Test>::NotFound
			);
			// Bob's reproduction links it, but is not the committer's.
			assert_ok!(commit_as(
				&bob(),
				world.other_lab,
				Reproduction,
				&[Input::Commitment(id)],
				None
			));
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(alice()), 0, 1),
				Error::<Test>::CounterNotByCommitter
			);
			// Alice's other snapshot does not link it.
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				DatasetSnapshot,
				&[Input::Dataset(world.dataset)],
				None
			));
			assert_noop!(
				Commitments::answer(RuntimeOrigin::signed(alice()), 0, 2),
				Error::<Test>::CounterDoesNotLink
			);
		});
	}

	#[test]
	fn upheld_returns_the_bond_and_refutes_the_commitment_for_good() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Upheld));
			assert_eq!(Stored::<Test>::get(id).unwrap().status, CommitmentStatus::Refuted);
			assert_eq!(held(&stranger(), crate::HoldReason::DisputeBond), 0);
			assert_eq!(Balances::balance(&stranger()), INITIAL_BALANCE - 1);
			assert_eq!(crate::OpenDisputesAgainst::<Test>::get(world.lab), 0);
			assert!(crate::Disputes::<Test>::get(0).is_none());
			assert_eq!(
				last_event(),
				Event::DisputeResolved {
					dispute: 0,
					id,
					verdict: Verdict::Upheld,
					disputer: stranger(),
					bond: DISPUTE_BOND
				}
			);
			assert_noop!(dispute_by(&bob(), id), Error::<Test>::Refuted);
		});
	}

	#[test]
	fn rejected_burns_the_bond_and_the_commitment_stands() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			let issuance = Balances::total_issuance();
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Rejected));
			assert_eq!(Stored::<Test>::get(id).unwrap().status, CommitmentStatus::Standing);
			assert_eq!(Balances::total_issuance(), issuance - DISPUTE_BOND);
			// stranger paid 1 for the twin's DID deposit in `world`.
			assert_eq!(Balances::balance(&stranger()), INITIAL_BALANCE - 1 - DISPUTE_BOND);
			// Within the window, someone else may dispute it again.
			assert_ok!(dispute_by(&bob(), id));
		});
	}

	#[test]
	fn a_rejected_dispute_restarts_the_window_so_a_sham_one_cannot_run_it_out() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			// An ally of the committer disputes at once and lets the window run out.
			assert_ok!(dispute_by(&stranger(), id));
			let resolved_at = 5 + DISPUTE_WINDOW;
			System::set_block_number(resolved_at);
			assert_noop!(dispute_by(&bob(), id), Error::<Test>::AlreadyDisputed);
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Rejected));
			assert_eq!(crate::WindowRestartedAt::<Test>::get(id), Some(resolved_at));
			// A full window from the resolution: the real challenger disputes...
			System::set_block_number(resolved_at + DISPUTE_WINDOW);
			assert_ok!(dispute_by(&bob(), id));
			// ...and once it is upheld, nothing is left to restart.
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 1, Verdict::Upheld));
			assert_eq!(crate::WindowRestartedAt::<Test>::get(id), None);
		});
	}

	#[test]
	fn after_a_restarted_window_fails() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			System::set_block_number(10);
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Rejected));
			System::set_block_number(11 + DISPUTE_WINDOW);
			assert_noop!(dispute_by(&bob(), id), Error::<Test>::DisputeWindowClosed);
		});
	}

	#[test]
	fn only_the_resolve_origin_resolves() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			for who in [alice(), stranger()] {
				assert_noop!(
					Commitments::resolve(RuntimeOrigin::signed(who), 0, Verdict::Upheld),
					DispatchError::BadOrigin
				);
			}
			assert_noop!(
				Commitments::resolve(RuntimeOrigin::root(), 1, Verdict::Upheld),
				Error::<Test>::DisputeNotFound
			);
		});
	}

	#[test]
	fn a_committer_cannot_escape_an_open_dispute_by_deactivating() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			assert_ok!(dispute_by(&stranger(), id));
			assert_noop!(
				Twins::deactivate(RuntimeOrigin::signed(alice()), world.lab),
				Error::<Test>::OpenDisputes
			);
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Rejected));
			assert_ok!(Twins::deactivate(RuntimeOrigin::signed(alice()), world.lab));
		});
	}
}

mod prune_leaves {
	use super::*;

	fn model_update(world: &World) -> u64 {
		assert_ok!(commit_as(
			&alice(),
			world.model,
			ModelUpdate,
			&[Input::Dataset(world.dataset)],
			Some(leaves(4))
		));
		0
	}

	#[test]
	fn after_the_retention_anyone_prunes_a_model_updates_leaves() {
		run_test(|| {
			let world = world();
			let id = model_update(&world);
			let root = Stored::<Test>::get(id).unwrap().merkle;
			let before = held(&alice(), crate::HoldReason::CommitmentDeposit);
			System::set_block_number(1 + LEAF_RETENTION);
			assert_ok!(Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id));
			assert_eq!(Commitments::stored_leaves(id), None);
			assert_eq!(Stored::<Test>::get(id).unwrap().merkle, root, "the root stays");
			let refunded = 4 * 32 * DEPOSIT_PER_BYTE;
			assert_eq!(held(&alice(), crate::HoldReason::CommitmentDeposit), before - refunded);
			assert_eq!(last_event(), Event::LeavesPruned { id, refunded });
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id),
				Error::<Test>::NoStoredLeaves
			);
		});
	}

	#[test]
	fn before_the_retention_ends_fails() {
		run_test(|| {
			let world = world();
			let id = model_update(&world);
			System::set_block_number(LEAF_RETENTION);
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id),
				Error::<Test>::RetentionNotOver
			);
		});
	}

	#[test]
	fn while_the_commitment_is_disputed_fails() {
		run_test(|| {
			let world = world();
			let id = model_update(&world);
			assert_ok!(Commitments::dispute(RuntimeOrigin::signed(stranger()), id, hash(7)));
			System::set_block_number(1 + LEAF_RETENTION);
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id),
				Error::<Test>::UnderDispute
			);
			assert_ok!(Commitments::resolve(RuntimeOrigin::root(), 0, Verdict::Rejected));
			assert_ok!(Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id));
		});
	}

	#[test]
	fn of_other_kinds_fails_their_leaves_are_kept_forever() {
		run_test(|| {
			let world = world();
			let links = [Input::Dataset(world.dataset)];
			assert_ok!(commit_as(&alice(), world.lab, DatasetSnapshot, &links, Some(leaves(2))));
			System::set_block_number(1 + LEAF_RETENTION);
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), 0),
				Error::<Test>::LeavesKeptForever
			);
		});
	}

	#[test]
	fn of_unknown_or_leafless_commitments_or_unsigned_fails() {
		run_test(|| {
			let world = world();
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), 0),
				Error::<Test>::NotFound
			);
			let id = snapshot(&world);
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::signed(stranger()), id),
				Error::<Test>::NoStoredLeaves
			);
			assert_noop!(
				Commitments::prune_leaves(RuntimeOrigin::none(), id),
				DispatchError::BadOrigin
			);
		});
	}
}

mod reads {
	use super::*;
	use twinnet_primitives::commitments::ProvenanceNode;

	#[test]
	fn provenance_walks_inputs_back_to_datasets_within_the_depth() {
		run_test(|| {
			let world = world();
			let data = snapshot(&world);
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				AggregatedModel,
				&[Input::Commitment(data)],
				None
			));
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				EvaluationMetric,
				&[Input::Commitment(1)],
				None
			));
			let (nodes, truncated) = Commitments::provenance(2, 10, 100);
			assert!(!truncated);
			let standing = |kind| Some((kind, CommitmentStatus::Standing, 0));
			assert_eq!(
				nodes,
				vec![
					(
						ProvenanceNode {
							node: Input::Commitment(2),
							depth: 0,
							inputs: vec![Input::Commitment(1)]
						},
						standing(EvaluationMetric)
					),
					(
						ProvenanceNode {
							node: Input::Commitment(1),
							depth: 1,
							inputs: vec![Input::Commitment(0)]
						},
						standing(AggregatedModel)
					),
					(
						ProvenanceNode {
							node: Input::Commitment(0),
							depth: 2,
							inputs: vec![Input::Dataset(world.dataset)]
						},
						standing(DatasetSnapshot)
					),
					(
						ProvenanceNode {
							node: Input::Dataset(world.dataset),
							depth: 3,
							inputs: vec![]
						},
						None
					),
				]
			);
			let (nodes, truncated) = Commitments::provenance(2, 1, 100);
			assert!(truncated, "commitment 1 has inputs past the depth");
			assert_eq!(nodes.len(), 2);
			let (nodes, truncated) = Commitments::provenance(2, 10, 3);
			assert!(truncated);
			assert_eq!(nodes.len(), 3);
		});
	}

	#[test]
	fn a_shared_input_appears_once_in_the_provenance() {
		run_test(|| {
			let world = world();
			let data = snapshot(&world);
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				AggregatedModel,
				&[Input::Commitment(data)],
				None
			));
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				EvaluationMetric,
				&[Input::Commitment(1), Input::Commitment(data)],
				None
			));
			let (nodes, _) = Commitments::provenance(2, 10, 100);
			assert_eq!(nodes.len(), 4, "{nodes:?}");
		});
	}

	#[test]
	fn a_provenance_summary_shows_status_and_attestations_and_an_unknown_id_has_none() {
		run_test(|| {
			let world = world();
			let data = snapshot(&world);
			assert_ok!(commit_as(
				&alice(),
				world.lab,
				AggregatedModel,
				&[Input::Commitment(data)],
				None
			));
			let signature =
				attestation(&bob(), data, hash(0xaa), &world.other_lab, Statement::Verified);
			assert_ok!(Commitments::attest(
				RuntimeOrigin::signed(bob()),
				data,
				world.other_lab,
				Statement::Verified,
				signature
			));
			assert_ok!(Commitments::dispute(RuntimeOrigin::signed(stranger()), 1, hash(7)));
			let (nodes, _) = Commitments::provenance(1, 10, 100);
			let summaries: Vec<_> = nodes.iter().map(|(_, summary)| *summary).collect();
			assert_eq!(
				summaries,
				vec![
					Some((AggregatedModel, CommitmentStatus::Disputed(0), 0)),
					Some((DatasetSnapshot, CommitmentStatus::Standing, 1)),
					None,
				]
			);
			let (nodes, truncated) = Commitments::provenance(9, 10, 100);
			assert!(!truncated);
			assert_eq!(
				nodes,
				vec![(
					ProvenanceNode { node: Input::Commitment(9), depth: 0, inputs: vec![] },
					None
				)]
			);
		});
	}

	#[test]
	fn lists_by_committer_are_paged() {
		run_test(|| {
			let world = world();
			for _ in 0..5 {
				snapshot(&world);
			}
			let first = Commitments::by_committer(world.lab, None, 3);
			assert_eq!(first.len(), 3);
			let rest = Commitments::by_committer(world.lab, first.last().copied(), 3);
			assert_eq!(rest.len(), 2);
			let mut all = [first, rest].concat();
			all.sort();
			assert_eq!(all, vec![0, 1, 2, 3, 4]);
		});
	}

	#[test]
	fn a_view_shows_attestations_and_the_open_dispute() {
		run_test(|| {
			let world = world();
			let id = snapshot(&world);
			let signature =
				attestation(&bob(), id, hash(0xaa), &world.other_lab, Statement::Verified);
			assert_ok!(Commitments::attest(
				RuntimeOrigin::signed(bob()),
				id,
				world.other_lab,
				Statement::Verified,
				signature
			));
			assert_ok!(Commitments::dispute(RuntimeOrigin::signed(stranger()), id, hash(7)));
			let view = Commitments::view(id).unwrap();
			assert_eq!(view.attestations.len(), 1);
			assert_eq!(view.attestations[0].attester, world.other_lab);
			let dispute = view.dispute.unwrap();
			assert_eq!((dispute.id, dispute.disputer, dispute.answer), (0, stranger(), None));
			assert_eq!(Commitments::view(9), None);
		});
	}
}

// ---- commitments of released training aggregates ---------------------------

fn round_aggregate(world: &World, updates: u8) -> twinnet_primitives::commitments::RoundAggregate {
	twinnet_primitives::commitments::RoundAggregate {
		round: JobRound { job: 4, round: 2 },
		model: world.model,
		aggregate: hash(0x42),
		updates: (1..=updates).map(hash).collect(),
		inputs: vec![Input::Dataset(world.dataset)],
	}
}

#[test]
fn a_released_aggregate_is_committed_as_its_model_with_the_updates_as_leaves() {
	use twinnet_primitives::commitments::{CommitmentKind, RoundCommitments};
	run_test(|| {
		let world = world();
		KnownRounds::add(JobRound { job: 4, round: 2 });
		let before = held(&charlie(), crate::HoldReason::CommitmentDeposit);
		let id = <Commitments as RoundCommitments<_, _>>::commit_aggregate(
			&charlie(),
			round_aggregate(&world, 3),
		)
		.expect("committed");
		let record = Stored::<Test>::get(id).expect("stored");
		assert_eq!(record.kind, CommitmentKind::AggregatedModel);
		assert_eq!(record.committer, world.model);
		assert_eq!(record.account, charlie());
		assert_eq!(record.hash, hash(0x42));
		assert_eq!(record.job_round, Some(JobRound { job: 4, round: 2 }));
		assert_eq!(record.schema.to_vec(), crate::AGGREGATE_SCHEMA.to_vec());
		// The root is the Merkle tree of the update hashes, whose leaves are
		// stored for proofs.
		let leaves: Vec<[u8; 32]> =
			(1..=3).map(|b| twinnet_merkle::leaf_hash(hash(b).as_bytes())).collect();
		let root = record.merkle.expect("a root");
		assert_eq!(root.root.0, twinnet_merkle::root_of_hashes(&leaves).unwrap());
		assert_eq!(root.leaf_count, 3);
		assert_eq!(Commitments::stored_leaves(id), Some((1..=3).map(hash).collect()));
		// The job's round deposit pays for it: nothing is held here, and
		// what the job paid is at least what a signed commitment of the
		// same record and leaves holds.
		assert_eq!(held(&charlie(), crate::HoldReason::CommitmentDeposit), before);
		assert_eq!(record.deposit, 0);
		let signed = DEPOSIT_BASE + DEPOSIT_PER_BYTE * (record.encoded_size() as u64 + 3 * 32);
		let paid = <Commitments as RoundCommitments<_, _>>::aggregate_deposit(3);
		assert!(paid >= signed, "{paid} paid for {signed}");
		assert!(Commitments::by_job(4, None, 10)
			.iter()
			.any(|(round, listed)| *round == 2 && *listed == id));
	});
}

#[test]
fn only_the_commitment_the_round_records_is_shown_as_made_by_the_chain() {
	use twinnet_primitives::commitments::RoundCommitments;
	run_test(|| {
		let world = world();
		let round = JobRound { job: 4, round: 2 };
		KnownRounds::add(round);
		let id = <Commitments as RoundCommitments<_, _>>::commit_aggregate(
			&charlie(),
			round_aggregate(&world, 3),
		)
		.expect("committed");
		// A signed evaluation of the same round, by the same model.
		assert_ok!(Commitments::commit(
			RuntimeOrigin::signed(alice()),
			world.model,
			EvaluationMetric,
			hash(0x42),
			None,
			schema("metrics/v1"),
			inputs(&[Input::Commitment(id)]),
			Some(round),
		));
		let evaluation = id + 1;
		// Until the federated pallet records it, no commitment is the chain's.
		assert!(!Commitments::made_by_chain(id));
		KnownRounds::record_aggregate(round, id);
		assert!(Commitments::made_by_chain(id));
		assert!(!Commitments::made_by_chain(evaluation));
		assert!(!Commitments::made_by_chain(evaluation + 1));
		let mut listed = Commitments::by_job(4, None, 10);
		listed.sort();
		assert_eq!(listed, vec![(2, id), (2, evaluation)]);
	});
}

#[test]
fn an_aggregate_commitment_needs_a_model_a_known_round_and_bounded_parts() {
	use twinnet_primitives::commitments::RoundCommitments;
	run_test(|| {
		let world = world();
		let commit = |aggregate| {
			<Commitments as RoundCommitments<_, _>>::commit_aggregate(&charlie(), aggregate)
		};
		// The round must exist.
		assert_noop!(commit(round_aggregate(&world, 1)), Error::<Test>::UnknownJobRound);
		KnownRounds::add(JobRound { job: 4, round: 2 });
		// An institution (or anything but a Model DID) is not the committer.
		let mut by_lab = round_aggregate(&world, 1);
		by_lab.model = world.lab;
		assert_noop!(commit(by_lab), Error::<Test>::InvalidCommitter);
		assert_noop!(
			commit(round_aggregate(&world, MAX_LEAVES as u8 + 1)),
			Error::<Test>::MaxLeavesExceeded
		);
		let mut crowded = round_aggregate(&world, 1);
		crowded.inputs = (0..=MAX_INPUTS as u64).map(Input::Commitment).collect();
		assert_noop!(commit(crowded), Error::<Test>::MaxInputsExceeded);
		// No datasets or earlier commitment: nothing to trace it to.
		let mut orphan = round_aggregate(&world, 1);
		orphan.inputs.clear();
		assert_noop!(commit(orphan), Error::<Test>::NoInputs);
	});
}

#[test]
fn datasets_and_a_model_deactivated_since_the_job_was_posted_cannot_stop_the_chains_commitment() {
	use twinnet_primitives::commitments::RoundCommitments;
	run_test(|| {
		let world = world();
		KnownRounds::add(JobRound { job: 4, round: 2 });
		assert_ok!(Twins::deactivate(RuntimeOrigin::signed(alice()), world.dataset));
		assert_ok!(Twins::deactivate(RuntimeOrigin::signed(alice()), world.model));
		// A signer may no longer name the dataset ...
		assert_noop!(
			commit_as(
				&alice(),
				world.lab,
				EvaluationMetric,
				&[Input::Dataset(world.dataset)],
				None
			),
			Error::<Test>::UnknownDataset
		);
		// ... but the round's aggregate records what the job was computed from.
		let id = <Commitments as RoundCommitments<_, _>>::commit_aggregate(
			&charlie(),
			round_aggregate(&world, 2),
		)
		.expect("committed");
		let record = Stored::<Test>::get(id).unwrap();
		assert_eq!(record.committer, world.model);
		assert_eq!(record.inputs.to_vec(), vec![Input::Dataset(world.dataset)]);
	});
}
