//! Storage migrations of pallet-consent (the pattern is described in
//! pallet-twins' `migrations` module): [`MigrateToV2`], then [`MigrateToV3`].

use codec::{Decode, Encode};
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use twinnet_primitives::{
	consent::{
		AuditEvent, AuditRecord, Authority, GrantId, Grantee, JobRound, PrivacyBudget, Purpose,
		Scope,
	},
	did::DidId,
};

use crate::{
	AccessRequest, AuditTrail, BalanceOf, Config, Grant, Grants, GrantsByGrantee, OpenRequests,
	Pallet, Requests, SpendRecord, SpendTrail, TermsOf,
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

/// The layout of storage version 2.
pub mod v2 {
	use super::*;

	/// An audit event of version 2: requests decided and prunes recorded
	/// without who asked or the grant's totals. Version 3 decodes these
	/// bytes as its `Legacy…` variants (same codec indexes).
	#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
	pub enum AuditEvent<AccountId> {
		Granted {
			grant: GrantId,
			by: Authority,
		},
		Narrowed {
			grant: GrantId,
			by: Authority,
		},
		Revoked {
			grant: GrantId,
			by: Authority,
		},
		RequestApproved {
			request: u64,
			grant: GrantId,
			by: Authority,
		},
		RequestRejected {
			request: u64,
			by: Authority,
		},
		Pruned {
			grant: GrantId,
		},
		BudgetSpent {
			grant: GrantId,
			grantee: Grantee<AccountId>,
			amount: PrivacyBudget,
			job: Option<JobRound>,
		},
	}

	/// An audit record of version 2, which encodes as (block, event).
	pub type AuditRecord<T> =
		(BlockNumberFor<T>, AuditEvent<<T as frame_system::Config>::AccountId>);

	/// One spend trail per twin, shared by all its grants.
	#[frame_support::storage_alias]
	pub type SpendTrail<T: Config> = StorageMap<
		Pallet<T>,
		Twox64Concat,
		DidId,
		BoundedVec<AuditRecord<T>, <T as Config>::MaxSpendRecords>,
		OptionQuery,
	>;

	/// Each twin's decision trail, as version 2 wrote it.
	#[frame_support::storage_alias]
	pub type AuditTrail<T: Config> = StorageMap<
		Pallet<T>,
		Twox64Concat,
		DidId,
		BoundedVec<AuditRecord<T>, <T as Config>::MaxAuditRecords>,
		OptionQuery,
	>;
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
			v2::SpendTrail::<T>::insert(twin, spends);
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
	BoundedVec<v2::AuditRecord<T>, T::MaxSpendRecords>,
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
					let job = None;
					spends
						.push((block, v2::AuditEvent::BudgetSpent { grant, grantee, amount, job }));
				}
			},
		}
	}
	(BoundedVec::truncate_from(decisions), BoundedVec::truncate_from(spends))
}

/// [`MigrateV1ToV2`], run once: only while the on-chain version is 1.
pub type MigrateToV2<T> =
	VersionedMigration<1, 2, MigrateV1ToV2<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

