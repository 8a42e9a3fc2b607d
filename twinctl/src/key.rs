//! The local keystore: sr25519 accounts, each in a file encrypted with a
//! password, in the format polkadot.js exports (and its extension, Talisman
//! and SubWallet import): JSON with the PKCS#8-wrapped key pair sealed by
//! XSalsa20-Poly1305 under a key scrypt derives from the password
//! (N = 2¹⁵, p = 1, r = 8, a 32-byte salt), version 3.
//!
//! A patient can thus move the account they manage twins with from
//! `twinctl` to a browser wallet (the patient page) and back, with nothing
//! but the file and the password.
//!
//! Files are `<name>.json` in the keystore directory, created owner-only
//! (mode 0600, the directory 0700), never overwritten. Names are 1 to 32
//! ASCII letters, digits, `-` or `_`, so a name never leaves the directory.

use std::{
	fs,
	io::Write,
	path::{Path, PathBuf},
};

use base64::Engine;
use crypto_secretbox::{
	aead::{Aead, KeyInit},
	Key, Nonce, XSalsa20Poly1305,
};
use serde::{Deserialize, Serialize};
use sp_core::{
	crypto::{Ss58AddressFormat, Ss58Codec},
	sr25519, Pair as _,
};
use zeroize::Zeroizing;

/// The SS58 prefix of TwinNet addresses (the generic Substrate one).
pub const SS58_PREFIX: u16 = 42;

/// scrypt's cost as polkadot.js writes it: N = 2¹⁵, p = 1, r = 8.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_N: u32 = 32_768;
const SCRYPT_P: u32 = 1;
const SCRYPT_R: u32 = 8;

/// The PKCS#8 framing polkadot.js puts around an sr25519 key pair.
const PKCS8_HEADER: [u8; 16] = [48, 83, 2, 1, 1, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32];
const PKCS8_DIVIDER: [u8; 5] = [161, 35, 3, 33, 0];
/// Header (16), 64-byte secret key, divider (5), 32-byte public key.
const PKCS8_LENGTH: usize = 117;
/// Salt (32), N, p and r (little-endian u32s), nonce (24): before the
/// sealed box.
const PARAMS_LENGTH: usize = 68;

/// Why a keystore operation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
	/// No key has this name.
	NotFound(String),
	/// A key of this name exists already.
	Exists(String),
	/// The name is not 1 to 32 letters, digits, `-` or `_`.
	BadName(String),
	/// The secret is not a mnemonic, seed or secret URI.
	BadSecret,
	/// The secret names a dev account (its phrase is public), which was
	/// not asked for.
	DevSecret,
	/// The keystore directory is a link, or others may read or write it.
	UnsafeDirectory(String),
	/// The password does not open the key.
	WrongPassword(String),
	/// The file is not a key file this tool (or polkadot.js) writes.
	Unreadable(String),
	/// The file system refused.
	Io(String),
}

impl std::fmt::Display for KeyError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::NotFound(name) => write!(f, "no key named {name:?} in the keystore"),
			Self::Exists(name) => write!(f, "a key named {name:?} exists already"),
			Self::BadName(name) => {
				write!(f, "{name:?} is not a key name (1 to 32 letters, digits, - or _)")
			},
			Self::BadSecret => write!(f, "not a mnemonic phrase, hex seed or secret URI"),
			Self::DevSecret => write!(
				f,
				"that secret derives from the public development phrase: anyone can sign \
				 for it (pass --dev to import a dev account on purpose)"
			),
			Self::UnsafeDirectory(dir) => write!(
				f,
				"the keystore {dir} is a link or others may use it: chmod 700 it (or choose \
				 another with --keystore)"
			),
			Self::WrongPassword(name) => write!(f, "wrong password for key {name:?}"),
			Self::Unreadable(why) => write!(f, "unreadable key file: {why}"),
			Self::Io(why) => write!(f, "keystore: {why}"),
		}
	}
}

impl std::error::Error for KeyError {}

