//! The records pallet-twins stores, and the rules their fields follow.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::H256;
use twinnet_primitives::did::{
	is_fragment_byte, Controller, DidId, PublicKey, Relationships, ServiceView, SubjectKind,
	VerificationMethodView,
};

use crate::{BalanceOf, Config, Error};

/// The name of a verification method or service within its DID (`did:twin:…#<fragment>`).
pub type Fragment<T> = BoundedVec<u8, <T as Config>::MaxFragmentLength>;
/// A service type, such as `LinkedDomains` or `TwinDataEndpoint`.
pub type ServiceType<T> = BoundedVec<u8, <T as Config>::MaxServiceTypeLength>;
/// A service endpoint URL.
pub type Url<T> = BoundedVec<u8, <T as Config>::MaxUrlLength>;
/// A data schema tag, such as `NWB 2.x`, `BIDS` or `FHIR R4`.
pub type SchemaTag<T> = BoundedVec<u8, <T as Config>::MaxSchemaLength>;

/// A verification method: a public key and what it may be used for.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxFragmentLength))]
#[codec(mel_bound())]
pub struct VerificationMethod<MaxFragmentLength: Get<u32>> {
	/// Its name within the DID; unique among the DID's methods and services.
	pub fragment: BoundedVec<u8, MaxFragmentLength>,
	/// The public key.
	pub key: PublicKey,
	/// The verification relationships it serves.
	pub relationships: Relationships,
}

/// A verification method of a runtime's configuration.
pub type VerificationMethodOf<T> = VerificationMethod<<T as Config>::MaxFragmentLength>;

/// A service endpoint of a DID.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxFragmentLength, MaxTypeLength, MaxUrlLength))]
#[codec(mel_bound())]
pub struct Service<MaxFragmentLength: Get<u32>, MaxTypeLength: Get<u32>, MaxUrlLength: Get<u32>> {
	/// Its name within the DID; unique among the DID's methods and services.
	pub fragment: BoundedVec<u8, MaxFragmentLength>,
	/// Its type.
	pub service_type: BoundedVec<u8, MaxTypeLength>,
	/// Its URL (`scheme:rest`).
	pub endpoint: BoundedVec<u8, MaxUrlLength>,
}

/// A service endpoint of a runtime's configuration.
pub type ServiceOf<T> = Service<
	<T as Config>::MaxFragmentLength,
	<T as Config>::MaxServiceTypeLength,
	<T as Config>::MaxUrlLength,
>;

/// An institution's custody of a twin's data.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Custody<AccountId> {
	/// The institution.
	pub institution: DidId,
	/// Who holds the custody deposit: the signer of the offer.
	pub depositor: AccountId,
}

/// What an institution is bound to: its pending custody offers and the
/// twins it holds. An institution with either cannot be deactivated.
#[derive(Clone, Copy, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct CustodyLoad {
	/// Pending custody offers it made.
	pub offers: u32,
	/// Twins whose data it holds.
	pub custodies: u32,
}

impl CustodyLoad {
	/// Whether it has neither offers nor custodies.
	pub fn is_empty(&self) -> bool {
		self.offers == 0 && self.custodies == 0
	}
}

/// An active DID.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct DidDetails<T: Config> {
	/// What the DID identifies.
	pub kind: SubjectKind,
	/// Who may change it.
	pub controller: Controller<T::AccountId>,
	/// The controller it was offered to, until that party accepts.
	pub pending_controller: Option<Controller<T::AccountId>>,
	/// For a patient twin: the patient's account, once bound. Only the
	/// patient changes it, and the twin's authentication methods.
	pub patient: Option<T::AccountId>,
	/// The account offered the patient position, until it accepts.
	pub pending_patient: Option<T::AccountId>,
	/// Its verification methods.
	pub verification_methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
	/// Its service endpoints.
	pub services: BoundedVec<ServiceOf<T>, T::MaxServices>,
	/// The hash of the subject's off-chain metadata.
	pub metadata_hash: Option<H256>,
	/// The subject's data schema.
	pub schema: Option<SchemaTag<T>>,
	/// Who holds the storage deposit: whoever signed the latest change.
	pub depositor: T::AccountId,
	/// The deposit held for this record.
	pub deposit: BalanceOf<T>,
	/// The block that created the DID.
	pub created: frame_system::pallet_prelude::BlockNumberFor<T>,
	/// The block of the latest change.
	pub updated: frame_system::pallet_prelude::BlockNumberFor<T>,
}

impl<T: Config> DidDetails<T> {
	/// Whether `fragment` already names one of the DID's methods or services.
	pub fn has_fragment(&self, fragment: &[u8]) -> bool {
		self.verification_methods.iter().any(|m| m.fragment.as_slice() == fragment)
			|| self.services.iter().any(|s| s.fragment.as_slice() == fragment)
	}

	/// Whether `who` signs with one of the DID's authentication keys.
	pub fn has_authentication_key_of(&self, who: &T::AccountId) -> bool {
		self.verification_methods.iter().any(|m| {
			m.relationships.authentication
				&& m.key.account_id().is_some_and(|account| T::AccountId::from(account) == *who)
		})
	}

