//! Tests of DID parsing and of the documents and resolution results.

#![allow(clippy::arithmetic_side_effects)]

use std::collections::HashSet;

use serde_json::Value;
use sp_core::H256;
use twinnet_primitives::did::{
	format_did, parse_did, Controller, DidResolution, DidView, InvalidDid, PublicKey,
	Relationships, ServiceView, SubjectKind, VerificationMethodView,
};

use crate::document::*;

struct TestAccounts;

impl AccountFormat<u64> for TestAccounts {
	fn account_did(&self, account: &u64) -> String {
		format!("did:pkh:test:{account}")
	}
}

fn did() -> H256 {
	H256::repeat_byte(0x42)
}

fn view() -> DidView<u64, u32> {
	let method = |fragment: &str, key, relationships| VerificationMethodView {
		fragment: fragment.as_bytes().to_vec(),
		key,
		relationships,
	};
	DidView {
		kind: SubjectKind::PatientTwin,
		controller: Controller::Account(7),
		patient: Some(7),
		verification_methods: vec![
			method(
				"key-1",
				PublicKey::Sr25519([1; 32]),
				Relationships { authentication: true, ..Default::default() },
			),
			method(
				"key-2",
				PublicKey::Ed25519([2; 32]),
				Relationships {
					assertion_method: true,
					capability_delegation: true,
					..Default::default()
				},
			),
			method(
				"key-3",
				PublicKey::Ecdsa([3; 33]),
				Relationships {
					authentication: true,
					capability_invocation: true,
					..Default::default()
				},
			),
			method(
				"key-4",
				PublicKey::X25519([4; 32]),
				Relationships { key_agreement: true, ..Default::default() },
			),
		],
		services: vec![ServiceView {
			fragment: b"data".to_vec(),
			service_type: b"TwinDataEndpoint".to_vec(),
			endpoint: b"https://hospital.example/twins/1".to_vec(),
		}],
		metadata_hash: Some(H256::repeat_byte(9)),
		schema: Some(b"NWB 2.x".to_vec()),
		custodian: Some(H256::repeat_byte(5)),
		created: 3,
		updated: 8,
	}
}

/// Checks what DID Core requires of a document: a well-formed id, unique
/// method and service ids under it, relationships naming existing methods.
fn assert_valid_document(document: &Value) {
	let id = document["id"].as_str().expect("id");
	assert!(parse_did(id).is_ok(), "malformed id {id}");
	let mut ids = HashSet::new();
	let methods = document["verificationMethod"].as_array().cloned().unwrap_or_default();
	for method in &methods {
		let method_id = method["id"].as_str().expect("method id");
		assert!(method_id.starts_with(&format!("{id}#")), "{method_id} is not under {id}");
		assert!(ids.insert(method_id.to_string()), "duplicate id {method_id}");
		assert!(method["publicKeyMultibase"].as_str().expect("key").starts_with('z'));
		assert_eq!(method["type"], "Multikey");
	}
	for relationship in [
		"authentication",
		"assertionMethod",
		"capabilityInvocation",
		"capabilityDelegation",
		"keyAgreement",
	] {
		for reference in document[relationship].as_array().cloned().unwrap_or_default() {
			let reference = reference.as_str().expect("a reference");
			assert!(
				methods.iter().any(|m| m["id"] == reference),
				"{relationship} names a missing method {reference}"
			);
		}
	}
	for service in document["service"].as_array().cloned().unwrap_or_default() {
		let service_id = service["id"].as_str().expect("service id");
		assert!(ids.insert(service_id.to_string()), "duplicate id {service_id}");
	}
}

#[test]
fn dids_round_trip_through_their_string_form() {
	let text = format_did(&did());
	assert!(text.starts_with("did:twin:"));
	assert_eq!(parse_did(&text), Ok(did()));
}

#[test]
fn malformed_dids_are_rejected() {
	let valid = format_did(&did());
	let short = format!("did:twin:{}", bs58::encode([1u8; 31]).into_string());
	for bad in [
		"",
		"did:twin:",
		"DID:twin:abc",
		"did:twin:0OIl",
		short.as_str(),
		&format!("{valid}#key-1"),
		&format!("{valid}?versionId=1"),
		&format!("{valid}/path"),
		&format!(" {valid}"),
	] {
		assert_eq!(parse_did(bad), Err(InvalidDid::Malformed), "{bad:?} should be invalid");
	}
	assert_eq!(parse_did("did:example:123"), Err(InvalidDid::MethodNotSupported));
}