fn io(error: std::io::Error) -> KeyError {
	KeyError::Io(error.to_string())
}

/// A key file as polkadot.js writes it (`KeyringPair$Json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
	/// Base64 of the scrypt parameters, the nonce and the sealed key pair.
	pub encoded: String,
	/// How it is encoded.
	pub encoding: Encoding,
	/// The account's SS58 address.
	pub address: String,
	/// Its name, and when it was made.
	#[serde(default)]
	pub meta: Meta,
}

/// The encoding a key file declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoding {
	/// `["pkcs8", "sr25519"]`.
	pub content: Vec<String>,
	/// `["scrypt", "xsalsa20-poly1305"]`.
	#[serde(rename = "type")]
	pub kind: Vec<String>,
	/// `"3"`.
	pub version: String,
}

/// What a key file says of its account besides the key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
	/// The name the account goes by.
	#[serde(default)]
	pub name: String,
	/// Milliseconds since the Unix epoch.
	#[serde(default)]
	pub when_created: u64,
}

/// A key in the keystore, as `key list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
	/// Its name.
	pub name: String,
	/// Its account's SS58 address.
	pub address: String,
}

/// The SS58 address of `public`.
pub fn address_of(public: &sr25519::Public) -> String {
	public.to_ss58check_with_version(Ss58AddressFormat::custom(SS58_PREFIX))
}

/// The key pair of a secret URI: a mnemonic phrase or a `0x` seed, each
/// with an optional derivation path and `///password`; with `dev`, also a
/// dev URI such as `//Alice` (the public development phrase, derived).
/// Nothing, or a path alone, would be the development phrase: refused
/// unless `dev`.
pub fn pair_from_suri(suri: &str, dev: bool) -> Result<sr25519::Pair, KeyError> {
	let suri = suri.trim();
	if suri.is_empty() {
		return Err(KeyError::BadSecret);
	}
	if suri.starts_with('/') && !dev {
		return Err(KeyError::DevSecret);
	}
	sr25519::Pair::from_string(suri, None).map_err(|_| KeyError::BadSecret)
}

/// A new 12-word mnemonic phrase and its key pair.
pub fn generate() -> (sr25519::Pair, Zeroizing<String>) {
	let (pair, phrase, _) = sr25519::Pair::generate_with_phrase(None);
	(pair, Zeroizing::new(phrase))
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
	let mut bytes = [0u8; N];
	getrandom::getrandom(&mut bytes).map_err(|e| KeyError::Io(e.to_string()))?;
	Ok(bytes)
}

fn scrypt_key(
	password: &str,
	salt: &[u8],
	log_n: u8,
	p: u32,
	r: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
	let params = scrypt::Params::new(log_n, r, p, 32)
		.map_err(|_| KeyError::Unreadable(String::from("unsupported scrypt parameters")))?;
	let mut key = Zeroizing::new([0u8; 32]);
	scrypt::scrypt(password.as_bytes(), salt, &params, key.as_mut())
		.map_err(|_| KeyError::Unreadable(String::from("unsupported scrypt parameters")))?;
	Ok(key)
}

