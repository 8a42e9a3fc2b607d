//! `twinctl twin`: DIDs of patient twins, institutions, datasets and
//! models (pallet-twins), resolved to W3C DID documents.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use subxt::{
	dynamic::Value as Dyn,
	ext::scale_decode::{self, DecodeAsType},
	rpcs::rpc_params,
};
use twinnet_primitives::did::{format_did, DidId, Relationship};

use crate::{
	args::{optional, variant, verification_method, Address, Did, Hex, Party},
	lines, transacted, Failure, Output, Session,
};

/// DIDs: create, resolve, list, keys, patient hand-over, deactivation.
#[derive(Subcommand)]
pub enum TwinCommand {
	/// Creates a DID with one verification method (by default the signer's
	/// own sr25519 key, for authentication). A patient twin the signer
	/// controls has the signer as its patient.
	///
	/// Example: twinctl --signer patient twin create
	///
	/// Example: twinctl --signer hospital twin create --kind institution
	Create {
		/// What the DID stands for.
		#[arg(long, value_enum, default_value_t = Kind::PatientTwin)]
		kind: Kind,
		/// Who controls it, if not the signer: an SS58 address (offered,
		/// until it accepts; its key is the default method's) or a DID.
		#[arg(long, value_name = "ADDRESS|DID")]
		controller: Option<Party>,
		#[command(flatten)]
		method: MethodArgs,
	},
	/// Resolves a DID to its W3C DID document and metadata.
	///
	/// Example: twinctl twin resolve did:twin:4Jm…
	Resolve {
		/// The DID.
		did: Did,
	},
	/// Lists the DIDs an account or DID controls.
	///
	/// Example: twinctl twin list --controller 5GrwvaEF…
	List {
		/// The controller: an SS58 address or a DID [default: the signer].
		#[arg(long, value_name = "ADDRESS|DID")]
		controller: Option<Party>,
	},
	/// Adds a verification method to a DID.
	///
	/// Example: twinctl --signer patient twin add-key did:twin:4Jm… --fragment phone
	/// --key-type ed25519 --public-key 0x…
	AddKey {
		/// The DID.
		did: Did,
		#[command(flatten)]
		method: MethodArgs,
	},
	/// Replaces a verification method by a new one in one step.
	///
	/// Example: twinctl --signer patient twin rotate-key did:twin:4Jm… key-1 --fragment key-2
	/// --public-key 0x…
	RotateKey {
		/// The DID.
		did: Did,
		/// The fragment of the method to replace.
		old_fragment: String,
		#[command(flatten)]
		method: MethodArgs,
	},
	/// Offers the patient position of a twin to an account (which accepts
	/// with accept-patient); naming the signer binds at once.
	///
	/// Example: twinctl --signer clinic twin offer-patient did:twin:4Jm… 5FHneW46…
	OfferPatient {
		/// The twin's DID.
		twin: Did,
		/// The patient's SS58 address.
		patient: Address,
	},
	/// Takes the patient position of a twin it was offered to the signer.
	///
	/// Example: twinctl --signer patient twin accept-patient did:twin:4Jm…
	AcceptPatient {
		/// The twin's DID.
		twin: Did,
	},
	/// Deactivates a DID for good (refused while consent grants or custody
	/// depend on it); its deposit is returned. Asks first on a terminal.
	///
	/// Example: twinctl --signer patient twin deactivate did:twin:4Jm… --yes
	Deactivate {
		/// The DID.
		did: Did,
		/// Do not ask: it is meant (needed when standard input is not a
		/// terminal).
		#[arg(long)]
		yes: bool,
	},
}

/// What a DID stands for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
	/// A patient's digital twin.
	PatientTwin,
	/// A hospital, research institute or other organisation.
	Institution,
	/// A registered dataset.
	Dataset,
	/// A trained model.
	Model,
}

impl Kind {
	fn variant(self) -> &'static str {
		match self {
			Self::PatientTwin => "PatientTwin",
			Self::Institution => "Institution",
			Self::Dataset => "Dataset",
			Self::Model => "Model",
		}
	}
}

/// A verification method's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
	/// Schnorrkel/Ristretto, as Substrate accounts sign.
	Sr25519,
	/// Ed25519.
	Ed25519,
	/// Compressed secp256k1 (33 bytes).
	Ecdsa,
	/// Curve25519 Diffie-Hellman, for key agreement only.
	X25519,
}

fn parse_relationship(name: &str) -> Result<Relationship, String> {
	Relationship::from_name(name).ok_or_else(|| {
		let names: Vec<_> = Relationship::ALL.iter().map(|r| r.name()).collect();
		format!("not a verification relationship; one of {}", names.join(", "))
	})
}

