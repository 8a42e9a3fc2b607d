//! # twinnet-merkle: the one Merkle tree of TwinNet
//!
//! Binary Merkle trees over BLAKE2b-256, used alike by the runtime
//! (`pallet-commitments` stores roots and, for small trees, leaves), the RPC
//! server (`commitments_prove`, `commitments_verifyInclusion`), the compute
//! agent (committing model updates) and any client (`twinctl audit verify`).
//! Everything here is specified so an independent implementation can check
//! itself against the [test vectors](#test-vectors).
//!
//! ## The tree
//!
//! - **Leaves** are byte strings (usually 32-byte content hashes). A leaf's
//!   hash is `BLAKE2b-256(0x00 ‖ leaf)`.
//! - **Inner nodes** hash their two children: `BLAKE2b-256(0x01 ‖ left ‖ right)`.
//!   The distinct prefixes (domain separation) mean no leaf can pass for an
//!   inner node, so no second preimage can be built from a tree's own nodes.
//! - **Levels** are built from left to right, pairing nodes `2i` and `2i+1`.
//!   **Odd rule**: when a level has an odd number of nodes, the last one is
//!   *promoted* unchanged to the next level (never paired with a copy of
//!   itself, which would let two different leaf lists share a root, as in
//!   Bitcoin's CVE-2012-2459).
//! - The **root** is the single node left. A tree of one leaf has that leaf's
//!   hash as root. A tree has 1 to `u32::MAX` leaves; there is no empty tree.
//!
//! ## Proofs
//!
//! A [`Proof`] of leaf `leaf_index` among `leaf_count` leaves lists the
//! sibling hashes from the leaf's level up, each with the [`Side`] it sits
//! on. Levels where the path's node is promoted contribute no step.
//! [`verify`] recomputes the root from the leaf and the steps, and also
//! checks that the number and sides of the steps are exactly those that
//! `leaf_index` and `leaf_count` imply, so a proof is valid for one position
//! only.
//!
//! ## Test vectors
//!
//! Leaves are the one-byte strings `0x00`, `0x01`, … (leaf `i` is the byte
//! `i`). The roots, computed with Python's `hashlib.blake2b(digest_size=32)`
//! independently of this crate, are checked by this crate's tests:
//!
//! | leaves | root |
//! |---|---|
//! | 1 | `9ee6dfb61a2fb903df487c401663825643bb825d41695e63df8af6162ab145a6` |
//! | 2 | `47f61e4f4620e9946a8831b8c717a76f36982b82d88e005bc4635a1b21c73eff` |
//! | 3 | `8926efdc0a3a501b9a98e046861bf1303acf7bd2191f0a5fd21c003c9557c1b9` |
//! | 4 | `4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90` |
//! | 5 | `d189ac817a2f095408bea113eb0c5b6ba55cbafea7cd71378de9152f3b5d3246` |
//! | 7 | `9a32133fb577b45268f6dcb813645347b5955c4b19e56b7474197a31e75a6a5f` |
//! | 8 | `4ba07b279e4b38ac43030e643df2838f441574aaa3fe3d33187d240df776424b` |
//! | 9 | `9be17ae8052cce641f57ed56eb57c6e06db1fe8d9209ee533dcfb5722ad4cb92` |
//! | 16 | `383dcde85d863777d8b6607d2c0b6d9ff737b253dd0795948a8970e9c3856296` |
//! | 17 | `bf7e4b12f6c4a15311dde88a108496ad1476103174f84a4a146268b53009d675` |
//!
//! The hash of the empty leaf is
//! `03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314`. The
//! proof of leaf 5 of 7 is `[(Left, 7324cf91…1d0d), (Right, 42cd30b3…aceb),
//! (Left, 4c2bb58c…cf90)]`, and of leaf 6 of 7 (promoted once)
//! `[(Left, 4d2c8433…293e), (Left, 4c2bb58c…cf90)]`; `merkle/vectors.py`, an
//! independent implementation in Python, prints them all in full.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A 32-byte BLAKE2b-256 hash.
pub type Hash = [u8; 32];

