//! Storage migrations of pallet-consent (the pattern is described in
//! pallet-twins' `migrations` module).

use codec::{Decode, Encode};
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use twinnet_primitives::{
	consent::{
		AuditEvent, AuditRecord, Authority, GrantId, Grantee, PrivacyBudget, Purpose, Scope,
	},
	did::DidId,
};

use crate::{
	AccessRequest, AuditTrail, BalanceOf, Config, Grant, Grants, GrantsByGrantee, OpenRequests,
	Pallet, Requests, TermsOf,
};

/// The layout of storage version 1.
pub mod v1 {
	use super::*;

	/// Terms of version 1: no binding.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct Terms<T: Config> {
		pub grantee: Grantee<T::AccountId>,
		pub scope: Scope,
		pub purposes: BoundedVec<Purpose, T::MaxPurposes>,
		pub datasets: Option<BoundedVec<DidId, T::MaxDatasets>>,
		pub starts_at: BlockNumberFor<T>,
		pub expires_at: BlockNumberFor<T>,
		pub budget: Option<PrivacyBudget>,
	}

	impl<T: Config> Terms<T> {
		/// The same terms, unbound.
		pub fn upgrade(self) -> TermsOf<T> {
			TermsOf::<T> {
				grantee: self.grantee,
				scope: self.scope,
				purposes: self.purposes,
				datasets: self.datasets,
				starts_at: self.starts_at,
				expires_at: self.expires_at,
				budget: self.budget,
				binding: Default::default(),
			}
		}
	}

	/// A grant of version 1: no use counts, no reservations.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct Grant<T: Config> {
		pub terms: Terms<T>,
		pub spent: PrivacyBudget,
		pub revoked_at: Option<BlockNumberFor<T>>,
		pub granted_by: Authority,
		pub depositor: T::AccountId,
		pub deposit: BalanceOf<T>,
	}

	/// An access request of version 1.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct AccessRequest<T: Config> {
		pub terms: Terms<T>,
		pub requester: T::AccountId,
		pub expires_at: BlockNumberFor<T>,
	}

	/// An audit event of version 1, when uses and spends shared one trail.
	#[derive(Encode, Decode, TypeInfo)]
	pub enum AuditEvent<AccountId> {
		Granted { grant: GrantId, by: Authority },
		Narrowed { grant: GrantId, by: Authority },
		Revoked { grant: GrantId, by: Authority },
		Used { grant: GrantId, grantee: Grantee<AccountId>, purpose: Purpose },
		BudgetSpent { grant: GrantId, amount: PrivacyBudget },
	}

	/// Open requests counted per twin.
	#[frame_support::storage_alias]
	pub type RequestCount<T: Config> = StorageMap<Pallet<T>, Twox64Concat, DidId, u32, ValueQuery>;
}

/// Version 1 to 2: grants and requests gain an (empty) binding, grants use
/// counts and reserved budget, and an index by grantee; the audit trail keeps
/// decisions only (uses become counts on their grants, spends move to the
/// spend trail); open requests are counted per requester instead of per twin.
pub struct MigrateV1ToV2<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for MigrateV1ToV2<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut reads_writes = 0u64;
		Grants::<T>::translate::<v1::Grant<T>, _>(|twin, id, old| {
			reads_writes = reads_writes.saturating_add(2);
			GrantsByGrantee::<T>::insert(&old.terms.grantee, (twin, id), ());
			Some(Grant {
				terms: old.terms.upgrade(),
				spent: old.spent,
				reserved: PrivacyBudget::default(),
				revoked_at: old.revoked_at,
				granted_by: old.granted_by,
				uses: 0,
				last_used: None,
				depositor: old.depositor,
				deposit: old.deposit,
			})
		});
		let twins: alloc::vec::Vec<DidId> = AuditTrail::<T>::iter_keys().collect();
		for twin in twins {
			reads_writes = reads_writes.saturating_add(2);
			// A version-1 record encodes as (block, version-1 event).
			let records: alloc::vec::Vec<(BlockNumberFor<T>, v1::AuditEvent<T::AccountId>)> =
				frame_support::storage::unhashed::get(&AuditTrail::<T>::hashed_key_for(twin))
					.unwrap_or_default();
			let (decisions, spends) = upgrade_trail::<T>(&twin, records);
			AuditTrail::<T>::insert(twin, decisions);
			crate::SpendTrail::<T>::insert(twin, spends);
		}
		Requests::<T>::translate::<v1::AccessRequest<T>, _>(|_, _, old| {
			reads_writes = reads_writes.saturating_add(1);
			Some(AccessRequest {
				terms: old.terms.upgrade(),
				requester: old.requester,
				expires_at: old.expires_at,
			})
		});
		let _ = v1::RequestCount::<T>::clear(u32::MAX, None);
		for (_, _, request) in Requests::<T>::iter() {
			reads_writes = reads_writes.saturating_add(1);
			OpenRequests::<T>::mutate(&request.requester, |open| *open = open.saturating_add(1));
		}
		T::DbWeight::get().reads_writes(reads_writes, reads_writes)
	}
}

/// Splits a version-1 trail into decisions and spends; uses are dropped
/// (their counts start at zero on each grant).
fn upgrade_trail<T: Config>(
	twin: &DidId,
	records: alloc::vec::Vec<(BlockNumberFor<T>, v1::AuditEvent<T::AccountId>)>,
) -> (
	BoundedVec<crate::AuditRecordOf<T>, T::MaxAuditRecords>,
	BoundedVec<crate::AuditRecordOf<T>, T::MaxSpendRecords>,
) {
	let mut decisions = alloc::vec::Vec::new();
	let mut spends = alloc::vec::Vec::new();
	for (block, event) in records {
		match event {
			v1::AuditEvent::Granted { grant, by } => {
				decisions.push(AuditRecord { block, event: AuditEvent::Granted { grant, by } })
			},
			v1::AuditEvent::Narrowed { grant, by } => {
				decisions.push(AuditRecord { block, event: AuditEvent::Narrowed { grant, by } })
			},
			v1::AuditEvent::Revoked { grant, by } => {
				decisions.push(AuditRecord { block, event: AuditEvent::Revoked { grant, by } })
			},
			v1::AuditEvent::Used { .. } => {},
			v1::AuditEvent::BudgetSpent { grant, amount } => {
				if let Some(record) = Grants::<T>::get(twin, grant) {
					let grantee = record.terms.grantee;
					spends.push(AuditRecord {
						block,
						event: AuditEvent::BudgetSpent { grant, grantee, amount, job: None },
					});
				}
			},
		}
	}
	(BoundedVec::truncate_from(decisions), BoundedVec::truncate_from(spends))
}

/// [`MigrateV1ToV2`], run once: only while the on-chain version is 1.
pub type MigrateToV2<T> =
	VersionedMigration<1, 2, MigrateV1ToV2<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;
