//! Fuzzing the runtime (issue 15), as proptest harnesses that run for a
//! fixed budget with the unit tests (cargo-fuzz needs a nightly toolchain):
//!
//! - [`decode`]: bytes (random, and mutations of the seed corpus in
//!   `runtime/fuzz-corpus/`) decoded as a `RuntimeCall` and as an
//!   `UncheckedExtrinsic` with the executive's depth limit: no panic, a
//!   value that decodes encodes back to the same bytes, its weight and fee
//!   compute, and a decoded call dispatches without breaking anything.
//! - [`sequences`]: random sequences of calls of every TwinNet pallet (and
//!   balances transfers, licence NFTs, sudo) dispatched in externalities of
//!   the development genesis, blocks opened and closed with every pallet's
//!   hooks: no panic, every pallet's `try_state` holds after every call and
//!   block, and a call that fails changes no storage.
//! - [`tour`]: the fixed sequence in which every call succeeds; the
//!   corpus and the sequences' starting points come from it.
//!
//! Budgets: `FUZZ_CASES` (call sequences) and `FUZZ_DECODE_CASES`
//! (decodings); `FUZZ_SEED` replays a run. docs/operations.md, "Fuzzing".

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod calls;
mod chain;
mod decode;
mod sequences;
mod tour;

use std::sync::OnceLock;

use proptest::test_runner::{
	Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};
use sp_runtime::Storage;

use chain::Chain;
use tour::{By, TourStep};

use crate::{Runtime, RuntimeCall, UncheckedExtrinsic};

/// The development genesis, built once.
fn genesis() -> Storage {
	static GENESIS: OnceLock<Storage> = OnceLock::new();
	GENESIS
		.get_or_init(|| crate::tests::preset_storage(sp_genesis_builder::DEV_RUNTIME_PRESET))
		.clone()
}

/// The chain after each step of the tour (the first before any), built once.
fn tour_states() -> &'static [chain::Snapshot] {
	static STATES: OnceLock<Vec<chain::Snapshot>> = OnceLock::new();
	STATES.get_or_init(|| {
		let mut chain = Chain::new(genesis());
		let mut states = vec![chain.snapshot()];
		for (index, step) in tour::tour().iter().enumerate() {
			let outcome = run_tour_step(&mut chain, step);
			assert!(
				matches!(outcome, Ok(Some(Ok(_))) | Ok(None)),
				"tour step {index}: {outcome:?}"
			);
			states.push(chain.snapshot());
		}
		states
	})
}

/// What a call of the tour was and did.
#[derive(Debug)]
struct TourCall {
	call: RuntimeCall,
	/// The signed or authorized extrinsic it was applied as, if it was.
	extrinsic: Option<UncheckedExtrinsic>,
}

/// Runs a step of the tour: a call through dispatch, or (the first call of
/// each pallet, and reports) as an extrinsic through the executive.
fn run_tour_step(
	chain: &mut Chain,
	step: &TourStep,
) -> Result<Option<Result<TourCall, String>>, TestCaseError> {
	match step {
		TourStep::Blocks(n) => {
			for _ in 0..*n {
				chain.advance(1)?;
			}
			Ok(None)
		},
		TourStep::Jump(n) => chain.advance(*n).map(|()| None),
		TourStep::Call(by, build) => {
			let call = chain.with(build);
			let as_extrinsic = match by {
				By::Authorized => true,
				By::Signed(_) => !chain.seen_pallet(&call),
				By::Root => false,
			};
			if as_extrinsic {
				let extrinsic = chain.with(|| extrinsic(*by, call.clone()));
				let applied = chain.apply_extrinsic(extrinsic.clone())?;
				Ok(Some(applied.map(|()| TourCall { call, extrinsic: Some(extrinsic) })))
			} else {
				let result = chain.dispatch(by.origin(), call.clone())?;
				Ok(Some(
					result
						.map(|()| TourCall { call, extrinsic: None })
						.map_err(|e| chain::error_name(&e)),
				))
			}
		},
	}
}