/// Before the fix the whole identifier was base58-decoded whatever its
/// length, in time quadratic in it: 200 KB took 55 s of RPC CPU.
#[test]
fn attack_a_ten_megabyte_did_is_rejected_at_once() {
	let huge = format!("did:twin:{}", "z".repeat(10 * 1024 * 1024));
	let started = std::time::Instant::now();
	assert_eq!(parse_did(&huge), Err(InvalidDid::Malformed));
	let elapsed = started.elapsed();
	assert!(elapsed < std::time::Duration::from_millis(10), "took {elapsed:?}");
}

#[test]
fn identifiers_with_leading_zero_bytes_are_shorter_and_round_trip() {
	let mut bytes = [7u8; 32];
	bytes[0] = 0;
	bytes[1] = 0;
	let text = format_did(&H256::from(bytes));
	assert!(text.starts_with("did:twin:11"));
	assert!(text.len() < twinnet_primitives::did::MAX_DID_LENGTH);
	assert_eq!(parse_did(&text), Ok(H256::from(bytes)));
}

#[test]
fn x25519_keys_carry_their_multicodec() {
	let x = public_key_multibase(&PublicKey::X25519([4; 32]));
	let decoded = bs58::decode(&x[1..]).into_vec().expect("base58");
	assert_eq!(&decoded[..2], &[0xec, 0x01]);
	// X25519 keys in multibase start with `z6LS`.
	assert!(x.starts_with("z6LS"), "{x}");
}

#[test]
fn multibase_keys_carry_their_multicodec() {
	// Ed25519 keys in multibase start with `z6Mk`, secp256k1 ones with `zQ3s`.
	assert!(public_key_multibase(&PublicKey::Ed25519([2; 32])).starts_with("z6Mk"));
	assert!(public_key_multibase(&PublicKey::Ecdsa([3; 33])).starts_with("zQ3s"));
	let sr = public_key_multibase(&PublicKey::Sr25519([1; 32]));
	let decoded = bs58::decode(&sr[1..]).into_vec().expect("base58");
	assert_eq!(&decoded[..2], &[0xef, 0x01]);
	assert_eq!(&decoded[2..], &[1; 32]);
}

/// Block `n` was made `n` minutes after 2026-11-25T00:00:00Z; block 0's time is unknown.
fn block_time(number: &u32) -> Option<u64> {
	(*number > 0).then(|| 1_795_564_800_000 + u64::from(*number) * 60_000)
}

fn resolved(
	resolution: Option<DidResolution<u64, u32>>,
	representation: Representation,
) -> Result<Resolved, &'static str> {
	resolve(&did(), resolution, &TestAccounts, &block_time, representation)
}

fn resolved_active() -> Value {
	resolution_result(resolved(Some(DidResolution::Active(view())), Representation::JsonLd))
}

/// DID Core §7.3: metadata values are strings, maps, lists, booleans or null
/// (here never null: absent entries are left out).
fn assert_no_number_or_null(value: &Value) {
	match value {
		Value::Number(_) | Value::Null => panic!("a number or null in metadata: {value}"),
		Value::Array(items) => items.iter().for_each(assert_no_number_or_null),
		Value::Object(entries) => entries.values().for_each(assert_no_number_or_null),
		_ => {},
	}
}

#[test]
fn times_are_xml_datetimes_in_utc() {
	assert_eq!(xml_datetime(0).as_deref(), Some("1970-01-01T00:00:00Z"));
	assert_eq!(xml_datetime(1_795_564_800_999).as_deref(), Some("2026-11-25T00:00:00Z"));
	assert_eq!(xml_datetime(951_782_400_000).as_deref(), Some("2000-02-29T00:00:00Z"));
	assert_eq!(xml_datetime(u64::MAX), None);
}

#[test]
fn an_active_did_resolves_to_a_valid_document() {
	let result = resolved_active();
	let document = &result["didDocument"];
	assert_valid_document(document);
	let id = format_did(&did());
	assert_eq!(document["id"], id.as_str());
	assert_eq!(document["controller"], "did:pkh:test:7");
	assert_eq!(document["verificationMethod"].as_array().map(Vec::len), Some(4));
	assert_eq!(
		document["authentication"],
		serde_json::json!([format!("{id}#key-1"), format!("{id}#key-3")])
	);
	assert_eq!(document["keyAgreement"], serde_json::json!([format!("{id}#key-4")]));
	assert_eq!(document["capabilityInvocation"], serde_json::json!([format!("{id}#key-3")]));
	assert_eq!(document["service"][0]["serviceEndpoint"], "https://hospital.example/twins/1");
	assert_eq!(document["service"][0]["type"], "TwinDataEndpoint");
	assert_eq!(document["@context"][2]["@vocab"], TWINNET_VOCABULARY);

	let metadata = &result["didDocumentMetadata"];
	assert_no_number_or_null(metadata);
	assert_eq!(metadata["created"], "2026-11-25T00:03:00Z");
	assert_eq!(metadata["updated"], "2026-11-25T00:08:00Z");
	assert_eq!(metadata["versionId"], "8");
	assert!(metadata.get("deactivated").is_none());
	assert_eq!(metadata["dataSchema"], "NWB 2.x");
	assert_eq!(metadata["twinKind"], "PatientTwin");
	assert_eq!(metadata["custodian"], format_did(&H256::repeat_byte(5)).as_str());
	assert_eq!(metadata["patient"], "did:pkh:test:7");
	// `resolve` returns the document as a map: no content type, no error.
	assert_eq!(result["didResolutionMetadata"], serde_json::json!({}));
}

