//! End to end: oversized input to the `twin_*` RPC methods is turned away
//! without being looked at, so a 10 MiB "DID" costs the node no more than
//! receiving it.
//!
//! The node's RPC server takes requests of up to 15 MiB by default
//! (`--rpc-max-request-size`), so a 10 MiB string does reach our code.
//!
//! How the time is measured: each call is one HTTP request over a fresh
//! local connection, prepared beforehand; the time is from its first byte
//! sent to the last byte of the answer. A debug-build node spends about
//! 70–100 ms receiving and deserialising a 10 MiB JSON string for *any*
//! method (jsonrpsee and serde_json are not optimised in the dev profile),
//! so no absolute 10 ms bound on the round trip can hold there. What our
//! code adds is measured instead: each call's time against that of a
//! method that deserialises the same 10 MiB string and rejects it on its
//! first character (`system_addReservedPeer`, which the dev node serves to
//! local clients), the fastest of several interleaved rounds of each, after
//! a warm-up call. The twin methods may add at most 100 ms: the attack this
//! guards against (quadratic base58 decoding) cost 3.7 s at 50 KB, so it
//! would add hours at 10 MiB, while another test's node running beside this
//! one (CI runs two at a time) was seen to add 35 ms of noise.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use std::time::Duration;

use common::{http_request, round_trip};
use serde_json::{json, Value};
use twinnet_test_support::TestNode;

/// The size of each oversized argument.
const TEN_MIB: usize = 10 * 1024 * 1024;
/// What a twin method may add to the baseline's time.
const ALLOWED_EXTRA: Duration = Duration::from_millis(100);
/// Timed rounds (after one warm-up call of each).
const ROUNDS: usize = 5;

/// An oversized call and what its answer must be.
struct Case {
	what: &'static str,
	request: Vec<u8>,
	check: fn(&Value) -> Result<(), String>,
}

/// A resolution result with one of `errors` and no document (not an RPC error).
fn resolution_error(answer: &Value, errors: &[&str]) -> Result<(), String> {
	let error = answer["result"]["didResolutionMetadata"]["error"].as_str().unwrap_or_default();
	if errors.contains(&error) && answer["result"]["didDocument"].is_null() {
		Ok(())
	} else {
		Err(format!("expected a resolution error {errors:?}, got {answer}"))
	}
}

/// An invalid-params RPC error (code -32602).
fn invalid_params(answer: &Value) -> Result<(), String> {
	if answer["error"]["code"] == -32602 {
		Ok(())
	} else {
		Err(format!("expected an invalid-params error, got {answer}"))
	}
}

#[tokio::test]
async fn ten_mib_did_and_controller_strings_are_rejected_without_being_read() {
	let node = TestNode::start().await.expect("node starts");
	let port = node.rpc_port();

	let long = |prefix: &str, fill: char, suffix: &str| {
		let mut s = String::with_capacity(prefix.len() + TEN_MIB + suffix.len());
		s.push_str(prefix);
		s.extend(std::iter::repeat_n(fill, TEN_MIB - prefix.len() - suffix.len()));
		s.push_str(suffix);
		s
	};
	let twin_prefixed = long("did:twin:", 'a', "");
	let no_did = long("", 'x', "");
	let other_method = long("did:", 'a', ":x");
	let ss58_like = long("", '5', "");
	let cases = vec![
		Case {
			what: "twin_resolveDid(\"did:twin:aaa…\")",
			request: http_request(port, "twin_resolveDid", json!([&twin_prefixed])),
			check: |answer| resolution_error(answer, &["invalidDid"]),
		},
		Case {
			what: "twin_resolveDid(\"xxx…\")",
			request: http_request(port, "twin_resolveDid", json!([&no_did])),
			check: |answer| resolution_error(answer, &["invalidDid"]),
		},
		Case {
			// A DID of "another method" whose method name is 10 MiB long.
			what: "twin_resolveDid(\"did:aaa…:x\")",
			request: http_request(port, "twin_resolveDid", json!([&other_method])),
			check: |answer| resolution_error(answer, &["invalidDid", "methodNotSupported"]),
		},
		Case {
			what: "twin_listByController(\"555…\")",
			request: http_request(port, "twin_listByController", json!([&ss58_like])),
			check: invalid_params,
		},
		Case {
			what: "twin_listByController(\"did:twin:aaa…\")",
			request: http_request(port, "twin_listByController", json!([&twin_prefixed])),
			check: invalid_params,
		},
		Case {
			what: "twin_listByController(\"did:aaa…:x\")",
			request: http_request(port, "twin_listByController", json!([&other_method])),
			check: invalid_params,
		},
	];
	// The baseline: the same 10 MiB string, deserialised, then rejected at
	// its first character (it must be an error, but not "method not found",
	// which would skip deserialising it).
	let baseline = http_request(port, "system_addReservedPeer", json!([&no_did]));

	let report = tokio::task::spawn_blocking(move || {
		let (_, answer, _) = round_trip(port, &baseline);
		assert!(
			answer["error"].is_object() && answer["error"]["code"] != -32601,
			"the baseline method must deserialise its argument and reject it: {answer}"
		);
		let mut failures = Vec::new();
		for case in &cases {
			let (_, answer, size) = round_trip(port, &case.request);
			if let Err(e) = (case.check)(&answer) {
				failures.push(format!("{}: {e}", case.what));
			}
			if size > 1024 {
				failures.push(format!(
					"{}: the answer is {size} bytes: it echoes the input",
					case.what
				));
			}
		}
		assert!(failures.is_empty(), "wrong answers:\n{}", failures.join("\n"));

		let mut fastest_baseline = Duration::MAX;
		let mut fastest = vec![Duration::MAX; cases.len()];
		for _ in 0..ROUNDS {
			fastest_baseline = fastest_baseline.min(round_trip(port, &baseline).0);
			for (case, fastest) in cases.iter().zip(&mut fastest) {
				*fastest = (*fastest).min(round_trip(port, &case.request).0);
			}
		}
		let mut report = format!("baseline (system_addReservedPeer): {fastest_baseline:?}\n");
		let mut slow = Vec::new();
		for (case, time) in cases.iter().zip(&fastest) {
			let extra = time.saturating_sub(fastest_baseline);
			report.push_str(&format!("{}: {time:?} (+{extra:?})\n", case.what));
			if extra > ALLOWED_EXTRA {
				slow.push(case.what);
			}
		}
		assert!(
			slow.is_empty(),
			"more than {ALLOWED_EXTRA:?} over the baseline: {slow:?}\n{report}"
		);
		report
	})
	.await
	.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
	println!("{report}");
}
