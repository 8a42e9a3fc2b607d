//! twinctl: TwinNet from the command line, for patients, institutions,
//! researchers and auditors. One module per pallet (`twin`, `consent`,
//! `institution`, `dataset`, `job`, `audit`, added as they land) plus
//! [`key`], the local keystore; each subcommand is a thin function over one
//! call or RPC.
//!
//! Exit codes ([`Failure::code`]): 0 success, 1 any other failure, 2 a
//! usage error (bad arguments, names or secrets), 3 the node could not be
//! reached, 4 not found, 5 the chain refused, 6 a wrong password.

pub mod key;

/// Why a command failed: one line for the user, and its exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
	/// Bad arguments (exit code 2).
	Usage(String),
	/// The node could not be reached (3).
	Connection(String),
	/// What was asked for does not exist (4).
	NotFound(String),
	/// The chain refused the transaction (5).
	Refused(String),
	/// The password does not open the key (6).
	WrongPassword(String),
	/// Anything else (1).
	Failed(String),
}

impl Failure {
	/// The process exit code.
	pub fn code(&self) -> i32 {
		match self {
			Self::Failed(_) => 1,
			Self::Usage(_) => 2,
			Self::Connection(_) => 3,
			Self::NotFound(_) => 4,
			Self::Refused(_) => 5,
			Self::WrongPassword(_) => 6,
		}
	}

	/// The line printed for it.
	pub fn message(&self) -> &str {
		match self {
			Self::Usage(m)
			| Self::Connection(m)
			| Self::NotFound(m)
			| Self::Refused(m)
			| Self::WrongPassword(m)
			| Self::Failed(m) => m,
		}
	}
}

impl From<key::KeyError> for Failure {
	fn from(error: key::KeyError) -> Self {
		let message = error.to_string();
		match error {
			key::KeyError::NotFound(_) => Self::NotFound(message),
			key::KeyError::WrongPassword(_) => Self::WrongPassword(message),
			key::KeyError::BadName(_) | key::KeyError::BadSecret | key::KeyError::DevSecret => {
				Self::Usage(message)
			},
			key::KeyError::Exists(_)
			| key::KeyError::Unreadable(_)
			| key::KeyError::UnsafeDirectory(_)
			| key::KeyError::Io(_) => Self::Failed(message),
		}
	}
}
