//! Benchmarks of pallet-twins (frame-benchmarking v2), each in its worst case:
//! the signer acts through the last authentication key of a controlling DID
//! that has the most keys, all of them ECDSA authentication keys (each is
//! hashed to the account it signs for, the costliest check), records are as
//! large as the bounds allow (ECDSA keys are the largest), and the deposit
//! moves from one account to another.

use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::{traits::Saturating, AccountId32};
use twinnet_primitives::did::{Controller, DidId, PublicKey, Relationships, SubjectKind};

use crate::*;

/// The benchmarks' signer's ECDSA key (compressed, prefix 3, unlike every
/// [`key`]); its account is the key's hash.
fn signer_key() -> PublicKey {
	PublicKey::Ecdsa([3; 33])
}

/// A funded account.
fn funded<T: Config>(account: AccountId32) -> T::AccountId {
	let who: T::AccountId = account.into();
	// Ample for every deposit, and small enough that total issuance cannot overflow.
	let amount = BalanceOf::<T>::from(u32::MAX).saturating_mul(BalanceOf::<T>::from(1_000_000u32));
	T::Currency::set_balance(&who, amount);
	who
}

/// `bytes` bytes, of which the first two encode `index`.
fn unique_bytes(index: u32, bytes: u32, fill: u8) -> vec::Vec<u8> {
	let mut out = vec![fill; bytes as usize];
	for (byte, value) in
		out.iter_mut().zip([b'a' + (index / 26 % 26) as u8, b'a' + (index % 26) as u8])
	{
		*byte = value;
	}
	out
}

fn fragment<T: Config>(index: u32) -> Fragment<T> {
	BoundedVec::truncate_from(unique_bytes(index, T::MaxFragmentLength::get(), b'x'))
}

/// A compressed ECDSA key of its own for each `index`.
fn key(index: u32) -> PublicKey {
	let mut bytes = [2u8; 33];
	for (byte, value) in bytes.iter_mut().skip(1).zip(index.to_le_bytes()) {
		*byte = value;
	}
	PublicKey::Ecdsa(bytes)
}

fn method<T: Config>(index: u32, key: PublicKey, authentication: bool) -> VerificationMethodOf<T> {
	VerificationMethod {
		fragment: fragment::<T>(index),
		key,
		relationships: Relationships { authentication, ..Default::default() },
	}
}

/// `count` verification methods, authentication keys if `authentication`.
fn methods<T: Config>(
	count: u32,
	first_index: u32,
	authentication: bool,
) -> BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods> {
	BoundedVec::truncate_from(
		(first_index..first_index.saturating_add(count))
			.map(|i| method::<T>(i, key(i), authentication))
			.collect(),
	)
}

fn service<T: Config>(index: u32) -> ServiceOf<T> {
	let mut url = b"https://".to_vec();
	url.resize(T::MaxUrlLength::get() as usize, b'a');
	Service {
		fragment: fragment::<T>(index),
		service_type: BoundedVec::truncate_from(unique_bytes(
			index,
			T::MaxServiceTypeLength::get(),
			b'T',
		)),
		endpoint: BoundedVec::truncate_from(url),
	}
}

/// The DID most recently created.
fn last_did<T: Config>(creator: &T::AccountId) -> DidId {
	Pallet::<T>::derive_did(creator, DidCounter::<T>::get().saturating_sub(1))
}

/// A DID whose authorisation check is the costliest: its controller is a
/// guardian DID with the most keys, the signer's key being the last.
struct Setup<T: Config> {
	owner: T::AccountId,
	signer: T::AccountId,
	guardian: DidId,
}

impl<T: Config> Setup<T> {
	fn new() -> Self {
		let owner = funded::<T>(AccountId32::new([1; 32]));
		let signer =
			funded::<T>(signer_key().account_id().unwrap_or_else(|| AccountId32::new([2; 32])));
		let mut guardian_methods =
			methods::<T>(T::MaxVerificationMethods::get().saturating_sub(1), 1000, true);
		let signer_key = method::<T>(999, signer_key(), true);
		let _ = guardian_methods.try_push(signer_key);
		Self::create(&owner, SubjectKind::Institution, None, guardian_methods);
		let guardian = last_did::<T>(&owner);
		Self { owner, signer, guardian }
	}

	fn create(
		who: &T::AccountId,
		kind: SubjectKind,
		controller: Option<Controller<T::AccountId>>,
		methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
	) {
		let created =
			Pallet::<T>::create(RawOrigin::Signed(who.clone()).into(), kind, controller, methods);
		assert!(created.is_ok(), "benchmark setup: create failed: {created:?}");
	}

