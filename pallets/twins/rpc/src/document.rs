//! W3C DID documents and resolution results of `did:twin` DIDs.
//!
//! Pure functions from what the runtime API returns to the JSON a W3C DID
//! resolver returns (DID Core 1.0 and DID Resolution).

use serde_json::{json, Map, Value};
use twinnet_primitives::did::{
	format_did, Controller, DidId, DidResolution, DidView, PublicKey, Relationship, SubjectKind,
	VerificationMethodView,
};

/// `publicKeyMultibase`: base58btc (`z`) of the key's multicodec prefix and bytes.
pub fn public_key_multibase(key: &PublicKey) -> String {
	let mut bytes = key.multicodec_prefix().to_vec();
	bytes.extend_from_slice(key.as_bytes());
	format!("z{}", bs58::encode(bytes).into_string())
}

/// How a resolver writes an account: `did:pkh` with the chain's CAIP-2 id.
pub trait AccountFormat<AccountId> {
	/// The DID of `account`.
	fn account_did(&self, account: &AccountId) -> String;
}

fn kind_name(kind: SubjectKind) -> &'static str {
	match kind {
		SubjectKind::PatientTwin => "PatientTwin",
		SubjectKind::Institution => "Institution",
		SubjectKind::Dataset => "Dataset",
		SubjectKind::Model => "Model",
	}
}

fn controller_did<AccountId>(
	controller: &Controller<AccountId>,
	accounts: &impl AccountFormat<AccountId>,
) -> String {
	match controller {
		Controller::Account(account) => accounts.account_did(account),
		Controller::Did(did) => format_did(did),
	}
}

fn utf8(bytes: &[u8]) -> String {
	String::from_utf8_lossy(bytes).into_owned()
}

/// A DID document's representation (DID Core §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
	/// `application/did+ld+json`: JSON-LD, with `@context`.
	JsonLd,
	/// `application/did+json`: plain JSON, without `@context`.
	Json,
}

impl Representation {
	/// The representation a media type names, if supported.
	pub fn from_media_type(media_type: &str) -> Option<Self> {
		match media_type {
			"application/did+ld+json" => Some(Self::JsonLd),
			"application/did+json" => Some(Self::Json),
			_ => None,
		}
	}

	/// Its media type, the `contentType` of resolution metadata.
	pub fn media_type(self) -> &'static str {
		match self {
			Self::JsonLd => "application/did+ld+json",
			Self::Json => "application/did+json",
		}
	}
}

/// The JSON-LD context of `did:twin` documents: DID Core, Multikey, and a
/// vocabulary for terms of TwinNet's own (service types such as
/// `TwinDataEndpoint`), see docs/did-method.md.
pub const TWINNET_VOCABULARY: &str = "urn:twinnet:did:";

fn context() -> Value {
	json!([
		"https://www.w3.org/ns/did/v1",
		"https://w3id.org/security/multikey/v1",
		{ "@vocab": TWINNET_VOCABULARY }
	])
}

/// The W3C DID document of an active DID, in `representation`.
pub fn did_document<AccountId, BlockNumber>(
	id: &str,
	view: &DidView<AccountId, BlockNumber>,
	accounts: &impl AccountFormat<AccountId>,
	representation: Representation,
) -> Value {
	let method_id = |m: &VerificationMethodView| format!("{id}#{}", utf8(&m.fragment));
	let mut document = Map::new();
	if representation == Representation::JsonLd {
		document.insert("@context".into(), context());
	}
	document.insert("id".into(), json!(id));
	document.insert("controller".into(), json!(controller_did(&view.controller, accounts)));

	let methods: Vec<Value> = view
		.verification_methods
		.iter()
		.map(|m| {
			json!({
				"id": method_id(m),
				"type": "Multikey",
				"controller": id,
				"publicKeyMultibase": public_key_multibase(&m.key),
			})
		})
		.collect();
	if !methods.is_empty() {
		document.insert("verificationMethod".into(), Value::Array(methods));
	}

	for relationship in Relationship::ALL {
		let ids: Vec<Value> = view
			.verification_methods
			.iter()
			.filter(|m| m.relationships.serves(relationship))
			.map(|m| json!(method_id(m)))
			.collect();
		if !ids.is_empty() {
			document.insert(relationship.name().into(), Value::Array(ids));
		}
	}

	let services: Vec<Value> = view
		.services
		.iter()
		.map(|s| {
			json!({
				"id": format!("{id}#{}", utf8(&s.fragment)),
				"type": utf8(&s.service_type),
				"serviceEndpoint": utf8(&s.endpoint),
			})
		})
		.collect();
	if !services.is_empty() {
		document.insert("service".into(), Value::Array(services));
	}
	Value::Object(document)
}

