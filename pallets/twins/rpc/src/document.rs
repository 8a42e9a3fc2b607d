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

/// The W3C DID document of an active DID.
pub fn did_document<AccountId, BlockNumber>(
	id: &str,
	view: &DidView<AccountId, BlockNumber>,
	accounts: &impl AccountFormat<AccountId>,
) -> Value {
	let method_id = |m: &VerificationMethodView| format!("{id}#{}", utf8(&m.fragment));
	let mut document = Map::new();
	document.insert(
		"@context".into(),
		json!(["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]),
	);
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

	let relationships = [
		("authentication", Relationship::Authentication),
		("assertionMethod", Relationship::AssertionMethod),
		("capabilityInvocation", Relationship::CapabilityInvocation),
		("capabilityDelegation", Relationship::CapabilityDelegation),
		("keyAgreement", Relationship::KeyAgreement),
	];
	for (name, relationship) in relationships {
		let ids: Vec<Value> = view
			.verification_methods
			.iter()
			.filter(|m| m.relationships.serves(relationship))
			.map(|m| json!(method_id(m)))
			.collect();
		if !ids.is_empty() {
			document.insert(name.into(), Value::Array(ids));
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

/// A W3C DID resolution result.
fn result(document: Value, document_metadata: Value, resolution_metadata: Value) -> Value {
	json!({
		"@context": "https://w3id.org/did-resolution/v1",
		"didDocument": document,
		"didDocumentMetadata": document_metadata,
		"didResolutionMetadata": resolution_metadata,
	})
}

/// The resolution result of a failed resolution (`invalidDid`, `notFound`).
pub fn resolution_error(error: &str) -> Value {
	result(Value::Null, json!({}), json!({ "error": error }))
}

/// The resolution result of `did`, given what the runtime API returned.
pub fn resolution_result<AccountId, BlockNumber: serde::Serialize>(
	did: &DidId,
	resolution: Option<DidResolution<AccountId, BlockNumber>>,
	accounts: &impl AccountFormat<AccountId>,
) -> Value {
	let id = format_did(did);
	let found = json!({ "contentType": "application/did+ld+json" });
	match resolution {
		None => resolution_error("notFound"),
		Some(DidResolution::Active(view)) => {
			let metadata = json!({
				"createdBlock": view.created,
				"updatedBlock": view.updated,
				"deactivated": false,
				"twinKind": kind_name(view.kind),
				"metadataHash": view.metadata_hash.map(|h| format!("{h:?}")),
				"dataSchema": view.schema.as_deref().map(utf8),
				"custodian": view.custodian.as_ref().map(format_did),
				"patient": view.patient.as_ref().map(|p| accounts.account_did(p)),
			});
			result(did_document(&id, &view, accounts), metadata, found)
		},
		Some(DidResolution::Deactivated { kind, created, deactivated }) => {
			let document = json!({ "@context": ["https://www.w3.org/ns/did/v1"], "id": id });
			let metadata = json!({
				"createdBlock": created,
				"deactivatedBlock": deactivated,
				"deactivated": true,
				"twinKind": kind_name(kind),
			});
			result(document, metadata, found)
		},
	}
}