/// `call` as an extrinsic from `by`: signed by its key, with the
/// extensions a wallet sets (immortal, no tip, no metadata hash); an
/// authorized (general) transaction for a node's report.
fn extrinsic(by: By, call: RuntimeCall) -> UncheckedExtrinsic {
	use frame_system::offchain::CreateAuthorizedTransaction;
	let key = match by {
		By::Signed(key) => key,
		By::Authorized | By::Root => {
			return UncheckedExtrinsic::new_transaction(
				call,
				<Runtime as CreateAuthorizedTransaction<RuntimeCall>>::create_extension(),
			)
		},
	};
	let who = key.to_account_id();
	let extension: crate::TxExtension = (
		frame_system::AuthorizeCall::new(),
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(sp_runtime::generic::Era::Immortal),
		frame_system::CheckNonce::from(frame_system::Pallet::<Runtime>::account_nonce(&who)),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
		frame_metadata_hash_extension::CheckMetadataHash::new(false),
		frame_system::WeightReclaim::new(),
	);
	let payload = crate::SignedPayload::new(call, extension).expect("the implicit data");
	let signature = codec::Encode::using_encoded(&payload, |bytes| key.sign(bytes));
	let (call, extension, _) = payload.deconstruct();
	UncheckedExtrinsic::new_signed(
		call,
		sp_runtime::MultiAddress::Id(who),
		sp_runtime::MultiSignature::Sr25519(signature),
		extension,
	)
}

/// A budget from the environment variable `name`, or `default`.
fn budget(name: &str, default: u32) -> u32 {
	match std::env::var(name) {
		Ok(value) => {
			value.trim().parse().unwrap_or_else(|_| panic!("{name}={value}: not a number"))
		},
		Err(_) => default,
	}
}

/// A test runner of `cases` cases, its failures persisted next to
/// `source_file` (`runtime/proptest-regressions/`), its seed from
/// `FUZZ_SEED` or random, and printed so that a run can be replayed.
fn runner(name: &str, cases: u32, source_file: &'static str) -> TestRunner {
	let seed: u64 = match std::env::var("FUZZ_SEED") {
		Ok(seed) => seed.trim().parse().expect("FUZZ_SEED: a number"),
		Err(_) => rand_seed(),
	};
	// Straight to stderr, so that `cargo test` shows it: a failing run is
	// replayed with this seed.
	let _ = std::io::Write::write_all(
		&mut std::io::stderr(),
		format!("{name}: {cases} cases, FUZZ_SEED={seed}\n").as_bytes(),
	);
	let mut bytes = [0u8; 32];
	bytes[..8].copy_from_slice(&seed.to_le_bytes());
	let config = Config {
		cases,
		source_file: Some(source_file),
		failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
			"proptest-regressions",
		))),
		// A failing sequence shrinks within a minute or two.
		max_shrink_iters: 2_000,
		..Config::default()
	};
	TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// A seed that differs from run to run.
fn rand_seed() -> u64 {
	use std::hash::{BuildHasher, Hasher};
	let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
	hasher.write_u128(
		std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map_or(0, |d| d.as_nanos()),
	);
	hasher.finish()
}

/// The seed corpus's directory.
fn corpus_dir() -> std::path::PathBuf {
	std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus")
}

fn to_hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
	let text = text.trim();
	(0..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
		.collect()
}

/// The committed seed corpus: calls and extrinsics, each by file name.
fn corpus() -> (Vec<(String, Vec<u8>)>, Vec<(String, Vec<u8>)>) {
	let read = |dir: &str| {
		let mut entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir().join(dir))
			.unwrap_or_else(|e| panic!("fuzz-corpus/{dir}: {e}"))
			.map(|entry| entry.expect("a corpus file").path())
			.filter(|path| path.extension().is_some_and(|e| e == "hex"))
			.map(|path| {
				let name = path.file_name().expect("a name").to_string_lossy().into_owned();
				let text = std::fs::read_to_string(&path).expect("a readable corpus file");
				(name, from_hex(&text))
			})
			.collect();
		entries.sort();
		entries
	};
	(read("calls"), read("extrinsics"))
}

