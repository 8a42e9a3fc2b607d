//! The institution's X25519 key agreement key, from which the agent derives
//! the secure-aggregation seed it shares with every other participant of a
//! round (`twinnet-secagg`, docs/federated.md "Secure aggregation").
//!
//! The secret stays in a file next to the agent (32 bytes, `0x` hex, readable by
//! the agent's user only); its public key is what the institution's DID
//! lists under `keyAgreement` (key type X25519, multicodec `0xec01`).

use std::path::Path;

use twinnet_primitives::did::DidId;
use twinnet_secagg::{pair_seed, Seed};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::secret_file::{self, SecretFileError};

/// Why a key agreement key cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgreementError {
	/// The key file cannot be read or written.
	Io(String),
	/// The key file does not hold 32 bytes of hex.
	Malformed,
	/// A peer's public key is a low-order point: the shared secret would
	/// be known to anyone, so no seed is derived with it.
	NonContributory(DidId),
	/// A peer is the institution itself or is named twice: its mask would
	/// not cancel.
	InvalidPeer(DidId),
	/// Others than the agent's user may read the key file.
	Exposed,
}

impl std::fmt::Display for AgreementError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Io(error) => write!(f, "key agreement key file: {error}"),
			Self::Malformed => write!(f, "the key agreement key file does not hold 32 hex bytes"),
			Self::NonContributory(peer) => write!(
				f,
				"the key agreement key of {} is a low-order point",
				twinnet_primitives::did::format_did(peer)
			),
			Self::InvalidPeer(peer) => write!(
				f,
				"{} is this institution or named twice among the round's peers",
				twinnet_primitives::did::format_did(peer)
			),
			Self::Exposed => {
				write!(f, "the key agreement key file may be read by others (chmod 600 it)")
			},
		}
	}
}

impl From<SecretFileError> for AgreementError {
	fn from(error: SecretFileError) -> Self {
		match error {
			SecretFileError::Io(error) => Self::Io(error),
			SecretFileError::Malformed => Self::Malformed,
			SecretFileError::Exposed => Self::Exposed,
		}
	}
}

/// An institution's X25519 secret.
pub struct AgreementKey(StaticSecret);

impl AgreementKey {
	/// The key in `path`, created there (mode 0600) if the file does not
	/// exist; a file that others may read is refused
	/// ([`crate::secret_file`]).
	pub fn load_or_create(path: &Path) -> Result<Self, AgreementError> {
		Ok(Self(StaticSecret::from(secret_file::load_or_create(path)?)))
	}

	/// The public key the institution's DID lists under `keyAgreement`.
	pub fn public(&self) -> [u8; 32] {
		PublicKey::from(&self.0).to_bytes()
	}

	/// The seed `institution` shares with each of `peers` (their DIDs and
	/// `keyAgreement` keys) for `round` of `job`, opened on block
	/// `opening_block` (the parent of the block it opened in) of the chain
	/// of `genesis`.
	pub fn round_seeds(
		&self,
		genesis: &[u8; 32],
		opening_block: &[u8; 32],
		job: u64,
		round: u32,
		institution: &DidId,
		peers: &[(DidId, [u8; 32])],
	) -> Result<Vec<(DidId, Seed)>, AgreementError> {
		let mut seen = std::collections::BTreeSet::from([*institution]);
		peers
			.iter()
			.map(|(peer, key)| {
				if !seen.insert(*peer) {
					return Err(AgreementError::InvalidPeer(*peer));
				}
				let shared = self.0.diffie_hellman(&PublicKey::from(*key));
				if !shared.was_contributory() {
					return Err(AgreementError::NonContributory(*peer));
				}
				let seed = pair_seed(
					shared.as_bytes(),
					genesis,
					opening_block,
					job,
					round,
					institution.as_fixed_bytes(),
					peer.as_fixed_bytes(),
				);
				Ok((*peer, seed))
			})
			.collect()
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;
	use std::fs;
	use twinnet_secagg::{add_into, mask_update};

	const OPENING: [u8; 32] = [8; 32];

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	#[test]
	fn a_key_is_created_once_kept_private_and_read_back() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("agreement.key");
		let created = AgreementKey::load_or_create(&path).unwrap();
		assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
		let loaded = AgreementKey::load_or_create(&path).unwrap();
		assert_eq!(created.public(), loaded.public());
		assert!(!path.with_extension("partial").exists());
		// Readable by others: refused, and not overwritten.
		fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
		assert_eq!(AgreementKey::load_or_create(&path).err(), Some(AgreementError::Exposed));
		fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
		let text = fs::read_to_string(&path).unwrap();
		// Non-canonical hex (a sign, no prefix) is refused.
		fs::write(&path, text.replacen("0x", "", 1)).unwrap();
		assert_eq!(AgreementKey::load_or_create(&path).err(), Some(AgreementError::Malformed));
		fs::write(&path, format!("0x+{}", &text.trim()[3..])).unwrap();
		assert_eq!(AgreementKey::load_or_create(&path).err(), Some(AgreementError::Malformed));
		fs::write(&path, "0xnot hex").unwrap();
		assert_eq!(AgreementKey::load_or_create(&path).err(), Some(AgreementError::Malformed));
		fs::write(&path, format!("0x{}", "ab".repeat(31))).unwrap();
		assert_eq!(AgreementKey::load_or_create(&path).err(), Some(AgreementError::Malformed));
	}