	/// A DID of `kind` under the guardian, with `keys` keys and `services`
	/// services, its deposit held by the owner.
	fn did(&self, kind: SubjectKind, keys: u32, services: u32) -> DidId {
		Self::create(
			&self.owner,
			kind,
			Some(Controller::Did(self.guardian)),
			methods::<T>(keys, 0, false),
		);
		let did = last_did::<T>(&self.owner);
		for index in 0..services {
			let added = Pallet::<T>::add_service(
				RawOrigin::Signed(self.owner.clone()).into(),
				did,
				service::<T>(index.saturating_add(500)),
			);
			assert!(added.is_ok(), "benchmark setup: add_service failed");
		}
		did
	}

	/// The largest DID with room for one more key or service.
	fn full_did_with_room(&self) -> DidId {
		self.did(
			SubjectKind::PatientTwin,
			T::MaxVerificationMethods::get().saturating_sub(1),
			T::MaxServices::get().saturating_sub(1),
		)
	}

	/// The largest DID.
	fn full_did(&self) -> DidId {
		self.did(SubjectKind::PatientTwin, T::MaxVerificationMethods::get(), T::MaxServices::get())
	}

	/// The lowest DID of the longest chain of controlling DIDs a controller
	/// may have, each with the signer's authentication key, so the signer
	/// acts through it and naming it walks the whole chain.
	fn controller_chain(&self) -> DidId {
		let signer_key = || BoundedVec::truncate_from(vec![method::<T>(999, signer_key(), true)]);
		Self::create(&self.signer, SubjectKind::Institution, None, signer_key());
		let mut lowest = last_did::<T>(&self.signer);
		for _ in 1..T::MaxControllerDepth::get() {
			Self::create(
				&self.signer,
				SubjectKind::Institution,
				Some(Controller::Did(lowest)),
				signer_key(),
			);
			lowest = last_did::<T>(&self.signer);
		}
		lowest
	}

	/// The largest twin, with control offered to the controller chain and
	/// its patient position offered to the signer.
	fn twin_offered_to_signer(&self) -> (DidId, DidId) {
		let twin = self.full_did();
		let chain = self.controller_chain();
		let owner = || RawOrigin::Signed(self.owner.clone());
		assert!(
			Pallet::<T>::rotate_controller(owner().into(), twin, Controller::Did(chain)).is_ok()
		);
		assert!(Pallet::<T>::offer_patient(owner().into(), twin, self.signer.clone()).is_ok());
		(twin, chain)
	}

	/// A twin in custody of one institution with another's offer pending,
	/// both institutions under the guardian.
	fn twin_in_custody(&self) -> (DidId, DidId) {
		let twin = self.full_did();
		let current = self.did(SubjectKind::Institution, 0, 0);
		let next = self.did(SubjectKind::Institution, 0, 0);
		let owner = || RawOrigin::Signed(self.owner.clone());
		assert!(Pallet::<T>::offer_custody(owner().into(), current, twin).is_ok());
		assert!(Pallet::<T>::accept_custody(owner().into(), twin, current).is_ok());
		assert!(Pallet::<T>::offer_custody(owner().into(), next, twin).is_ok());
		(twin, next)
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create(n: Linear<0, { T::MaxVerificationMethods::get() }>) {
		let setup = Setup::<T>::new();
		let methods = methods::<T>(n, 0, false);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(setup.signer.clone()),
			SubjectKind::PatientTwin,
			Some(Controller::Did(setup.guardian)),
			methods,
		);

		assert!(Dids::<T>::contains_key(last_did::<T>(&setup.signer)));
	}

	#[benchmark]
	fn add_verification_method() {
		let setup = Setup::<T>::new();
		let did = setup.full_did_with_room();
		let new = method::<T>(300, key(300), true);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, new);

