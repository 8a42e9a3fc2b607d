//! The `twinctl` command (see the library's docs for its exit codes).

use std::{io::BufRead, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use sp_core::{sr25519, Pair as _};
use twinctl::{
	key::{self, Keystore},
	Failure,
};
use zeroize::Zeroizing;

const EXIT_CODES: &str = "Exit codes: 0 success, 1 failure, 2 usage, 3 no connection, \
	4 not found, 5 refused by the chain, 6 wrong password.";

/// TwinNet from the command line: keys, twins, consent, datasets, jobs and audits.
#[derive(Parser)]
#[command(name = "twinctl", version, after_help = EXIT_CODES)]
struct Cli {
	/// Print JSON instead of text.
	#[arg(long, global = true)]
	json: bool,
	/// The keystore directory [default: $XDG_DATA_HOME/twinctl/keys, else
	/// ~/.local/share/twinctl/keys].
	#[arg(long, global = true, env = "TWINCTL_KEYSTORE", value_name = "DIR")]
	keystore: Option<PathBuf>,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Accounts in the local keystore (polkadot.js key files: a wallet
	/// imports them as they are). The password comes from TWINCTL_PASSWORD,
	/// else a prompt.
	#[command(subcommand)]
	Key(KeyCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
	/// Makes a new account and shows its 12-word phrase once.
	///
	/// Example: twinctl key generate patient
	Generate {
		/// The key's name.
		name: String,
	},
	/// Adds an account from its secret (a mnemonic phrase, a 0x seed or a
	/// secret URI such as //Alice; read from standard input unless given),
	/// or from a polkadot.js key file.
	///
	/// Example: twinctl key import patient < phrase.txt
	///
	/// Example: echo //Alice | twinctl key import alice --dev
	Import {
		/// The key's name.
		name: String,
		/// The secret (visible in the shell's history: prefer standard input).
		#[arg(long, conflicts_with = "file")]
		suri: Option<String>,
		/// A polkadot.js key file (opened with its password to check it).
		#[arg(long, value_name = "JSON")]
		file: Option<PathBuf>,
		/// Allow a dev account (//Alice and the like: derived from the public
		/// development phrase, so anyone can sign for it).
		#[arg(long, conflicts_with = "file")]
		dev: bool,
	},
	/// Lists the accounts: name and address.
	///
	/// Example: twinctl key list --json
	List,
	/// Prints an account's key file, to import in polkadot.js or a wallet.
	///
	/// Example: twinctl key export patient > patient.json
	Export {
		/// The key's name.
		name: String,
	},
	/// Signs a message (hex, or text) with an account: the sr25519
	/// signature in hex.
	///
	/// Example: twinctl key sign patient 0x1234
	Sign {
		/// The key's name.
		name: String,
		/// The message: 0x and hex, else its UTF-8 bytes.
		message: String,
	},
	/// Deletes an account's key file.
	///
	/// Example: twinctl key remove patient
	Remove {
		/// The key's name.
		name: String,
	},
}

fn main() -> ExitCode {
	let cli = Cli::parse();
	match run(&cli) {
		Ok(output) => {
			print(&cli, &output);
			ExitCode::SUCCESS
		},
		Err(failure) => {
			eprintln!("twinctl: {}", failure.message());
			ExitCode::from(u8::try_from(failure.code()).unwrap_or(1))
		},
	}
}

/// What a command prints: JSON with `--json`, else its text.
struct Output {
	json: Value,
	text: String,
}

fn print(cli: &Cli, output: &Output) {
	use std::io::Write;
	let mut stdout = std::io::stdout().lock();
	// A closed pipe (`twinctl … | head`) is not an error worth a panic.
	let _ = if cli.json {
		writeln!(stdout, "{}", output.json)
	} else if !output.text.is_empty() {
		writeln!(stdout, "{}", output.text)
	} else {
		Ok(())
	};
}

fn keystore(cli: &Cli) -> Result<Keystore, Failure> {
	cli.keystore
		.clone()
		.or_else(Keystore::default_dir)
		.map(Keystore::at)
		.ok_or_else(|| Failure::Usage(String::from("no keystore: set --keystore or HOME")))
}

/// The password: TWINCTL_PASSWORD, else asked on the terminal (twice for a
/// new key).
fn password(new: bool) -> Result<Zeroizing<String>, Failure> {
	if let Some(password) = std::env::var_os("TWINCTL_PASSWORD") {
		return password
			.into_string()
			.map(Zeroizing::new)
			.map_err(|_| Failure::Usage(String::from("TWINCTL_PASSWORD is not UTF-8")));
	}
	let ask = |prompt: &str| {
		rpassword::prompt_password(prompt)
			.map(Zeroizing::new)
			.map_err(|e| Failure::Usage(format!("no password: {e} (set TWINCTL_PASSWORD)")))
	};
	let first = ask("Password: ")?;
	if new && *ask("Repeat the password: ")? != *first {
		return Err(Failure::Usage(String::from("the passwords differ")));
	}
	Ok(first)
}

/// The password of a new key: not empty.
fn new_password() -> Result<Zeroizing<String>, Failure> {
	let password = password(true)?;
	if password.is_empty() {
		return Err(Failure::Usage(String::from("a key needs a password")));
	}
	Ok(password)
}

/// Refuses a name that is taken before asking for anything.
fn free_name(store: &Keystore, name: &str) -> Result<(), Failure> {
	if store.contains(name)? {
		return Err(key::KeyError::Exists(String::from(name)).into());
	}
	Ok(())
}

/// The secret to import: asked without echo on a terminal, else the first
/// line of standard input.
fn read_secret() -> Result<Zeroizing<String>, Failure> {
	use std::io::IsTerminal;
	if std::io::stdin().is_terminal() {
		return rpassword::prompt_password("Secret phrase or URI: ")
			.map(Zeroizing::new)
			.map_err(|e| Failure::Usage(format!("no secret: {e}")));
	}
	let mut line = Zeroizing::new(String::new());
	std::io::stdin()
		.lock()
		.read_line(&mut line)
		.map_err(|e| Failure::Usage(format!("no secret on standard input: {e}")))?;
	Ok(line)
}

fn entry_output(verb: &str, entry: &key::Entry) -> Output {
	Output {
		json: json!({ "name": entry.name, "address": entry.address }),
		text: format!("{verb} {} {}", entry.name, entry.address),
	}
}

fn run(cli: &Cli) -> Result<Output, Failure> {
	let Command::Key(command) = &cli.command;
	let store = keystore(cli)?;
	match command {
		KeyCommand::Generate { name } => {
			free_name(&store, name)?;
			let password = new_password()?;
			let (pair, phrase) = key::generate();
			let file = store.add(name, &pair, &password)?;
			Ok(Output {
				json: json!({ "name": name, "address": file.address, "phrase": *phrase }),
				text: format!(
					"Generated {name} {}\nIts secret phrase, shown this once (write it down; \
					 anyone who has it controls the account):\n{}",
					file.address, *phrase
				),
			})
		},
		KeyCommand::Import { name, suri: _, file: Some(path), dev: _ } => {
			free_name(&store, name)?;
			let text = std::fs::read_to_string(path).map_err(|e| {
				let message = format!("{}: {e}", path.display());
				match e.kind() {
					std::io::ErrorKind::NotFound => Failure::NotFound(message),
					_ => Failure::Failed(message),
				}
			})?;
			let file: key::KeyFile = serde_json::from_str(&text)
				.map_err(|e| Failure::Usage(format!("not a polkadot.js key file: {e}")))?;
			let entry = store.import(name, file, &password(false)?)?;
			Ok(entry_output("Imported", &entry))
		},
		KeyCommand::Import { name, suri, file: None, dev } => {
			free_name(&store, name)?;
			let secret = match suri {
				Some(suri) => Zeroizing::new(suri.clone()),
				None => read_secret()?,
			};
			let pair = key::pair_from_suri(&secret, *dev)?;
			let file = store.add(name, &pair, &new_password()?)?;
			Ok(entry_output("Imported", &key::Entry { name: name.clone(), address: file.address }))
		},
		KeyCommand::List => {
			let keys = store.list()?;
			let text = keys
				.iter()
				.map(|entry| format!("{}\t{}", entry.name, entry.address))
				.collect::<Vec<_>>()
				.join("\n");
			let json = serde_json::to_value(&keys).map_err(|e| Failure::Failed(e.to_string()))?;
			Ok(Output { json, text })
		},
		KeyCommand::Export { name } => {
			let file = store.file(name)?;
			let json = serde_json::to_value(&file).map_err(|e| Failure::Failed(e.to_string()))?;
			Ok(Output { text: json.to_string(), json })
		},
		KeyCommand::Sign { name, message } => {
			let bytes = match message.strip_prefix("0x") {
				Some(hex) => sp_core::bytes::from_hex(hex)
					.map_err(|_| Failure::Usage(format!("{message:?} is not 0x and hex")))?,
				None => message.as_bytes().to_vec(),
			};
			let pair: sr25519::Pair = store.unlock(name, &password(false)?)?;
			let signature = pair.sign(&bytes).0.iter().fold(String::from("0x"), |mut hex, byte| {
				hex.push_str(&format!("{byte:02x}"));
				hex
			});
			Ok(Output {
				json: json!({
					"name": name,
					"address": key::address_of(&pair.public()),
					"signature": signature,
				}),
				text: signature.clone(),
			})
		},
		KeyCommand::Remove { name } => Ok(entry_output("Removed", &store.remove(name)?)),
	}
}