	#[test]
	fn three_institutions_derive_the_same_pair_seeds_and_their_masks_cancel() {
		let keys: Vec<AgreementKey> = (0..3)
			.map(|_| AgreementKey(StaticSecret::random_from_rng(rand::rngs::OsRng)))
			.collect();
		let dids = [did(1), did(2), did(3)];
		let genesis = [9; 32];
		let seeds: Vec<Vec<(DidId, Seed)>> = (0..3)
			.map(|i| {
				let peers: Vec<(DidId, [u8; 32])> =
					(0..3).filter(|j| *j != i).map(|j| (dids[j], keys[j].public())).collect();
				keys[i].round_seeds(&genesis, &OPENING, 5, 2, &dids[i], &peers).unwrap()
			})
			.collect();
		// Both sides of each pair hold the same seed; other rounds differ.
		let seed_of = |i: usize, j: DidId| seeds[i].iter().find(|(p, _)| *p == j).unwrap().1;
		assert_eq!(seed_of(0, dids[1]), seed_of(1, dids[0]));
		assert_eq!(seed_of(1, dids[2]), seed_of(2, dids[1]));
		assert_ne!(seed_of(0, dids[1]), seed_of(0, dids[2]));
		let next =
			keys[0].round_seeds(&genesis, &OPENING, 5, 3, &dids[0], &[(dids[1], keys[1].public())]);
		assert_ne!(next.unwrap()[0].1, seed_of(0, dids[1]));
		let fork =
			keys[0].round_seeds(&genesis, &[4; 32], 5, 2, &dids[0], &[(dids[1], keys[1].public())]);
		assert_ne!(fork.unwrap()[0].1, seed_of(0, dids[1]));
		// Masked with them, the updates sum to the plain sum.
		let updates = [vec![1u32, 2, 3], vec![10, 20, 30], vec![100, 200, 300]];
		let mut total = vec![0u32; 3];
		for (i, update) in updates.iter().enumerate() {
			let mut masked = update.clone();
			mask_update(
				&mut masked,
				dids[i].as_fixed_bytes(),
				seeds[i].iter().map(|(p, s)| (p.as_fixed_bytes(), s)),
			);
			assert_ne!(&masked, update);
			assert!(add_into(&mut total, &masked));
		}
		assert_eq!(total, vec![111, 222, 333]);
	}

	#[test]
	fn a_low_order_peer_key_is_refused() {
		let key = AgreementKey(StaticSecret::random_from_rng(rand::rngs::OsRng));
		let refused = key.round_seeds(&[0; 32], &OPENING, 0, 0, &did(1), &[(did(2), [0; 32])]);
		assert_eq!(refused.err(), Some(AgreementError::NonContributory(did(2))));
	}

	#[test]
	fn the_institution_itself_or_a_peer_named_twice_is_refused() {
		let key = AgreementKey(StaticSecret::random_from_rng(rand::rngs::OsRng));
		let peer = AgreementKey(StaticSecret::random_from_rng(rand::rngs::OsRng)).public();
		let seeds =
			|peers: &[(DidId, [u8; 32])]| key.round_seeds(&[0; 32], &OPENING, 0, 0, &did(1), peers);
		assert_eq!(seeds(&[(did(1), peer)]).err(), Some(AgreementError::InvalidPeer(did(1))));
		assert_eq!(
			seeds(&[(did(2), peer), (did(2), peer)]).err(),
			Some(AgreementError::InvalidPeer(did(2)))
		);
		assert_eq!(seeds(&[(did(2), peer)]).map(|s| s.len()), Ok(1));
	}
}
