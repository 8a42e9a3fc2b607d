//! What the command line names, read and checked before anything goes
//! over the network (DIDs, addresses, grantees, hex, decimals, durations:
//! a malformed one is a usage error, exit 2), and turned into call
//! arguments for subxt's dynamic API (`Option`s, enums, byte arrays as
//! `scale_value` values, which subxt encodes against the node's metadata).

use std::{fmt, str::FromStr};

use subxt::dynamic::Value;
use twinnet_primitives::{
	consent::{DELTA_DECIMALS, EPSILON_DECIMALS},
	did::{format_did, parse_did, parse_ss58, DidId, InvalidDid, Relationship},
	parse_decimal,
};

/// `None`.
pub fn none() -> Value {
	Value::unnamed_variant("None", [])
}

/// `Some(value)`.
pub fn some(value: Value) -> Value {
	Value::unnamed_variant("Some", [value])
}

/// `value` if there is one, else `None`.
pub fn optional(value: Option<Value>) -> Value {
	value.map_or_else(none, some)
}

/// The enum variant `name` with unnamed `fields`.
pub fn variant<const N: usize>(name: &str, fields: [Value; N]) -> Value {
	Value::unnamed_variant(name, fields)
}

/// A verification method: `fragment`, its public `key` (a `PublicKey`
/// variant) and the relationships it serves.
pub fn verification_method(fragment: &str, key: Value, serves: &[Relationship]) -> Value {
	let flag = |relationship| Value::bool(serves.contains(&relationship));
	Value::named_composite([
		("fragment", Value::from_bytes(fragment.as_bytes())),
		("key", key),
		(
			"relationships",
			Value::named_composite([
				("authentication", flag(Relationship::Authentication)),
				("assertion_method", flag(Relationship::AssertionMethod)),
				("capability_delegation", flag(Relationship::CapabilityDelegation)),
				("key_agreement", flag(Relationship::KeyAgreement)),
				("capability_invocation", flag(Relationship::CapabilityInvocation)),
			]),
		),
	])
}

/// A `did:twin` DID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Did(pub DidId);

impl FromStr for Did {
	type Err = String;

	fn from_str(did: &str) -> Result<Self, String> {
		parse_did(did).map(Did).map_err(|error| match error {
			InvalidDid::MethodNotSupported => String::from("not a did:twin DID"),
			InvalidDid::Malformed => String::from("not a well-formed did:twin DID"),
		})
	}
}

impl fmt::Display for Did {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(&format_did(&self.0))
	}
}

impl Did {
	/// The identifier as a call argument.
	pub fn value(&self) -> Value {
		Value::from_bytes(self.0.as_bytes())
	}
}

/// An account, by its SS58 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
	/// The account's 32 bytes.
	pub id: [u8; 32],
	text: String,
}

impl FromStr for Address {
	type Err = String;

	fn from_str(address: &str) -> Result<Self, String> {
		parse_ss58::<sp_core::crypto::AccountId32>(address)
			.map(|id| Address { id: id.into(), text: address.to_string() })
			.ok_or_else(|| String::from("not an SS58 address"))
	}
}

impl fmt::Display for Address {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(&self.text)
	}
}

impl Address {
	/// The account as a call argument.
	pub fn value(&self) -> Value {
		Value::from_bytes(self.id)
	}
}

/// An account or a DID (a controller): `did:…`, else an SS58 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
	/// An account.
	Account(Address),
	/// A DID.
	Did(Did),
}

impl FromStr for Party {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		if text.starts_with("did:") {
			text.parse().map(Party::Did)
		} else {
			text.parse()
				.map(Party::Account)
				.map_err(|_| String::from("not an SS58 address or DID"))
		}
	}
}

impl fmt::Display for Party {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Account(address) => address.fmt(f),
			Self::Did(did) => did.fmt(f),
		}
	}
}

impl Party {
	/// As `Controller::Account` or `Controller::Did`.
	pub fn controller(&self) -> Value {
		match self {
			Self::Account(address) => variant("Account", [address.value()]),
			Self::Did(did) => variant("Did", [did.value()]),
		}
	}
}

/// Who a grant is for: `job:<id>`, an institution's DID, or an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grantee {
	/// A federated job.
	Job(u64),
	/// An institution.
	Institution(Did),
	/// An account.
	Account(Address),
}

impl FromStr for Grantee {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		if let Some(job) = text.strip_prefix("job:") {
			job.parse().map(Grantee::Job).map_err(|_| String::from("job:<number>"))
		} else {
			match text.parse::<Party>()? {
				Party::Did(did) => Ok(Grantee::Institution(did)),
				Party::Account(address) => Ok(Grantee::Account(address)),
			}
		}
	}
}

impl fmt::Display for Grantee {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Job(job) => write!(f, "job {job}"),
			Self::Institution(did) => did.fmt(f),
			Self::Account(address) => address.fmt(f),
		}
	}
}

