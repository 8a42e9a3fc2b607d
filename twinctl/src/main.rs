//! The `twinctl` command (see the library's docs for its exit codes).

use std::{io::BufRead, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use serde_json::json;
use sp_core::{sr25519, Pair as _};
use twinctl::{
	audit::{self, AuditCommand},
	chain::{self, Account, Chain, Wait},
	consent::{self, ConsentCommand},
	institution::{self, InstitutionCommand},
	key::{self, Keystore},
	twin::{self, TwinCommand},
	Failure, Output, Session,
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
	/// The node's WebSocket RPC address.
	#[arg(long, global = true, env = "TWINCTL_URL", default_value = chain::DEFAULT_URL)]
	url: String,
	/// The account that signs: a key of the keystore (its password from
	/// TWINCTL_PASSWORD, else a prompt).
	#[arg(long, global = true, env = "TWINCTL_SIGNER", value_name = "NAME")]
	signer: Option<String>,
	/// The account that signs, as a secret URI (//Alice on a dev chain),
	/// instead of --signer; with `key import`, the secret to import. A
	/// secret given here stays in the shell's history: keep real accounts in
	/// the keystore.
	#[arg(long, global = true, value_name = "URI")]
	suri: Option<String>,
	/// Wait until a finalized block includes each transaction, not just a
	/// best block.
	#[arg(long, global = true)]
	finalized: bool,
	/// Allow a ws:// URL to another machine (unencrypted: whoever is on the
	/// way could change what twinctl signs).
	#[arg(long, global = true)]
	insecure: bool,
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
	/// DIDs of patient twins, institutions, datasets and models.
	#[command(subcommand)]
	Twin(TwinCommand),
	/// Consent to a twin's data: grants, requests and the audit trail.
	#[command(subcommand)]
	Consent(ConsentCommand),
	/// Institutions: registration, custody of twins' data, node setup.
	#[command(subcommand)]
	Institution(InstitutionCommand),
	/// Audits: commitments, provenance, inclusion proofs checked here, and
	/// twins' use in federated rounds.
	#[command(subcommand)]
	Audit(AuditCommand),
	/// Prints a shell's completion script for twinctl.
	///
	/// Example: twinctl completions bash > ~/.local/share/bash-completion/completions/twinctl
	Completions {
		/// The shell.
		shell: clap_complete::Shell,
	},
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
	/// secret URI such as //Alice; read from standard input unless --suri
	/// gives it), or from a polkadot.js key file.
	///
	/// Example: twinctl key import patient < phrase.txt
	///
	/// Example: echo //Alice | twinctl key import alice --dev
	Import {
		/// The key's name.
		name: String,
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
	let (cli, signer_from_env) = match parse() {
		Ok(parsed) => parsed,
		Err(exit) => return exit,
	};
	let result = match &cli.command {
		Command::Key(command) => run_key(&cli, command),
		Command::Completions { shell } => completions(*shell),
		Command::Twin(_) | Command::Consent(_) | Command::Institution(_) | Command::Audit(_) => {
			tokio::runtime::Builder::new_current_thread()
				.enable_all()
				.build()
				.map_err(|e| Failure::Failed(format!("cannot start: {e}")))
				.and_then(|runtime| runtime.block_on(run_on_chain(&cli, signer_from_env)))
		},
	};
	match result {
		Ok(output) => {
			print(&cli, &output);
			ExitCode::SUCCESS
		},
		Err(failure) => {
			use std::io::Write;
			// A closed standard error is no reason to panic.
			let line = twinctl::printable(failure.message(), false);
			let _ = writeln!(std::io::stderr(), "twinctl: {line}");
			ExitCode::from(u8::try_from(failure.code()).unwrap_or(1))
		},
	}
}

/// The completion script of `shell`.
fn completions(shell: clap_complete::Shell) -> Result<Output, Failure> {
	use clap::CommandFactory;
	let mut script = Vec::new();
	clap_complete::generate(shell, &mut Cli::command(), "twinctl", &mut script);
	let text = String::from_utf8(script).map_err(|e| Failure::Failed(e.to_string()))?;
	Ok(Output { json: json!({ "shell": shell.to_string(), "script": text }), text })
}

/// The command line, and whether `--signer` came from the environment.
/// Help and the version print as clap prints them (exit 0); a usage error
/// is one line, exit 2.
fn parse() -> Result<(Cli, bool), ExitCode> {
	use clap::{parser::ValueSource, CommandFactory, FromArgMatches};
	let parsed = Cli::command()
		.try_get_matches()
		.and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
	match parsed {
		Ok((cli, matches)) => {
			Ok((cli, matches.value_source("signer") == Some(ValueSource::EnvVariable)))
		},
		Err(error) if !error.use_stderr() => {
			let _ = error.print();
			Err(ExitCode::SUCCESS)
		},
		Err(error) => {
			use std::io::Write;
			let rendered = error.render().to_string();
			let line = rendered.lines().next().unwrap_or_default();
			let line = line.strip_prefix("error: ").unwrap_or(line);
			let _ = writeln!(std::io::stderr(), "twinctl: {line} (see --help)");
			Err(ExitCode::from(2))
		},
	}
}

/// A command that talks to the node. The URL is checked and, for a command
/// that signs, the account unlocked before anything goes over the
/// network, so a wrong password fails at once.
async fn run_on_chain(cli: &Cli, signer_from_env: bool) -> Result<Output, Failure> {
	let signs = match &cli.command {
		Command::Twin(command) => twin::signs(command),
		Command::Consent(command) => consent::signs(command),
		Command::Institution(command) => institution::signs(command),
		Command::Audit(command) => audit::signs(command),
		Command::Key(_) | Command::Completions { .. } => false,
	};
	let named = named_account(cli, signer_from_env)?;
	let (signer, address) = match named {
		Some(named) if signs => (Some(named.unlock(cli)?), None),
		Some(named) => (None, Some(named.address(cli)?)),
		None => (None, None),
	};
	let wait = if cli.finalized { Wait::Finalized } else { Wait::InBlock };
	let chain = Chain::connect(&cli.url, cli.insecure).await?;
	let session = Session::new(chain, signer, address, wait);
	match &cli.command {
		Command::Twin(command) => twin::run(command, &session).await,
		Command::Consent(command) => consent::run(command, &session).await,
		Command::Institution(command) => institution::run(command, &session).await,
		Command::Audit(command) => audit::run(command, &session).await,
		Command::Key(_) | Command::Completions { .. } => {
			Err(Failure::Failed(String::from("this command needs no node")))
		},
	}
}

/// The account a command names.
enum Named<'a> {
	/// A key of the keystore.
	Stored(&'a str),
	/// A secret URI.
	Suri(&'a str),
}

/// The account `--signer` or `--suri` names, if any. A `--suri` on the
/// command line wins over a signer from TWINCTL_SIGNER; both on the
/// command line is a usage error.
fn named_account(cli: &Cli, signer_from_env: bool) -> Result<Option<Named<'_>>, Failure> {
	match (&cli.signer, &cli.suri) {
		(Some(_), Some(_)) if !signer_from_env => {
			Err(Failure::Usage(String::from("give --signer or --suri, not both")))
		},
		(_, Some(suri)) => Ok(Some(Named::Suri(suri))),
		(Some(name), None) => Ok(Some(Named::Stored(name))),
		(None, None) => Ok(None),
	}
}

impl Named<'_> {
	/// The account, unlocked.
	fn unlock(&self, cli: &Cli) -> Result<Account, Failure> {
		let pair = match self {
			Self::Stored(name) => keystore(cli)?.unlock(name, &password(false, name)?)?,
			Self::Suri(suri) => key::pair_from_suri(suri, true)?,
		};
		Ok(Account::new(pair))
	}

	/// Its address, without a password: a key file keeps it in clear.
	fn address(&self, cli: &Cli) -> Result<String, Failure> {
		match self {
			Self::Stored(name) => Ok(keystore(cli)?.file(name)?.address),
			Self::Suri(suri) => Ok(key::address_of(&key::pair_from_suri(suri, true)?.public())),
		}
	}
}

fn print(cli: &Cli, output: &Output) {
	use std::io::Write;
	let mut stdout = std::io::stdout().lock();
	// A closed pipe (`twinctl … | head`) is not an error worth a panic.
	let _ = if cli.json {
		writeln!(stdout, "{}", output.json)
	} else if !output.text.is_empty() {
		writeln!(stdout, "{}", twinctl::printable(&output.text, true))
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

/// The password of the key `name`: TWINCTL_PASSWORD, else asked on the
/// terminal (twice for a new key).
fn password(new: bool, name: &str) -> Result<Zeroizing<String>, Failure> {
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
	let first = ask(&format!("Password of {name}: "))?;
	if new && *ask("Repeat the password: ")? != *first {
		return Err(Failure::Usage(String::from("the passwords differ")));
	}
	Ok(first)
}

/// The password of a new key: not empty.
fn new_password(name: &str) -> Result<Zeroizing<String>, Failure> {
	let password = password(true, name)?;
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

fn run_key(cli: &Cli, command: &KeyCommand) -> Result<Output, Failure> {
	let store = keystore(cli)?;
	match command {
		KeyCommand::Generate { name } => {
			free_name(&store, name)?;
			let password = new_password(name)?;
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
		KeyCommand::Import { name, file: Some(path), dev: _ } => {
			if cli.suri.is_some() {
				return Err(Failure::Usage(String::from("give --suri or --file, not both")));
			}
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
			let entry = store.import(name, file, &password(false, name)?)?;
			Ok(entry_output("Imported", &entry))
		},
		KeyCommand::Import { name, file: None, dev } => {
			free_name(&store, name)?;
			let secret = match &cli.suri {
				Some(suri) => Zeroizing::new(suri.clone()),
				None => read_secret()?,
			};
			let pair = key::pair_from_suri(&secret, *dev)?;
			let file = store.add(name, &pair, &new_password(name)?)?;
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
			let pair: sr25519::Pair = store.unlock(name, &password(false, name)?)?;
			let signature = sp_core::bytes::to_hex(&pair.sign(&bytes).0, false);
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
