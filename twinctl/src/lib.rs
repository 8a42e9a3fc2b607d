//! twinctl: TwinNet from the command line, for patients, institutions,
//! researchers and auditors. One module per pallet ([`twin`], [`consent`],
//! [`institution`], [`audit`]; `dataset` and `job` as they land) plus [`key`],
//! the local keystore; each subcommand is a thin function over one call or
//! RPC. [`chain`] connects, signs, submits and follows transactions, and
//! turns what can go wrong into a [`Failure`].
//!
//! Exit codes ([`Failure::code`]): 0 success, 1 any other failure, 2 a
//! usage error (bad arguments, names or secrets), 3 the node could not be
//! reached, 4 not found, 5 the chain refused, 6 a wrong password.

pub mod args;
pub mod audit;
pub mod chain;
pub mod consent;
pub mod institution;
pub mod key;
pub mod twin;

use std::time::Duration;

use serde_json::Value;

use chain::{Account, Chain, Included, Wait};

/// What a command prints: JSON with `--json`, else its text.
pub struct Output {
	/// The command's result as JSON.
	pub json: Value,
	/// The command's result for a person.
	pub text: String,
}

impl Output {
	/// An output whose text is its JSON, indented (a DID document, say).
	pub fn json_only(json: Value) -> Self {
		let text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string());
		Self { json, text }
	}
}

/// What a command that talks to a node works with: the connection, the
/// account that signs (unlocked before connecting, for a command that
/// signs), the address of the one named (for one that only reads), and
/// how far to follow a transaction.
pub struct Session {
	/// The node.
	pub chain: Chain,
	signer: Option<Account>,
	address: Option<String>,
	wait: Wait,
}

impl Session {
	/// A session over `chain`.
	pub fn new(chain: Chain, signer: Option<Account>, address: Option<String>, wait: Wait) -> Self {
		Self { chain, signer, address, wait }
	}

	/// The account that signs, which the command needs.
	pub fn signer(&self) -> Result<&Account, Failure> {
		self.signer.as_ref().ok_or_else(no_account)
	}

	/// The address of the account named with `--signer` or `--suri`.
	pub fn address(&self) -> Result<String, Failure> {
		match (&self.signer, &self.address) {
			(Some(signer), _) => Ok(signer.address()),
			(None, Some(address)) => Ok(address.clone()),
			(None, None) => Err(no_account()),
		}
	}

	/// Signs `call`, submits it and follows it, with a spinner on a
	/// terminal's standard error (none when it is not a terminal).
	pub async fn submit(
		&self,
		call: &impl subxt::transactions::Payload,
	) -> Result<Included, Failure> {
		let signer = self.signer()?;
		let spinner = indicatif::ProgressBar::new_spinner();
		spinner.set_message(match self.wait {
			Wait::InBlock => "waiting for a block to include the transaction",
			Wait::Finalized => "waiting for a finalized block to include the transaction",
		});
		spinner.enable_steady_tick(Duration::from_millis(120));
		let included = self.chain.submit(call, signer, self.wait).await;
		spinner.finish_and_clear();
		included
	}
}

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

fn no_account() -> Failure {
	Failure::Usage(String::from(
		"this command needs an account: --signer NAME (from the keystore) or --suri URI",
	))
}

/// `text` safe to print on a terminal: control characters (escape
/// sequences a node could send to rewrite the screen, or newlines to forge
/// lines) are shown escaped; newlines and tabs too unless `lines` allows
/// them (a command's own text is lines of tab-separated columns).
pub fn printable(text: &str, lines: bool) -> String {
	text.chars()
		.map(|c| match c {
			'\n' | '\t' if lines => c.to_string(),
			c if c.is_control() => c.escape_default().collect(),
			c => c.to_string(),
		})
		.collect()
}

/// The output of a transaction: `fields` and where it landed; `text` and
/// the block.
pub fn transacted(included: &Included, fields: Value, text: String) -> Output {
	let mut json = included.json();
	if let (Value::Object(all), Value::Object(fields)) = (&mut json, fields) {
		all.extend(fields);
	}
	let status = if included.finalized { "finalized" } else { "in" };
	Output { json, text: format!("{text} ({status} block #{})", included.number) }
}

/// A line per item of the JSON array `list`, or `empty` if it has none.
pub fn lines(list: &Value, line: fn(&Value) -> String, empty: &str) -> String {
	match list.as_array() {
		Some(items) if !items.is_empty() => items.iter().map(line).collect::<Vec<_>>().join("\n"),
		_ => empty.to_string(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn text_from_a_node_cannot_drive_the_terminal() {
		let osc52 = "grant\u{1b}]52;c;ZXZpbA==\u{7}";
		assert_eq!(printable(osc52, true), "grant\\u{1b}]52;c;ZXZpbA==\\u{7}");
		assert_eq!(printable("one\ntwo", true), "one\ntwo");
		assert_eq!(printable("one\ntwo", false), "one\\ntwo");
		assert_eq!(printable("name\taddress", true), "name\taddress");
		assert_eq!(printable("ε 1.5 of 2", false), "ε 1.5 of 2");
	}
}