/// `pair` sealed under `password`, as a key file named `name`.
pub fn seal(pair: &sr25519::Pair, name: &str, password: &str) -> Result<KeyFile, KeyError> {
	let raw = Zeroizing::new(pair.to_raw_vec());
	let secret = Zeroizing::new(
		schnorrkel::SecretKey::from_bytes(&raw)
			.map_err(|_| KeyError::BadSecret)?
			.to_ed25519_bytes(),
	);
	let public = pair.public();
	let mut plain = Zeroizing::new(Vec::with_capacity(PKCS8_LENGTH));
	plain.extend_from_slice(&PKCS8_HEADER);
	plain.extend_from_slice(secret.as_ref());
	plain.extend_from_slice(&PKCS8_DIVIDER);
	plain.extend_from_slice(&public.0);
	let salt: [u8; 32] = random()?;
	let nonce: [u8; 24] = random()?;
	let key = scrypt_key(password, &salt, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R)?;
	let sealed = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()))
		.encrypt(Nonce::from_slice(&nonce), plain.as_slice())
		.map_err(|_| KeyError::Io(String::from("encryption failed")))?;
	let mut encoded = Vec::with_capacity(PARAMS_LENGTH.saturating_add(sealed.len()));
	encoded.extend_from_slice(&salt);
	encoded.extend_from_slice(&SCRYPT_N.to_le_bytes());
	encoded.extend_from_slice(&SCRYPT_P.to_le_bytes());
	encoded.extend_from_slice(&SCRYPT_R.to_le_bytes());
	encoded.extend_from_slice(&nonce);
	encoded.extend_from_slice(&sealed);
	let when_created = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
		.unwrap_or_default();
	Ok(KeyFile {
		encoded: base64::engine::general_purpose::STANDARD.encode(encoded),
		encoding: Encoding {
			content: vec![String::from("pkcs8"), String::from("sr25519")],
			kind: vec![String::from("scrypt"), String::from("xsalsa20-poly1305")],
			version: String::from("3"),
		},
		address: address_of(&public),
		meta: Meta { name: String::from(name), when_created },
	})
}

/// The scrypt costs polkadot.js may write (N, p, r): a file's parameters are
/// its reader's input, so no other is tried.
const ALLOWED_SCRYPT: [(u32, u32, u32); 6] = [
	(1 << 13, 10, 8),
	(1 << 14, 5, 8),
	(1 << 15, 3, 8),
	(1 << 15, 1, 8),
	(1 << 16, 2, 8),
	(1 << 17, 1, 8),
];

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
	let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
	Some(u32::from_le_bytes(word))
}

/// Opens `file` with `password`: the key pair, checked against the file's
/// address.
pub fn open(file: &KeyFile, password: &str) -> Result<sr25519::Pair, KeyError> {
	let unreadable = |why: &str| KeyError::Unreadable(String::from(why));
	let declared = |list: &[String], wanted: &str| list.iter().any(|item| item == wanted);
	let supported = file.encoding.version == "3"
		&& declared(&file.encoding.content, "pkcs8")
		&& declared(&file.encoding.content, "sr25519")
		&& declared(&file.encoding.kind, "scrypt")
		&& declared(&file.encoding.kind, "xsalsa20-poly1305");
	if !supported {
		return Err(unreadable("not an sr25519 key sealed with scrypt and xsalsa20-poly1305"));
	}
	let encoded = base64::engine::general_purpose::STANDARD
		.decode(&file.encoded)
		.map_err(|_| unreadable("its key is not base64"))?;
	let (params, sealed) = encoded
		.split_at_checked(PARAMS_LENGTH)
		.ok_or_else(|| unreadable("its key is too short"))?;
	let (salt, rest) = params.split_at(32);
	let (n, p, r) = match (le_u32(rest, 0), le_u32(rest, 4), le_u32(rest, 8)) {
		(Some(n), Some(p), Some(r)) if ALLOWED_SCRYPT.contains(&(n, p, r)) => (n, p, r),
		_ => return Err(unreadable("unsupported scrypt parameters")),
	};
	let nonce = rest.get(12..).ok_or_else(|| unreadable("its key is too short"))?;
	// N is a power of two in the allowed list.
	let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
	let key = scrypt_key(password, salt, log_n, p, r)?;
	let plain = Zeroizing::new(
		XSalsa20Poly1305::new(Key::from_slice(key.as_ref()))
			.decrypt(Nonce::from_slice(nonce), sealed)
			.map_err(|_| KeyError::WrongPassword(file.meta.name.clone()))?,
	);
	let framed = plain.len() == PKCS8_LENGTH
		&& plain.starts_with(&PKCS8_HEADER)
		&& plain.get(80..85) == Some(PKCS8_DIVIDER.as_slice());
	let secret = plain.get(16..80).filter(|_| framed).ok_or_else(|| unreadable("bad framing"))?;
	let secret = schnorrkel::SecretKey::from_ed25519_bytes(secret)
		.map_err(|_| unreadable("not an sr25519 secret key"))?;
	let pair = sr25519::Pair::from(secret);
	let public = pair.public();
	// Any network's address format: polkadot.js writes the one it was on.
	let address = sr25519::Public::from_ss58check_with_version(&file.address).map(|(a, _)| a);
	if plain.get(85..) != Some(&public.0[..]) || address.ok() != Some(public) {
		return Err(unreadable("its key is not its address's"));
	}
	Ok(pair)
}