/// A verification method on the command line.
#[derive(Args)]
pub struct MethodArgs {
	/// Its name within the DID [default: key-1; for rotate-key, the
	/// replaced method's].
	#[arg(long)]
	fragment: Option<String>,
	/// The public key, 0x and hex [default: the signer's sr25519 key, or
	/// the controller account's with create --controller ADDRESS].
	#[arg(long, value_name = "HEX")]
	public_key: Option<Hex>,
	/// The key's type.
	#[arg(long, value_enum, default_value_t = KeyType::Sr25519)]
	key_type: KeyType,
	/// What it is for (repeat, or separate with commas) [default:
	/// authentication; keyAgreement for an X25519 key].
	#[arg(long = "relationship", value_parser = parse_relationship, value_delimiter = ',')]
	relationships: Vec<Relationship>,
}

/// The longest fragment this runtime stores (`Twins::MaxFragmentLength`).
const MAX_FRAGMENT_LENGTH: usize = 32;

impl MethodArgs {
	/// The method's fragment: `--fragment`, else `default`.
	fn fragment<'a>(&'a self, default: &'a str) -> &'a str {
		self.fragment.as_deref().unwrap_or(default)
	}

	/// The method as the chain takes it, named `fragment`; `default_key` is
	/// the sr25519 key it has when no `--public-key` is given.
	fn value(&self, fragment: &str, default_key: Option<[u8; 32]>) -> Result<Dyn, Failure> {
		if fragment.is_empty() || fragment.len() > MAX_FRAGMENT_LENGTH {
			return Err(Failure::Usage(format!(
				"--fragment: 1 to {MAX_FRAGMENT_LENGTH} bytes, not {}",
				fragment.len()
			)));
		}
		let key = match (&self.public_key, default_key) {
			(Some(Hex(key)), _) => key.clone(),
			(None, Some(key)) if self.key_type == KeyType::Sr25519 => key.to_vec(),
			_ => {
				return Err(Failure::Usage(String::from(
					"--public-key is needed for a key that is not the signer's sr25519 key",
				)))
			},
		};
		let expected = if self.key_type == KeyType::Ecdsa { 33 } else { 32 };
		if key.len() != expected {
			return Err(Failure::Usage(format!(
				"a {:?} public key has {expected} bytes, not {}",
				self.key_type,
				key.len()
			)));
		}
		let mut relationships = self.relationships.clone();
		if relationships.is_empty() {
			relationships.push(if self.key_type == KeyType::X25519 {
				Relationship::KeyAgreement
			} else {
				Relationship::Authentication
			});
		}
		let key_variant = match self.key_type {
			KeyType::Sr25519 => "Sr25519",
			KeyType::Ed25519 => "Ed25519",
			KeyType::Ecdsa => "Ecdsa",
			KeyType::X25519 => "X25519",
		};
		Ok(verification_method(
			fragment,
			variant(key_variant, [Dyn::from_bytes(key)]),
			&relationships,
		))
	}
}

/// The signer's sr25519 key, the default of a method's.
fn signer_key(session: &Session) -> Option<[u8; 32]> {
	session.signer().ok().map(|signer| signer.id().0)
}