impl Grantee {
	/// As the chain's `Grantee`.
	pub fn value(&self) -> Value {
		match self {
			Self::Job(job) => variant("Job", [Value::u128(u128::from(*job))]),
			Self::Institution(did) => variant("Institution", [did.value()]),
			Self::Account(address) => variant("Account", [address.value()]),
		}
	}
}

/// Bytes, as `0x` and hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl FromStr for Hex {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		text.strip_prefix("0x")
			.and_then(|hex| sp_core::bytes::from_hex(hex).ok())
			.map(Hex)
			.ok_or_else(|| String::from("not 0x and hex"))
	}
}

/// A 32-byte hash, as `0x` and 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash(pub [u8; 32]);

impl FromStr for Hash {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		let Hex(bytes) = text.parse()?;
		bytes.try_into().map(Hash).map_err(|_| String::from("not 32 bytes"))
	}
}

/// An epsilon: an exact decimal of at most nine places (`2.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epsilon(pub u64);

impl FromStr for Epsilon {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		parse_decimal(text, EPSILON_DECIMALS)
			.map(Epsilon)
			.ok_or_else(|| format!("not a decimal of at most {EPSILON_DECIMALS} places"))
	}
}

/// A delta: an exact decimal from 0 to 1 of at most eighteen places
/// (`0.000001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delta(pub u64);

/// A delta of 1 in its fixed point (`Perquintill`).
const DELTA_ONE: u64 = 1_000_000_000_000_000_000;

impl FromStr for Delta {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		parse_decimal(text, DELTA_DECIMALS)
			.filter(|delta| *delta <= DELTA_ONE)
			.map(Delta)
			.ok_or_else(|| format!("not a decimal from 0 to 1 of at most {DELTA_DECIMALS} places"))
	}
}

/// A span of time: a number and a unit, `d`, `h` or `m` (`90d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
	/// Its length in milliseconds.
	pub ms: u64,
}

impl FromStr for Duration {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		let bad = || String::from("a number and d, h or m (90d, 12h, 30m)");
		let unit_ms: u64 = match text.chars().last() {
			Some('d') => 86_400_000,
			Some('h') => 3_600_000,
			Some('m') => 60_000,
			_ => return Err(bad()),
		};
		let count: u64 = text
			.get(..text.len().saturating_sub(1))
			.filter(|count| !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()))
			.and_then(|count| count.parse().ok())
			.ok_or_else(bad)?;
		match count.checked_mul(unit_ms) {
			Some(0) => Err(String::from("not a span of time: it is zero")),
			Some(ms) => Ok(Duration { ms }),
			None => Err(String::from("too long")),
		}
	}
}

impl Duration {
	/// Whole blocks of `block_ms` it spans, rounded up; `None` if more than
	/// a block number holds.
	pub fn blocks(&self, block_ms: u64) -> Option<u32> {
		u32::try_from(self.ms.div_ceil(block_ms.max(1))).ok()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_duration_is_whole_blocks_rounded_up() {
		let blocks = |text: &str, block_ms| text.parse::<Duration>().ok()?.blocks(block_ms);
		assert_eq!(blocks("1d", 6_000), Some(14_400));
		assert_eq!(blocks("90m", 6_000), Some(900));
		assert_eq!(blocks("1h", 7_000), Some(515));
		for bad in ["10", "d", "-1d", "+1d", "1.5h", "1w", "0d", "", "99999999999999999d"] {
			assert!(bad.parse::<Duration>().is_err(), "{bad:?}");
		}
		assert_eq!(blocks("9999999d", 6_000), None);
	}

	#[test]
	fn a_grantee_is_a_job_an_institution_or_an_account() {
		assert_eq!("job:4".parse(), Ok(Grantee::Job(4)));
		let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		assert!(matches!(alice.parse(), Ok(Grantee::Account(_))));
		let did = "did:twin:11111111111111111111111111111111";
		assert!(matches!(did.parse(), Ok(Grantee::Institution(_))));
		for bad in ["job:x", "job:", "did:twin:0OIl", "did:example:1", "alice", ""] {
			assert!(bad.parse::<Grantee>().is_err(), "{bad:?}");
		}
	}

	#[test]
	fn a_delta_is_at_most_one_and_an_epsilon_any_exact_decimal() {
		assert_eq!("0.000001".parse(), Ok(Delta(1_000_000_000_000)));
		assert_eq!("1".parse(), Ok(Delta(DELTA_ONE)));
		assert!("1.000000000000000001".parse::<Delta>().is_err());
		assert!("18".parse::<Delta>().is_err());
		assert_eq!("2.5".parse(), Ok(Epsilon(2_500_000_000)));
		assert!("1e3".parse::<Epsilon>().is_err());
	}

	#[test]
	fn hashes_are_32_bytes_of_hex() {
		assert!(format!("0x{}", "ab".repeat(32)).parse::<Hash>().is_ok());
		assert!(format!("0x{}", "ab".repeat(31)).parse::<Hash>().is_err());
		assert!("ab".repeat(32).parse::<Hash>().is_err());
	}
}
