//! Benchmarks of pallet-commitments, each in its worst case: the most
//! inputs, each a Dataset DID to look up, a job round to index and the most
//! leaves to hash and store; attestations checked against the attester's
//! DID keys; disputes answered and resolved with their counters updated.

use super::*;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, EnsureOrigin, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::traits::{Bounded, Saturating};
use twinnet_primitives::commitments::JobRounds;

/// Funds `who` richly, but so that the issuance of a thousand funded
/// accounts does not overflow (minting beyond it would fund nobody).
fn funded<T: Config>(who: &T::AccountId) {
	T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 1024u32.into());
}

/// An account with funds.
fn account_with_funds<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who = account(name, index, 0);
	funded::<T>(&who);
	who
}

/// An Institution DID controlled by a funded account.
fn institution<T: Config>(name: &'static str) -> (T::AccountId, DidId) {
	let controller = account_with_funds::<T>(name, 0);
	let did = T::BenchmarkHelper::create_did(&controller, SubjectKind::Institution);
	(controller, did)
}

/// `count` inputs, each a distinct Dataset DID.
fn dataset_inputs<T: Config>(controller: &T::AccountId, count: u32) -> Inputs<T> {
	let inputs: Vec<Input> = (0..count)
		.map(|_| Input::Dataset(T::BenchmarkHelper::create_did(controller, SubjectKind::Dataset)))
		.collect();
	BoundedVec::truncate_from(inputs)
}

/// The `index`th distinct leaf of a benchmark tree.
fn leaf(index: u32) -> H256 {
	H256(sp_io::hashing::blake2_256(&index.to_le_bytes()))
}

fn schema<T: Config>() -> SchemaTag<T> {
	let length = T::MaxSchemaLength::get() as usize;
	BoundedVec::truncate_from(vec![b'a'; length])
}

/// A commitment by `committer` (controlled by `controller`) of `kind` with
/// `leaves` stored leaves and one dataset input; returns its id.
fn committed<T: Config>(
	controller: &T::AccountId,
	committer: DidId,
	kind: CommitmentKind,
	inputs: Inputs<T>,
	leaves: u32,
) -> CommitmentId {
	let id = NextCommitmentId::<T>::get();
	let merkle = (leaves > 0)
		.then(|| MerkleInput::Leaves(BoundedVec::truncate_from((0..leaves).map(leaf).collect())));
	let result = Pallet::<T>::commit(
		RawOrigin::Signed(controller.clone()).into(),
		committer,
		kind,
		H256::repeat_byte(0xaa),
		merkle,
		schema::<T>(),
		inputs,
		None,
	);
	assert!(result.is_ok(), "benchmark setup: commit {result:?}");
	id
}

