//! The institution's X25519 key agreement key, from which the agent derives
//! the secure-aggregation seed it shares with every other participant of a
//! round (`twinnet-secagg`, docs/federated.md "Secure aggregation").
//!
//! The secret stays in a file next to the agent (32 bytes, `0x` hex, readable by
//! the agent's user only); its public key is what the institution's DID
//! lists under `keyAgreement` (key type X25519, multicodec `0xec01`).

use std::{fs, io::Write, path::Path};

use twinnet_primitives::did::DidId;
use twinnet_secagg::{pair_seed, Seed};
use x25519_dalek::{PublicKey, StaticSecret};

/// Why a key agreement key cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum AgreementError {
	/// The key file cannot be read or written.
	Io(String),
	/// The key file does not hold 32 bytes of hex.
	Malformed,
	/// A peer's public key is a low-order point: the shared secret would
	/// be known to anyone, so no seed is derived with it.
	NonContributory(DidId),
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
		}
	}
}

/// An institution's X25519 secret.
pub struct AgreementKey(StaticSecret);

impl AgreementKey {
	/// The key in `path`, created there (mode 0600) if the file does not exist.
	pub fn load_or_create(path: &Path) -> Result<Self, AgreementError> {
		match fs::read_to_string(path) {
			Ok(text) => Self::from_hex(text.trim()),
			Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
				let key = Self(StaticSecret::random_from_rng(rand::rngs::OsRng));
				key.write_new(path)?;
				Ok(key)
			},
			Err(error) => Err(AgreementError::Io(error.to_string())),
		}
	}

	fn from_hex(text: &str) -> Result<Self, AgreementError> {
		let text = text.strip_prefix("0x").ok_or(AgreementError::Malformed)?;
		let bytes: [u8; 32] = (0..text.len())
			.step_by(2)
			.map(|i| text.get(i..i.saturating_add(2)).and_then(|b| u8::from_str_radix(b, 16).ok()))
			.collect::<Option<Vec<u8>>>()
			.and_then(|bytes| bytes.try_into().ok())
			.ok_or(AgreementError::Malformed)?;
		Ok(Self(StaticSecret::from(bytes)))
	}

	fn write_new(&self, path: &Path) -> Result<(), AgreementError> {
		use std::os::unix::fs::OpenOptionsExt;
		let hex = crate::round::hash_hex(&self.0.to_bytes());
		fs::OpenOptions::new()
			.write(true)
			.create_new(true)
			.mode(0o600)
			.open(path)
			.and_then(|mut file| writeln!(file, "{hex}"))
			.map_err(|error| AgreementError::Io(error.to_string()))
	}

	/// The public key the institution's DID lists under `keyAgreement`.
	pub fn public(&self) -> [u8; 32] {
		PublicKey::from(&self.0).to_bytes()
	}

	/// The seed `institution` shares with each of `peers` (their DIDs and
	/// `keyAgreement` keys) for `round` of `job` on the chain of `genesis`.
	pub fn round_seeds(
		&self,
		genesis: &[u8; 32],
		job: u64,
		round: u32,
		institution: &DidId,
		peers: &[(DidId, [u8; 32])],
	) -> Result<Vec<(DidId, Seed)>, AgreementError> {
		peers
			.iter()
			.map(|(peer, key)| {
				let shared = self.0.diffie_hellman(&PublicKey::from(*key));
				if !shared.was_contributory() {
					return Err(AgreementError::NonContributory(*peer));
				}
				let seed = pair_seed(
					shared.as_bytes(),
					genesis,
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
	use twinnet_secagg::{add_into, mask_update};

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
				keys[i].round_seeds(&genesis, 5, 2, &dids[i], &peers).unwrap()
			})
			.collect();
		// Both sides of each pair hold the same seed; other rounds differ.
		let seed_of = |i: usize, j: DidId| seeds[i].iter().find(|(p, _)| *p == j).unwrap().1;
		assert_eq!(seed_of(0, dids[1]), seed_of(1, dids[0]));
		assert_eq!(seed_of(1, dids[2]), seed_of(2, dids[1]));
		assert_ne!(seed_of(0, dids[1]), seed_of(0, dids[2]));
		let next = keys[0].round_seeds(&genesis, 5, 3, &dids[0], &[(dids[1], keys[1].public())]);
		assert_ne!(next.unwrap()[0].1, seed_of(0, dids[1]));
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
		let refused = key.round_seeds(&[0; 32], 0, 0, &did(1), &[(did(2), [0; 32])]);
		assert_eq!(refused.err(), Some(AgreementError::NonContributory(did(2))));
	}
}
