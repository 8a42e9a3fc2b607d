//! A chain in externalities for the fuzzers: blocks opened and closed as
//! the executive does (every pallet's `on_initialize`, `on_idle` and
//! `on_finalize`, an Aura slot and a timestamp each block), calls
//! dispatched as an extrinsic's would be, and after every call and every
//! block the checks the fuzzers stand for: `try_state` of every pallet, and
//! no storage change by a call that failed.

use std::collections::{BTreeMap, BTreeSet};

use codec::Encode;
use frame_support::traits::{GetCallMetadata, TryState, TryStateSelect};
use proptest::test_runner::TestCaseError;
use sp_runtime::{
	traits::{Dispatchable, Header as _},
	Digest, DigestItem, DispatchError, StateVersion,
};

use crate::{
	AllPalletsWithSystem, BlockNumber, Executive, Header, RuntimeCall, RuntimeError, RuntimeOrigin,
	System, SLOT_DURATION,
};

/// What the fuzzers did, over all their cases.
#[derive(Default, Debug)]
pub(crate) struct Stats {
	/// Cases run (proptest's shrinking included).
	pub cases: u64,
	/// Calls dispatched.
	pub calls: u64,
	/// Calls that succeeded.
	pub ok: u64,
	/// Blocks closed.
	pub blocks: u64,
	/// Times every pallet's `try_state` ran.
	pub try_state: u64,
	/// Failed calls whose storage root was compared before and after.
	pub roots_compared: u64,
	/// Successes by `pallet.call`.
	pub ok_by_call: BTreeMap<String, u64>,
	/// Failures by `pallet.call: error`.
	pub failed_by_error: BTreeMap<String, u64>,
}

impl Stats {
	/// Adds `other`'s counts to these.
	pub fn merge(&mut self, other: Stats) {
		self.cases += other.cases;
		self.calls += other.calls;
		self.ok += other.ok;
		self.blocks += other.blocks;
		self.try_state += other.try_state;
		self.roots_compared += other.roots_compared;
		for (call, n) in other.ok_by_call {
			*self.ok_by_call.entry(call).or_default() += n;
		}
		for (error, n) in other.failed_by_error {
			*self.failed_by_error.entry(error).or_default() += n;
		}
	}

	/// Calls that failed.
	pub fn failed(&self) -> u64 {
		self.calls - self.ok
	}

	/// Prints the summary line, straight to the process's stderr so that
	/// `cargo test` shows it without `--nocapture` (in `scripts/test`'s log),
	/// and the calls that succeeded and failed by error (with `--nocapture`).
	pub fn print(&self, name: &str, crashes: u32, seconds: f64) {
		use std::io::Write;
		let summary = format!(
			"{name}: {} cases, {} calls dispatched ({} ok, {} failed), {} blocks, try_state \
			 checked {} times, storage root unchanged after all {} failed dispatches; \
			 crashes: {crashes}; {seconds:.1} s",
			self.cases,
			self.calls,
			self.ok,
			self.failed(),
			self.blocks,
			self.try_state,
			self.roots_compared,
		);
		let _ = writeln!(std::io::stderr(), "{summary}");
		let ok: Vec<String> = self.ok_by_call.iter().map(|(c, n)| format!("{c} {n}")).collect();
		println!("{name}: succeeded: {}", ok.join(", "));
		let mut errors: Vec<(&String, &u64)> = self.failed_by_error.iter().collect();
		errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
		let errors: Vec<String> = errors.iter().map(|(e, n)| format!("{e} {n}")).collect();
		println!("{name}: failed: {}", errors.join(", "));
	}
}

/// `pallet.call` of `call`.
pub(crate) fn call_name(call: &RuntimeCall) -> String {
	let metadata = call.get_call_metadata();
	format!("{}.{}", metadata.pallet_name, metadata.function_name)
}

/// A dispatch error by pallet and name (`Twins(NotAuthorized)`).
pub(crate) fn error_name(error: &DispatchError) -> String {
	match RuntimeError::from_dispatch_error(*error) {
		Some(error) => format!("{error:?}"),
		None => format!("{error:?}"),
	}
}

/// A chain in test externalities, in the middle of a block.
pub(crate) struct Chain {
	ext: sp_io::TestExternalities,
	/// The last closed block's header (its hash is the open block's parent).
	parent: Option<Header>,
	/// The pallets whose calls it dispatched.
	pallets: BTreeSet<String>,
	/// What happened on it.
	pub stats: Stats,
}

/// A chain's state, to resume it from.
pub(crate) struct Snapshot {
	storage: sp_runtime::Storage,
	parent: Option<Header>,
	pallets: BTreeSet<String>,
}

impl Chain {
	/// The chain of genesis `storage`, with block 1 open.
	pub fn new(storage: sp_runtime::Storage) -> Self {
		let mut chain = Self {
			ext: storage.into(),
			parent: None,
			pallets: BTreeSet::new(),
			stats: Stats { cases: 1, ..Stats::default() },
		};
		chain.open(1);
		chain
	}

	/// The chain's state now (its open block's changes included).
	pub fn snapshot(&mut self) -> Snapshot {
		let top = self.with(|| {
			let mut top = BTreeMap::new();
			let mut key = Vec::new();
			while let Some(next) = sp_io::storage::next_key(&key) {
				let value = sp_io::storage::get(&next).expect("a key has a value");
				top.insert(next.clone(), value.to_vec());
				key = next;
			}
			top
		});
		Snapshot {
			storage: sp_runtime::Storage { top, children_default: Default::default() },
			parent: self.parent.clone(),
			pallets: self.pallets.clone(),
		}
	}

