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
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
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
	/// A Curve25519 Diffie-Hellman key: agrees on encryption keys
	/// (`keyAgreement`) and never signs.
	X25519([u8; 32]),
}

impl PublicKey {
	/// The key's bytes.
	pub fn as_bytes(&self) -> &[u8] {
		match self {
			Self::Sr25519(key) | Self::Ed25519(key) | Self::X25519(key) => key,
			Self::Ecdsa(key) => key,
		}
	}

	/// Whether the key signs (sr25519, ed25519, ECDSA) rather than agreeing
	/// on encryption keys (X25519).
	pub fn is_signing(&self) -> bool {
		!matches!(self, Self::X25519(_))
	}

	/// The multicodec code of the key type, as an unsigned varint
	/// (used in `publicKeyMultibase`).
	pub fn multicodec_prefix(&self) -> [u8; 2] {
		match self {
			Self::Sr25519(_) => [0xef, 0x01],
			Self::Ed25519(_) => [0xed, 0x01],
			Self::Ecdsa(_) => [0xe7, 0x01],
			Self::X25519(_) => [0xec, 0x01],
		}
	}

	/// The account whose transactions this key signs: the key itself for
	/// sr25519 and ed25519, the BLAKE2-256 hash of it for ECDSA; none for
	/// X25519, which does not sign.
	pub fn account_id(&self) -> Option<sp_runtime::AccountId32> {
		match self {
			Self::Sr25519(key) | Self::Ed25519(key) => Some((*key).into()),
			Self::Ecdsa(key) => {
				use sp_runtime::traits::{BlakeTwo256, Hash};
				Some(BlakeTwo256::hash(key).0.into())
			},
			Self::X25519(_) => None,
		}
	}

	/// Whether `signature` is this key's signature of `message`. A signature
	/// of another scheme than the key's never verifies.
	pub fn verifies(&self, message: &[u8], signature: &DidSignature) -> bool {
		use sp_core::{ecdsa, ed25519, sr25519};
		match (self, signature) {
			(Self::Sr25519(key), DidSignature::Sr25519(signature)) => {
				sp_io::crypto::sr25519_verify(
					&sr25519::Signature::from_raw(*signature),
					message,
					&sr25519::Public::from_raw(*key),
				)
			},
			(Self::Ed25519(key), DidSignature::Ed25519(signature)) => {
				sp_io::crypto::ed25519_verify(
					&ed25519::Signature::from_raw(*signature),
					message,
					&ed25519::Public::from_raw(*key),
				)
			},
			(Self::Ecdsa(key), DidSignature::Ecdsa(signature)) => sp_io::crypto::ecdsa_verify(
				&ecdsa::Signature::from_raw(*signature),
				message,
				&ecdsa::Public::from_raw(*key),
			),
			_ => false,
		}
	}
}

/// A signature by one of a DID's verification methods.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum DidSignature {
	/// A Schnorrkel/Ristretto (sr25519) signature.
	Sr25519([u8; 64]),
	/// An Ed25519 signature.
	Ed25519([u8; 64]),
	/// A recoverable secp256k1 (ECDSA) signature of the message's BLAKE2-256 hash.
	Ecdsa([u8; 65]),
}

/// One W3C verification relationship.
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
pub enum Relationship {
	/// `authentication`: proves control of the DID.
	Authentication,
	/// `assertionMethod`: issues claims, attests results.
	AssertionMethod,
	/// `capabilityInvocation`: invokes capabilities (updates on behalf of the DID).
	CapabilityInvocation,
	/// `capabilityDelegation`: delegates capabilities.
	CapabilityDelegation,
	/// `keyAgreement`: agrees on encryption keys (X25519 keys only).
	KeyAgreement,
}

impl Relationship {
	/// Every relationship, in the order a DID document lists them.
	pub const ALL: [Relationship; 5] = [
		Relationship::Authentication,
		Relationship::AssertionMethod,
		Relationship::CapabilityInvocation,
		Relationship::CapabilityDelegation,
		Relationship::KeyAgreement,
	];

	/// Its property name in a DID document (`capabilityInvocation`).
	pub const fn name(self) -> &'static str {
		match self {
			Relationship::Authentication => "authentication",
			Relationship::AssertionMethod => "assertionMethod",
			Relationship::CapabilityInvocation => "capabilityInvocation",
			Relationship::CapabilityDelegation => "capabilityDelegation",
			Relationship::KeyAgreement => "keyAgreement",
		}
	}

	/// The relationship [`Relationship::name`] names `name`.
	pub fn from_name(name: &str) -> Option<Self> {
		Self::ALL.into_iter().find(|relationship| relationship.name() == name)
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
	/// Agrees on encryption keys (`keyAgreement`); X25519 keys only.
	pub key_agreement: bool,
	/// Invokes capabilities (`capabilityInvocation`).
	pub capability_invocation: bool,
}

impl Relationships {
	/// Whether these include `relationship`.
	pub fn serves(&self, relationship: Relationship) -> bool {
		match relationship {
			Relationship::Authentication => self.authentication,
			Relationship::AssertionMethod => self.assertion_method,
			Relationship::CapabilityInvocation => self.capability_invocation,
			Relationship::CapabilityDelegation => self.capability_delegation,
			Relationship::KeyAgreement => self.key_agreement,
		}
	}