/// The prefix of a leaf's preimage.
pub const LEAF_PREFIX: u8 = 0x00;
/// The prefix of an inner node's preimage.
pub const NODE_PREFIX: u8 = 0x01;
/// The most steps a proof has: a tree of at most `u32::MAX` leaves is at
/// most 32 levels deep.
pub const MAX_PROOF_STEPS: u32 = 32;

/// The hash of a leaf: `BLAKE2b-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
	let mut preimage = Vec::with_capacity(leaf.len().saturating_add(1));
	preimage.push(LEAF_PREFIX);
	preimage.extend_from_slice(leaf);
	sp_crypto_hashing::blake2_256(&preimage)
}

/// The hash of an inner node: `BLAKE2b-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
	sp_crypto_hashing::blake2_256(&[&[NODE_PREFIX][..], left, right].concat())
}

/// Which side of the path's node a proof's sibling sits on.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Side {
	/// The sibling is the left child: the parent is `node(sibling, path)`.
	Left,
	/// The sibling is the right child: the parent is `node(path, sibling)`.
	Right,
}

/// One level of a proof: the sibling's hash and its side.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct ProofStep {
	/// The hash of the path node's sibling.
	pub sibling: Hash,
	/// Where the sibling sits.
	pub side: Side,
}

/// An inclusion proof of one leaf.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct Proof {
	/// The leaf's position, from 0.
	pub leaf_index: u32,
	/// How many leaves the tree has.
	pub leaf_count: u32,
	/// The siblings from the leaf's level up to the root's children.
	pub steps: Vec<ProofStep>,
}

/// Why a proof does not prove a leaf's inclusion.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub enum VerifyError {
	/// A tree has at least one leaf.
	EmptyTree,
	/// The leaf index is not below the leaf count.
	IndexOutOfRange,
	/// The proof has more or fewer steps than the position implies.
	WrongLength,
	/// A step's side is not the one the position implies.
	WrongSide,
	/// The recomputed root is not the expected one.
	RootMismatch,
}

impl Side {
	/// `left` or `right`, as proofs in JSON name it.
	pub const fn name(self) -> &'static str {
		match self {
			Side::Left => "left",
			Side::Right => "right",
		}
	}
}

impl VerifyError {
	/// Its name in JSON answers (`rootMismatch`).
	pub const fn name(self) -> &'static str {
		match self {
			VerifyError::EmptyTree => "emptyTree",
			VerifyError::IndexOutOfRange => "indexOutOfRange",
			VerifyError::WrongLength => "wrongLength",
			VerifyError::WrongSide => "wrongSide",
			VerifyError::RootMismatch => "rootMismatch",
		}
	}
}

/// Proofs as JSON: what `commitments_prove` returns, and what
/// `commitments_verifyInclusion` and an auditor's own check (`twinctl audit
/// verify`) read: `{"leafIndex": 3, "leafCount": 5, "steps": [{"sibling":
/// "0x…", "side": "left"}, …]}`, siblings as `0x` and 64 hex digits.
#[cfg(feature = "serde")]
pub mod json {
	use alloc::{string::String, vec::Vec};

	use super::{Hash, Proof, ProofStep, Side, MAX_PROOF_STEPS};

	/// A proof in JSON.
	#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
	#[serde(rename_all = "camelCase", deny_unknown_fields)]
	pub struct ProofJson {
		/// The leaf's position, from 0.
		pub leaf_index: u32,
		/// The tree's leaf count; when left out, the reader's (the
		/// commitment's).
		#[serde(default, skip_serializing_if = "Option::is_none")]
		pub leaf_count: Option<u32>,
		/// The siblings from the leaf up.
		pub steps: Vec<StepJson>,
	}

	/// One step of a [`ProofJson`].
	#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
	#[serde(deny_unknown_fields)]
	pub struct StepJson {
		/// The sibling's hash, `0x` and 64 hex digits.
		pub sibling: String,
		/// `left` or `right`.
		pub side: String,
	}

	/// Why a [`ProofJson`] is not a proof.
	#[derive(Clone, Debug, PartialEq, Eq)]
	pub enum ProofJsonError {
		/// More than [`MAX_PROOF_STEPS`] steps (how many there are).
		TooManySteps(usize),
		/// A side that is neither `left` nor `right`.
		BadSide(String),
		/// A sibling that is not `0x` and 64 hex digits.
		BadSibling(String),
	}

