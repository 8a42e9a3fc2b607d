//! Storage migrations of pallet-federated (the pattern is described in
//! pallet-twins' `migrations` module): [`MigrateToV1`].

use codec::{Decode, Encode};
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::H256;
use sp_runtime::traits::{One, Saturating};
use twinnet_primitives::{
	commitments::CommitmentId,
	consent::{PrivacyBudget, Purpose},
	did::DidId,
	federated::{JobState, ModelKind, RoundOutcome, Training},
};

use crate::{
	BalanceOf, Config, Contribution, DatasetLicence, JobOf, Jobs, Pallet, Participant, RoundOf,
	Rounds, UpdateOf, Updates,
};

/// The layout of storage version 0, before secure aggregation.
pub mod v0 {
	use super::*;

	/// A job specification of version 0: no masking.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct JobSpec<T: Config> {
		pub model: ModelKind,
		pub model_did: Option<DidId>,
		pub datasets: BoundedVec<DatasetLicence, T::MaxDatasets>,
		pub code_hash: H256,
		pub purpose: Purpose,
		pub rounds: u32,
		pub min_participants: u32,
		pub round_timeout: BlockNumberFor<T>,
		pub max_retries: u32,
		pub training: Training,
		pub per_round: PrivacyBudget,
		pub reward_per_update: BalanceOf<T>,
	}

	/// A job of version 0.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct Job<T: Config> {
		pub researcher: T::AccountId,
		pub spec: JobSpec<T>,
		pub participants: BoundedVec<Participant<T::AccountId>, T::MaxDatasets>,
		pub state: JobState<BlockNumberFor<T>>,
		pub next_round: u32,
		pub completed_rounds: u32,
		pub failed_in_a_row: u32,
		pub escrow: BalanceOf<T>,
		pub deposit: BalanceOf<T>,
		pub created_at: BlockNumberFor<T>,
		pub last_commitment: Option<CommitmentId>,
	}

	/// A round of version 0: no secure-aggregation record.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct Round<T: Config> {
		pub opened_at: BlockNumberFor<T>,
		pub deadline: BlockNumberFor<T>,
		pub start_model: H256,
		pub expected: BoundedVec<DidId, T::MaxDatasets>,
		pub reporters: BoundedVec<DidId, T::MaxDatasets>,
		pub admitted_twins: u32,
		pub excluded_twins: u32,
		pub outcome: RoundOutcome,
		pub commitment: Option<CommitmentId>,
	}

	/// An update of version 0: always a model.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct Update<T: Config> {
		pub records: u32,
		pub parameters: BoundedVec<i32, T::MaxParameters>,
	}

	impl<T: Config> Job<T> {
		/// The same job, unmasked.
		pub fn upgrade(self) -> JobOf<T> {
			let spec = self.spec;
			crate::Job {
				researcher: self.researcher,
				spec: crate::JobSpec {
					model: spec.model,
					model_did: spec.model_did,
					datasets: spec.datasets,
					code_hash: spec.code_hash,
					purpose: spec.purpose,
					rounds: spec.rounds,
					min_participants: spec.min_participants,
					round_timeout: spec.round_timeout,
					max_retries: spec.max_retries,
					training: spec.training,
					per_round: spec.per_round,
					reward_per_update: spec.reward_per_update,
					masking: None,
				},
				participants: self.participants,
				state: self.state,
				next_round: self.next_round,
				completed_rounds: self.completed_rounds,
				failed_in_a_row: self.failed_in_a_row,
				escrow: self.escrow,
				deposit: self.deposit,
				created_at: self.created_at,
				last_commitment: self.last_commitment,
			}
		}
	}

	impl<T: Config> Round<T> {
		/// The same round, unmasked, bound to the block before the one it
		/// opened in as this chain has it (zero if that block's hash is no
		/// longer kept: only an old, closed round's).
		pub fn upgrade(self) -> RoundOf<T> {
			let parent = self.opened_at.saturating_sub(One::one());
			let hash = frame_system::Pallet::<T>::block_hash(parent);
			crate::Round {
				opened_at: self.opened_at,
				opening_block: H256::decode(&mut hash.encode().as_slice()).unwrap_or_default(),
				deadline: self.deadline,
				start_model: self.start_model,
				expected: self.expected,
				reporters: self.reporters,
				admitted_twins: self.admitted_twins,
				excluded_twins: self.excluded_twins,
				outcome: self.outcome,
				commitment: self.commitment,
				masking: None,
			}
		}
	}

	impl<T: Config> Update<T> {
		/// The same update, as a model.
		pub fn upgrade(self) -> UpdateOf<T> {
			crate::Update { records: self.records, update: Contribution::Model(self.parameters) }
		}
	}
}

/// Version 0 to 1: job specifications gain masking (none), rounds a
/// secure-aggregation record (none), and updates say whether they are a
/// model or a masked update (a model). Cohorts, models and the agenda keep
/// their layout; the job states and round outcomes added in version 1 are
/// new variants after the old ones.
pub struct MigrateV0ToV1<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for MigrateV0ToV1<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut translated = 0u64;
		Jobs::<T>::translate::<v0::Job<T>, _>(|_, old| {
			translated = translated.saturating_add(1);
			Some(old.upgrade())
		});
		Rounds::<T>::translate::<v0::Round<T>, _>(|_, _, old| {
			translated = translated.saturating_add(1);
			Some(old.upgrade())
		});
		Updates::<T>::translate::<v0::Update<T>, _>(|_, old| {
			translated = translated.saturating_add(1);
			Some(old.upgrade())
		});
		T::DbWeight::get().reads_writes(translated, translated)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok(stored_keys::<T>().encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let before = <(u64, u64, u64)>::decode(&mut state.as_slice())
			.map_err(|_| "pre_upgrade state does not decode")?;
		let decoded = (
			Jobs::<T>::iter().count() as u64,
			Rounds::<T>::iter().count() as u64,
			Updates::<T>::iter().count() as u64,
		);
		ensure!(before == decoded, "a job, round or update did not translate");
		Pallet::<T>::do_try_state()
	}
}

/// How many jobs, rounds and updates are stored, decodable or not.
#[cfg(feature = "try-runtime")]
fn stored_keys<T: Config>() -> (u64, u64, u64) {
	(
		Jobs::<T>::iter_keys().count() as u64,
		Rounds::<T>::iter_keys().count() as u64,
		Updates::<T>::iter_keys().count() as u64,
	)
}

/// [`MigrateV0ToV1`], run once: only while the on-chain version is 0.
pub type MigrateToV1<T> =
	VersionedMigration<0, 1, MigrateV0ToV1<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;
