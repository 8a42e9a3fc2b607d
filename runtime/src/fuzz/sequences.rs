//! The call-sequence fuzzer: each case resumes the chain after a random
//! prefix of the tour (from the bare development genesis to two consenting
//! twins, licences, a job and disputed commitments) and runs a random
//! sequence of calls and blocks on it. After every call and block every
//! pallet's `try_state` must hold, and a call that fails must leave the
//! storage root as it was.

use std::{cell::RefCell, time::Instant};

use proptest::{collection::vec, test_runner::TestCaseError};

use super::{
	calls::{step, Step, Subject, Who, JUMPS},
	chain::{Chain, Stats},
	runner, tour_states,
};
use crate::RuntimeCall;

/// Cases per run: about 90 s on the 2-core CI machine (docs/operations.md).
const DEFAULT_CASES: u32 = 200;
/// The longest random sequence of a case.
const MAX_STEPS: usize = 48;

/// Runs `steps` on `chain`, then closes its block.
fn run(chain: &mut Chain, steps: &[Step]) -> Result<(), TestCaseError> {
	for step in steps {
		match step {
			Step::Call(who, spec) => {
				let (origin, call) = chain.with(|| {
					let (call, subject) = spec.resolve();
					(who.origin(&subject), call)
				});
				let _ = chain.dispatch(origin, call)?;
			},
			Step::Sudo(who, spec) => {
				let (origin, call) = chain.with(|| {
					let (call, _) = spec.resolve();
					let sudo_key = pallet_sudo::Key::<crate::Runtime>::get()
						.map_or(Subject::Anyone, Subject::Account);
					let sudo: RuntimeCall = pallet_sudo::Call::sudo { call: Box::new(call) }.into();
					(who.origin(&sudo_key), sudo)
				});
				let _ = chain.dispatch(origin, call)?;
			},
			Step::Blocks(n) => {
				for _ in 0..*n {
					chain.advance(1)?;
				}
			},
			Step::Jump(i) => chain.advance(JUMPS[usize::from(*i) % JUMPS.len()])?,
		}
	}
	chain.advance(1)
}

/// Random call sequences of every TwinNet pallet keep every pallet's
/// invariants, and a failed call changes nothing. `FUZZ_CASES` cases
/// (default [`DEFAULT_CASES`]); prints what ran and what failed how.
#[test]
fn random_call_sequences_keep_every_invariant() {
	let cases = super::budget("FUZZ_CASES", DEFAULT_CASES);
	let states = tour_states();
	let strategy = (0..states.len(), vec(step(), 1..MAX_STEPS));
	let stats = RefCell::new(Stats::default());
	let started = Instant::now();
	let result = runner("fuzz call sequences", cases, file!()).run(&strategy, |(prefix, steps)| {
		let mut chain = Chain::resume(&states[prefix]);
		let outcome = run(&mut chain, &steps);
		stats.borrow_mut().merge(std::mem::take(&mut chain.stats));
		outcome
	});
	let crashes = u32::from(result.is_err());
	stats
		.borrow()
		.print("fuzz call sequences", crashes, started.elapsed().as_secs_f64());
	if let Err(error) = result {
		panic!("fuzz call sequences found a failing case: {error}");
	}
}

/// The harness on the chain at the end of the tour: an unsigned call and a
/// root call of something that is not there fail, and change nothing.
#[test]
fn calls_after_the_tour_fail_without_a_trace() {
	use super::calls::CallSpec;
	let states = tour_states();
	let last = states.last().expect("the tour has steps");
	let mut chain = Chain::resume(last);
	let steps = vec![
		Step::Call(Who::Unsigned, CallSpec::Deactivate { did: super::calls::DidRef::Pick(0) }),
		Step::Call(Who::Root, CallSpec::Resolve { dispute: 0, upheld: true }),
		Step::Blocks(1),
	];
	run(&mut chain, &steps).expect("no invariant breaks");
	assert!(chain.stats.calls == 2 && chain.stats.ok == 0, "{:?}", chain.stats);
}