/// Whether deactivating `did` is meant: `--yes`, else the answer to a
/// question on the terminal.
fn confirmed(did: &Did, yes: bool) -> Result<(), Failure> {
	use std::io::{BufRead, IsTerminal, Write};
	if yes {
		return Ok(());
	}
	if !std::io::stdin().is_terminal() {
		return Err(Failure::Usage(String::from(
			"deactivating a DID is for good: confirm with --yes",
		)));
	}
	let mut stderr = std::io::stderr();
	let _ = write!(stderr, "Deactivate {did} for good? [y/N] ");
	let _ = stderr.flush();
	let mut answer = String::new();
	std::io::stdin()
		.lock()
		.read_line(&mut answer)
		.map_err(|e| Failure::Usage(format!("no answer: {e}")))?;
	if matches!(answer.trim(), "y" | "Y" | "yes") {
		Ok(())
	} else {
		Err(Failure::Failed(String::from("not deactivated")))
	}
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct DidCreated {
	did: [u8; 32],
}

/// Whether `command` signs a transaction (its account is unlocked before
/// connecting).
pub fn signs(command: &TwinCommand) -> bool {
	!matches!(command, TwinCommand::Resolve { .. } | TwinCommand::List { .. })
}

/// The DIDs `controller` controls, every page of them.
async fn controlled_by(session: &Session, controller: &str) -> Result<Vec<Value>, Failure> {
	const PAGE: u32 = 100;
	let mut listed: Vec<Value> = Vec::new();
	loop {
		let after = listed.last().and_then(Value::as_str).map(str::to_string);
		let page = session
			.chain
			.rpc("twin_listByController", rpc_params![controller, after, PAGE])
			.await?;
		let page = page.as_array().cloned().unwrap_or_default();
		let full = page.len() >= PAGE as usize;
		listed.extend(page);
		if !full {
			return Ok(listed);
		}
	}
}

/// `twin_resolveDid` of `did`: its resolution, or exit 4 if the chain has
/// no such DID (a deactivated one resolves, marked so).
pub async fn resolve(session: &Session, did: &Did) -> Result<Value, Failure> {
	let resolved = session.chain.rpc("twin_resolveDid", rpc_params![did.to_string()]).await?;
	match resolved.pointer("/didResolutionMetadata/error").and_then(Value::as_str) {
		Some("notFound") => Err(Failure::NotFound(format!("no DID {did} on this chain"))),
		Some(error) => Err(Failure::Failed(format!("{did}: {error}"))),
		None => Ok(resolved),
	}
}

/// Runs `command`.
pub async fn run(command: &TwinCommand, session: &Session) -> Result<Output, Failure> {
	match command {
		TwinCommand::Create { kind, controller, method } => {
			let default_key = match controller {
				Some(Party::Account(account)) => Some(account.id),
				_ => signer_key(session),
			};
			let method = method.value(method.fragment("key-1"), default_key)?;
			let call = subxt::dynamic::tx(
				"Twins",
				"create",
				(
					variant(kind.variant(), []),
					optional(controller.as_ref().map(Party::controller)),
					Dyn::unnamed_composite([method]),
				),
			);
			let included = session.submit(&call).await?;
			let created: DidCreated = included.event("Twins::DidCreated")?;
			let did = format_did(&DidId::from(created.did));
			let offered = included.event::<Empty>("Twins::ControllerOffered").is_ok();
			let text = match controller {
				Some(controller) if offered => {
					format!("Created {did}, offered to {controller} until it accepts")
				},
				_ => format!("Created {did}"),
			};
			Ok(transacted(
				&included,
				json!({ "did": did, "kind": kind.variant(), "controllerOffered": offered }),
				text,
			))
		},
		TwinCommand::Resolve { did } => Ok(Output::json_only(resolve(session, did).await?)),
		TwinCommand::List { controller } => {
			let controller = match controller {
				Some(controller) => controller.to_string(),
				None => session.address()?,
			};
			let listed = Value::Array(controlled_by(session, &controller).await?);
			let did = |did: &Value| did.as_str().unwrap_or_default().to_string();
			let text = lines(&listed, did, &format!("{controller} controls no DID"));
			Ok(Output { json: listed, text })
		},
		TwinCommand::AddKey { did, method } => {
			let fragment = method.fragment("key-1");
			let call = subxt::dynamic::tx(
				"Twins",
				"add_verification_method",
				(did.value(), method.value(fragment, signer_key(session))?),
			);
			let included = session.submit(&call).await?;
			Ok(transacted(
				&included,
				json!({ "did": did.to_string(), "fragment": fragment }),
				format!("Added {did}#{fragment}"),
			))
		},
		TwinCommand::RotateKey { did, old_fragment, method } => {
			let fragment = method.fragment(old_fragment);
			let call = subxt::dynamic::tx(
				"Twins",
				"rotate_key",
				(
					did.value(),
					Dyn::from_bytes(old_fragment.as_bytes()),
					method.value(fragment, signer_key(session))?,
				),
			);
			let included = session.submit(&call).await?;
			Ok(transacted(
				&included,
				json!({ "did": did.to_string(), "oldFragment": old_fragment, "fragment": fragment }),
				format!("Rotated {did}#{old_fragment} to {did}#{fragment}"),
			))
		},
		TwinCommand::OfferPatient { twin, patient } => {
			let call =
				subxt::dynamic::tx("Twins", "offer_patient", (twin.value(), patient.value()));
			let included = session.submit(&call).await?;
			let bound = included.event::<Empty>("Twins::PatientBound").is_ok();
			let (state, verb) = if bound { ("bound", "Bound") } else { ("offered", "Offered") };
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "patient": patient.to_string(), "state": state }),
				format!("{verb} {patient} as the patient of {twin}"),
			))
		},
		TwinCommand::AcceptPatient { twin } => {
			let call = subxt::dynamic::tx("Twins", "accept_patient", (twin.value(),));
			let included = session.submit(&call).await?;
			let patient = session.address()?;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "patient": patient }),
				format!("{patient} is now the patient of {twin}"),
			))
		},
		TwinCommand::Deactivate { did, yes } => {
			confirmed(did, *yes)?;
			let call = subxt::dynamic::tx("Twins", "deactivate", (did.value(),));
			let included = session.submit(&call).await?;
			Ok(transacted(
				&included,
				json!({ "did": did.to_string() }),
				format!("Deactivated {did}"),
			))
		},
	}
}

/// An event whose fields do not matter.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Empty {}