	impl From<&Proof> for ProofJson {
		fn from(proof: &Proof) -> Self {
			let steps = proof
				.steps
				.iter()
				.map(|step| StepJson {
					sibling: hex(&step.sibling),
					side: String::from(step.side.name()),
				})
				.collect();
			ProofJson { leaf_index: proof.leaf_index, leaf_count: Some(proof.leaf_count), steps }
		}
	}

	impl ProofJson {
		/// The proof, in a tree of `leaf_count` leaves unless it names its
		/// own. The step count is checked before anything is decoded.
		pub fn proof(&self, leaf_count: u32) -> Result<Proof, ProofJsonError> {
			if self.steps.len() > MAX_PROOF_STEPS as usize {
				return Err(ProofJsonError::TooManySteps(self.steps.len()));
			}
			let steps = self
				.steps
				.iter()
				.map(|step| {
					let side = match step.side.as_str() {
						"left" => Side::Left,
						"right" => Side::Right,
						other => return Err(ProofJsonError::BadSide(String::from(other))),
					};
					let sibling = parse_hash(&step.sibling)
						.ok_or_else(|| ProofJsonError::BadSibling(step.sibling.clone()))?;
					Ok(ProofStep { sibling, side })
				})
				.collect::<Result<_, _>>()?;
			Ok(Proof {
				leaf_index: self.leaf_index,
				leaf_count: self.leaf_count.unwrap_or(leaf_count),
				steps,
			})
		}
	}

	/// `0x` and the hex digits of `bytes`.
	pub fn hex(bytes: &[u8]) -> String {
		const DIGITS: &[u8; 16] = b"0123456789abcdef";
		let mut text = String::with_capacity(bytes.len().saturating_mul(2).saturating_add(2));
		text.push_str("0x");
		for byte in bytes {
			for nibble in [byte >> 4, byte & 0x0f] {
				text.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
			}
		}
		text
	}

	/// A hash from `0x` and exactly 64 hex digits (the length checked
	/// before any decoding).
	pub fn parse_hash(text: &str) -> Option<Hash> {
		let digits = text.strip_prefix("0x").filter(|digits| digits.len() == 64)?;
		let mut hash = [0u8; 32];
		for (byte, pair) in hash.iter_mut().zip(digits.as_bytes().chunks(2)) {
			let digit = |at: usize| char::from(*pair.get(at)?).to_digit(16);
			*byte = u8::try_from(digit(0)?.checked_mul(16)?.checked_add(digit(1)?)?).ok()?;
		}
		Some(hash)
	}

	#[cfg(test)]
	mod tests {
		use super::*;