/// Version 2 to 3: the spend trail is kept per grant instead of per twin,
/// and decision records of request decisions and prunes say more.
///
/// - Spend trails: each twin's shared trail is split by grant into
///   [`SpendTrail`] entries keyed (twin, grant), keeping each spend's block,
///   amount and job round (grant and grantee are the key's and the grant's).
///   Spends under grants already pruned are dropped: version 3 deletes a
///   grant's trail when it is pruned, so there is no grant left to keep them
///   under; their totals were never stored apart from the deleted grant.
/// - Decision trails are left as they are: version-2 request approvals,
///   rejections and prunes decode, unchanged, as the `Legacy…` variants of
///   [`AuditEvent`] (same codec indexes), because who asked, for what, and a
///   pruned grant's totals were never stored and cannot be recovered.
///   Records written from version 3 on use the new variants.
/// - Grants and requests keep their encoding (a request already stores its
///   requester and terms).
pub struct MigrateV2ToV3<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for MigrateV2ToV3<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut reads = 0u64;
		let mut writes = 0u64;
		// Keys first: version-3 keys extend version-2 ones, so none is
		// written while the old map is iterated.
		let twins: alloc::vec::Vec<DidId> = v2::SpendTrail::<T>::iter_keys().collect();
		for twin in twins {
			reads = reads.saturating_add(1);
			writes = writes.saturating_add(1);
			let Some(records) = v2::SpendTrail::<T>::take(twin) else { continue };
			for (grant, spends) in split_by_grant::<T>(&twin, records, &mut reads) {
				writes = writes.saturating_add(1);
				SpendTrail::<T>::insert(twin, grant, spends);
			}
		}
		T::DbWeight::get().reads_writes(reads, writes)
	}

	/// The number of spends the migration keeps (those under existing
	/// grants) and of decision records (as version 2 decodes them).
	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
		let mut kept = 0u64;
		for (twin, records) in v2::SpendTrail::<T>::iter() {
			for (_, event) in records {
				if let v2::AuditEvent::BudgetSpent { grant, .. } = event {
					if Grants::<T>::contains_key(twin, grant) {
						kept = kept.saturating_add(1);
					}
				}
			}
		}
		let decisions = v2::AuditTrail::<T>::iter_values()
			.fold(0u64, |count, trail| count.saturating_add(trail.len() as u64));
		Ok((kept, decisions).encode())
	}

	/// Every kept spend is in its grant's trail, no twin-wide trail is
	/// left, every decision trail decodes in the new layout with as many
	/// records as before, and the pallet's invariants hold.
	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let (kept, decisions) = <(u64, u64)>::decode(&mut state.as_slice())
			.map_err(|_| "pre_upgrade state does not decode")?;
		let moved = SpendTrail::<T>::iter_values()
			.fold(0u64, |moved, trail| moved.saturating_add(trail.len() as u64));
		ensure!(moved == kept, "spends were lost or invented");
		ensure!(
			v2::SpendTrail::<T>::iter_keys().all(|twin| !v2::SpendTrail::<T>::contains_key(twin)),
			"a twin-wide spend trail is left"
		);
		let mut decoded = 0u64;
		for twin in AuditTrail::<T>::iter_keys() {
			let trail =
				AuditTrail::<T>::try_get(twin).map_err(|_| "a decision trail does not decode")?;
			decoded = decoded.saturating_add(trail.len() as u64);
		}
		ensure!(decoded == decisions, "decision records were lost");
		Pallet::<T>::do_try_state()
	}
}

/// The spends of a version-2 trail of `twin`, by grant, oldest first, for
/// the grants that still exist (one read each, counted in `reads`).
fn split_by_grant<T: Config>(
	twin: &DidId,
	records: BoundedVec<v2::AuditRecord<T>, T::MaxSpendRecords>,
	reads: &mut u64,
) -> alloc::collections::btree_map::BTreeMap<
	GrantId,
	BoundedVec<crate::SpendRecordOf<T>, T::MaxSpendRecords>,
> {
	use alloc::collections::btree_map::{BTreeMap, Entry};
	let mut exists = BTreeMap::<GrantId, bool>::new();
	let mut trails = BTreeMap::<GrantId, alloc::vec::Vec<crate::SpendRecordOf<T>>>::new();
	for (block, event) in records {
		let v2::AuditEvent::BudgetSpent { grant, amount, job, .. } = event else { continue };
		let live = match exists.entry(grant) {
			Entry::Occupied(known) => *known.get(),
			Entry::Vacant(unknown) => {
				*reads = reads.saturating_add(1);
				*unknown.insert(Grants::<T>::contains_key(twin, grant))
			},
		};
		if live {
			trails.entry(grant).or_default().push(SpendRecord { block, amount, job });
		}
	}
	// A grant's spends were at most the twin's whole trail, so they fit.
	trails
		.into_iter()
		.map(|(grant, spends)| (grant, BoundedVec::truncate_from(spends)))
		.collect()
}

/// [`MigrateV2ToV3`], run once: only while the on-chain version is 2.
pub type MigrateToV3<T> =
	VersionedMigration<2, 3, MigrateV2ToV3<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;
