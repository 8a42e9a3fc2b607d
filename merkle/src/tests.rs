#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use super::*;
use proptest::prelude::*;

fn hash(hex: &str) -> Hash {
	hex::decode(hex).unwrap().try_into().unwrap()
}

/// Leaf `i` is the one-byte string `i`.
fn byte_leaves(count: u8) -> Vec<Hash> {
	(0..count).map(|i| leaf_hash(&[i])).collect()
}

/// The roots `merkle/vectors.py` (an independent implementation) prints.
const ROOT_VECTORS: &[(u8, &str)] = &[
	(1, "9ee6dfb61a2fb903df487c401663825643bb825d41695e63df8af6162ab145a6"),
	(2, "47f61e4f4620e9946a8831b8c717a76f36982b82d88e005bc4635a1b21c73eff"),
	(3, "8926efdc0a3a501b9a98e046861bf1303acf7bd2191f0a5fd21c003c9557c1b9"),
	(4, "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90"),
	(5, "d189ac817a2f095408bea113eb0c5b6ba55cbafea7cd71378de9152f3b5d3246"),
	(7, "9a32133fb577b45268f6dcb813645347b5955c4b19e56b7474197a31e75a6a5f"),
	(8, "4ba07b279e4b38ac43030e643df2838f441574aaa3fe3d33187d240df776424b"),
	(9, "9be17ae8052cce641f57ed56eb57c6e06db1fe8d9209ee533dcfb5722ad4cb92"),
	(16, "383dcde85d863777d8b6607d2c0b6d9ff737b253dd0795948a8970e9c3856296"),
	(17, "bf7e4b12f6c4a15311dde88a108496ad1476103174f84a4a146268b53009d675"),
];

#[test]
fn roots_match_the_independent_vectors() {
	for (count, expected) in ROOT_VECTORS {
		assert_eq!(root_of_hashes(&byte_leaves(*count)), Some(hash(expected)), "{count} leaves");
		let raw: Vec<[u8; 1]> = (0..*count).map(|i| [i]).collect();
		assert_eq!(root(&raw), Some(hash(expected)), "{count} raw leaves");
	}
}

#[test]
fn the_empty_leaf_hash_matches_its_vector() {
	assert_eq!(
		leaf_hash(&[]),
		hash("03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314")
	);
}

#[test]
fn proofs_match_the_independent_vectors() {
	let leaves = byte_leaves(7);
	let step = |side, hex| ProofStep { sibling: hash(hex), side };
	assert_eq!(
		prove(&leaves, 5).unwrap().steps,
		vec![
			step(Side::Left, "7324cf9181f377b38e2edeca7a080796554246690656566def41afedef911d0d"),
			step(Side::Right, "42cd30b31f9f99c642d94cae5cba9dbb8ead01564e1d5fc116025d9ab276aceb"),
			step(Side::Left, "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90"),
		]
	);
	// Leaf 6 of 7 is promoted on the first level: two steps, not three.
	assert_eq!(
		prove(&leaves, 6).unwrap().steps,
		vec![
			step(Side::Left, "4d2c8433e0325c52b255af559aa6ff4fdf5749abd76aa8697644819aefa1293e"),
			step(Side::Left, "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90"),
		]
	);
}

#[test]
fn a_single_leaf_is_its_own_root_with_an_empty_proof() {
	let leaves = byte_leaves(1);
	let proof = prove(&leaves, 0).unwrap();
	assert!(proof.steps.is_empty());
	assert_eq!(verify(&leaves[0], &leaves[0], &proof), Ok(()));
}

#[test]
fn there_is_no_empty_tree() {
	assert_eq!(root_of_hashes(&[]), None);
	assert_eq!(prove(&[], 0), None);
	let proof = Proof { leaf_index: 0, leaf_count: 0, steps: vec![] };
	assert_eq!(verify(&[0; 32], &[0; 32], &proof), Err(VerifyError::EmptyTree));
}

#[test]
fn no_proof_for_a_leaf_past_the_end() {
	assert_eq!(prove(&byte_leaves(3), 3), None);
	let proof = Proof { leaf_index: 3, leaf_count: 3, steps: vec![] };
	assert_eq!(verify(&[0; 32], &[0; 32], &proof), Err(VerifyError::IndexOutOfRange));
}

#[test]
fn an_odd_node_is_promoted_not_duplicated() {
	// With duplication, [a, b, c] and [a, b, c, c] would share a root.
	let three = byte_leaves(3);
	let mut four = three.clone();
	four.push(three[2]);
	assert_ne!(root_of_hashes(&three), root_of_hashes(&four));
	assert_eq!(
		root_of_hashes(&three),
		Some(node_hash(&node_hash(&three[0], &three[1]), &three[2]))
	);
}