	/// Whether someone can act through this DID for the DIDs it controls:
	/// its controller is an account, or it has an authentication key.
	pub fn can_act_for_dependents(&self) -> bool {
		matches!(self.controller, Controller::Account(_))
			|| self.verification_methods.iter().any(|m| m.relationships.authentication)
	}

	/// Whether `who` is the twin's patient.
	pub fn is_patient(&self, who: &T::AccountId) -> bool {
		self.patient.as_ref() == Some(who)
	}

	/// The view of this DID that runtime APIs return, with its `custodian`.
	pub fn view(
		&self,
		custodian: Option<DidId>,
	) -> twinnet_primitives::did::DidView<
		T::AccountId,
		frame_system::pallet_prelude::BlockNumberFor<T>,
	> {
		twinnet_primitives::did::DidView {
			kind: self.kind,
			controller: self.controller.clone(),
			patient: self.patient.clone(),
			verification_methods: self
				.verification_methods
				.iter()
				.map(|m| VerificationMethodView {
					fragment: m.fragment.to_vec(),
					key: m.key,
					relationships: m.relationships,
				})
				.collect(),
			services: self
				.services
				.iter()
				.map(|s| ServiceView {
					fragment: s.fragment.to_vec(),
					service_type: s.service_type.to_vec(),
					endpoint: s.endpoint.to_vec(),
				})
				.collect(),
			metadata_hash: self.metadata_hash,
			schema: self.schema.as_ref().map(|s| s.to_vec()),
			custodian,
			created: self.created,
			updated: self.updated,
		}
	}
}

/// What remains of a deactivated DID: enough to answer resolution, and to
/// keep its identifier from ever being used again.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Tombstone<BlockNumber> {
	/// What the DID identified.
	pub kind: SubjectKind,
	/// The block that created it.
	pub created: BlockNumber,
	/// The block that deactivated it.
	pub deactivated: BlockNumber,
}

/// A fragment is 1 or more unreserved URI characters.
pub fn ensure_valid_fragment<T: Config>(fragment: &[u8]) -> Result<(), Error<T>> {
	if !fragment.is_empty() && fragment.iter().all(|b| is_fragment_byte(*b)) {
		Ok(())
	} else {
		Err(Error::<T>::InvalidFragment)
	}
}

/// A verification method has a valid fragment, a well-formed key (an ECDSA
/// key is a compressed secp256k1 point, prefix 0x02 or 0x03), and
/// relationships its key type can serve: `keyAgreement` with X25519 keys
/// only, and X25519 keys for nothing else.
pub fn ensure_valid_method<T: Config>(method: &VerificationMethodOf<T>) -> Result<(), Error<T>> {
	ensure_valid_fragment::<T>(&method.fragment)?;
	if let PublicKey::Ecdsa([prefix, ..]) = method.key {
		if !matches!(prefix, 0x02 | 0x03) {
			return Err(Error::<T>::InvalidKey);
		}
	}
	if method.relationships.fit(&method.key) {
		Ok(())
	} else {
		Err(Error::<T>::InvalidRelationships)
	}
}

/// A service type is 1 or more unreserved URI characters; an endpoint is an
/// absolute URI (`scheme:rest`) of visible ASCII.
pub fn ensure_valid_service<T: Config>(service: &ServiceOf<T>) -> Result<(), Error<T>> {
	ensure_valid_fragment::<T>(&service.fragment)?;
	if service.service_type.is_empty() || !service.service_type.iter().all(|b| is_fragment_byte(*b))
	{
		return Err(Error::<T>::InvalidServiceType);
	}
	let endpoint = service.endpoint.as_slice();
	let scheme_end = endpoint
		.iter()
		.position(|b| *b == b':')
		.ok_or(Error::<T>::InvalidServiceEndpoint)?;
	let (scheme, rest) = endpoint.split_at(scheme_end);
	let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
		&& scheme
			.iter()
			.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
	// `rest` starts with the ':' itself.
	let rest_ok = rest.len() > 1 && rest.iter().all(|b| b.is_ascii_graphic());
	if scheme_ok && rest_ok {
		Ok(())
	} else {
		Err(Error::<T>::InvalidServiceEndpoint)
	}
}

/// A schema tag is printable ASCII, not empty, without surrounding spaces.
pub fn ensure_valid_schema<T: Config>(schema: &[u8]) -> Result<(), Error<T>> {
	let printable = schema.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
	let trimmed =
		schema.first().is_some_and(|b| *b != b' ') && schema.last().is_some_and(|b| *b != b' ');
	if printable && trimmed {
		Ok(())
	} else {
		Err(Error::<T>::InvalidSchema)
	}
}

/// A DID that genesis creates: controlled by its creator, who holds the
/// deposit, with one sr25519 authentication and assertion key (`#key-1`).
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisDid<AccountId> {
	/// The creator: controller and depositor.
	pub creator: AccountId,
	/// What the DID identifies.
	pub kind: SubjectKind,
	/// The sr25519 public key of `#key-1`.
	pub sr25519_key: [u8; 32],
	/// For a twin: the position, in the genesis list, of the institution that
	/// holds its data (as if it had offered custody and the twin accepted).
	pub custodian: Option<u32>,
}
