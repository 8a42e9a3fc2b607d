//! The secrets the agent keeps in files of their own (its X25519 key
//! agreement key, the token its node's worker must send): 32 bytes as `0x`
//! and 64 hex digits, created once (mode 0600, written whole or not at all)
//! and refused if others than the agent's user may read the file.

use std::{fs, io::Write, path::Path};

/// Why a secret file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFileError {
	/// The file cannot be read or written.
	Io(String),
	/// The file does not hold 32 bytes of hex.
	Malformed,
	/// Others than the agent's user may read the file.
	Exposed,
}

/// The 32 bytes in `path`, or 32 bytes from the operating system's entropy
/// written there if the file does not exist.
pub fn load_or_create(path: &Path) -> Result<[u8; 32], SecretFileError> {
	use std::os::unix::fs::PermissionsExt;
	match fs::metadata(path) {
		Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => Err(SecretFileError::Exposed),
		Ok(_) => fs::read_to_string(path)
			.map_err(|error| SecretFileError::Io(error.to_string()))
			.and_then(|text| {
				crate::round::parse_hash(text.trim()).ok_or(SecretFileError::Malformed)
			}),
		Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
			let mut secret = [0u8; 32];
			rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
			write_new(path, &secret)?;
			Ok(secret)
		},
		Err(error) => Err(SecretFileError::Io(error.to_string())),
	}
}

/// Writes `secret` to a temporary file beside `path` (named for this
/// process, so that one a crash left behind is in no later start's way),
/// syncs it and links it to `path` (which must not exist), so that `path`
/// is never a partial secret, even after a crash.
fn write_new(path: &Path, secret: &[u8; 32]) -> Result<(), SecretFileError> {
	use std::os::unix::fs::OpenOptionsExt;
	let temporary = path.with_extension(format!("partial.{}", std::process::id()));
	let written = fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(&temporary)
		.and_then(|mut file| {
			writeln!(file, "{}", crate::round::hash_hex(secret))?;
			file.sync_all()
		})
		.and_then(|()| fs::hard_link(&temporary, path));
	let _ = fs::remove_file(&temporary);
	written.map_err(|error| SecretFileError::Io(error.to_string()))
}