#[test]
fn a_leaf_cannot_pass_for_an_inner_node() {
	// The preimage of node(a, b) as a leaf hashes differently: domain separation.
	let leaves = byte_leaves(2);
	let inner: Vec<u8> = [leaves[0], leaves[1]].concat();
	assert_ne!(leaf_hash(&inner), node_hash(&leaves[0], &leaves[1]));
}

/// Leaf counts up to 70 (several odd levels) and an index among them.
fn tree_and_index() -> impl Strategy<Value = (Vec<Hash>, u32)> {
	prop::collection::vec(any::<[u8; 32]>(), 1..70).prop_flat_map(|leaves| {
		let count = leaves.len() as u32;
		(Just(leaves), 0..count)
	})
}

proptest! {
	#[test]
	fn every_generated_proof_verifies((leaves, index) in tree_and_index()) {
		let root = root_of_hashes(&leaves).unwrap();
		let proof = prove(&leaves, index).unwrap();
		prop_assert!(proof.steps.len() as u32 <= MAX_PROOF_STEPS);
		prop_assert_eq!(verify(&root, &leaves[index as usize], &proof), Ok(()));
	}

	#[test]
	fn a_flipped_bit_in_a_sibling_fails(
		(leaves, index) in tree_and_index(),
		step in any::<prop::sample::Index>(),
		bit in 0usize..256,
	) {
		let root = root_of_hashes(&leaves).unwrap();
		let mut proof = prove(&leaves, index).unwrap();
		prop_assume!(!proof.steps.is_empty());
		let step = step.index(proof.steps.len());
		proof.steps[step].sibling[bit / 8] ^= 1 << (bit % 8);
		prop_assert_eq!(verify(&root, &leaves[index as usize], &proof), Err(VerifyError::RootMismatch));
	}

	#[test]
	fn a_flipped_bit_in_the_leaf_fails((leaves, index) in tree_and_index(), bit in 0usize..256) {
		let root = root_of_hashes(&leaves).unwrap();
		let proof = prove(&leaves, index).unwrap();
		let mut leaf = leaves[index as usize];
		leaf[bit / 8] ^= 1 << (bit % 8);
		prop_assert_eq!(verify(&root, &leaf, &proof), Err(VerifyError::RootMismatch));
	}

	#[test]
	fn a_proof_is_valid_at_its_own_index_only(
		(leaves, index) in tree_and_index(),
		other in any::<prop::sample::Index>(),
	) {
		let root = root_of_hashes(&leaves).unwrap();
		let mut proof = prove(&leaves, index).unwrap();
		let other = other.index(leaves.len()) as u32;
		prop_assume!(other != index);
		proof.leaf_index = other;
		prop_assert!(verify(&root, &leaves[index as usize], &proof).is_err());
	}

	#[test]
	fn a_proof_fails_against_another_root(
		(leaves, index) in tree_and_index(),
		wrong_root in any::<[u8; 32]>(),
	) {
		let root = root_of_hashes(&leaves).unwrap();
		prop_assume!(wrong_root != root);
		let proof = prove(&leaves, index).unwrap();
		prop_assert_eq!(
			verify(&wrong_root, &leaves[index as usize], &proof),
			Err(VerifyError::RootMismatch)
		);
	}

	#[test]
	fn a_proof_with_a_step_dropped_or_added_fails(
		(leaves, index) in tree_and_index(),
		extra in any::<[u8; 32]>(),
	) {
		let root = root_of_hashes(&leaves).unwrap();
		let proof = prove(&leaves, index).unwrap();
		let leaf = leaves[index as usize];
		let mut longer = proof.clone();
		longer.steps.push(ProofStep { sibling: extra, side: Side::Right });
		prop_assert_eq!(verify(&root, &leaf, &longer), Err(VerifyError::WrongLength));
		if !proof.steps.is_empty() {
			let mut shorter = proof.clone();
			shorter.steps.pop();
			prop_assert_eq!(verify(&root, &leaf, &shorter), Err(VerifyError::WrongLength));
		}
	}

	#[test]
	fn a_proof_with_a_side_swapped_fails(
		(leaves, index) in tree_and_index(),
		step in any::<prop::sample::Index>(),
	) {
		let root = root_of_hashes(&leaves).unwrap();
		let mut proof = prove(&leaves, index).unwrap();
		prop_assume!(!proof.steps.is_empty());
		let position = step.index(proof.steps.len());
		let step = &mut proof.steps[position];
		step.side = match step.side { Side::Left => Side::Right, Side::Right => Side::Left };
		prop_assert_eq!(verify(&root, &leaves[index as usize], &proof), Err(VerifyError::WrongSide));
	}
}