/// Whether `name` may name a key.
pub fn valid_name(name: &str) -> bool {
	(1..=32).contains(&name.len())
		&& name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A directory of key files.
pub struct Keystore {
	dir: PathBuf,
}

impl Keystore {
	/// The keystore in `dir` (created, owner-only, when a key is first
	/// saved).
	pub fn at(dir: impl Into<PathBuf>) -> Self {
		Self { dir: dir.into() }
	}

	/// The default directory: `$XDG_DATA_HOME/twinctl/keys`, else
	/// `$HOME/.local/share/twinctl/keys`.
	pub fn default_dir() -> Option<PathBuf> {
		let data = std::env::var_os("XDG_DATA_HOME")
			.filter(|dir| !dir.is_empty())
			.map(PathBuf::from)
			.or_else(|| {
				std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share"))
			})?;
		Some(data.join("twinctl").join("keys"))
	}

	/// Its directory.
	pub fn dir(&self) -> &Path {
		&self.dir
	}

	fn path(&self, name: &str) -> Result<PathBuf, KeyError> {
		if !valid_name(name) {
			return Err(KeyError::BadName(String::from(name)));
		}
		Ok(self.dir.join(format!("{name}.json")))
	}

	/// Saves `pair` as `name`, sealed with `password`; refuses an existing
	/// name. Returns the file written.
	pub fn add(
		&self,
		name: &str,
		pair: &sr25519::Pair,
		password: &str,
	) -> Result<KeyFile, KeyError> {
		let path = self.path(name)?;
		let file = seal(pair, name, password)?;
		self.write(&path, name, &file)?;
		Ok(file)
	}

	/// Saves a key file (a polkadot.js export) as `name` once `password`
	/// opens it, its address in TwinNet's format; refuses an existing name.
	pub fn import(&self, name: &str, mut file: KeyFile, password: &str) -> Result<Entry, KeyError> {
		let path = self.path(name)?;
		let pair = open(&file, password)?;
		file.meta.name = String::from(name);
		file.address = address_of(&pair.public());
		self.write(&path, name, &file)?;
		Ok(Entry { name: String::from(name), address: file.address })
	}

	/// Whether `name` has a key file.
	pub fn contains(&self, name: &str) -> Result<bool, KeyError> {
		Ok(self.path(name)?.exists())
	}

	/// Refuses a keystore directory that is a link or that others may
	/// read, write or enter: they could plant or swap a key file.
	fn check_dir(&self) -> Result<(), KeyError> {
		use std::os::unix::fs::MetadataExt;
		let metadata = fs::symlink_metadata(&self.dir).map_err(io)?;
		if !metadata.is_dir() || metadata.mode() & 0o077 != 0 {
			return Err(KeyError::UnsafeDirectory(self.dir.display().to_string()));
		}
		Ok(())
	}

	fn write(&self, path: &Path, name: &str, file: &KeyFile) -> Result<(), KeyError> {
		use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
		fs::DirBuilder::new()
			.recursive(true)
			.mode(0o700)
			.create(&self.dir)
			.map_err(io)?;
		self.check_dir()?;
		let json = serde_json::to_vec_pretty(file).map_err(|e| KeyError::Io(e.to_string()))?;
		let mut out = fs::OpenOptions::new()
			.write(true)
			.create_new(true)
			.mode(0o600)
			.open(path)
			.map_err(|error| match error.kind() {
				std::io::ErrorKind::AlreadyExists => KeyError::Exists(String::from(name)),
				_ => io(error),
			})?;
		out.write_all(&json).and_then(|()| out.sync_all()).map_err(|error| {
			// No half-written file keeps the name.
			let _ = fs::remove_file(path);
			io(error)
		})
	}

	/// The key file of `name`.
	pub fn file(&self, name: &str) -> Result<KeyFile, KeyError> {
		let path = self.path(name)?;
		if self.dir.exists() {
			self.check_dir()?;
		}
		let text = fs::read_to_string(&path).map_err(|error| match error.kind() {
			std::io::ErrorKind::NotFound => KeyError::NotFound(String::from(name)),
			_ => io(error),
		})?;
		serde_json::from_str(&text).map_err(|e| KeyError::Unreadable(e.to_string()))
	}

	/// The key pair of `name`, opened with `password`.
	pub fn unlock(&self, name: &str, password: &str) -> Result<sr25519::Pair, KeyError> {
		open(&self.file(name)?, password)
	}

	/// Every key, by name.
	pub fn list(&self) -> Result<Vec<Entry>, KeyError> {
		let entries = match fs::read_dir(&self.dir) {
			Ok(entries) => entries,
			Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
			Err(error) => return Err(io(error)),
		};
		self.check_dir()?;
		let mut keys = Vec::new();
		for entry in entries {
			let path = entry.map_err(io)?.path();
			let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
			if path.extension().is_some_and(|ext| ext == "json") && valid_name(name) {
				let address = self.file(name)?.address;
				keys.push(Entry { name: String::from(name), address });
			}
		}
		keys.sort_by(|a, b| a.name.cmp(&b.name));
		Ok(keys)
	}

	/// Deletes `name`'s key file.
	pub fn remove(&self, name: &str) -> Result<Entry, KeyError> {
		let address = self.file(name)?.address;
		fs::remove_file(self.path(name)?).map_err(io)?;
		Ok(Entry { name: String::from(name), address })
	}
}

#[cfg(test)]
mod tests {
	#![allow(
		clippy::unwrap_used,
		clippy::expect_used,
		clippy::indexing_slicing,
		clippy::arithmetic_side_effects
	)]

	use super::*;

	const PASSWORD: &str = "correct horse battery staple";

	#[test]
	fn alice_s_dev_uri_gives_alice_s_address() {
		let alice = pair_from_suri("//Alice", true).unwrap();
		assert_eq!(address_of(&alice.public()), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
		assert!(matches!(pair_from_suri("not a secret", false), Err(KeyError::BadSecret)));
	}

	/// Nothing, or a path alone, is the public development phrase: an empty
	/// standard input must not become an account anyone can sign for.
	#[test]
	fn no_secret_or_a_dev_uri_is_refused_unless_a_dev_account_is_asked_for() {
		for secret in ["", "  \n", "//Alice", "/soft", "///password"] {
			assert!(pair_from_suri(secret, false).is_err(), "{secret:?}");
		}
		assert!(matches!(pair_from_suri("//Alice", false), Err(KeyError::DevSecret)));
		assert!(matches!(pair_from_suri("", true), Err(KeyError::BadSecret)));
	}

	/// Files polkadot.js wrote (subxt-signer's fixtures): the standard cost,
	/// and N = 2¹⁷ for another.
	#[test]
	fn key_files_polkadot_js_wrote_open() {
		let alice: KeyFile = serde_json::from_str(ALICE_EXPORT).unwrap();
		let pair = open(&alice, "whoisalice").unwrap();
		assert_eq!(address_of(&pair.public()), alice.address);
		assert_eq!(open(&alice, "whoisbob").err(), Some(KeyError::WrongPassword("Alice".into())));
		let other: KeyFile = serde_json::from_str(N17_EXPORT).unwrap();
		assert_eq!(address_of(&open(&other, "whoisbob").unwrap().public()), other.address);
		// The same key written with another network's address format.
		let mut polkadot = alice.clone();
		polkadot.address = pair.public().to_ss58check_with_version(Ss58AddressFormat::custom(0));
		let dir = tempfile::tempdir().unwrap();
		let entry = Keystore::at(dir.path().join("keys"))
			.import("alice", polkadot, "whoisalice")
			.unwrap();
		assert_eq!(entry.address, alice.address);
	}

	#[test]
	fn crafted_files_are_refused_without_panics_or_long_work() {
		let alice: KeyFile = serde_json::from_str(ALICE_EXPORT).unwrap();
		let encoded = base64::engine::general_purpose::STANDARD.decode(&alice.encoded).unwrap();
		let with = |bytes: &[u8]| KeyFile {
			encoded: base64::engine::general_purpose::STANDARD.encode(bytes),
			..alice.clone()
		};
		let started = std::time::Instant::now();
		let mut costly = encoded.clone();
		costly[32..36].copy_from_slice(&(1u32 << 20).to_le_bytes());
		for file in [
			with(&costly),
			with(&encoded[..68]),
			with(&encoded[..40]),
			with(&[]),
			KeyFile { encoded: String::from("not base64!"), ..alice.clone() },
		] {
			assert!(open(&file, "whoisalice").is_err());
		}
		assert!(started.elapsed() < std::time::Duration::from_secs(10));
	}

	#[test]
	fn a_keystore_others_can_use_is_refused() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let shared = dir.path().join("shared");
		fs::create_dir(&shared).unwrap();
		fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
		let store = Keystore::at(&shared);
		let pair = pair_from_suri("//Alice", true).unwrap();
		assert!(matches!(store.add("alice", &pair, PASSWORD), Err(KeyError::UnsafeDirectory(_))));
		assert!(matches!(store.list(), Err(KeyError::UnsafeDirectory(_))));
		let link = dir.path().join("link");
		std::os::unix::fs::symlink(dir.path(), &link).unwrap();
		assert!(matches!(
			Keystore::at(&link).add("alice", &pair, PASSWORD),
			Err(KeyError::UnsafeDirectory(_))
		));
	}

	const ALICE_EXPORT: &str = r#"{
		"encoded": "DumgApKCTqoCty1OZW/8WS+sgo6RdpHhCwAkA2IoDBMAgAAAAQAAAAgAAAB6IG/q24EeVf0JqWqcBd5m2tKq5BlyY84IQ8oamLn9DZe9Ouhgunr7i36J1XxUnTI801axqL/ym1gil0U8440Qvj0lFVKwGuxq38zuifgoj0B3Yru0CI6QKEvQPU5xxj4MpyxdSxP+2PnTzYao0HDH0fulaGvlAYXfqtU89xrx2/z9z7IjSwS3oDFPXRQ9kAdDebtyCVreZ9Otw9v3",
		"encoding": { "content": ["pkcs8", "sr25519"], "type": ["scrypt", "xsalsa20-poly1305"], "version": "3" },
		"address": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
		"meta": { "genesisHash": "", "name": "Alice", "whenCreated": 1718265838755 }
	}"#;

	const N17_EXPORT: &str = r#"{
		"encoded": "J2FFcPHAY11Pmq/38eqbwfUv9OPitYJs+oYgahBvlagAAAIAAQAAAAgAAAB5o0DwXCWDblsH+9pc++RaBO4fpHBHzUirHFHFE9yS3sDzgAIQjhgvPqJ3ODrMR2gy7vk0VZg1fyirIvmsrfjGbWnOI8YU0joX0tYytroyWaykFKtZJMmE0pNKcJ5dJmDxscbK53Ac+7ld2UdH07yKPXxmPuYNNw3vKx8cg9CdQgifKfzQxHnC+EUpOoHPLwGlHsFEYtIlQtngqd9n",
		"encoding": { "content": ["pkcs8", "sr25519"], "type": ["scrypt", "xsalsa20-poly1305"], "version": "3" },
		"address": "5CfWTDh7XxJ2yrayqQ2aJnnZAH5v5XaF1oJFfH5QCpbfP9v8",
		"meta": { "genesisHash": "", "name": "Bob (Dev)", "whenCreated": 1768916488918 }
	}"#;

	#[test]
	fn a_sealed_key_opens_with_its_password_only() {
		let (pair, phrase) = generate();
		assert_eq!(phrase.split(' ').count(), 12);
		let file = seal(&pair, "patient", PASSWORD).unwrap();
		assert_eq!(open(&file, PASSWORD).unwrap().public(), pair.public());
		assert_eq!(open(&file, "wrong").err(), Some(KeyError::WrongPassword("patient".into())));
		// The phrase shown once gives the same account again.
		assert_eq!(pair_from_suri(&phrase, false).unwrap().public(), pair.public());
	}

	/// polkadot.js, its extension and the wallets import these files: the
	/// reference reader (subxt-signer's, after polkadot.js) decrypts ours.
	#[test]
	fn a_key_file_is_a_polkadot_js_export() {
		let pair = pair_from_suri("//Alice", true).unwrap();
		let file = seal(&pair, "alice", PASSWORD).unwrap();
		let json = serde_json::to_string(&file).unwrap();
		let opened = subxt_signer::sr25519::dev::alice();
		let decrypted = subxt_signer::polkadot_js_compat::decrypt_json(&json, PASSWORD).unwrap();
		assert_eq!(decrypted.public_key().0, opened.public_key().0);
		assert_eq!(decrypted.public_key().0, pair.public().0);
		let value: serde_json::Value = serde_json::from_str(&json).unwrap();
		assert_eq!(value["encoding"]["type"][1], "xsalsa20-poly1305");
		assert_eq!(value["meta"]["name"], "alice");
	}

	#[test]
	fn a_file_whose_address_is_not_its_key_s_is_refused() {
		let mut file = seal(&pair_from_suri("//Alice", true).unwrap(), "alice", PASSWORD).unwrap();
		file.address = address_of(&pair_from_suri("//Bob", true).unwrap().public());
		assert!(matches!(open(&file, PASSWORD), Err(KeyError::Unreadable(_))));
		file.encoding.version = String::from("2");
		assert!(matches!(open(&file, PASSWORD), Err(KeyError::Unreadable(_))));
	}

	#[test]
	fn keys_are_saved_owner_only_listed_unlocked_and_removed_by_name() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let store = Keystore::at(dir.path().join("keys"));
		assert_eq!(store.list().unwrap(), vec![]);
		let bob = pair_from_suri("//Bob", true).unwrap();
		store.add("bob", &bob, PASSWORD).unwrap();
		let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode(&dir.path().join("keys/bob.json")), 0o600);
		assert_eq!(mode(&dir.path().join("keys")), 0o700);
		assert_eq!(store.add("bob", &bob, PASSWORD).err(), Some(KeyError::Exists("bob".into())));
		assert_eq!(store.unlock("bob", PASSWORD).unwrap().public(), bob.public());
		assert_eq!(store.unlock("bob", "guess").err(), Some(KeyError::WrongPassword("bob".into())));
		let exported = store.file("bob").unwrap();
		store.import("bob-copy", exported, PASSWORD).unwrap();
		let names: Vec<String> = store.list().unwrap().into_iter().map(|e| e.name).collect();
		assert_eq!(names, vec!["bob", "bob-copy"]);
		assert_eq!(store.remove("bob").unwrap().address, address_of(&bob.public()));
		assert_eq!(store.unlock("bob", PASSWORD).err(), Some(KeyError::NotFound("bob".into())));
	}

	#[test]
	fn a_name_never_leaves_the_keystore() {
		let dir = tempfile::tempdir().unwrap();
		let store = Keystore::at(dir.path().join("keys"));
		let pair = pair_from_suri("//Alice", true).unwrap();
		for bad in ["../alice", "", "a/b", "x".repeat(33).as_str(), "alice.json"] {
			assert_eq!(store.add(bad, &pair, PASSWORD).err(), Some(KeyError::BadName(bad.into())));
		}
	}
}