#[test]
fn absent_metadata_is_left_out_not_null() {
	let mut bare = view();
	(bare.metadata_hash, bare.schema, bare.custodian, bare.patient, bare.created) =
		(None, None, None, None, 0);
	let result =
		resolution_result(resolved(Some(DidResolution::Active(bare)), Representation::JsonLd));
	let metadata = &result["didDocumentMetadata"];
	assert_no_number_or_null(metadata);
	for absent in ["metadataHash", "dataSchema", "custodian", "patient", "created"] {
		assert!(metadata.get(absent).is_none(), "{absent} present");
	}
}

#[test]
fn a_representation_is_a_string_with_its_content_type() {
	for (representation, media_type, has_context) in [
		(Representation::JsonLd, "application/did+ld+json", true),
		(Representation::Json, "application/did+json", false),
	] {
		assert_eq!(Representation::from_media_type(media_type), Some(representation));
		let result = representation_result(
			resolved(Some(DidResolution::Active(view())), representation),
			representation,
		);
		assert_eq!(result["didResolutionMetadata"]["contentType"], media_type);
		let stream = result["didDocumentStream"].as_str().expect("a byte stream");
		let document: Value = serde_json::from_str(stream).expect("JSON");
		assert_valid_document(&document);
		assert_eq!(document.get("@context").is_some(), has_context, "{media_type}");
	}
	assert_eq!(Representation::from_media_type("text/html"), None);
}

#[test]
fn fragments_dereference_to_their_method_or_service() {
	let id = format_did(&did());
	let active = || resolved(Some(DidResolution::Active(view())), Representation::JsonLd);
	let method = dereferencing_result(active(), Some("key-4"));
	assert_eq!(method["contentStream"]["id"], format!("{id}#key-4"));
	assert_eq!(method["contentStream"]["type"], "Multikey");
	assert_eq!(method["dereferencingMetadata"]["contentType"], "application/did+ld+json");
	let service = dereferencing_result(active(), Some("data"));
	assert_eq!(service["contentStream"]["serviceEndpoint"], "https://hospital.example/twins/1");
	let whole = dereferencing_result(active(), None);
	assert_eq!(whole["contentStream"]["id"], id.as_str());
	assert_eq!(whole["contentMetadata"]["versionId"], "8");
	let unknown = dereferencing_result(active(), Some("key-9"));
	assert_eq!(unknown["dereferencingMetadata"]["error"], "notFound");
	assert!(unknown["contentStream"].is_null());
	let missing = dereferencing_result(resolved(None, Representation::JsonLd), Some("key-1"));
	assert_eq!(missing["dereferencingMetadata"]["error"], "notFound");
}

#[test]
fn a_did_controlled_by_a_did_names_it_as_controller() {
	let mut guarded = view();
	guarded.controller = Controller::Did(H256::repeat_byte(1));
	let result =
		resolution_result(resolved(Some(DidResolution::Active(guarded)), Representation::JsonLd));
	assert_eq!(result["didDocument"]["controller"], format_did(&H256::repeat_byte(1)).as_str());
}

#[test]
fn a_deactivated_did_resolves_as_deactivated() {
	let resolution =
		DidResolution::Deactivated { kind: SubjectKind::Model, created: 2, deactivated: 9 };
	let result = resolution_result(resolved(Some(resolution), Representation::JsonLd));
	assert_valid_document(&result["didDocument"]);
	let metadata = &result["didDocumentMetadata"];
	assert_no_number_or_null(metadata);
	assert_eq!(metadata["deactivated"], true);
	assert_eq!(metadata["updated"], "2026-11-25T00:09:00Z");
	assert_eq!(metadata["versionId"], "9");
	assert!(result["didResolutionMetadata"].get("error").is_none());
}

#[test]
fn an_unknown_did_is_not_found() {
	let result = resolution_result(resolved(None, Representation::JsonLd));
	assert_eq!(result["didResolutionMetadata"]["error"], "notFound");
	assert!(result["didDocument"].is_null());
}
