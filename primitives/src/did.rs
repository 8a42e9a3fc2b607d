//! Decentralised identifiers of the `did:twin` method.
//!
//! A DID's method-specific identifier is a 32-byte [`DidId`], written as
//! base58btc in DID strings (`did:twin:<base58btc>`). See `docs/did-method.md`.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// The method-specific identifier of a `did:twin` DID.
pub type DidId = H256;

/// What a DID identifies.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SubjectKind {
	/// A patient's digital twin: the handle of one person's data.
	PatientTwin,
	/// A hospital, research institute or other organisation.
	Institution,
	/// A registered (encrypted) dataset.
	Dataset,
	/// A trained model.
	Model,
}

/// Who may change a DID: an account, or the holder of another DID (a guardian,
/// an institution).
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Controller<AccountId> {
	/// An on-chain account; its signature authorises changes.
	Account(AccountId),
	/// Another DID; its controlling account or one of its authentication keys
	/// authorises changes.
	Did(DidId),
}

/// A public key of a verification method.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum PublicKey {
	/// A Schnorrkel/Ristretto (sr25519) public key.
	Sr25519([u8; 32]),
	/// An Ed25519 public key.
	Ed25519([u8; 32]),
	/// A compressed secp256k1 (ECDSA) public key.
	Ecdsa([u8; 33]),
}

impl PublicKey {
	/// The key's bytes.
	pub fn as_bytes(&self) -> &[u8] {
		match self {
			Self::Sr25519(key) | Self::Ed25519(key) => key,
			Self::Ecdsa(key) => key,
		}
	}

	/// The multicodec code of the key type, as an unsigned varint
	/// (used in `publicKeyMultibase`).
	pub fn multicodec_prefix(&self) -> [u8; 2] {
		match self {
			Self::Sr25519(_) => [0xef, 0x01],
			Self::Ed25519(_) => [0xed, 0x01],
			Self::Ecdsa(_) => [0xe7, 0x01],
		}
	}

	/// The account whose transactions this key signs: the key itself for
	/// sr25519 and ed25519, the BLAKE2-256 hash of it for ECDSA.
	pub fn account_id(&self) -> sp_runtime::AccountId32 {
		match self {
			Self::Sr25519(key) | Self::Ed25519(key) => (*key).into(),
			Self::Ecdsa(key) => {
				use sp_runtime::traits::{BlakeTwo256, Hash};
				BlakeTwo256::hash(key).0.into()
			},
		}
	}
}

/// The purposes a verification method serves (W3C verification relationships).
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct Relationships {
	/// Authenticates as the DID subject (`authentication`).
	pub authentication: bool,
	/// Issues claims and credentials (`assertionMethod`).
	pub assertion_method: bool,
	/// Delegates capabilities (`capabilityDelegation`).
	pub capability_delegation: bool,
	/// Agrees on encryption keys (`keyAgreement`).
	pub key_agreement: bool,
}

/// A verification method as runtime APIs return it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct VerificationMethodView {
	/// The fragment that names it within the DID (`#<fragment>`).
	pub fragment: Vec<u8>,
	/// Its public key.
	pub key: PublicKey,
	/// What it may be used for.
	pub relationships: Relationships,
}

/// A service endpoint as runtime APIs return it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct ServiceView {
	/// The fragment that names it within the DID (`#<fragment>`).
	pub fragment: Vec<u8>,
	/// Its type, for example `LinkedDomains` or `TwinDataEndpoint`.
	pub service_type: Vec<u8>,
	/// Its URL.
	pub endpoint: Vec<u8>,
}

/// Everything a resolver needs to write the DID document of an active DID.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct DidView<AccountId, BlockNumber> {
	/// What the DID identifies.
	pub kind: SubjectKind,
	/// Who may change it.
	pub controller: Controller<AccountId>,
	/// Its verification methods.
	pub verification_methods: Vec<VerificationMethodView>,
	/// Its service endpoints.
	pub services: Vec<ServiceView>,
	/// The hash of the subject's off-chain metadata, if set.
	pub metadata_hash: Option<H256>,
	/// The data schema tag (for example `NWB 2.x`, `BIDS`, `FHIR`), if set.
	pub schema: Option<Vec<u8>>,
	/// The institution that holds the subject's data, if one accepted custody.
	pub custodian: Option<DidId>,
	/// The block that created the DID.
	pub created: BlockNumber,
	/// The block of the latest change.
	pub updated: BlockNumber,
}

/// The outcome of resolving a DID on chain.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum DidResolution<AccountId, BlockNumber> {
	/// The DID is active.
	Active(DidView<AccountId, BlockNumber>),
	/// The DID was deactivated; only its history remains.
	Deactivated {
		/// What the DID identified.
		kind: SubjectKind,
		/// The block that created it.
		created: BlockNumber,
		/// The block that deactivated it.
		deactivated: BlockNumber,
	},
}