/// A dataset snapshot by a fresh institution, disputed by a fresh account:
/// (committer's controller, committer, commitment, dispute, disputer).
fn disputed<T: Config>() -> (T::AccountId, DidId, CommitmentId, DisputeId, T::AccountId) {
	let (controller, lab) = institution::<T>("committer");
	let inputs = dataset_inputs::<T>(&controller, 1);
	let id = committed::<T>(&controller, lab, CommitmentKind::DatasetSnapshot, inputs, 0);
	let disputer = account_with_funds::<T>("disputer", 0);
	let dispute = NextDisputeId::<T>::get();
	let result =
		Pallet::<T>::dispute(RawOrigin::Signed(disputer.clone()).into(), id, H256::repeat_byte(7));
	assert!(result.is_ok(), "benchmark setup: dispute {result:?}");
	(controller, lab, id, dispute, disputer)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn commit(i: Linear<1, { T::MaxInputs::get() }>, l: Linear<0, { T::MaxStoredLeaves::get() }>) {
		let controller = account_with_funds::<T>("committer", 0);
		let model = T::BenchmarkHelper::create_did(&controller, SubjectKind::Model);
		let inputs = dataset_inputs::<T>(&controller, i);
		// A runtime without job rounds cannot index a commit by job.
		let round = JobRound { job: 1, round: 0 };
		T::BenchmarkHelper::create_job_round(&round);
		let job_round = T::Jobs::exists(&round).then_some(round);
		let merkle = (l > 0)
			.then(|| MerkleInput::Leaves(BoundedVec::truncate_from((0..l).map(leaf).collect())));

		#[extrinsic_call]
		_(
			RawOrigin::Signed(controller),
			model,
			CommitmentKind::EvaluationMetric,
			H256::repeat_byte(0xaa),
			merkle,
			schema::<T>(),
			inputs,
			job_round,
		);

		assert_eq!(ByJob::<T>::contains_key(1, (0, 0)), job_round.is_some());
		assert_eq!(Leaves::<T>::get(0).map_or(0, |record| record.leaves.len() as u32), l);
	}

	#[benchmark]
	fn attest() {
		let (controller, lab) = institution::<T>("committer");
		let inputs = dataset_inputs::<T>(&controller, 1);
		let id = committed::<T>(&controller, lab, CommitmentKind::DatasetSnapshot, inputs, 0);
		// Others already attested it (the cost does not grow with them).
		for index in 1..4 {
			let attester_controller = account_with_funds::<T>("attester", index);
			let attester =
				T::BenchmarkHelper::create_did(&attester_controller, SubjectKind::Institution);
			let message = attestation_message(
				Pallet::<T>::genesis_hash(),
				id,
				H256::repeat_byte(0xaa),
				&attester,
				Statement::Verified,
			);
			let signature = T::BenchmarkHelper::sign(&attester_controller, &message);
			let result = Pallet::<T>::attest(
				RawOrigin::Signed(attester_controller).into(),
				id,
				attester,
				Statement::Verified,
				signature,
			);
			assert!(result.is_ok(), "benchmark setup: attest {result:?}");
		}
		let (attester_controller, attester) = institution::<T>("last attester");
		let message = attestation_message(
			Pallet::<T>::genesis_hash(),
			id,
			H256::repeat_byte(0xaa),
			&attester,
			Statement::Reproduced,
		);
		let signature = T::BenchmarkHelper::sign(&attester_controller, &message);
		let submitter = account_with_funds::<T>("submitter", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(submitter), id, attester, Statement::Reproduced, signature);

		assert!(Attestations::<T>::contains_key(id, attester));
	}

	#[benchmark]
	fn dispute() {
		let (controller, lab) = institution::<T>("committer");
		let inputs = dataset_inputs::<T>(&controller, 1);
		let id = committed::<T>(&controller, lab, CommitmentKind::DatasetSnapshot, inputs, 0);
		let disputer = account_with_funds::<T>("disputer", 0);
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number().saturating_add(T::DisputeWindow::get()),
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(disputer), id, H256::repeat_byte(7));

		assert_eq!(OpenDisputesAgainst::<T>::get(lab), 1);
	}

	#[benchmark]
	fn answer() {
		let (controller, lab, id, dispute_id, _) = disputed::<T>();
		let counter = committed::<T>(
			&controller,
			lab,
			CommitmentKind::Reproduction,
			BoundedVec::truncate_from(vec![Input::Commitment(id)]),
			0,
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(controller), dispute_id, counter);

		assert_eq!(
			Disputes::<T>::get(dispute_id).map(|d| d.state),
			Some(DisputeState::Answered(counter))
		);
	}

	#[benchmark]
	fn resolve() -> Result<(), BenchmarkError> {
		let (_, lab, id, dispute_id, _) = disputed::<T>();
		let origin =
			T::ResolveOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, dispute_id, Verdict::Rejected);

		assert_eq!(Commitments::<T>::get(id).map(|c| c.status), Some(CommitmentStatus::Standing));
		assert_eq!(OpenDisputesAgainst::<T>::get(lab), 0);
		Ok(())
	}

	#[benchmark]
	fn prune_leaves(l: Linear<1, { T::MaxStoredLeaves::get() }>) {
		let controller = account_with_funds::<T>("committer", 0);
		let model = T::BenchmarkHelper::create_did(&controller, SubjectKind::Model);
		let inputs = dataset_inputs::<T>(&controller, 1);
		let id = committed::<T>(&controller, model, CommitmentKind::ModelUpdate, inputs, l);
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number().saturating_add(T::LeafRetention::get()),
		);
		let caller = account_with_funds::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(!Leaves::<T>::contains_key(id));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