	/// Whether a key of this type may serve these: signing keys everything
	/// but `keyAgreement`, X25519 keys `keyAgreement` only.
	pub fn fit(&self, key: &PublicKey) -> bool {
		let signs = self.authentication
			|| self.assertion_method
			|| self.capability_invocation
			|| self.capability_delegation;
		if key.is_signing() {
			!self.key_agreement
		} else {
			self.key_agreement && !signs
		}
	}
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
	/// For a patient twin: the patient's account, once bound.
	pub patient: Option<AccountId>,
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

/// The prefix of every `did:twin` DID.
pub const DID_PREFIX: &str = "did:twin:";

/// The longest method-specific identifier: base58btc of 32 bytes is at most
/// 44 characters (fewer when the identifier starts with zero bytes, each of
/// which is written as a single `1`).
pub const MAX_IDENTIFIER_LENGTH: usize = 44;

/// The longest `did:twin` DID string.
pub const MAX_DID_LENGTH: usize = DID_PREFIX.len() + MAX_IDENTIFIER_LENGTH;

/// The longest SS58 address of a 32-byte account (a two-byte prefix, the
/// key and a two-byte checksum in base58 are at most 50 characters); longer
/// input is rejected before decoding.
pub const MAX_SS58_LENGTH: usize = 50;

/// The longest DID URL fragment resolvers accept (`#` not included); fragments
/// on chain are shorter still.
pub const MAX_FRAGMENT_LENGTH: usize = 64;

/// Why a string is not a DID (or DID URL) of this method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidDid {
	/// It is a DID of another method (`did:<other>:…`).
	MethodNotSupported,
	/// It is not a well-formed `did:twin` DID or DID URL.
	Malformed,
}

/// Parses `did:twin:<base58btc of 32 bytes>`. The length is checked before
/// any decoding, so the work is bounded whatever the input.
pub fn parse_did(did: &str) -> Result<DidId, InvalidDid> {
	let identifier = match did.strip_prefix(DID_PREFIX) {
		Some(identifier) => identifier,
		None if is_other_method(did) => return Err(InvalidDid::MethodNotSupported),
		None => return Err(InvalidDid::Malformed),
	};
	if identifier.is_empty() || identifier.len() > MAX_IDENTIFIER_LENGTH {
		return Err(InvalidDid::Malformed);
	}
	let mut bytes = [0u8; 32];
	match bs58::decode(identifier).onto(&mut bytes[..]) {
		Ok(32) => Ok(DidId::from(bytes)),
		_ => Err(InvalidDid::Malformed),
	}
}

/// Parses a DID URL `did:twin:<id>` or `did:twin:<id>#<fragment>` (paths and
/// queries are not supported by this method) into the DID and the fragment.
pub fn parse_did_url(url: &str) -> Result<(DidId, Option<&str>), InvalidDid> {
	if url.len() > MAX_DID_LENGTH.saturating_add(1).saturating_add(MAX_FRAGMENT_LENGTH) {
		return Err(if is_other_method(url) {
			InvalidDid::MethodNotSupported
		} else {
			InvalidDid::Malformed
		});
	}
	let (did, fragment) = match url.split_once('#') {
		Some((did, fragment)) => (did, Some(fragment)),
		None => (url, None),
	};
	let id = parse_did(did)?;
	match fragment {
		Some(fragment) if fragment.is_empty() || !fragment.bytes().all(is_fragment_byte) => {
			Err(InvalidDid::Malformed)
		},
		_ => Ok((id, fragment)),
	}
}

/// Parses an SS58 address, rejecting one longer than [`MAX_SS58_LENGTH`]
/// before any decoding.
#[cfg(feature = "std")]
pub fn parse_ss58<AccountId: sp_core::crypto::Ss58Codec>(address: &str) -> Option<AccountId> {
	if address.len() > MAX_SS58_LENGTH {
		return None;
	}
	AccountId::from_ss58check(address).ok()
}

/// The identifier of the `counter`-th DID created by `creator`: the
/// BLAKE2-256 hash of the SCALE encoding of (`b"did:twin"`, creator,
/// counter), so a client knows a DID before it is created.
pub fn derive_did<AccountId: Encode>(creator: &AccountId, counter: u64) -> DidId {
	DidId::from(sp_io::hashing::blake2_256(&(b"did:twin", creator, counter).encode()))
}

/// The DID string of `did`.
pub fn format_did(did: &DidId) -> alloc::string::String {
	let mut out = alloc::string::String::from(DID_PREFIX);
	out.push_str(&bs58::encode(did.as_bytes()).into_string());
	out
}

/// The longest method name [`parse_did`] reads to tell another method's DID
/// from malformed input (registered method names are far shorter).
pub const MAX_METHOD_NAME_LENGTH: usize = 64;

/// `did:<method>:…` with a method name of 1 to [`MAX_METHOD_NAME_LENGTH`]
/// lowercase letters and digits. Reads at most that many bytes, whatever
/// the length of `did`.
fn is_other_method(did: &str) -> bool {
	let Some(rest) = did.strip_prefix("did:") else { return false };
	let method_length = rest
		.bytes()
		.take(MAX_METHOD_NAME_LENGTH.saturating_add(1))
		.position(|byte| byte == b':');
	match method_length {
		Some(length) if length > 0 => {
			rest.bytes().take(length).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
		},
		_ => false,
	}
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~"`: the characters fragments on
/// chain are made of.
pub fn is_fragment_byte(byte: u8) -> bool {
	byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_relationship_is_found_by_its_did_core_name() {
		for relationship in Relationship::ALL {
			assert_eq!(Relationship::from_name(relationship.name()), Some(relationship));
		}
		assert_eq!(Relationship::KeyAgreement.name(), "keyAgreement");
		assert_eq!(Relationship::from_name("KeyAgreement"), None);
	}
}