		#[test]
		fn a_proof_reads_back_from_its_json() {
			let leaves: Vec<Hash> = (0u8..5).map(|i| crate::leaf_hash(&[i])).collect();
			let proof = crate::prove(&leaves, 3).unwrap();
			let json = ProofJson::from(&proof);
			assert_eq!(json.proof(99), Ok(proof.clone()));
			let text = serde_json::to_string(&json).unwrap();
			assert!(text.starts_with(r#"{"leafIndex":3,"leafCount":5,"steps":[{"sibling":"0x"#));
			let read: ProofJson = serde_json::from_str(&text).unwrap();
			assert_eq!(read.proof(99), Ok(proof));
		}

		#[test]
		fn malformed_proofs_are_refused_by_name() {
			let step = |sibling: &str, side: &str| StepJson {
				sibling: String::from(sibling),
				side: String::from(side),
			};
			let zero = hex(&[0; 32]);
			let proof = |steps| ProofJson { leaf_index: 0, leaf_count: None, steps };
			assert_eq!(
				proof(vec![step(&zero, "left"); 33]).proof(3),
				Err(ProofJsonError::TooManySteps(33))
			);
			assert_eq!(
				proof(vec![step(&zero, "up")]).proof(3),
				Err(ProofJsonError::BadSide(String::from("up")))
			);
			for bad in ["0x00", "00".repeat(32).as_str(), &format!("0x{}", "zz".repeat(32))] {
				assert!(matches!(
					proof(vec![step(bad, "left")]).proof(3),
					Err(ProofJsonError::BadSibling(_))
				));
			}
			assert_eq!(proof(vec![]).proof(3).map(|p| p.leaf_count), Ok(3));
			assert!(
				serde_json::from_str::<ProofJson>(r#"{"leafIndex":0,"steps":[],"x":1}"#).is_err()
			);
		}
	}
}

/// The root of a tree whose leaf hashes are `leaves`, or `None` for no leaves.
pub fn root_of_hashes(leaves: &[Hash]) -> Option<Hash> {
	let mut level = leaves.to_vec();
	while level.len() > 1 {
		level = parent_level(&level);
	}
	level.first().copied()
}

/// The root of the tree of `leaves` (hashed with [`leaf_hash`]), or `None`
/// for no leaves.
pub fn root<L: AsRef<[u8]>>(leaves: &[L]) -> Option<Hash> {
	root_of_hashes(&leaf_hashes(leaves))
}

/// The leaf hashes of `leaves`.
pub fn leaf_hashes<L: AsRef<[u8]>>(leaves: &[L]) -> Vec<Hash> {
	leaves.iter().map(|leaf| leaf_hash(leaf.as_ref())).collect()
}

/// The proof of leaf `leaf_index` in the tree whose leaf hashes are `leaves`,
/// or `None` if there is no such leaf (or more than `u32::MAX` leaves).
pub fn prove(leaves: &[Hash], leaf_index: u32) -> Option<Proof> {
	let leaf_count = u32::try_from(leaves.len()).ok()?;
	if leaf_index >= leaf_count {
		return None;
	}
	let mut steps = Vec::new();
	let mut level = leaves.to_vec();
	let mut index = leaf_index as usize;
	while level.len() > 1 {
		let side = if index % 2 == 1 { Side::Left } else { Side::Right };
		if let Some(sibling) = level.get(index ^ 1) {
			steps.push(ProofStep { sibling: *sibling, side });
		}
		level = parent_level(&level);
		index /= 2;
	}
	Some(Proof { leaf_index, leaf_count, steps })
}

/// Checks that `proof` proves the leaf whose hash is `leaf` (see
/// [`leaf_hash`]) at `proof.leaf_index` of a tree with `proof.leaf_count`
/// leaves and root `root`.
pub fn verify(root: &Hash, leaf: &Hash, proof: &Proof) -> Result<(), VerifyError> {
	let sides = expected_sides(proof.leaf_index, proof.leaf_count)?;
	if sides.len() != proof.steps.len() {
		return Err(VerifyError::WrongLength);
	}
	let mut node = *leaf;
	for (step, side) in proof.steps.iter().zip(sides) {
		if step.side != side {
			return Err(VerifyError::WrongSide);
		}
		node = match side {
			Side::Left => node_hash(&step.sibling, &node),
			Side::Right => node_hash(&node, &step.sibling),
		};
	}
	if node == *root {
		Ok(())
	} else {
		Err(VerifyError::RootMismatch)
	}
}

/// The sides of the siblings on the path of leaf `index` among `count`.
fn expected_sides(index: u32, count: u32) -> Result<Vec<Side>, VerifyError> {
	if count == 0 {
		return Err(VerifyError::EmptyTree);
	}
	if index >= count {
		return Err(VerifyError::IndexOutOfRange);
	}
	let mut sides = Vec::new();
	let (mut index, mut width) = (index, count);
	while width > 1 {
		if index % 2 == 1 {
			sides.push(Side::Left);
		} else if index != width.saturating_sub(1) {
			sides.push(Side::Right);
		}
		// Otherwise the node is the last of an odd level: promoted, no step.
		index /= 2;
		width = width.div_ceil(2);
	}
	Ok(sides)
}

/// The level above `level`: pairs hashed, an odd last node promoted.
fn parent_level(level: &[Hash]) -> Vec<Hash> {
	level
		.chunks(2)
		.filter_map(|pair| match pair {
			[left, right] => Some(node_hash(left, right)),
			[odd] => Some(*odd),
			_ => None,
		})
		.collect()
}

#[cfg(test)]
mod tests;