		assert_eq!(Dids::<T>::get(did).map(|d| d.depositor), Some(setup.signer));
	}

	#[benchmark]
	fn remove_verification_method() {
		let setup = Setup::<T>::new();
		let did = setup.full_did();
		let last = fragment::<T>(T::MaxVerificationMethods::get().saturating_sub(1));

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, last);

		assert_eq!(Dids::<T>::get(did).map(|d| d.depositor), Some(setup.signer));
	}

	#[benchmark]
	fn rotate_key() {
		let setup = Setup::<T>::new();
		let did = setup.full_did();
		let last = fragment::<T>(T::MaxVerificationMethods::get().saturating_sub(1));
		let new = method::<T>(300, key(300), true);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, last, new);

		assert_eq!(Dids::<T>::get(did).map(|d| d.depositor), Some(setup.signer));
	}

	/// The signer acts for the new controller, so control passes at once,
	/// after a walk of the longest controller chain.
	#[benchmark]
	fn rotate_controller() {
		let setup = Setup::<T>::new();
		let did = setup.full_did();
		let chain = setup.controller_chain();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, Controller::Did(chain));

		assert_eq!(Dids::<T>::get(did).map(|d| d.controller), Some(Controller::Did(chain)));
	}

	/// The chain is walked again, and the patient position bound too.
	#[benchmark]
	fn accept_controller() {
		let setup = Setup::<T>::new();
		let (twin, chain) = setup.twin_offered_to_signer();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin);

		assert_eq!(Dids::<T>::get(twin).map(|d| d.controller), Some(Controller::Did(chain)));
	}

	#[benchmark]
	fn offer_patient() {
		let setup = Setup::<T>::new();
		let twin = setup.full_did();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin, setup.owner.clone());

		assert_eq!(Dids::<T>::get(twin).and_then(|d| d.pending_patient), Some(setup.owner));
	}

	#[benchmark]
	fn accept_patient() {
		let setup = Setup::<T>::new();
		let (twin, _) = setup.twin_offered_to_signer();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin);

		assert_eq!(Dids::<T>::get(twin).and_then(|d| d.patient), Some(setup.signer));
	}

	/// The offered party rejects, acting through the controller chain.
	#[benchmark]
	fn cancel_handover() {
		let setup = Setup::<T>::new();
		let (twin, _) = setup.twin_offered_to_signer();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin);

		assert_eq!(Dids::<T>::get(twin).and_then(|d| d.pending_controller), None);
	}

	#[benchmark]
	fn add_service() {
		let setup = Setup::<T>::new();
		let did = setup.full_did_with_room();
		let new = service::<T>(300);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, new);

		assert_eq!(Dids::<T>::get(did).map(|d| d.depositor), Some(setup.signer));
	}

	#[benchmark]
	fn remove_service() {
		let setup = Setup::<T>::new();
		let did = setup.full_did();
		let last = fragment::<T>(T::MaxServices::get().saturating_sub(1).saturating_add(500));

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, last);

		assert_eq!(Dids::<T>::get(did).map(|d| d.depositor), Some(setup.signer));
	}

	#[benchmark]
	fn set_metadata() {
		let setup = Setup::<T>::new();
		let did = setup.full_did();
		let schema = BoundedVec::truncate_from(vec![b'S'; T::MaxSchemaLength::get() as usize]);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), did, Some(H256::repeat_byte(1)), Some(schema));

		assert_eq!(Dids::<T>::get(did).and_then(|d| d.metadata_hash), Some(H256::repeat_byte(1)));
	}

	#[benchmark]
	fn deactivate() {
		let setup = Setup::<T>::new();
		let (twin, _) = setup.twin_in_custody();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin);

		assert!(DeactivatedDids::<T>::contains_key(twin));
	}

	#[benchmark]
	fn offer_custody() {
		let setup = Setup::<T>::new();
		let (twin, next) = setup.twin_in_custody();
		let owner = RawOrigin::Signed(setup.owner.clone());
		assert!(Pallet::<T>::cancel_custody_offer(owner.into(), twin, next).is_ok());

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), next, twin);

		assert!(CustodyOffers::<T>::contains_key(twin, next));
	}

	#[benchmark]
	fn accept_custody() {
		let setup = Setup::<T>::new();
		let (twin, next) = setup.twin_in_custody();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin, next);

		assert_eq!(Custodians::<T>::get(twin).map(|c| c.institution), Some(next));
	}

	#[benchmark]
	fn cancel_custody_offer() {
		let setup = Setup::<T>::new();
		let (twin, next) = setup.twin_in_custody();
		// The twin's controller check fails first; the institution's succeeds.
		let detached = Controller::Account(setup.owner.clone());
		assert!(Pallet::<T>::rotate_controller(
			RawOrigin::Signed(setup.owner.clone()).into(),
			twin,
			detached
		)
		.is_ok());

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin, next);

		assert!(!CustodyOffers::<T>::contains_key(twin, next));
	}

	#[benchmark]
	fn end_custody() {
		let setup = Setup::<T>::new();
		let (twin, _) = setup.twin_in_custody();
		let detached = Controller::Account(setup.owner.clone());
		assert!(Pallet::<T>::rotate_controller(
			RawOrigin::Signed(setup.owner.clone()).into(),
			twin,
			detached
		)
		.is_ok());

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.signer.clone()), twin);

		assert!(!Custodians::<T>::contains_key(twin));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