	/// The chain in the state of `snapshot`, in the same open block.
	pub fn resume(snapshot: &Snapshot) -> Self {
		Self {
			ext: snapshot.storage.clone().into(),
			parent: snapshot.parent.clone(),
			pallets: snapshot.pallets.clone(),
			stats: Stats { cases: 1, ..Stats::default() },
		}
	}

	/// Whether a call of `call`'s pallet was dispatched on this chain.
	pub fn seen_pallet(&self, call: &RuntimeCall) -> bool {
		self.pallets.contains(call.get_call_metadata().pallet_name)
	}

	/// Applies `extrinsic` as a block author does (`Executive::apply_extrinsic`:
	/// its extensions' checks, fees, dispatch), then checks every pallet's
	/// `try_state`. Whether it was valid and its call succeeded.
	pub fn apply_extrinsic(
		&mut self,
		extrinsic: crate::UncheckedExtrinsic,
	) -> Result<Result<(), String>, TestCaseError> {
		let name = call_name(&extrinsic.function);
		self.pallets
			.insert(extrinsic.function.get_call_metadata().pallet_name.to_string());
		let applied = self.with(|| Executive::apply_extrinsic(extrinsic));
		self.stats.calls += 1;
		let result = match applied {
			Ok(Ok(())) => Ok(()),
			Ok(Err(error)) => Err(error_name(&error)),
			Err(invalid) => Err(format!("invalid transaction: {invalid:?}")),
		};
		match &result {
			Ok(()) => {
				self.stats.ok += 1;
				*self.stats.ok_by_call.entry(name.clone()).or_default() += 1;
			},
			Err(error) => {
				*self.stats.failed_by_error.entry(format!("{name}: {error}")).or_default() += 1;
			},
		}
		self.check_state(&format!("after the extrinsic of {name} ({result:?})"))?;
		Ok(result)
	}

	/// Runs `f` in the chain's externalities.
	pub fn with<R>(&mut self, f: impl FnOnce() -> R) -> R {
		self.ext.execute_with(f)
	}

	/// The open block's number.
	pub fn block(&mut self) -> BlockNumber {
		self.with(System::block_number)
	}

	/// Opens block `number` as a block author would: an Aura pre-runtime
	/// digest of slot `number`, `initialize_block`, the timestamp inherent.
	/// A `number` past the next block jumps over empty blocks whose hooks
	/// do not run (what a month of blocks would do, in one step).
	fn open(&mut self, number: BlockNumber) {
		let parent_hash = match &self.parent {
			Some(header) => header.hash(),
			None => self.with(|| System::block_hash(0)),
		};
		self.with(|| {
			let slot = sp_consensus_aura::Slot::from(u64::from(number));
			let digest = Digest {
				logs: vec![DigestItem::PreRuntime(
					sp_consensus_aura::AURA_ENGINE_ID,
					slot.encode(),
				)],
			};
			let header =
				Header::new(number, Default::default(), Default::default(), parent_hash, digest);
			// `initialize` insists on the next number.
			System::set_block_number(number - 1);
			Executive::initialize_block(&header);
			let now = u64::from(number) * SLOT_DURATION;
			RuntimeCall::Timestamp(pallet_timestamp::Call::set { now })
				.dispatch(RuntimeOrigin::none())
				.expect("the timestamp inherent applies");
		});
	}

	/// Closes the open block (`on_idle`, `on_finalize`) and opens the one
	/// `by` blocks later (a jump over blocks without extrinsics when `by > 1`).
	pub fn advance(&mut self, by: BlockNumber) -> Result<(), TestCaseError> {
		let number = self.block();
		let header = self.with(Executive::finalize_block);
		self.stats.blocks += 1;
		self.ext.commit_all().map_err(TestCaseError::fail)?;
		self.parent = Some(header);
		self.open(number.saturating_add(by.max(1)));
		self.check_state("after the block's hooks")
	}

	/// Every pallet's `try_state`.
	pub fn check_state(&mut self, after: &str) -> Result<(), TestCaseError> {
		self.stats.try_state += 1;
		self.with(|| AllPalletsWithSystem::try_state(System::block_number(), TryStateSelect::All))
			.map_err(|error| TestCaseError::fail(format!("try_state failed {after}: {error:?}")))
	}

	/// Dispatches `call` from `origin`, then checks every pallet's
	/// `try_state` and, if the call failed, that it changed no storage.
	pub fn dispatch(
		&mut self,
		origin: RuntimeOrigin,
		call: RuntimeCall,
	) -> Result<Result<(), DispatchError>, TestCaseError> {
		let name = call_name(&call);
		self.pallets.insert(call.get_call_metadata().pallet_name.to_string());
		let described = format!("{call:?}");
		let (result, unchanged) = self.with(|| {
			let before = sp_io::storage::root(StateVersion::V1);
			let result = call.dispatch(origin).map(|_| ()).map_err(|e| e.error);
			let unchanged =
				result.is_err().then(|| sp_io::storage::root(StateVersion::V1) == before);
			(result, unchanged)
		});
		self.stats.calls += 1;
		match &result {
			Ok(()) => {
				self.stats.ok += 1;
				*self.stats.ok_by_call.entry(name.clone()).or_default() += 1;
			},
			Err(error) => {
				let key = format!("{name}: {}", error_name(error));
				*self.stats.failed_by_error.entry(key).or_default() += 1;
			},
		}
		if let Some(unchanged) = unchanged {
			self.stats.roots_compared += 1;
			if !unchanged {
				return Err(TestCaseError::fail(format!(
					"{name} failed ({result:?}) but changed storage: {described}"
				)));
			}
		}
		self.check_state(&format!("after {name} ({result:?}): {described}"))?;
		Ok(result)
	}
}