/// The document of a deactivated DID: its identifier only.
fn deactivated_document(id: &str, representation: Representation) -> Value {
	let mut document = Map::new();
	if representation == Representation::JsonLd {
		document.insert("@context".into(), context());
	}
	document.insert("id".into(), json!(id));
	Value::Object(document)
}

/// `unix_ms` as an XML Schema `dateTime` in UTC without fractions of a
/// second (`2026-11-25T09:30:00Z`), as DID Core §7.3 wants `created` and
/// `updated`.
pub fn xml_datetime(unix_ms: u64) -> Option<String> {
	let time = chrono::DateTime::from_timestamp_millis(i64::try_from(unix_ms).ok()?)?;
	Some(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Inserts `value` under `key` if there is one: absent metadata is left
/// out, never `null`.
fn insert_some(metadata: &mut Map<String, Value>, key: &str, value: Option<String>) {
	if let Some(value) = value {
		metadata.insert(key.into(), Value::String(value));
	}
}

/// DID document metadata (DID Core §7.3.2): `created`, `updated` (XML
/// datetimes of the blocks that created and last changed the DID, when the
/// node knows them), `versionId` (the number of the block of the latest
/// change, as a string), `deactivated` (only when true) and TwinNet's own
/// entries, all strings; no entry is a number or `null`.
fn document_metadata<AccountId, BlockNumber: ToString>(
	resolution: &DidResolution<AccountId, BlockNumber>,
	accounts: &impl AccountFormat<AccountId>,
	block_time: &impl Fn(&BlockNumber) -> Option<u64>,
) -> Value {
	let mut metadata = Map::new();
	let (kind, created, updated) = match resolution {
		DidResolution::Active(view) => (view.kind, &view.created, &view.updated),
		DidResolution::Deactivated { kind, created, deactivated } => (*kind, created, deactivated),
	};
	insert_some(&mut metadata, "created", block_time(created).and_then(xml_datetime));
	insert_some(&mut metadata, "updated", block_time(updated).and_then(xml_datetime));
	metadata.insert("versionId".into(), json!(updated.to_string()));
	if matches!(resolution, DidResolution::Deactivated { .. }) {
		metadata.insert("deactivated".into(), json!(true));
	}
	metadata.insert("twinKind".into(), json!(kind_name(kind)));
	if let DidResolution::Active(view) = resolution {
		insert_some(&mut metadata, "metadataHash", view.metadata_hash.map(|h| format!("{h:?}")));
		insert_some(&mut metadata, "dataSchema", view.schema.as_deref().map(utf8));
		insert_some(&mut metadata, "custodian", view.custodian.as_ref().map(format_did));
		insert_some(
			&mut metadata,
			"patient",
			view.patient.as_ref().map(|p| accounts.account_did(p)),
		);
	}
	Value::Object(metadata)
}

/// A resolved DID: its document in a representation, and its metadata.
pub struct Resolved {
	/// The DID document.
	pub document: Value,
	/// The DID document metadata.
	pub metadata: Value,
}

/// The document and metadata of `did`, given what the runtime API returned,
/// or the DID Resolution error code (`notFound`).
pub fn resolve<AccountId, BlockNumber: ToString>(
	did: &DidId,
	resolution: Option<DidResolution<AccountId, BlockNumber>>,
	accounts: &impl AccountFormat<AccountId>,
	block_time: &impl Fn(&BlockNumber) -> Option<u64>,
	representation: Representation,
) -> Result<Resolved, &'static str> {
	let resolution = resolution.ok_or("notFound")?;
	let id = format_did(did);
	let document = match &resolution {
		DidResolution::Active(view) => did_document(&id, view, accounts, representation),
		DidResolution::Deactivated { .. } => deactivated_document(&id, representation),
	};
	Ok(Resolved { document, metadata: document_metadata(&resolution, accounts, block_time) })
}

const RESOLUTION_CONTEXT: &str = "https://w3id.org/did-resolution/v1";

/// The result of `resolve` (DID Core §7.1): the document as a map, with
/// empty resolution metadata on success and no document on error.
pub fn resolution_result(resolved: Result<Resolved, &str>) -> Value {
	match resolved {
		Ok(Resolved { document, metadata }) => json!({
			"@context": RESOLUTION_CONTEXT,
			"didDocument": document,
			"didDocumentMetadata": metadata,
			"didResolutionMetadata": {},
		}),
		Err(error) => resolution_error(error),
	}
}

/// The result of `resolveRepresentation` (DID Core §7.1): the document as a
/// byte stream (a JSON string) in `representation`, with its `contentType`.
pub fn representation_result(
	resolved: Result<Resolved, &str>,
	representation: Representation,
) -> Value {
	match resolved {
		Ok(Resolved { document, metadata }) => json!({
			"@context": RESOLUTION_CONTEXT,
			"didDocumentStream": document.to_string(),
			"didDocumentMetadata": metadata,
			"didResolutionMetadata": { "contentType": representation.media_type() },
		}),
		Err(error) => resolution_error(error),
	}
}

/// The result of a failed resolution (`invalidDid`, `notFound`,
/// `methodNotSupported`, `representationNotSupported`).
pub fn resolution_error(error: &str) -> Value {
	json!({
		"@context": RESOLUTION_CONTEXT,
		"didDocument": null,
		"didDocumentMetadata": {},
		"didResolutionMetadata": { "error": error },
	})
}

/// The result of dereferencing a DID URL (DID Core §7.2): the whole
/// document for a DID, the verification method or service a `#fragment`
/// names, or the error (`notFound` for an unknown fragment).
pub fn dereferencing_result(resolved: Result<Resolved, &str>, fragment: Option<&str>) -> Value {
	let Resolved { document, metadata } = match resolved {
		Ok(resolved) => resolved,
		Err(error) => return dereferencing_error(error),
	};
	let content_type = json!({ "contentType": Representation::JsonLd.media_type() });
	let Some(fragment) = fragment else {
		return json!({
			"dereferencingMetadata": content_type,
			"contentStream": document,
			"contentMetadata": metadata,
		});
	};
	let did = document.get("id").and_then(Value::as_str).unwrap_or_default();
	let url = format!("{did}#{fragment}");
	let found = ["verificationMethod", "service"]
		.iter()
		.filter_map(|section| document.get(section).and_then(Value::as_array))
		.flatten()
		.find(|entry| entry.get("id").and_then(Value::as_str) == Some(url.as_str()));
	match found {
		Some(entry) => json!({
			"dereferencingMetadata": content_type,
			"contentStream": entry,
			"contentMetadata": {},
		}),
		None => dereferencing_error("notFound"),
	}
}

/// The result of a failed dereferencing.
pub fn dereferencing_error(error: &str) -> Value {
	json!({
		"dereferencingMetadata": { "error": error },
		"contentStream": null,
		"contentMetadata": {},
	})
}