/// Runs the tour: every call succeeds, and every call of every TwinNet
/// pallet is among them. With `FUZZ_WRITE_CORPUS=1` it writes the seed
/// corpus (`runtime/fuzz-corpus/`, see its README).
#[test]
fn the_tour_succeeds_in_every_call_of_every_twinnet_pallet() {
	use frame_support::traits::GetCallName;
	let mut chain = Chain::new(genesis());
	let mut calls = Vec::new();
	for (index, step) in tour::tour().iter().enumerate() {
		match run_tour_step(&mut chain, step).expect("no invariant breaks") {
			Some(Ok(call)) => calls.push(call),
			Some(Err(error)) => panic!("tour step {index} failed: {error}"),
			None => {},
		}
	}
	chain.advance(1).expect("the last block closes");
	let names: std::collections::BTreeSet<String> =
		calls.iter().map(|c| chain::call_name(&c.call)).collect();
	let pallets: [(&str, &[&str]); 5] = [
		("Twins", pallet_twins::Call::<Runtime>::get_call_names()),
		("Consent", pallet_consent::Call::<Runtime>::get_call_names()),
		("Datasets", pallet_datasets::Call::<Runtime>::get_call_names()),
		("Commitments", pallet_commitments::Call::<Runtime>::get_call_names()),
		("Federated", pallet_federated::Call::<Runtime>::get_call_names()),
	];
	for (pallet, calls) in pallets {
		for call in calls {
			assert!(
				names.contains(&format!("{pallet}.{call}")),
				"the tour never calls {pallet}.{call}"
			);
		}
	}
	println!(
		"tour: {} calls ({} as extrinsics), {} blocks",
		calls.len(),
		calls.iter().filter(|c| c.extrinsic.is_some()).count(),
		chain.stats.blocks
	);

	if std::env::var("FUZZ_WRITE_CORPUS").is_ok_and(|v| v == "1") {
		use codec::Encode;
		for dir in ["calls", "extrinsics"] {
			let dir = corpus_dir().join(dir);
			let _ = std::fs::remove_dir_all(&dir);
			std::fs::create_dir_all(&dir).expect("the corpus directory");
		}
		for (index, call) in calls.iter().enumerate() {
			let name = chain::call_name(&call.call).replace('.', "-");
			let write = |dir: &str, bytes: Vec<u8>| {
				let path = corpus_dir().join(dir).join(format!("{index:02}-{name}.hex"));
				std::fs::write(path, to_hex(&bytes) + "\n").expect("a corpus file");
			};
			write("calls", call.call.encode());
			if let Some(extrinsic) = &call.extrinsic {
				write("extrinsics", extrinsic.encode());
			}
		}
		// The timestamp inherent: a bare extrinsic.
		let bare = UncheckedExtrinsic::new_bare(pallet_timestamp::Call::set { now: 6_000 }.into());
		std::fs::write(
			corpus_dir().join("extrinsics").join("bare-Timestamp-set.hex"),
			to_hex(&bare.encode()) + "\n",
		)
		.expect("a corpus file");
	}
}

/// The fuzzers' invariant check is not vacuous: on the chain at the end of
/// the tour, one inconsistent record of each TwinNet pallet makes
/// `try_state` fail (a pallet whose `try_state` were not wired into the
/// runtime, or not built with the feature, would pass).
#[test]
fn try_state_catches_a_broken_record_of_every_twinnet_pallet() {
	use twinnet_primitives::did::DidId;
	let end = tour_states().last().expect("the tour has steps");
	let nobody = DidId::repeat_byte(0xee);
	let corruptions: [(&str, fn(DidId)); 5] = [
		("pallet-twins", |did| {
			pallet_twins::CustodyLoads::<Runtime>::insert(
				did,
				pallet_twins::CustodyLoad { offers: 1, custodies: 0 },
			)
		}),
		("pallet-consent", |did| pallet_consent::GrantCount::<Runtime>::insert(did, 5)),
		("pallet-datasets", |did| pallet_datasets::ContributionCount::<Runtime>::insert(did, 3)),
		("pallet-commitments", |_| pallet_commitments::NextCommitmentId::<Runtime>::put(0)),
		("pallet-federated", |_| pallet_federated::NextJobId::<Runtime>::put(0)),
	];
	let mut chain = Chain::resume(end);
	chain.check_state("the tour").expect("the tour's end is consistent");
	for (pallet, corrupt) in corruptions {
		let mut chain = Chain::resume(end);
		chain.with(|| corrupt(nobody));
		assert!(chain.check_state(pallet).is_err(), "{pallet}: try_state missed a broken record");
	}
}
