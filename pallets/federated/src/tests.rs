#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

//! Unit tests of pallet-federated: each call's success and every error,
//! the round lifecycle against the real twins, consent and datasets
//! pallets, attacks on reports, and the fixed-point average against a
//! float reference. Invariants are checked after each test.

use frame_support::{
	assert_noop, assert_ok,
	pallet_prelude::{InvalidTransaction, TransactionSource, TransactionValidityError},
	traits::{
		fungible::{Inspect, InspectHold},
		Authorize,
	},
	BoundedVec,
};
use proptest::prelude::*;
use sp_core::H256;
use sp_runtime::{traits::BadOrigin, FixedU64};
use twinnet_primitives::{
	commitments::{JobRounds, RoundCommitments},
	consent::{ConsentDenied, JobRound, PrivacyBudget},
	datasets::AccessDenied,
	did::{DidId, DidSignature, SubjectKind},
	traits::DidRegistry,
};

use crate::{
	mock::*, Agenda, Call, CohortStatus, Cohorts, Error, Event, FailureReason, HoldReason,
	JobSpecOf, JobState, Jobs, Models, ReportOf, RoundOutcome, Rounds, Updates,
};

fn origin(who: &AccountId32) -> RuntimeOrigin {
	RuntimeOrigin::signed(who.clone())
}

fn authorized() -> RuntimeOrigin {
	frame_system::RawOrigin::Authorized.into()
}

fn create(spec: JobSpecOf<Test>) -> u64 {
	let id = crate::NextJobId::<Test>::get();
	assert_ok!(Federated::create_job(origin(&researcher()), Box::new(spec)));
	id
}

/// `site`'s node accepts the cohort round `round` of `job` offers it.
fn accept(job: u64, round: u32, site: &Site) -> DispatchResult {
	let acceptance = acceptance(job, round, site);
	let signature = sign_acceptance(&acceptance, site);
	Federated::accept_cohort(authorized(), acceptance, signature)
		.map(|_| ())
		.map_err(|error| error.error)
}

/// Reports `report` from `site`, its node accepting its cohort first if the
/// round offers it one (as a node does once its agent has the update).
fn submit(report: ReportOf<Test>, site: &Site) -> DispatchResult {
	let offered = site.institution == report.institution
		&& Cohorts::<Test>::get((report.job, report.round, site.institution))
			.is_some_and(|cohort| cohort.status == CohortStatus::Offered);
	if offered {
		accept(report.job, report.round, site)?;
	}
	let signature = sign(&report, site);
	Federated::submit_update(authorized(), Box::new(report), signature)
}

/// The grant of `twin` (its only one) as consent sees it now.
fn grant_of(twin: &DidId) -> twinnet_primitives::consent::GrantView<AccountId32, u64> {
	Consent::grants_of(twin).into_iter().next().expect("the twin has a grant")
}

fn epsilon(quarters: u64) -> FixedU64 {
	FixedU64::from_rational(quarters.into(), 4)
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Federated(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// `twin`'s patient narrows its grant to `site`'s institution to at most
/// ε = 0.1 a round: the dataset still counts the twin, but a round's
/// ε = 0.25 is refused (`RoundCapExceeded`).
fn refuse_rounds_above_a_tenth(site: &Site, twin: DidId) {
	let owner = Twins::patient(&twin).unwrap();
	let mut terms = compute_terms(&site.institution);
	terms.binding.max_epsilon_per_round = Some(FixedU64::from_rational(1, 10));
	assert_ok!(Consent::narrow(origin(&owner), twin, grant_of(&twin).id, terms));
}

/// Four parameters, all `value`.
fn params(value: i32) -> Vec<i32> {
	vec![value; 4]
}

/// Reports `value` from each of `sites` in round `round` of `job`, with
/// each site's whole cohort as its records.
fn report_all(job: u64, round: u32, sites: &[&Site], value: i32) {
	for site in sites {
		assert_ok!(submit(report(job, round, site, site.twins.len() as u32, &params(value)), site));
	}
}

// ---- create_job ----------------------------------------------------------------

#[test]
fn create_job_holds_escrow_and_deposit_and_schedules_the_first_round() {
	run_test(|| {
		let sites = three_sites();
		let before = Balances::balance(&researcher());
		let job = create(spec(&sites, 2, 2));
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!(record.state, JobState::Pending);
		assert_eq!(record.escrow, REWARD * 3 * 2);
		assert!(record.deposit > JOB_DEPOSIT_BASE);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher()),
			REWARD * 6
		);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &researcher()),
			record.deposit
		);
		assert_eq!(Balances::balance(&researcher()), before - REWARD * 6 - record.deposit);
		assert_eq!(Agenda::<Test>::get().into_inner(), vec![(2, job)]);
		let institutions: Vec<_> = sites.iter().map(|s| s.institution).collect();
		assert_eq!(
			record.participants.iter().map(|p| p.institution).collect::<Vec<_>>(),
			institutions
		);
		assert!(record.participants.iter().all(|p| p.payee == publisher(0)
			|| p.payee == publisher(1)
			|| p.payee == publisher(2)));
		System::assert_last_event(
			Event::JobCreated {
				job,
				researcher: researcher(),
				institutions,
				rounds: 2,
				per_round: per_round(),
				escrow: REWARD * 6,
				deposit: record.deposit,
			}
			.into(),
		);
	});
}

/// Sampling every record (q = 1) under a huge noise multiplier costs almost
/// no ε however many steps a round takes: the steps must be bounded, or a
/// job could pin an institution's agent for hours a round.
#[test]
fn a_job_asking_agents_for_billions_of_steps_a_round_is_refused() {
	run_test(|| {
		let sites = three_sites();
		let mut exhausting = spec(&sites, 4, 2);
		exhausting.training.sampling_rate = sp_runtime::Perbill::one();
		exhausting.training.noise_multiplier = FixedU64::from_u32(1_000_000_000);
		exhausting.training.local_steps = u32::MAX;
		assert_noop!(
			Federated::create_job(origin(&researcher()), Box::new(exhausting.clone())),
			Error::<Test>::TooManyLocalSteps
		);
		exhausting.training.local_steps = MAX_LOCAL_STEPS;
		assert_ok!(Federated::create_job(origin(&researcher()), Box::new(exhausting)));
	});
}

#[test]
fn create_job_refuses_bad_specifications() {
	run_test(|| {
		let sites = three_sites();
		let base = spec(&sites, 2, 2);
		let refused = |change: &dyn Fn(&mut JobSpecOf<Test>), error: Error<Test>| {
			let mut spec = base.clone();
			change(&mut spec);
			assert_noop!(Federated::create_job(origin(&researcher()), Box::new(spec)), error);
		};
		refused(
			&|s| s.model = crate::ModelKind::Mlp { features: 30, hidden: 16 },
			Error::InvalidModel,
		);
		refused(
			&|s| s.model = crate::ModelKind::Mlp { features: u32::MAX, hidden: 2 },
			Error::InvalidModel,
		);
		refused(&|s| s.datasets = BoundedVec::new(), Error::NoDatasets);
		refused(&|s| s.min_participants = 0, Error::InvalidQuorum);
		refused(&|s| s.min_participants = 4, Error::InvalidQuorum);
		refused(&|s| s.rounds = 0, Error::InvalidRounds);
		refused(&|s| s.rounds = 11, Error::InvalidRounds);
		refused(&|s| s.max_retries = 3, Error::TooManyRetries);
		refused(&|s| s.round_timeout = 1, Error::InvalidTimeout);
		refused(&|s| s.round_timeout = 101, Error::InvalidTimeout);
		refused(&|s| s.training.noise_multiplier = FixedU64::from_u32(0), Error::InvalidTraining);
		refused(&|s| s.training.clip_norm = FixedU64::from_u32(0), Error::InvalidTraining);
		refused(&|s| s.training.learning_rate = FixedU64::from_u32(0), Error::InvalidTraining);
		refused(&|s| s.training.local_steps = 0, Error::InvalidTraining);
		refused(&|s| s.training.local_steps = MAX_LOCAL_STEPS + 1, Error::TooManyLocalSteps);
		refused(
			&|s| s.training.sampling_rate = sp_runtime::Perbill::zero(),
			Error::InvalidTraining,
		);
		refused(&|s| s.per_round.epsilon = FixedU64::from_u32(0), Error::ZeroBudget);
		refused(&|s| s.per_round.delta = Default::default(), Error::ZeroBudget);
		refused(&|s| s.reward_per_update = u64::MAX / 2, Error::EscrowOverflow);
		refused(&|s| s.reward_per_update = INITIAL_BALANCE, Error::CannotPay);
		let first = base.datasets[0];
		refused(
			&|s| s.datasets = BoundedVec::truncate_from(vec![first, first]),
			Error::DuplicateDataset,
		);
		refused(&|s| s.datasets[0].licence = 7, Error::NoLicence);
		refused(&|s| s.datasets[0].dataset = sites[0].institution, Error::UnknownDataset);
		refused(&|s| s.code_hash = H256::repeat_byte(9), Error::AlgorithmNotAllowed);
		refused(&|s| s.purpose = twinnet_primitives::consent::Purpose::Research, Error::NoLicence);
		let model = create_did(&stranger(), SubjectKind::Model);
		refused(&|s| s.model_did = Some(model), Error::ModelNotControlled);
		let twin = sites[0].twins[0];
		refused(&|s| s.model_did = Some(twin), Error::ModelNotControlled);
		assert_noop!(
			Federated::create_job(RuntimeOrigin::none(), Box::new(base.clone())),
			BadOrigin
		);
	});
}

#[test]
fn create_job_refuses_two_datasets_of_one_institution() {
	run_test(|| {
		let sites = three_sites();
		// A second dataset of site 0's institution, licensed too.
		let second = Site::with_institution(0, sites[0].institution, &[4, 5]);
		let mut spec = spec(&sites, 1, 1);
		spec.datasets = BoundedVec::truncate_from(vec![sites[0].licensed(), second.licensed()]);
		assert_noop!(
			Federated::create_job(origin(&researcher()), Box::new(spec)),
			Error::<Test>::DuplicateInstitution
		);
	});
}

#[test]
fn create_job_refuses_revoked_or_thin_datasets() {
	run_test(|| {
		let sites = three_sites();
		assert_ok!(Datasets::set_state(
			RuntimeOrigin::root(),
			sites[1].dataset,
			twinnet_primitives::datasets::AssetState::Revoked
		));
		assert_noop!(
			Federated::create_job(origin(&researcher()), Box::new(spec(&sites, 1, 1))),
			Error::<Test>::DatasetRevoked
		);
		// Site 2 has two contributors and a floor of two: one revocation
		// leaves it below its floor.
		let grant = grant_of(&sites[2].twins[0]).id;
		let owner = Twins::patient(&sites[2].twins[0]).unwrap();
		assert_ok!(Consent::revoke(origin(&owner), sites[2].twins[0], grant));
		assert_noop!(
			Federated::create_job(origin(&researcher()), Box::new(spec(&sites[2..], 1, 1))),
			Error::<Test>::TooFewContributors
		);
	});
}

#[test]
fn at_most_max_active_jobs_run_at_once() {
	run_test(|| {
		let sites = three_sites();
		create(spec(&sites, 1, 1));
		create(spec(&sites, 1, 1));
		assert_noop!(
			Federated::create_job(origin(&researcher()), Box::new(spec(&sites, 1, 1))),
			Error::<Test>::TooManyActiveJobs
		);
	});
}

// ---- opening rounds ------------------------------------------------------------

#[test]
fn a_round_opens_by_offering_every_consenting_twin_and_reserves_a_cohort_once_accepted() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!(record.state, JobState::Running { round: 0, deadline: 7 });
		let round = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(round.expected.len(), 3);
		assert_eq!(round.admitted_twins, 8);
		assert_eq!(round.excluded_twins, 0);
		assert_eq!(round.outcome, RoundOutcome::Open);
		assert_eq!(round.start_model, H256::zero());
		for site in &sites {
			let cohort = Cohorts::<Test>::get((job, 0, site.institution)).unwrap();
			assert_eq!(cohort.status, CohortStatus::Offered);
			assert_eq!(cohort.admitted.to_vec(), site.twins);
			for twin in &site.twins {
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
		}
		for site in &sites {
			assert_ok!(accept(job, 0, site));
			let cohort = Cohorts::<Test>::get((job, 0, site.institution)).unwrap();
			assert_eq!(cohort.status, CohortStatus::Admitted);
			assert_eq!(cohort.admitted.to_vec(), site.twins);
			for twin in &site.twins {
				assert_eq!(grant_of(twin).reserved.epsilon, epsilon(1));
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
			}
			assert!(events().contains(&Event::CohortAccepted {
				job,
				round: 0,
				institution: site.institution,
				twins: site.twins.len() as u32,
			}));
		}
		assert!(events().contains(&Event::RoundOpened {
			job,
			round: 0,
			deadline: 7,
			expected: sites.iter().map(|s| s.institution).collect(),
			admitted_twins: 8,
		}));
		assert_eq!(Agenda::<Test>::get().into_inner(), vec![(8, job)]);
		assert!(<Federated as JobRounds>::exists(&JobRound { job, round: 0 }));
		assert!(!<Federated as JobRounds>::exists(&JobRound { job, round: 1 }));
	});
}

#[test]
fn a_revoked_twin_is_excluded_from_the_very_next_round() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 3, 2));
		run_to_block(2);
		for site in &sites {
			assert_ok!(accept(job, 0, site));
		}
		// Revoked once its budget for round 0 is reserved.
		let twin = sites[0].twins[0];
		let owner = Twins::patient(&twin).unwrap();
		assert_ok!(Consent::revoke(origin(&owner), twin, grant_of(&twin).id));
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 100);
		run_to_block(4);
		let cohort = Cohorts::<Test>::get((job, 1, sites[0].institution)).unwrap();
		assert!(!cohort.admitted.contains(&twin));
		assert_eq!(cohort.admitted.len(), 2);
		// The datasets pallet dropped it at once (OnGrantRevoked): it is not
		// offered, so consent never needs to refuse it.
		assert!(cohort.excluded.is_empty());
		assert_eq!(Rounds::<Test>::get(job, 1).unwrap().admitted_twins, 7);
	});
}

#[test]
fn consent_that_refuses_the_round_excludes_the_twin_with_the_reason() {
	run_test(|| {
		let sites = three_sites();
		// Patient 1 narrows its grant to at most ε = 0.1 a round: the
		// dataset still counts it, but the round's ε = 0.25 is refused.
		let twin = sites[0].twins[0];
		refuse_rounds_above_a_tenth(&sites[0], twin);
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		let cohort = Cohorts::<Test>::get((job, 0, sites[0].institution)).unwrap();
		assert_eq!(cohort.excluded.to_vec(), vec![(twin, ConsentDenied::RoundCapExceeded)]);
		assert_eq!(grant_of(&twin).reserved, PrivacyBudget::default());
		assert!(events().contains(&Event::TwinsExcluded {
			job,
			round: 0,
			institution: sites[0].institution,
			twins: vec![(twin, ConsentDenied::RoundCapExceeded)],
		}));
	});
}

#[test]
fn a_cohort_below_its_floor_sits_out_and_is_charged_nothing() {
	run_test(|| {
		let sites = three_sites();
		// Site 2 has two twins and a floor of two; one refuses the round.
		let twin = sites[2].twins[0];
		refuse_rounds_above_a_tenth(&sites[2], twin);
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		let cohort = Cohorts::<Test>::get((job, 0, sites[2].institution)).unwrap();
		assert_eq!(cohort.status, CohortStatus::BelowFloor);
		assert!(cohort.admitted.is_empty());
		let other = sites[2].twins[1];
		assert_eq!(grant_of(&other).reserved, PrivacyBudget::default());
		let round = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(round.expected.to_vec(), vec![sites[0].institution, sites[1].institution]);
		assert!(events().contains(&Event::CohortSatOut {
			job,
			round: 0,
			institution: sites[2].institution,
			status: CohortStatus::BelowFloor,
		}));
		// It cannot report.
		assert_noop!(
			submit(report(job, 0, &sites[2], 1, &params(1)), &sites[2]),
			Error::<Test>::NotExpected
		);
	});
}

#[test]
fn a_grant_binds_to_a_job_only_once_it_is_posted_so_nobody_can_take_its_id_first() {
	run_test(|| {
		let sites = three_sites();
		let twin = sites[0].twins[0];
		let owner = Twins::patient(&twin).unwrap();
		let next = crate::NextJobId::<Test>::get();
		let mut bound = compute_terms(&sites[0].institution);
		bound.binding.job = Some(next);
		assert_noop!(
			Consent::narrow(origin(&owner), twin, grant_of(&twin).id, bound.clone()),
			pallet_consent::Error::<Test>::UnknownJob
		);
		// Once the researcher posts it, the patient binds to the job it saw,
		// and the twin is admitted to that job's rounds (only).
		let job = create(spec(&sites, 1, 2));
		assert_eq!(job, next);
		let other = create(spec(&sites, 1, 2));
		assert_ok!(Consent::narrow(origin(&owner), twin, grant_of(&twin).id, bound));
		assert_eq!(grant_of(&twin).binding.job, Some(job));
		run_to_block(3);
		let cohort = |job| Cohorts::<Test>::get((job, 0, sites[0].institution)).unwrap();
		assert!(cohort(job).admitted.contains(&twin), "{:?}", cohort(job));
		assert!(!cohort(other).admitted.contains(&twin), "{:?}", cohort(other));
	});
}

#[test]
fn a_dataset_that_became_unusable_sits_the_round_out() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		assert_ok!(Datasets::set_algorithms(
			RuntimeOrigin::signed(publisher(1)),
			sites[1].dataset,
			BoundedVec::new(),
			false
		));
		run_to_block(2);
		let cohort = Cohorts::<Test>::get((job, 0, sites[1].institution)).unwrap();
		assert_eq!(cohort.status, CohortStatus::AccessDenied(AccessDenied::AlgorithmNotAllowed));
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap().expected.len(), 2);
	});
}

#[test]
fn the_budget_is_never_overspent_across_concurrent_jobs() {
	run_test(|| {
		let sites = three_sites();
		// Each twin has ε = 1; two jobs charge 0.25 a round each.
		let first = create(spec(&sites, 3, 1));
		let second = create(spec(&sites, 3, 1));
		let mut block = 1;
		for round in 0..3u32 {
			block += 1;
			run_to_block(block);
			for job in [first, second] {
				let expected = Rounds::<Test>::get(job, round).map(|r| r.expected.to_vec());
				for site in &sites {
					if expected.as_ref().is_some_and(|e| e.contains(&site.institution)) {
						let cohort = Cohorts::<Test>::get((job, round, site.institution)).unwrap();
						assert_ok!(submit(
							report(job, round, site, cohort.admitted.len() as u32, &params(5)),
							site
						));
					}
				}
			}
			block += 1;
			run_to_block(block);
			for twin in sites.iter().flat_map(|s| s.twins.iter()) {
				let grant = grant_of(twin);
				let used = grant.spent.epsilon + grant.reserved.epsilon;
				assert!(used <= FixedU64::from_u32(1), "overspent: {used:?}");
			}
		}
		// Four rounds of 0.25 fit in ε = 1, the fifth and sixth do not.
		let twin = sites[0].twins[0];
		assert_eq!(grant_of(&twin).spent.epsilon, FixedU64::from_u32(1));
		let cohort = Cohorts::<Test>::get((second, 2, sites[0].institution)).unwrap();
		assert!(cohort.excluded.iter().all(|(_, why)| *why == ConsentDenied::BudgetExceeded));
	});
}

// ---- reports -------------------------------------------------------------------

#[test]
fn reports_close_the_round_early_and_the_aggregate_is_the_weighted_average() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let reports = [
			report(job, 0, &sites[0], 3, &[300, -300, 10, 0]),
			report(job, 0, &sites[1], 1, &[100, 100, 10, 5]),
			report(job, 0, &sites[2], 2, &[0, 0, 10, -7]),
		];
		for (site, report) in sites.iter().zip(&reports) {
			assert_ok!(submit(report.clone(), site));
			System::assert_last_event(
				Event::UpdateReported {
					job,
					round: 0,
					institution: site.institution,
					records: report.records,
					update_hash: report.update_hash(),
				}
				.into(),
			);
		}
		// All three reported: the round closes in the next block.
		assert_eq!(Agenda::<Test>::get().into_inner(), vec![(3, job)]);
		let before: Vec<_> = (0..3).map(|n| Balances::balance(&publisher(n))).collect();
		run_to_block(3);
		// (3·300 + 100 + 0) / 6 = 166.67 → 167; (−900 + 100) / 6 = −133.33 → −133;
		// 10; (5 − 14) / 6 = −1.5 → −2 (halves away from zero).
		let aggregate = vec![167, -133, 10, -2];
		assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), aggregate);
		let round = Rounds::<Test>::get(job, 0).unwrap();
		// The update hashes are the leaves, as in the aggregate's commitment.
		let hashes: Vec<[u8; 32]> = reports
			.iter()
			.map(|r| twinnet_merkle::leaf_hash(r.update_hash().as_bytes()))
			.collect();
		assert_eq!(
			round.outcome,
			RoundOutcome::Aggregated {
				aggregate_hash: crate::update_hash(&aggregate),
				update_root: H256(twinnet_merkle::root_of_hashes(&hashes).unwrap()),
				records: 6,
			}
		);
		assert_eq!(round.reporters.len(), 3);
		assert!(Updates::<Test>::iter().next().is_none());
		for site in &sites {
			for twin in &site.twins {
				assert_eq!(grant_of(twin).spent.epsilon, epsilon(1));
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
		}
		for n in 0..3u8 {
			assert_eq!(Balances::balance(&publisher(n)), before[n as usize] + REWARD);
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().escrow, REWARD * 3);
		// The next round opens the block after and starts from the aggregate.
		run_to_block(4);
		let next = Rounds::<Test>::get(job, 1).unwrap();
		assert_eq!(next.start_model, crate::update_hash(&aggregate));
	});
}

// ---- the commitments of aggregates ---------------------------------------------

/// A job of `rounds` rounds on `sites` (quorum 2) whose aggregates are
/// committed as a Model DID of the researcher's: the job and the DID.
fn job_with_model(sites: &[Site], rounds: u32) -> (u64, DidId) {
	let model = create_did(&researcher(), SubjectKind::Model);
	let mut with_model = spec(sites, rounds, 2);
	with_model.model_did = Some(model);
	(create(with_model), model)
}

#[test]
fn a_round_that_commits_its_aggregate_pays_for_the_commitment_when_it_opens() {
	run_test(|| {
		let sites = three_sites();
		let plain = create(spec(&sites, 2, 2));
		let (job, _) = job_with_model(&sites, 2);
		run_to_block(2);
		let deposit = |job| Jobs::<Test>::get(job).unwrap().deposit;
		// The Model DID in the job's record (33 bytes against 1, at 1 a
		// byte), and the commitment of the aggregate of three updates at
		// its largest, priced as a signed commitment.
		let commitment = <Commitments as RoundCommitments<_, _>>::aggregate_deposit(3);
		assert!(commitment > 100);
		assert_eq!(deposit(job) - deposit(plain), 32 + commitment);
	});
}

#[test]
fn a_researcher_who_spends_everything_once_a_round_opened_still_gets_its_aggregate_committed() {
	use frame_support::traits::tokens::{Fortitude::Polite, Preservation::Preserve};
	run_test(|| {
		let sites = three_sites();
		let (job, model) = job_with_model(&sites, 2);
		run_to_block(2);
		// The round is open: the researcher moves every free unit away, so
		// nothing is left to hold a commitment's deposit from.
		let free = Balances::reducible_balance(&researcher(), Preserve, Polite);
		assert_ok!(Balances::transfer_keep_alive(origin(&researcher()), stranger(), free));
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(3);
		let round = Rounds::<Test>::get(job, 0).unwrap();
		let RoundOutcome::Aggregated { aggregate_hash, .. } = round.outcome else {
			panic!("round 0 was not aggregated: {:?}", round.outcome)
		};
		let id = round.commitment.expect("the aggregate was committed");
		let view = Commitments::view(id).unwrap();
		assert_eq!(
			(view.hash, view.committer, view.account),
			(aggregate_hash, model, researcher())
		);
		assert!(Commitments::made_by_chain(id));
		assert_eq!(Federated::aggregate_commitment(&JobRound { job, round: 0 }), Some(id));
	});
}

#[test]
fn an_institution_that_deactivates_its_dataset_mid_job_cannot_stop_the_next_aggregate_being_committed(
) {
	run_test(|| {
		let sites = three_sites();
		let (job, _) = job_with_model(&sites, 2);
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(3);
		// The third institution revokes its dataset, its licence is pruned,
		// and its Dataset DID deactivated.
		let (publisher, dataset) = (publisher(2), sites[2].dataset);
		assert_ok!(Datasets::set_state(
			origin(&publisher),
			dataset,
			twinnet_primitives::datasets::AssetState::Revoked
		));
		assert_ok!(Datasets::prune_licence(origin(&stranger()), dataset, sites[2].licence));
		assert_ok!(Twins::deactivate(origin(&publisher), dataset));
		assert_eq!(Twins::active_kind(&dataset), None);
		// Round 1 goes on without it, and its aggregate is committed with
		// the job's datasets as inputs, the deactivated one included.
		run_to_block(4);
		report_all(job, 1, &[&sites[0], &sites[1]], 9);
		run_to_block(5);
		let round = Rounds::<Test>::get(job, 1).unwrap();
		assert!(matches!(round.outcome, RoundOutcome::Aggregated { .. }), "{:?}", round.outcome);
		let id = round.commitment.expect("the aggregate was committed");
		assert!(Commitments::view(id)
			.unwrap()
			.inputs
			.contains(&twinnet_primitives::commitments::Input::Dataset(dataset)));
		assert!(Commitments::made_by_chain(id));
	});
}

#[test]
fn a_fake_aggregate_of_a_real_round_is_refused_and_only_the_chains_is_marked_as_made_by_it() {
	use twinnet_primitives::commitments::{CommitmentKind, Input};
	run_test(|| {
		let sites = three_sites();
		let (job, model) = job_with_model(&sites, 2);
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(3);
		let real = Rounds::<Test>::get(job, 0).unwrap().commitment.unwrap();
		let round = JobRound { job, round: 0 };
		let commit = |who: &AccountId32, committer, kind| {
			Commitments::commit(
				origin(who),
				committer,
				kind,
				H256::repeat_byte(0xfa),
				None,
				BoundedVec::truncate_from(b"fedavg-q15.16".to_vec()),
				BoundedVec::truncate_from(vec![Input::Dataset(sites[0].dataset)]),
				Some(round),
			)
		};
		// An institution of the job, and the job's own researcher as its
		// Model DID, each try to pass off another aggregate or update.
		for (who, committer) in [(publisher(0), sites[0].institution), (researcher(), model)] {
			for kind in [CommitmentKind::AggregatedModel, CommitmentKind::ModelUpdate] {
				assert_noop!(
					commit(&who, committer, kind),
					pallet_commitments::Error::<Test>::RoundModelByChainOnly
				);
			}
		}
		// The researcher's evaluation of the round is listed under the job,
		// but not as the chain's.
		assert_ok!(commit(&researcher(), model, CommitmentKind::EvaluationMetric));
		let mut listed = Commitments::by_job(job, None, 10);
		listed.sort();
		assert_eq!(listed, vec![(0, real), (0, real + 1)]);
		let made_by_chain: Vec<bool> =
			listed.iter().map(|(_, id)| Commitments::made_by_chain(*id)).collect();
		assert_eq!(made_by_chain, vec![true, false]);
	});
}

#[test]
fn a_job_completes_after_its_rounds_and_returns_what_is_left() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		let held = Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher());
		assert_eq!(held, REWARD * 6);
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(4);
		// Round 1: only two report; the third is a straggler.
		report_all(job, 1, &[&sites[0], &sites[1]], 9);
		let before = Balances::balance(&researcher());
		run_to_block(10);
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!(record.state, JobState::Completed);
		assert_eq!(record.escrow, 0);
		// Five updates were paid; the straggler's reward returned when its
		// round closed, so the job ends with nothing left to refund.
		assert_eq!(Balances::balance(&researcher()), before + REWARD);
		assert_eq!(Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher()), 0);
		assert!(events().contains(&Event::JobEnded {
			job,
			state: JobState::Completed,
			refunded: 0
		}));
		assert!(Agenda::<Test>::get().is_empty());
	});
}

#[test]
fn stragglers_are_dropped_and_their_cohorts_budget_returned() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[2]], 50);
		// The deadline is block 7; the round closes in block 8.
		run_to_block(7);
		assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Running { .. }));
		run_to_block(8);
		assert!(events().contains(&Event::RoundAggregated {
			job,
			round: 0,
			aggregate_hash: crate::update_hash(&params(50)),
			update_root: match Rounds::<Test>::get(job, 0).unwrap().outcome {
				RoundOutcome::Aggregated { update_root, .. } => update_root,
				_ => panic!("aggregated"),
			},
			reporters: vec![sites[0].institution, sites[2].institution],
			stragglers: vec![sites[1].institution],
			records: 5,
			commitment: None,
			masked_sum_hash: None,
		}));
		for twin in &sites[1].twins {
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		for twin in &sites[0].twins {
			assert_eq!(grant_of(twin).spent.epsilon, epsilon(1));
		}
		// A late report of the closed round is refused.
		assert_noop!(
			submit(report(job, 0, &sites[1], 1, &params(1)), &sites[1]),
			Error::<Test>::RoundNotOpen
		);
	});
}

#[test]
fn a_round_without_quorum_releases_nothing_and_the_job_fails_after_its_retries() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		let before = Balances::balance(&researcher());
		let first_deposit = Jobs::<Test>::get(job).unwrap().deposit;
		run_to_block(2);
		report_all(job, 0, &[&sites[0]], 50);
		run_to_block(8);
		let round = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(round.outcome, RoundOutcome::NoQuorum);
		assert!(Models::<Test>::get(job).is_none());
		// Site 0's update is public in its transaction: its cohort is charged.
		for twin in &sites[0].twins {
			assert_eq!(grant_of(twin).spent, per_round());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		for twin in &sites[1].twins {
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		assert!(events().contains(&Event::RoundFailed {
			job,
			round: 0,
			reporters: vec![sites[0].institution],
			quorum: 2
		}));
		assert_eq!(Jobs::<Test>::get(job).unwrap().failed_in_a_row, 1);
		// It retries (max_retries = 1) in round 1, which also fails.
		run_to_block(9);
		assert!(matches!(
			Jobs::<Test>::get(job).unwrap().state,
			JobState::Running { round: 1, .. }
		));
		run_to_block(15);
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!(record.state, JobState::Failed(FailureReason::QuorumNotReached));
		assert_eq!(record.escrow, 0);
		// Nothing was paid: the whole escrow returned; the deposits stay.
		let deposit = Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &researcher());
		assert_eq!(deposit, record.deposit);
		assert_eq!(
			Balances::balance(&researcher()),
			before + REWARD * 6 - (record.deposit - first_deposit)
		);
		assert!(Agenda::<Test>::get().is_empty());
	});
}

#[test]
fn submit_update_refuses_what_the_round_does_not_expect() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let good = report(job, 0, &sites[0], 3, &params(1));
		// Not before its node accepted the cohort (its budgets reserved).
		assert_noop!(
			Federated::submit_update(authorized(), Box::new(good.clone()), sign(&good, &sites[0])),
			Error::<Test>::NotAccepted
		);
		assert_ok!(accept(job, 0, &sites[0]));
		let refused = |report: ReportOf<Test>, signer: &Site, error: Error<Test>| {
			assert_noop!(submit(report, signer), error);
		};
		refused(report(9, 0, &sites[0], 3, &params(1)), &sites[0], Error::JobNotFound);
		refused(report(job, 1, &sites[0], 3, &params(1)), &sites[0], Error::RoundNotOpen);
		refused(report(job, 0, &sites[0], 0, &params(1)), &sites[0], Error::InvalidRecordCount);
		// More records than the admitted cohort would buy weight in the average.
		refused(report(job, 0, &sites[0], 4, &params(1)), &sites[0], Error::InvalidRecordCount);
		refused(report(job, 0, &sites[0], 3, &[1, 2, 3]), &sites[0], Error::WrongParameterCount);
		// Site 1's node signing site 0's report.
		refused(good.clone(), &sites[1], Error::BadSignature);
		let mut stranger_report = good.clone();
		stranger_report.institution = institution_did(&stranger(), &node_key(9));
		refused(stranger_report, &sites[0], Error::NotExpected);
		assert_noop!(
			Federated::submit_update(
				origin(&publisher(0)),
				Box::new(good.clone()),
				sign(&good, &sites[0])
			),
			BadOrigin
		);
		// A signature over another round's report does not carry over.
		let other_round = report(job, 1, &sites[0], 3, &params(1));
		assert_noop!(
			Federated::submit_update(
				authorized(),
				Box::new(good.clone()),
				sign(&other_round, &sites[0])
			),
			Error::<Test>::BadSignature
		);
		assert_ok!(submit(good.clone(), &sites[0]));
		refused(good, &sites[0], Error::AlreadyReported);
		run_to_block(8);
		refused(report(job, 0, &sites[1], 3, &params(1)), &sites[1], Error::RoundNotOpen);
	});
}

#[test]
fn the_pool_refuses_reports_that_dispatch_would_refuse() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let validity = |report: ReportOf<Test>, signature: DidSignature| {
			let call = Call::<Test>::submit_update { report: Box::new(report), signature };
			call.authorize(TransactionSource::External).expect("an authorized call")
		};
		let good = report(job, 0, &sites[0], 3, &params(1));
		// Not gossiped before the cohort's budgets are reserved.
		assert_eq!(
			validity(good.clone(), sign(&good, &sites[0])).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Call)
		);
		assert_ok!(accept(job, 0, &sites[0]));
		let (valid, _) = validity(good.clone(), sign(&good, &sites[0])).unwrap();
		assert_eq!(valid.longevity, 6);
		assert_eq!(valid.priority, 1_000);
		assert_eq!(valid.provides.len(), 1);
		assert_eq!(
			validity(good.clone(), sign(&good, &sites[1])).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::BadProof)
		);
		let early = report(job, 1, &sites[0], 3, &params(1));
		assert_eq!(
			validity(early.clone(), sign(&early, &sites[0])).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Stale)
		);
		let heavy = report(job, 0, &sites[0], 30, &params(1));
		assert_eq!(
			validity(heavy.clone(), sign(&heavy, &sites[0])).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Call)
		);
		assert_ok!(submit(good.clone(), &sites[0]));
		assert_eq!(
			validity(good.clone(), sign(&good, &sites[0])).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Stale)
		);
	});
}

#[test]
fn a_round_is_bound_to_the_block_it_opened_after() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let record = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(record.opened_at, 2);
		assert_eq!(record.opening_block, System::parent_hash());
		assert_ne!(record.opening_block, sp_core::H256::zero());
		assert_eq!(Federated::round_view(job, 0).unwrap().opening_block, record.opening_block);
	});
}

#[test]
fn a_report_made_for_the_round_as_it_opened_on_another_fork_is_refused() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let validity = |report: &ReportOf<Test>, signer: &Site| {
			let call = Call::<Test>::submit_update {
				report: Box::new(report.clone()),
				signature: sign(report, signer),
			};
			call.authorize(TransactionSource::External).expect("an authorized call")
		};
		assert_ok!(accept(job, 0, &sites[0]));
		// Signed honestly, for the opening block of another fork's round:
		// that cohort may hold a twin whose revocation landed on this fork.
		let mut other_fork = report(job, 0, &sites[0], 3, &params(1));
		other_fork.opening_block = sp_core::H256::repeat_byte(0xf0);
		assert_noop!(submit(other_fork.clone(), &sites[0]), Error::<Test>::WrongFork);
		assert_eq!(
			validity(&other_fork, &sites[0]).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Stale)
		);
		// A report made on this fork, after a reorg reopened the round on
		// another parent, is refused there too.
		let made_here = report(job, 0, &sites[0], 3, &params(1));
		let opened_here = Rounds::<Test>::get(job, 0).unwrap().opening_block;
		Rounds::<Test>::mutate(job, 0, |record| {
			record.as_mut().unwrap().opening_block = sp_core::H256::repeat_byte(0xf1)
		});
		assert_noop!(submit(made_here.clone(), &sites[0]), Error::<Test>::WrongFork);
		Rounds::<Test>::mutate(job, 0, |record| {
			record.as_mut().unwrap().opening_block = opened_here
		});
		// The signature covers the opening block: relabelling a report
		// for another fork breaks it.
		let signature = sign(&other_fork, &sites[0]);
		let mut relabelled = other_fork.clone();
		relabelled.opening_block = opened_here;
		assert_noop!(
			Federated::submit_update(authorized(), Box::new(relabelled), signature),
			Error::<Test>::BadSignature
		);
		assert_ok!(submit(made_here, &sites[0]));
	});
}

// ---- accept_cohort -------------------------------------------------------------

/// Budget hogging (issue 26, hole 2): budgets were reserved when a round
/// opened and held until its deadline, so a job no agent ever trains (a
/// model the agents refuse, or no agent) kept every other job's cohorts
/// below their floor without spending anything. Budgets are now reserved
/// when an institution's node accepts its cohort, after its agent trained.
#[test]
fn a_job_that_never_reports_cannot_keep_another_jobs_cohorts_out() {
	run_test(|| {
		let sites = three_sites();
		// Every twin's grant pays ε = 1 in all; the hog asks 0.9 a round and
		// waits out a day-long deadline that no report will cut short.
		let mut hog = spec(&sites, 1, 2);
		hog.per_round.epsilon = FixedU64::from_rational(9, 10);
		hog.round_timeout = 100;
		let hog = create(hog);
		run_to_block(2);
		assert!(matches!(Jobs::<Test>::get(hog).unwrap().state, JobState::Running { .. }));
		let normal = create(spec(&sites, 1, 2));
		run_to_block(3);
		for site in &sites {
			let cohort = Cohorts::<Test>::get((normal, 0, site.institution)).unwrap();
			assert_eq!(cohort.status, CohortStatus::Offered);
			assert_eq!(cohort.admitted.to_vec(), site.twins);
			assert!(cohort.excluded.is_empty());
		}
		report_all(normal, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(4);
		let record = Rounds::<Test>::get(normal, 0).unwrap();
		assert!(matches!(record.outcome, RoundOutcome::Aggregated { .. }), "{:?}", record.outcome);
		for twin in sites.iter().flat_map(|site| site.twins.iter()) {
			assert_eq!(grant_of(twin).spent, per_round());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		// The hog's own offer now lapses if accepted: its twins cannot pay.
		assert_ok!(accept(hog, 0, &sites[0]));
		let cohort = Cohorts::<Test>::get((hog, 0, sites[0].institution)).unwrap();
		assert_eq!(cohort.status, CohortStatus::Lapsed);
		assert!(cohort.admitted.is_empty());
		assert_eq!(cohort.excluded.len(), sites[0].twins.len());
	});
}

/// The agent trains on the cohort as offered: if one twin can no longer
/// pay when the node accepts (revoked since, say), reserving the others
/// would let the update use a twin never charged. The cohort lapses whole.
#[test]
fn a_cohort_whose_twin_revoked_after_the_offer_lapses_whole_and_cannot_report() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		let twin = sites[0].twins[1];
		let owner = Twins::patient(&twin).unwrap();
		assert_ok!(Consent::revoke(origin(&owner), twin, grant_of(&twin).id));
		assert_ok!(accept(job, 0, &sites[0]));
		let cohort = Cohorts::<Test>::get((job, 0, sites[0].institution)).unwrap();
		assert_eq!(cohort.status, CohortStatus::Lapsed);
		let payable: Vec<DidId> = sites[0].twins.iter().filter(|t| **t != twin).copied().collect();
		assert_eq!(cohort.admitted.to_vec(), payable);
		assert_eq!(cohort.excluded.to_vec(), vec![(twin, ConsentDenied::Revoked)]);
		use twinnet_primitives::federated::TwinUsage;
		let institution = sites[0].institution;
		assert_eq!(Federated::twin_usage(job, 0, &payable[0]), TwinUsage::NotUsed { institution });
		assert_eq!(
			Federated::twin_usage(job, 0, &twin),
			TwinUsage::Excluded { institution, reason: ConsentDenied::Revoked }
		);
		for other in &sites[0].twins {
			assert_eq!(grant_of(other).reserved, PrivacyBudget::default());
		}
		assert!(events().contains(&Event::CohortSatOut {
			job,
			round: 0,
			institution: sites[0].institution,
			status: CohortStatus::Lapsed,
		}));
		assert_noop!(accept(job, 0, &sites[0]), Error::<Test>::NotOffered);
		let lapsed = report(job, 0, &sites[0], 3, &params(1));
		assert_noop!(
			Federated::submit_update(
				authorized(),
				Box::new(lapsed.clone()),
				sign(&lapsed, &sites[0])
			),
			Error::<Test>::NotExpected
		);
		// The round goes on with the others, and charges only them.
		report_all(job, 0, &[&sites[1], &sites[2]], 3);
		run_to_block(8);
		let record = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(record.reporters.to_vec(), vec![sites[1].institution, sites[2].institution]);
		for other in &sites[0].twins {
			assert_eq!(grant_of(other).spent, PrivacyBudget::default());
			assert_eq!(grant_of(other).reserved, PrivacyBudget::default());
		}
	});
}

#[test]
fn accept_cohort_refuses_what_the_round_does_not_offer() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let refused = |acceptance: crate::Acceptance, signer: &Site, error: Error<Test>| {
			let signature = sign_acceptance(&acceptance, signer);
			assert_noop!(Federated::accept_cohort(authorized(), acceptance, signature), error);
		};
		refused(acceptance(9, 0, &sites[0]), &sites[0], Error::JobNotFound);
		refused(acceptance(job, 1, &sites[0]), &sites[0], Error::RoundNotOpen);
		let mut other_fork = acceptance(job, 0, &sites[0]);
		other_fork.opening_block = H256::repeat_byte(0xf0);
		refused(other_fork, &sites[0], Error::WrongFork);
		// Site 1's node accepting for site 0.
		refused(acceptance(job, 0, &sites[0]), &sites[1], Error::BadSignature);
		let mut not_in_job = acceptance(job, 0, &sites[0]);
		not_in_job.institution = institution_did(&stranger(), &node_key(9));
		refused(not_in_job, &sites[0], Error::NotOffered);
		let good = acceptance(job, 0, &sites[0]);
		assert_noop!(
			Federated::accept_cohort(
				origin(&publisher(0)),
				good,
				sign_acceptance(&good, &sites[0])
			),
			BadOrigin
		);
		// The pool refuses what dispatch would.
		let validity = |acceptance: crate::Acceptance, signer: &Site| {
			let signature = sign_acceptance(&acceptance, signer);
			Call::<Test>::accept_cohort { acceptance, signature }
				.authorize(TransactionSource::External)
				.expect("an authorized call")
		};
		let (valid, _) = validity(good, &sites[0]).unwrap();
		assert_eq!(valid.longevity, 6);
		assert_eq!(valid.provides.len(), 1);
		assert_eq!(
			validity(good, &sites[1]).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::BadProof)
		);
		assert_ok!(accept(job, 0, &sites[0]));
		refused(good, &sites[0], Error::NotOffered);
		// Once the job is cancelled, a trained update is never accepted (nor
		// published): only cohorts accepted before are taken.
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		refused(acceptance(job, 0, &sites[1]), &sites[1], Error::CancellationPending);
		assert_eq!(
			validity(acceptance(job, 0, &sites[1]), &sites[1]).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Stale)
		);
		assert_eq!(
			validity(good, &sites[0]).unwrap_err(),
			TransactionValidityError::Invalid(InvalidTransaction::Stale)
		);
		run_to_block(8);
		refused(acceptance(job, 0, &sites[1]), &sites[1], Error::RoundNotOpen);
	});
}

/// An offer nobody accepted reserved nothing, so the round's close settles
/// nothing of it; and a cohort that sat out holds nothing either.
#[test]
fn a_round_closes_without_touching_budgets_it_only_offered() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[1]], 5);
		run_to_block(8);
		let record = Rounds::<Test>::get(job, 0).unwrap();
		assert_eq!(record.reporters.len(), 2);
		for twin in &sites[2].twins {
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
		}
		assert_eq!(
			Federated::twin_usage(job, 0, &sites[2].twins[0]),
			twinnet_primitives::federated::TwinUsage::NotUsed { institution: sites[2].institution }
		);
	});
}

/// Each twin's consent keeps what the job spent on it under its grant (the
/// record no other job's spends can push out), and the round's deposit
/// pays for those records.
#[test]
fn a_closed_round_records_what_the_job_spent_on_each_twin_and_its_deposit_pays_for_it() {
	use twinnet_primitives::consent::ConsentLedger;
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		let posted = Jobs::<Test>::get(job).unwrap().deposit;
		run_to_block(2);
		let opened = Jobs::<Test>::get(job).unwrap().deposit;
		let records = 8 * u64::from(<Consent as ConsentLedger<_>>::job_spend_bytes());
		assert!(opened - posted > records, "{} paid for {records} bytes", opened - posted);
		report_all(job, 0, &[&sites[0], &sites[1]], 5);
		run_to_block(8);
		let twin = sites[0].twins[0];
		let grant = grant_of(&twin).id;
		let spends = Consent::job_spends(&twin, None, 10);
		assert_eq!(spends.len(), 1);
		let (spent_under, spent_by, record) = spends[0].clone();
		assert_eq!((spent_under, spent_by), (grant, job));
		assert_eq!(record.spent, per_round());
		assert_eq!(record.rounds, 1);
		// A straggler's twin spent nothing: no record.
		assert!(Consent::job_spends(&sites[2].twins[0], None, 10).is_empty());
	});
}

// ---- cancel_job ----------------------------------------------------------------

#[test]
fn cancelling_with_a_round_open_ends_the_job_when_the_round_closes() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		assert_ok!(submit(report(job, 0, &sites[0], 3, &params(1)), &sites[0]));
		assert_noop!(Federated::cancel_job(origin(&stranger()), job), Error::<Test>::NotResearcher);
		assert_noop!(Federated::cancel_job(origin(&researcher()), 9), Error::<Test>::JobNotFound);
		assert_noop!(Federated::cancel_job(RuntimeOrigin::none(), job), BadOrigin);
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		System::assert_last_event(Event::CancellationRequested { job, round: 0 }.into());
		assert_noop!(
			Federated::cancel_job(origin(&researcher()), job),
			Error::<Test>::CancellationPending
		);
		// The round stays open to its deadline.
		assert!(matches!(
			Jobs::<Test>::get(job).unwrap().state,
			JobState::Running { round: 0, .. }
		));
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap().outcome, RoundOutcome::Open);
		let payee = Balances::balance(&publisher(0));
		// Nobody else reports: it closes without quorum, and the job ends
		// instead of trying again.
		run_to_block(10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Cancelled);
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap().outcome, RoundOutcome::NoQuorum);
		assert!(Rounds::<Test>::get(job, 1).is_none(), "no round opened after the cancel");
		assert!(!crate::CancelRequested::<Test>::contains_key(job));
		assert!(Updates::<Test>::iter().next().is_none());
		assert!(Agenda::<Test>::get().is_empty());
		assert_eq!(Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher()), 0);
		// Site 0 reported: its update is public, so its cohort is charged
		// and its institution paid, though no aggregate was released; every
		// other reservation returned.
		assert_eq!(Balances::balance(&publisher(0)), payee + REWARD);
		for twin in &sites[0].twins {
			assert_eq!(grant_of(twin).spent, per_round());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		for twin in sites[1..].iter().flat_map(|s| s.twins.iter()) {
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
		}
		assert!(events().contains(&Event::JobEnded {
			job,
			state: JobState::Cancelled,
			refunded: REWARD * 5
		}));
		assert_noop!(Federated::cancel_job(origin(&researcher()), job), Error::<Test>::JobEnded);
	});
}

/// Reports are gossiped before they are included. Were a cancel to take
/// effect at once, a validator colluding with the researcher could include
/// `cancel_job` and leave a pending report out: the researcher would hold
/// that noised update, its cohort never charged and its institution never
/// paid. A cancel now takes effect when the round closes, and the round
/// takes that report.
#[test]
fn a_report_in_the_pool_when_the_job_is_cancelled_is_still_charged_and_paid() {
	use twinnet_primitives::federated::TwinUsage;
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		assert_ok!(submit(report(job, 0, &sites[0], 3, &params(1)), &sites[0]));
		// Site 1's report is authorized into the pool, and gossiped.
		assert_ok!(accept(job, 0, &sites[1]));
		let pending = report(job, 0, &sites[1], 3, &params(2));
		let signature = sign(&pending, &sites[1]);
		let call = Call::<Test>::submit_update {
			report: Box::new(pending.clone()),
			signature: signature.clone(),
		};
		assert!(call.authorize(TransactionSource::External).unwrap().is_ok());
		let before: Vec<u64> = (0..3).map(|n| Balances::balance(&publisher(n))).collect();
		// The cancel is included first, the report after it.
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		assert_ok!(Federated::submit_update(authorized(), Box::new(pending), signature));
		run_to_block(10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Cancelled);
		let record = Rounds::<Test>::get(job, 0).unwrap();
		assert!(matches!(record.outcome, RoundOutcome::Aggregated { .. }), "{:?}", record.outcome);
		assert_eq!(record.reporters.to_vec(), vec![sites[0].institution, sites[1].institution]);
		for twin in sites[0].twins.iter().chain(&sites[1].twins) {
			assert_eq!(grant_of(twin).spent, per_round());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		for twin in &sites[2].twins {
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		assert!(matches!(
			Federated::twin_usage(job, 0, &sites[1].twins[0]),
			TwinUsage::Used { charged, .. } if charged == per_round()
		));
		assert_eq!(Balances::balance(&publisher(0)), before[0] + REWARD);
		assert_eq!(Balances::balance(&publisher(1)), before[1] + REWARD);
		assert_eq!(Balances::balance(&publisher(2)), before[2]);
		// Of six rewards: two paid, site 2's returned as the round closed,
		// round 1's three now.
		assert!(events().contains(&Event::JobEnded {
			job,
			state: JobState::Cancelled,
			refunded: REWARD * 3
		}));
		assert!(Rounds::<Test>::get(job, 1).is_none());
	});
}

/// A cancel asks the job to stop after its open round; if that round was
/// its last and is aggregated, the job completed.
#[test]
fn a_job_cancelled_in_its_last_round_completes_when_that_round_is_aggregated() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		for site in &sites {
			assert_ok!(accept(job, 0, site));
		}
		assert_ok!(submit(report(job, 0, &sites[0], 3, &params(1)), &sites[0]));
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		// Cohorts accepted before the cancel still report.
		assert_ok!(submit(report(job, 0, &sites[1], 3, &params(2)), &sites[1]));
		assert_ok!(submit(report(job, 0, &sites[2], 2, &params(3)), &sites[2]));
		run_to_block(4);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed);
		assert!(!crate::CancelRequested::<Test>::contains_key(job));
		assert!(Agenda::<Test>::get().is_empty());
	});
}

/// Likewise a round that releases no aggregate: the reporters' updates are
/// public all the same, so their cohorts are charged.
#[test]
fn a_round_without_quorum_charges_the_cohorts_that_reported() {
	use twinnet_primitives::federated::TwinUsage;
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		assert_ok!(submit(report(job, 0, &sites[0], 3, &params(1)), &sites[0]));
		run_to_block(8);
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap().outcome, RoundOutcome::NoQuorum);
		for twin in &sites[0].twins {
			assert_eq!(grant_of(twin).spent, per_round());
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		for twin in sites[1..].iter().flat_map(|s| s.twins.iter()) {
			assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
		}
		let view = Federated::round_view(job, 0).unwrap();
		assert_eq!(
			view.cohorts.iter().map(|c| c.reported).collect::<Vec<_>>(),
			vec![true, false, false]
		);
		assert_eq!(
			Federated::twin_usage(job, 0, &sites[0].twins[0]),
			TwinUsage::Used {
				institution: sites[0].institution,
				charged: per_round(),
				aggregate_hash: H256::zero()
			}
		);
	});
}

#[test]
fn a_pending_job_can_be_cancelled_before_its_first_round() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 1));
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		run_to_block(3);
		assert!(Rounds::<Test>::get(job, 0).is_none());
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Cancelled);
	});
}

/// The runtime's `try_state` (try-runtime's checks, and the runtime's
/// fuzzers after every call) reaches the pallet's invariants through its
/// hook: it had none, so a broken job record passed every runtime check
/// (found by the runtime's try_state self-test, runtime/src/fuzz/mod.rs).
#[cfg(feature = "try-runtime")]
#[test]
fn the_try_state_hook_checks_the_invariants() {
	use frame_support::traits::{TryState, TryStateSelect};
	new_test_ext().execute_with(|| {
		let sites = three_sites();
		create(spec(&sites, 1, 1));
		assert_ok!(<Federated as TryState<u64>>::try_state(1, TryStateSelect::All));
		// A job whose id is not below the counter.
		crate::NextJobId::<Test>::put(0);
		assert!(<Federated as TryState<u64>>::try_state(1, TryStateSelect::All).is_err());
	});
}

// ---- bounded work --------------------------------------------------------------

#[test]
fn on_initialize_does_nothing_while_no_step_is_due() {
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 1));
		run_to_block(2);
		let round = Rounds::<Test>::get(job, 0).unwrap();
		run_to_block(7);
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap(), round);
		assert_eq!(Agenda::<Test>::get().into_inner(), vec![(8, job)]);
	});
}

// ---- fixed-point federated averaging -------------------------------------------

#[test]
fn fed_avg_refuses_empty_weightless_and_ragged_input() {
	assert_eq!(crate::fed_avg(Vec::<(u32, &[i32])>::new()), None);
	assert_eq!(crate::fed_avg([(0, &[1, 2][..])]), None);
	assert_eq!(crate::fed_avg([(1, &[1, 2][..]), (1, &[1][..])]), None);
	// An empty first update does not set the length from the second.
	assert_eq!(crate::fed_avg([(1, &[][..]), (1, &[5][..])]), None);
	assert_eq!(crate::fed_avg([(2, &[i32::MAX][..]), (1, &[i32::MAX][..])]), Some(vec![i32::MAX]));
	assert_eq!(crate::fed_avg([(1, &[i32::MIN][..])]), Some(vec![i32::MIN]));
}

#[test]
fn fed_avg_of_a_sum_refuses_no_records_and_ragged_input_and_matches_fed_avg() {
	assert_eq!(crate::fed_avg_of_sum(&[1, 2], &[1], 1), None);
	assert_eq!(crate::fed_avg_of_sum(&[1], &[1], 0), None);
	// Models 10 (3 records) and −5 (1 record) from start 4: updates 6 and −9.
	let weighted_sum = 3 * 6 + -9;
	assert_eq!(
		crate::fed_avg_of_sum(&[4], &[weighted_sum], 4),
		crate::fed_avg([(3, &[10][..]), (1, &[-5][..])])
	);
	assert_eq!(crate::fed_avg_of_sum(&[4], &[weighted_sum], 4), Some(vec![6]));
}

proptest! {
	/// The fixed-point average equals the float reference to within half a
	/// unit (2⁻¹⁷ of a parameter) plus float rounding.
	#[test]
	fn fed_avg_matches_a_float_reference(
		updates in proptest::collection::vec(
			(1u32..10_000, proptest::collection::vec(any::<i32>(), 8)),
			1..8,
		)
	) {
		let average = crate::fed_avg(updates.iter().map(|(n, p)| (*n, p.as_slice()))).unwrap();
		let total: f64 = updates.iter().map(|(n, _)| f64::from(*n)).sum();
		for (i, value) in average.iter().enumerate() {
			let reference: f64 =
				updates.iter().map(|(n, p)| f64::from(*n) * f64::from(p[i])).sum::<f64>() / total;
			prop_assert!((f64::from(*value) - reference).abs() <= 0.5 + 1e-6 * reference.abs().max(1.0));
		}
	}
}

type DispatchResult = sp_runtime::DispatchResult;
use sp_runtime::AccountId32;

// ---- views ---------------------------------------------------------------------

#[test]
fn an_auditor_learns_whether_a_twins_rows_were_used_in_a_round() {
	use twinnet_primitives::federated::TwinUsage;
	run_test(|| {
		let sites = three_sites();
		// Patient 1's twin refuses rounds above ε = 0.1.
		let refusing = sites[0].twins[0];
		refuse_rounds_above_a_tenth(&sites[0], refusing);
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		let used = sites[0].twins[1];
		let straggling = sites[1].twins[0];
		assert_eq!(
			Federated::twin_usage(job, 0, &used),
			TwinUsage::Offered { institution: sites[0].institution }
		);
		assert_ok!(accept(job, 0, &sites[0]));
		assert_eq!(
			Federated::twin_usage(job, 0, &used),
			TwinUsage::Admitted { institution: sites[0].institution }
		);
		assert_ok!(submit(report(job, 0, &sites[0], 2, &params(3)), &sites[0]));
		assert_ok!(submit(report(job, 0, &sites[2], 2, &params(3)), &sites[2]));
		run_to_block(8);
		let aggregate_hash = crate::update_hash(&params(3));
		assert_eq!(
			Federated::twin_usage(job, 0, &used),
			TwinUsage::Used {
				institution: sites[0].institution,
				charged: per_round(),
				aggregate_hash
			}
		);
		assert_eq!(
			Federated::twin_usage(job, 0, &straggling),
			TwinUsage::NotUsed { institution: sites[1].institution }
		);
		assert_eq!(
			Federated::twin_usage(job, 0, &refusing),
			TwinUsage::Excluded {
				institution: sites[0].institution,
				reason: ConsentDenied::RoundCapExceeded
			}
		);
		let unrelated = create_did(&stranger(), SubjectKind::PatientTwin);
		assert_eq!(Federated::twin_usage(job, 0, &unrelated), TwinUsage::NotInRound);
		assert_eq!(Federated::twin_usage(job, 5, &used), TwinUsage::NotInRound);
		let view = Federated::round_view(job, 0).unwrap();
		assert_eq!(view.cohorts.len(), 3);
		assert_eq!(
			view.cohorts.iter().map(|c| c.reported).collect::<Vec<_>>(),
			vec![true, false, true]
		);
		let job_view = Federated::job_view(job).unwrap();
		assert_eq!(job_view.completed_rounds, 1);
		assert_eq!(job_view.participants.len(), 3);
		assert!(Federated::job_view(9).is_none());
	});
}

// ---- off-chain worker ----------------------------------------------------------

mod offchain_worker {
	use super::*;
	use codec::{Decode, Encode};
	use sp_core::offchain::{
		testing::{PendingRequest, TestOffchainExt, TestTransactionPoolExt},
		HttpError, HttpRequestId, HttpRequestStatus, OffchainDbExt, OffchainWorkerExt,
		OpaqueNetworkState, Timestamp, TransactionPoolExt,
	};
	use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};

	use crate::offchain::TaskState;

	pub(super) const AGENT: &str = "http://127.0.0.1:7700";

	/// The response header with which an expected request makes the agent
	/// answer another status than 200 (all the test externalities answer).
	const STATUS_HEADER: &str = "x-test-status";

	/// The test externalities, with a request's status taken from its
	/// expected response's [`STATUS_HEADER`] (200 without one).
	struct WithStatus(TestOffchainExt);

	impl sp_core::offchain::Externalities for WithStatus {
		fn is_validator(&self) -> bool {
			self.0.is_validator()
		}
		fn network_state(&self) -> Result<OpaqueNetworkState, ()> {
			self.0.network_state()
		}
		fn timestamp(&mut self) -> Timestamp {
			self.0.timestamp()
		}
		fn sleep_until(&mut self, deadline: Timestamp) {
			self.0.sleep_until(deadline)
		}
		fn random_seed(&mut self) -> [u8; 32] {
			self.0.random_seed()
		}
		fn http_request_start(
			&mut self,
			method: &str,
			uri: &str,
			meta: &[u8],
		) -> Result<HttpRequestId, ()> {
			self.0.http_request_start(method, uri, meta)
		}
		fn http_request_add_header(
			&mut self,
			request: HttpRequestId,
			name: &str,
			value: &str,
		) -> Result<(), ()> {
			self.0.http_request_add_header(request, name, value)
		}
		fn http_request_write_body(
			&mut self,
			request: HttpRequestId,
			chunk: &[u8],
			deadline: Option<Timestamp>,
		) -> Result<(), HttpError> {
			self.0.http_request_write_body(request, chunk, deadline)
		}
		fn http_response_wait(
			&mut self,
			ids: &[HttpRequestId],
			deadline: Option<Timestamp>,
		) -> Vec<HttpRequestStatus> {
			let statuses = self.0.http_response_wait(ids, deadline);
			ids.iter()
				.zip(statuses)
				.map(|(id, status)| {
					let set =
						self.0.http_response_headers(*id).into_iter().find_map(|(name, value)| {
							(name == STATUS_HEADER.as_bytes())
								.then(|| String::from_utf8(value).ok()?.parse().ok())
								.flatten()
						});
					match (status, set) {
						(HttpRequestStatus::Finished(200), Some(code)) => {
							HttpRequestStatus::Finished(code)
						},
						(status, _) => status,
					}
				})
				.collect()
		}
		fn http_response_headers(&mut self, request: HttpRequestId) -> Vec<(Vec<u8>, Vec<u8>)> {
			self.0.http_response_headers(request)
		}
		fn http_response_read_body(
			&mut self,
			request: HttpRequestId,
			buffer: &mut [u8],
			deadline: Option<Timestamp>,
		) -> Result<usize, HttpError> {
			self.0.http_response_read_body(request, buffer, deadline)
		}
		fn set_authorized_nodes(
			&mut self,
			nodes: Vec<sp_core::OpaquePeerId>,
			authorized_only: bool,
		) {
			self.0.set_authorized_nodes(nodes, authorized_only)
		}
	}

	/// `request`, answered with HTTP `status`.
	pub(super) fn answered(status: u16, request: PendingRequest) -> PendingRequest {
		PendingRequest {
			response_headers: vec![(STATUS_HEADER.into(), status.to_string())],
			..request
		}
	}

	/// Runs `test` with an offchain worker environment whose keystore holds
	/// site 0's node key, and its pool and HTTP state.
	pub(super) fn with_offchain(
		test: impl FnOnce(
			&std::sync::Arc<parking_lot::RwLock<sp_core::offchain::testing::OffchainState>>,
			&std::sync::Arc<parking_lot::RwLock<sp_core::offchain::testing::PoolState>>,
		),
	) {
		let (offchain, offchain_state) = TestOffchainExt::new();
		let (pool, pool_state) = TestTransactionPoolExt::new();
		let keystore = MemoryKeystore::new();
		let seed = format!("0x{}", hex::encode([0x40u8; 32]));
		keystore
			.sr25519_generate_new(crate::offchain::KEY_TYPE, Some(&seed))
			.expect("the key is made");
		let mut ext = new_test_ext();
		ext.register_extension(OffchainDbExt::new(offchain.clone()));
		ext.register_extension(OffchainWorkerExt::new(WithStatus(offchain)));
		ext.register_extension(TransactionPoolExt::new(pool));
		ext.register_extension(KeystoreExt::new(keystore));
		ext.execute_with(|| {
			test(&offchain_state, &pool_state);
			Federated::do_try_state().expect("pallet-federated invariants hold");
		});
	}

	/// The token of the agents here.
	pub(super) const TOKEN: &str = "0x5ec2e7";

	fn store(key: &[u8], value: &str) {
		sp_io::offchain::local_storage_set(
			sp_core::offchain::StorageKind::PERSISTENT,
			key,
			value.as_bytes(),
		);
	}

	/// Makes `url` the node's agent, with [`TOKEN`].
	pub(super) fn set_agent(url: &str) {
		store(crate::offchain::AGENT_URL_KEY, url);
		store(crate::offchain::AGENT_TOKEN_KEY, TOKEN);
	}

	/// The header that carries [`TOKEN`].
	fn authorization() -> (String, String) {
		("Authorization".into(), format!("Bearer {TOKEN}"))
	}

	/// Three sites, a job of one round at quorum 2 whose round 0 is open,
	/// and the node's agent at [`AGENT`].
	fn round_open_with_agent() -> (Vec<Site>, u64) {
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		set_agent(AGENT);
		(sites, job)
	}

	/// The request handing round 0 of `job` to the agent for `institution`.
	pub(super) fn dispatch_request(job: u64, institution: &DidId) -> PendingRequest {
		let institution = twinnet_primitives::did::format_did(institution);
		PendingRequest {
			method: "POST".into(),
			uri: format!("{AGENT}/v1/rounds"),
			headers: vec![("Content-Type".into(), "application/json".into()), authorization()],
			body: format!(r#"{{"job":{job},"round":0,"institution":"{institution}"}}"#)
				.into_bytes(),
			response: Some(b"{}".to_vec()),
			sent: true,
			..Default::default()
		}
	}

	/// The only transaction in the pool, as a call of this pallet; the pool emptied.
	pub(super) fn take_call(
		pool: &std::sync::Arc<parking_lot::RwLock<sp_core::offchain::testing::PoolState>>,
	) -> Call<Test> {
		let transactions = std::mem::take(&mut pool.write().transactions);
		assert_eq!(transactions.len(), 1);
		let extrinsic = Extrinsic::decode(&mut transactions[0].as_slice()).unwrap();
		let RuntimeCall::Federated(call) = extrinsic.function else { panic!("a federated call") };
		call
	}

	/// A GET of `path` under the agent's rounds, answered with `response`.
	pub(super) fn get(path: String, response: Vec<u8>) -> PendingRequest {
		PendingRequest {
			method: "GET".into(),
			uri: format!("{AGENT}/v1/rounds/{path}"),
			headers: vec![authorization()],
			response: Some(response),
			sent: true,
			..Default::default()
		}
	}

	/// The agent's answer with an update of `records` records and
	/// `parameters`, trained for round 0 of `job` as this chain opened it.
	fn trained(job: u64, records: u32, parameters: Vec<i32>) -> Vec<u8> {
		(records, opening_block(job, 0).0, parameters).encode()
	}

	/// The request collecting `institution`'s update of round 0 of `job`,
	/// answered with `response`.
	fn collect_request(job: u64, institution: &DidId, response: Vec<u8>) -> PendingRequest {
		let institution = twinnet_primitives::did::format_did(institution);
		get(format!("{job}/0/{institution}"), response)
	}

	#[test]
	fn the_worker_dispatches_collects_and_reports_from_the_node_key() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			// Block 2: the round is handed to the agent.
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			assert!(pool.read().transactions.is_empty());
			// Block 3: training is not done yet.
			let institution = &sites[0].institution;
			offchain.write().expect_request(collect_request(job, institution, Vec::new()));
			Federated::run_offchain_worker(3);
			assert!(pool.read().transactions.is_empty());
			// Block 4: the update is ready: the node accepts the cohort, and
			// keeps the update back until its budgets are reserved.
			let update = (3u32, vec![11i32, -12, 13, -14]);
			let ready =
				|| collect_request(job, institution, trained(job, update.0, update.1.clone()));
			offchain.write().expect_request(ready());
			Federated::run_offchain_worker(4);
			let transactions = pool.read().transactions.clone();
			assert_eq!(transactions.len(), 1);
			let extrinsic = Extrinsic::decode(&mut transactions[0].as_slice()).unwrap();
			let RuntimeCall::Federated(call) = extrinsic.function else { panic!("an acceptance") };
			let Call::accept_cohort { acceptance, signature } = call.clone() else {
				panic!("an acceptance")
			};
			assert_eq!(acceptance.institution, sites[0].institution);
			assert_eq!(acceptance.opening_block, opening_block(job, 0));
			assert!(call.authorize(TransactionSource::Local).unwrap().is_ok());
			// Not in a block yet: the node waits for it.
			Federated::run_offchain_worker(5);
			assert_eq!(pool.read().transactions.len(), 1);
			assert_ok!(Federated::accept_cohort(authorized(), acceptance, signature));
			pool.write().transactions.clear();
			// Block 6: accepted, so the update is collected and reported.
			offchain.write().expect_request(ready());
			Federated::run_offchain_worker(6);
			let transactions = pool.read().transactions.clone();
			assert_eq!(transactions.len(), 1);
			let extrinsic = Extrinsic::decode(&mut transactions[0].as_slice()).unwrap();
			let RuntimeCall::Federated(call) = extrinsic.function else { panic!("a report") };
			let Call::submit_update { report, signature } = call.clone() else {
				panic!("a report")
			};
			assert_eq!(report.institution, sites[0].institution);
			assert_eq!(
				report.update,
				crate::Contribution::Model(BoundedVec::truncate_from(update.1.clone()))
			);
			assert_eq!(report.records, update.0);
			// The pool would take it, and the chain accepts it.
			assert!(call.authorize(TransactionSource::Local).unwrap().is_ok());
			assert_ok!(Federated::submit_update(authorized(), report, signature));
			// Nothing more to do for this node.
			Federated::run_offchain_worker(7);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}

	/// A reorg that drops the acceptance block leaves the submitted report
	/// invalid (`NotAccepted`): the node accepts again at once instead of
	/// waiting to resubmit a report the pool refuses.
	#[test]
	fn a_cohort_whose_acceptance_a_reorg_dropped_is_accepted_again_at_once() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			assert_ok!(super::accept(job, 0, &sites[0]));
			let collect =
				|| collect_request(job, &sites[0].institution, trained(job, 3, params(4)));
			offchain.write().expect_request(collect());
			Federated::run_offchain_worker(3);
			assert!(matches!(take_call(pool), Call::submit_update { .. }));
			// The block with the acceptance is reorged out.
			Cohorts::<Test>::mutate((job, 0, sites[0].institution), |cohort| {
				cohort.as_mut().unwrap().status = CohortStatus::Offered;
			});
			offchain.write().expect_request(collect());
			Federated::run_offchain_worker(4);
			assert!(matches!(take_call(pool), Call::accept_cohort { .. }));
		});
	}

	#[test]
	fn a_report_the_pool_dropped_is_submitted_again_later() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			assert_ok!(super::accept(job, 0, &sites[0]));
			let collect =
				|| collect_request(job, &sites[0].institution, trained(job, 3, params(4)));
			offchain.write().expect_request(collect());
			Federated::run_offchain_worker(3);
			assert_eq!(pool.read().transactions.len(), 1);
			// The pool drops it; for the next blocks the worker waits (an
			// unexpected request would fail the test).
			pool.write().transactions.clear();
			Federated::run_offchain_worker(4);
			Federated::run_offchain_worker(7);
			assert!(pool.read().transactions.is_empty());
			// Five blocks on it is still not on chain: collected and sent again.
			offchain.write().expect_request(collect());
			Federated::run_offchain_worker(8);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}

	#[test]
	fn the_worker_does_nothing_without_an_agent_or_a_key_of_a_participant() {
		with_offchain(|_, pool| {
			let sites = three_sites();
			let job = create(spec(&sites[1..], 1, 1));
			run_to_block(2);
			// No agent URL: no request (an unexpected one would panic).
			Federated::run_offchain_worker(2);
			// An agent, but this node holds no key of sites 1 and 2.
			set_agent(AGENT);
			Federated::run_offchain_worker(3);
			assert!(pool.read().transactions.is_empty());
			let keys = sp_io::crypto::sr25519_public_keys(crate::offchain::KEY_TYPE);
			assert!(Federated::tasks(&keys).is_empty());
			assert!(Jobs::<Test>::contains_key(job));
		});
	}

	#[test]
	fn an_institution_s_own_agent_url_comes_before_the_node_s() {
		with_offchain(|offchain, pool| {
			let sites = three_sites();
			let job = create(spec(&sites, 1, 2));
			run_to_block(2);
			let institution = twinnet_primitives::did::format_did(&sites[0].institution);
			store(format!("twinnet/federated/agent-url/{institution}").as_bytes(), AGENT);
			store(format!("twinnet/federated/agent-token/{institution}").as_bytes(), TOKEN);
			set_agent("http://the-node-s-agent.invalid");
			store(crate::offchain::AGENT_TOKEN_KEY, "the-node-s-agent-token");
			// Only the institution's own agent is asked, with its own token
			// (any other request would fail the test).
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			offchain.write().expect_request(collect_request(
				job,
				&sites[0].institution,
				trained(job, 3, params(2)),
			));
			Federated::run_offchain_worker(3);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}

	#[test]
	fn a_malformed_update_is_not_reported_and_is_collected_again() {
		with_offchain(|offchain, pool| {
			let sites = three_sites();
			let job = create(spec(&sites, 1, 2));
			run_to_block(2);
			set_agent(&format!("{AGENT}/"));
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			let collect = |response| collect_request(job, &sites[0].institution, response);
			// Not SCALE: nothing is submitted.
			offchain.write().expect_request(collect(b"{\"oops\":1}".to_vec()));
			Federated::run_offchain_worker(3);
			assert!(pool.read().transactions.is_empty());
			// Too many parameters for the chain: refused before signing.
			let oversized = trained(job, 3, vec![1i32; MAX_PARAMETERS as usize + 1]);
			offchain.write().expect_request(collect(oversized));
			Federated::run_offchain_worker(4);
			assert!(pool.read().transactions.is_empty());
			// A good update on the next try is reported.
			offchain.write().expect_request(collect(trained(job, 3, params(2))));
			Federated::run_offchain_worker(5);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}

	#[test]
	fn an_update_the_agent_trained_on_another_fork_s_cohort_is_never_reported() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			// The agent read the round as it opened on a fork this node
			// abandoned: its cohort may hold a twin revoked on this one.
			let other_fork = (3u32, [0xf0; 32], params(4)).encode();
			let collect = |response| collect_request(job, &sites[0].institution, response);
			offchain.write().expect_request(collect(other_fork));
			Federated::run_offchain_worker(3);
			assert!(pool.read().transactions.is_empty(), "nothing is signed or submitted");
			// Trained again for this fork's round: reported.
			offchain.write().expect_request(collect(trained(job, 3, params(4))));
			Federated::run_offchain_worker(4);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}

	/// `count` jobs of one round on the three sites, each costing ε 1/8 a
	/// round (so all fit in the twins' budgets at once), with rounds long
	/// enough for the test, all running by the block returned.
	fn running_jobs(sites: &[Site], count: u64) -> (Vec<u64>, u64) {
		let per_round = PrivacyBudget { epsilon: FixedU64::from_rational(1, 8), ..per_round() };
		let jobs: Vec<u64> = (0..count)
			.map(|_| create(crate::JobSpec { per_round, round_timeout: 50, ..spec(sites, 1, 1) }))
			.collect();
		let mut now = 1;
		while jobs
			.iter()
			.any(|job| !matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Running { .. }))
		{
			now += 1;
			run_to_block(now);
		}
		(jobs, now)
	}

	fn task_state(job: u64, institution: &DidId) -> Option<TaskState> {
		let mut key = b"twinnet/federated/task/".to_vec();
		(job, 0u32, *institution).encode_to(&mut key);
		sp_runtime::offchain::storage::StorageValueRef::persistent(&key).get().unwrap()
	}

	/// Sets the mock's most running jobs for one test, and restores the
	/// default when the test ends (by panic too).
	struct MostRunning;

	impl MostRunning {
		fn set(jobs: u32) -> Self {
			ActiveJobs::set(jobs);
			MostRunning
		}
	}

	impl Drop for MostRunning {
		fn drop(&mut self) {
			ActiveJobs::set(2);
		}
	}

	#[test]
	fn four_rounds_the_agent_refuses_cannot_starve_a_fifth() {
		let _most = MostRunning::set(5);
		with_offchain(|offchain, pool| {
			let sites = three_sites();
			// Jobs 0-3 are the attacker's (a model the agent refuses to
			// train), in the worker's order ahead of the victim's job 4.
			let (jobs, now) = running_jobs(&sites, 5);
			set_agent(AGENT);
			let ours = &sites[0].institution;
			let did = twinnet_primitives::did::format_did(ours);
			let collect = |job: u64, response: Vec<u8>| get(format!("{job}/0/{did}"), response);
			let refusal = |job| answered(409, collect(job, b"model not allowed".to_vec()));
			// Block 1: four turns, the attacker's four dispatches.
			for &job in &jobs[..4] {
				offchain.write().expect_request(dispatch_request(job, ours));
			}
			Federated::run_offchain_worker(now);
			// Block 2: the victim's turn comes next, then three refusals.
			offchain.write().expect_request(dispatch_request(jobs[4], ours));
			for &job in &jobs[..3] {
				offchain.write().expect_request(refusal(job));
			}
			Federated::run_offchain_worker(now + 1);
			// Block 3: the last refusal; the victim's agent is training.
			offchain.write().expect_request(refusal(jobs[3]));
			offchain.write().expect_request(answered(202, collect(jobs[4], Vec::new())));
			Federated::run_offchain_worker(now + 2);
			for &job in &jobs[..4] {
				assert!(
					matches!(task_state(job, ours), Some(TaskState::Refused { .. })),
					"job {job}"
				);
			}
			// From now on the refused rounds take no turn: only the victim's
			// update is asked for, and reported.
			offchain
				.write()
				.expect_request(collect(jobs[4], trained(jobs[4], 3, params(4))));
			Federated::run_offchain_worker(now + 3);
			assert_eq!(pool.read().transactions.len(), 1);
			Federated::run_offchain_worker(now + 4);
		});
	}

	#[test]
	fn turns_go_round_so_six_training_rounds_are_each_asked_every_two_blocks() {
		let _most = MostRunning::set(6);
		with_offchain(|offchain, _| {
			let sites = three_sites();
			let (jobs, now) = running_jobs(&sites, 6);
			set_agent(AGENT);
			let ours = &sites[0].institution;
			let did = twinnet_primitives::did::format_did(ours);
			let training = |job: u64| answered(202, get(format!("{job}/0/{did}"), Vec::new()));
			for &job in &jobs[..4] {
				offchain.write().expect_request(dispatch_request(job, ours));
			}
			Federated::run_offchain_worker(now);
			// The least recently served first: never, then longest ago, ties
			// by key.
			offchain.write().expect_request(dispatch_request(jobs[4], ours));
			offchain.write().expect_request(dispatch_request(jobs[5], ours));
			offchain.write().expect_request(training(jobs[0]));
			offchain.write().expect_request(training(jobs[1]));
			Federated::run_offchain_worker(now + 1);
			for job in [2, 3, 0, 1] {
				offchain.write().expect_request(training(jobs[job]));
			}
			Federated::run_offchain_worker(now + 2);
			for job in [4, 5, 0, 1] {
				offchain.write().expect_request(training(jobs[job]));
			}
			Federated::run_offchain_worker(now + 3);
			// (Ties go by key: jobs 0 and 1 get the spare turns, and no job
			// waits more than two blocks.)
			for job in [2, 3, 0, 1] {
				offchain.write().expect_request(training(jobs[job]));
			}
			Federated::run_offchain_worker(now + 4);
		});
	}

	#[test]
	fn a_round_the_agent_refuses_at_dispatch_is_not_dispatched_again() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			let ours = &sites[0].institution;
			// A wrong path or institution (400, 404) is not the round's
			// fault: dispatched again on its next turn.
			offchain.write().expect_request(answered(404, dispatch_request(job, ours)));
			Federated::run_offchain_worker(2);
			assert_eq!(task_state(job, ours), None);
			offchain.write().expect_request(answered(409, dispatch_request(job, ours)));
			Federated::run_offchain_worker(3);
			assert!(matches!(task_state(job, ours), Some(TaskState::Refused { at: 3 })));
			// Any request now would fail the test.
			Federated::run_offchain_worker(4);
			Federated::run_offchain_worker(5);
			assert!(pool.read().transactions.is_empty());
		});
	}

	/// Training again after a report went out would put a second, freshly
	/// noised update of the same rows in the pool for one charge.
	#[test]
	fn an_update_already_reported_is_never_trained_again() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			let ours = &sites[0].institution;
			offchain.write().expect_request(dispatch_request(job, ours));
			Federated::run_offchain_worker(2);
			assert_ok!(super::accept(job, 0, &sites[0]));
			offchain
				.write()
				.expect_request(collect_request(job, ours, trained(job, 3, params(4))));
			Federated::run_offchain_worker(3);
			assert_eq!(pool.read().transactions.len(), 1);
			// The pool dropped it, and the agent has forgotten the round
			// since: the worker neither dispatches it again nor reports.
			pool.write().transactions.clear();
			let forgot = || answered(404, collect_request(job, ours, b"no such round".to_vec()));
			offchain.write().expect_request(forgot());
			Federated::run_offchain_worker(8);
			assert!(matches!(task_state(job, ours), Some(TaskState::Submitted { at: 3 })));
			offchain.write().expect_request(forgot());
			Federated::run_offchain_worker(9);
			assert!(pool.read().transactions.is_empty());
		});
	}

	#[test]
	fn an_agent_that_forgot_a_round_gets_it_again_and_one_that_failed_is_asked_again() {
		with_offchain(|offchain, pool| {
			let (sites, job) = round_open_with_agent();
			let ours = &sites[0].institution;
			let collect = |response| collect_request(job, ours, response);
			offchain.write().expect_request(dispatch_request(job, ours));
			Federated::run_offchain_worker(2);
			// The agent restarted and lost the round: dispatched again.
			offchain
				.write()
				.expect_request(answered(404, collect(b"no such round".to_vec())));
			Federated::run_offchain_worker(3);
			assert_eq!(task_state(job, ours), None);
			offchain.write().expect_request(dispatch_request(job, ours));
			Federated::run_offchain_worker(4);
			// An answer that failed (5xx), or a token the agent refused
			// (someone changed it), is no refusal of the round: asked again.
			offchain.write().expect_request(answered(503, collect(b"node down".to_vec())));
			Federated::run_offchain_worker(5);
			offchain
				.write()
				.expect_request(answered(401, collect(b"token required".to_vec())));
			Federated::run_offchain_worker(6);
			assert_eq!(task_state(job, ours), Some(TaskState::Dispatched));
			offchain.write().expect_request(collect(trained(job, 3, params(4))));
			Federated::run_offchain_worker(7);
			assert_eq!(pool.read().transactions.len(), 1);
		});
	}
}

#[test]
fn a_round_opens_one_batch_of_cohorts_a_block() {
	run_test(|| {
		CohortsPerStep::set(1);
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(2);
		assert_eq!(
			Jobs::<Test>::get(job).unwrap().state,
			JobState::Opening { round: 0, admitted: 1 }
		);
		// The first cohort is offered already (nothing reserved); the round
		// is not open.
		let first = Cohorts::<Test>::get((job, 0, sites[0].institution)).unwrap();
		assert_eq!(first.status, CohortStatus::Offered);
		assert!(Cohorts::<Test>::get((job, 0, sites[1].institution)).is_none());
		assert_eq!(grant_of(&sites[0].twins[0]).reserved, PrivacyBudget::default());
		assert!(Rounds::<Test>::get(job, 0).is_none());
		assert_noop!(
			submit(report(job, 0, &sites[0], 3, &params(1)), &sites[0]),
			Error::<Test>::RoundNotOpen
		);
		run_to_block(4);
		assert_eq!(
			Jobs::<Test>::get(job).unwrap().state,
			JobState::Running { round: 0, deadline: 9 }
		);
		assert_eq!(Rounds::<Test>::get(job, 0).unwrap().expected.len(), 3);
		CohortsPerStep::set(3);
	});
}

#[test]
fn cancelling_while_a_round_opens_drops_the_cohorts_offered_so_far() {
	run_test(|| {
		CohortsPerStep::set(1);
		let sites = three_sites();
		let job = create(spec(&sites, 1, 2));
		run_to_block(3);
		assert_ok!(Federated::cancel_job(origin(&researcher()), job));
		for twin in sites.iter().flat_map(|s| s.twins.iter()) {
			assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
		}
		assert!(Cohorts::<Test>::iter().next().is_none());
		assert!(Agenda::<Test>::get().is_empty());
		CohortsPerStep::set(3);
	});
}

// ---- properties: revocation and budgets over random runs -----------------------

mod properties {
	use super::*;
	use std::collections::{BTreeMap, BTreeSet};
	use twinnet_primitives::federated::TwinUsage;

	/// Sets the mock's cohorts per opening step and most running jobs for
	/// one case, and restores the defaults when the case ends (by panic too,
	/// so a shrunk case starts from the defaults).
	struct Settings;

	impl Settings {
		fn apply(cohorts_per_step: u32, active_jobs: u32) -> Self {
			CohortsPerStep::set(cohorts_per_step);
			ActiveJobs::set(active_jobs);
			Settings
		}
	}

	impl Drop for Settings {
		fn drop(&mut self) {
			CohortsPerStep::set(3);
			ActiveJobs::set(2);
		}
	}

	/// The sites of `mask` (bit `i`: `sites[i]`).
	fn subset(sites: &[Site], mask: u8) -> Vec<Site> {
		sites
			.iter()
			.enumerate()
			.filter(|(i, _)| mask & (1 << i) != 0)
			.map(|(_, s)| s.clone())
			.collect()
	}

	/// `amount` charged `times` times.
	fn times(amount: PrivacyBudget, times: usize) -> PrivacyBudget {
		(0..times).fold(PrivacyBudget::default(), |sum, _| sum.checked_add(&amount).unwrap())
	}

	/// Who reports in each round: per job and round number, a mask of the
	/// participants (by index) and the blocks after the round opened they
	/// wait (6, past the 5-block timeout: nobody reports).
	struct Reporters {
		masks: Vec<u8>,
		delays: Vec<u64>,
	}

	impl Reporters {
		fn of(&self, job: u64, round: u32) -> (u8, u64) {
			let i = job as usize * 12 + round as usize;
			(self.masks[i % self.masks.len()], self.delays[i % self.delays.len()])
		}
	}

	/// A round's reporters: often every participant, else any subset.
	fn reporting() -> impl Strategy<Value = u8> {
		prop_oneof![2 => Just(0b111u8), 3 => 0u8..8]
	}

	/// Submits the reports of `job`'s open round due at `now`: each
	/// admitted participant in the round's mask, once the round's delay has
	/// passed and until its deadline, with its whole cohort as its records.
	fn report_due(job: u64, now: u64, sites: &[Site], reporters: &Reporters) {
		let Some(record) = Jobs::<Test>::get(job) else { return };
		let JobState::Running { round, deadline } = record.state else { return };
		let opened_at = Rounds::<Test>::get(job, round).unwrap().opened_at;
		let (mask, delay) = reporters.of(job, round);
		// Past its deadline a round waits for its closing step (at most
		// `MaxStepsPerBlock` a block) and takes no report.
		if now < opened_at + delay || now > deadline {
			return;
		}
		for (index, participant) in record.participants.iter().enumerate() {
			let key = (job, round, participant.institution);
			let admitted = Cohorts::<Test>::get(key).filter(|c| c.status == CohortStatus::Admitted);
			let Some(cohort) = admitted else { continue };
			if mask & (1 << index) == 0 || Updates::<Test>::contains_key(key) {
				continue;
			}
			let site = sites.iter().find(|s| s.institution == participant.institution).unwrap();
			let records = cohort.admitted.len() as u32;
			let value = index as i32 + 1;
			assert_ok!(submit(report(job, round, site, records, &params(value)), site));
		}
	}

	/// Notes the block each cohort was admitted in (first seen after an
	/// `on_initialize`, which is where cohorts are admitted).
	fn note_cohorts(admitted_at: &mut BTreeMap<(u64, u32, DidId), u64>, now: u64) {
		for key in Cohorts::<Test>::iter_keys() {
			admitted_at.entry(key).or_insert(now);
		}
	}

	/// The job rounds holding a reservation on `twin`.
	fn reservations_of(twin: &DidId) -> BTreeSet<(u64, u32)> {
		pallet_consent::Reservations::<Test>::iter()
			.filter(|(_, t, _)| t == twin)
			.map(|(round, _, _)| (round.job, round.round))
			.collect()
	}

	/// Every grant of `twins` has spent and reserved no more than its
	/// budget; its reserved budget is the sum of its reservations; and every
	/// reservation is of its job's round being opened or open.
	fn check_budgets(twins: &[DidId]) {
		let reservations: Vec<_> = pallet_consent::Reservations::<Test>::iter().collect();
		for twin in twins {
			let grant = grant_of(twin);
			let committed = grant.spent.checked_add(&grant.reserved).unwrap();
			assert!(
				committed.fits_within(&grant.budget.unwrap()),
				"{twin:?} overspent: spent {:?} + reserved {:?} > {:?}",
				grant.spent,
				grant.reserved,
				grant.budget
			);
			let reserved = reservations
				.iter()
				.filter(|(_, t, _)| t == twin)
				.fold(PrivacyBudget::default(), |sum, (_, _, r)| {
					sum.checked_add(&r.amount).unwrap()
				});
			assert_eq!(grant.reserved, reserved, "{twin:?}'s reservations");
		}
		for (round, twin, _) in &reservations {
			let state = Jobs::<Test>::get(round.job).unwrap().state;
			assert!(
				matches!(
					state,
					JobState::Opening { round: r, .. } | JobState::Running { round: r, .. }
						if r == round.round
				),
				"{twin:?} holds a reservation of {round:?}, whose job is {state:?}"
			);
		}
	}

	/// At the end: no reservation is left, and each twin has spent exactly
	/// the per-round budget of every round in which its rows were used.
	fn audit(jobs: &[u64], twins: &[DidId]) {
		assert!(pallet_consent::Reservations::<Test>::iter().next().is_none());
		for twin in twins {
			let mut used = PrivacyBudget::default();
			for job in jobs {
				let record = Jobs::<Test>::get(job).unwrap();
				assert!(record.state.is_final(), "job {job} is {:?}", record.state);
				for round in 0..record.next_round {
					match Federated::twin_usage(*job, round, twin) {
						TwinUsage::Used { charged, .. } => {
							assert_eq!(charged, record.spec.per_round);
							used = used.checked_add(&charged).unwrap();
						},
						TwinUsage::Admitted { .. } => panic!("{twin:?} admitted to an ended job"),
						_ => {},
					}
				}
			}
			let grant = grant_of(twin);
			assert_eq!(grant.reserved, PrivacyBudget::default(), "{twin:?} still reserved");
			assert_eq!(grant.spent, used, "{twin:?} spent other than the rounds that used it");
		}
	}

	/// A revocation as the test saw it: its block (after that block's
	/// `on_initialize`), what the grant had spent then, and the job rounds
	/// that held a reservation on it then.
	struct Revocation {
		twin: DidId,
		institution: DidId,
		block: u64,
		spent: PrivacyBudget,
		reserved_for: BTreeSet<(u64, u32)>,
	}

	/// `twin`'s patient revokes its grant (to `site`) through pallet-consent.
	fn revoke(site: &Site, twin: DidId, block: u64) -> Revocation {
		let owner = Twins::patient(&twin).unwrap();
		let grant = grant_of(&twin);
		assert_ok!(Consent::revoke(origin(&owner), twin, grant.id));
		assert_eq!(grant_of(&twin).revoked_at, Some(block));
		Revocation {
			twin,
			institution: site.institution,
			block,
			spent: grant.spent,
			reserved_for: reservations_of(&twin),
		}
	}

	/// No cohort admitted after a revocation has the twin (it is left out,
	/// or excluded as revoked), and after it the grant only settles the
	/// reservations it held then: it is charged for exactly those of them
	/// whose round used its rows. A revocation in block `b` comes after
	/// `b`'s `on_initialize`, so cohorts admitted in `b` came before it.
	/// (The datasets pallet drops a revoked twin from its datasets at once,
	/// `OnRevoke`, so consent is never asked: the twin is simply not in the
	/// later cohorts; were it offered, consent must refuse it as revoked.)
	fn check_revocations(
		revocations: &[Revocation],
		admitted_at: &BTreeMap<(u64, u32, DidId), u64>,
		per_round: PrivacyBudget,
	) {
		for revocation in revocations {
			let twin = revocation.twin;
			let later = admitted_at.iter().filter(|(_, at)| **at > revocation.block);
			for (&(job, round, institution), at) in later {
				let cohort = Cohorts::<Test>::get((job, round, institution)).unwrap();
				assert!(
					!cohort.admitted.contains(&twin),
					"{twin:?}, revoked in block {}, admitted in block {at} to round {round}",
					revocation.block
				);
				for (_, reason) in cohort.excluded.iter().filter(|(t, _)| *t == twin) {
					assert_eq!(*reason, ConsentDenied::Revoked);
				}
				// The round's other cohorts may have been admitted before
				// the revocation (a round opens over several blocks).
				if let Some(view) = Federated::round_view(job, round) {
					let cohort = view.cohorts.iter().find(|c| c.institution == institution);
					assert!(cohort.is_some_and(|c| !c.admitted.contains(&twin)));
				}
				if revocation.institution != institution {
					continue;
				}
				let usage = Federated::twin_usage(job, round, &twin);
				assert!(
					matches!(
						usage,
						TwinUsage::NotInRound
							| TwinUsage::Excluded { reason: ConsentDenied::Revoked, .. }
					),
					"{twin:?} revoked in block {}: {usage:?} in round {round}",
					revocation.block
				);
			}
			let reserved_now = reservations_of(&twin);
			assert!(
				reserved_now.is_subset(&revocation.reserved_for),
				"{twin:?} reserved for {reserved_now:?} after its revocation (had {:?})",
				revocation.reserved_for
			);
			let grant = grant_of(&twin);
			assert_eq!(grant.reserved, times(per_round, reserved_now.len()));
			let spent_since = revocation
				.reserved_for
				.iter()
				.filter(|(job, round)| {
					!reserved_now.contains(&(*job, *round))
						&& matches!(
							Federated::twin_usage(*job, *round, &twin),
							TwinUsage::Used { .. }
						)
				})
				.count();
			assert_eq!(
				grant.spent,
				revocation.spent.checked_add(&times(per_round, spent_since)).unwrap(),
				"{twin:?} charged after its revocation beyond the rounds admitted before it"
			);
		}
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(48))]

		/// A job of 2–5 rounds on 1–3 sites, its rounds opened 1–3 cohorts
		/// a block; each twin's patient revokes its grant in a random block
		/// or never; random institutions report each round, early, late or
		/// not at all. Checked after every block's `on_initialize` and
		/// after its extrinsics; the twins' accounts audited at the end.
		#[test]
		fn a_revoked_twin_is_never_in_a_later_round(
			rounds in 2u32..=5,
			mask in 1u8..8,
			quorum in any::<u8>(),
			cohorts_per_step in 1u32..=3,
			revoke_at in proptest::collection::vec(proptest::option::weighted(0.3, 1u64..30), 8),
			masks in proptest::collection::vec(reporting(), 12),
			delays in proptest::collection::vec(0u64..=6, 12),
		) {
			let _settings = Settings::apply(cohorts_per_step, 2);
			let reporters = Reporters { masks, delays };
			run_test(|| {
				let sites = three_sites();
				let twins: Vec<DidId> = sites.iter().flat_map(|s| s.twins.clone()).collect();
				let chosen = subset(&sites, mask);
				let quorum = 1 + u32::from(quorum) % chosen.len() as u32;
				let job = create(spec(&chosen, rounds, quorum));
				let mut revocations = Vec::new();
				let mut admitted_at = BTreeMap::new();
				let mut now = 1;
				loop {
					if now > 1 {
						run_to_block(now);
						note_cohorts(&mut admitted_at, now);
						check_budgets(&twins);
						check_revocations(&revocations, &admitted_at, per_round());
					}
					let homes = sites.iter().flat_map(|s| s.twins.iter().map(move |t| (s, *t)));
					for ((site, twin), at) in homes.zip(&revoke_at) {
						if *at == Some(now) {
							revocations.push(revoke(site, twin, now));
						}
					}
					report_due(job, now, &sites, &reporters);
					check_budgets(&twins);
					check_revocations(&revocations, &admitted_at, per_round());
					if Jobs::<Test>::get(job).unwrap().state.is_final() {
						break;
					}
					assert!(now < 300, "the job never ended");
					now += 1;
				}
				audit(&[job], &twins);
			});
		}

		/// 2–4 jobs at once over the same twins, each on 1–3 sites with its
		/// own per-round (ε, δ), posted in random blocks; each twin's budget
		/// narrowed at random; random institutions report each round.
		#[test]
		fn the_budget_is_never_overspent_across_random_concurrent_jobs(
			budgets in proptest::collection::vec((1u64..=20, 200u64..=1_000), 8),
			jobs in proptest::collection::vec(
				(1u8..8, 1u32..=5, any::<u8>(), 1u64..=8, 50u64..=300, 0u64..6),
				2..=4,
			),
			cohorts_per_step in 1u32..=3,
			masks in proptest::collection::vec(reporting(), 48),
			delays in proptest::collection::vec(0u64..=6, 48),
		) {
			let _settings = Settings::apply(cohorts_per_step, 4);
			let reporters = Reporters { masks, delays };
			run_test(|| {
				let sites = three_sites();
				let twins: Vec<DidId> = sites.iter().flat_map(|s| s.twins.clone()).collect();
				// Each twin's ε budget in twentieths (of 1), δ in parts (of 1 000).
				for (site, twin) in sites.iter().flat_map(|s| s.twins.iter().map(move |t| (s, t))) {
					let index = twins.iter().position(|t| t == twin).unwrap();
					let (twentieths, delta) = budgets[index];
					let budget = PrivacyBudget {
						epsilon: FixedU64::from_rational(twentieths.into(), 20),
						delta: sp_runtime::Perquintill::from_parts(delta),
					};
					let mut terms = compute_terms(&site.institution);
					if terms.budget != Some(budget) {
						terms.budget = Some(budget);
						let owner = Twins::patient(twin).unwrap();
						assert_ok!(Consent::narrow(origin(&owner), *twin, grant_of(twin).id, terms));
					}
					assert_eq!(grant_of(twin).budget, Some(budget));
				}
				let mut posted: Vec<u64> = Vec::new();
				let mut now = 1;
				loop {
					if now > 1 {
						run_to_block(now);
						check_budgets(&twins);
					}
					for (mask, rounds, quorum, twentieths, delta, at) in &jobs {
						if 1 + at != now {
							continue;
						}
						let chosen = subset(&sites, *mask);
						let quorum = 1 + u32::from(*quorum) % chosen.len() as u32;
						let mut spec = spec(&chosen, *rounds, quorum);
						spec.per_round = PrivacyBudget {
							epsilon: FixedU64::from_rational((*twentieths).into(), 20),
							delta: sp_runtime::Perquintill::from_parts(*delta),
						};
						posted.push(create(spec));
					}
					for job in &posted {
						report_due(*job, now, &sites, &reporters);
					}
					check_budgets(&twins);
					let ended = posted
						.iter()
						.all(|job| Jobs::<Test>::get(job).unwrap().state.is_final());
					if posted.len() == jobs.len() && ended {
						break;
					}
					assert!(now < 400, "the jobs never ended");
					now += 1;
				}
				audit(&posted, &twins);
			});
		}
	}
}

// ---- secure aggregation ----------------------------------------------------------

mod secure_aggregation {
	use super::*;
	use crate::{Contribution, Masking, RevealOf, Reveals};

	/// The three sites' models of a first round (from the zero model), with
	/// their records (at most each site's cohort: 3, 3 and 2).
	pub(super) fn first_models() -> Vec<(u32, Vec<i32>)> {
		vec![(3, vec![300, -300, 10, 0]), (1, vec![100, 100, 10, 5]), (2, vec![0, 0, 10, -7])]
	}

	/// `site`'s masked update, masked with every other site of `expected`.
	pub(super) fn masked_of(
		site: &Site,
		expected: &[&Site],
		records: u32,
		model: &[i32],
		start: &[i32],
	) -> Vec<u32> {
		let peers: Vec<&Site> = expected.iter().copied().filter(|peer| peer.n != site.n).collect();
		masked_update(site, &peers, records, model, start)
	}

	/// The sum of `updates` in the ring.
	pub(super) fn ring_sum<'a>(updates: impl IntoIterator<Item = &'a Vec<u32>>) -> Vec<u32> {
		let mut sum = vec![0u32; 4];
		for update in updates {
			assert!(twinnet_secagg::add_into(&mut sum, update));
		}
		sum
	}

	/// FedAvg of `models` (records, parameters).
	pub(super) fn average<'a>(models: impl IntoIterator<Item = &'a (u32, Vec<i32>)>) -> Vec<i32> {
		crate::fed_avg(models.into_iter().map(|(n, m)| (*n, m.as_slice()))).unwrap()
	}

	/// Submits `reveal` signed by `signer`'s node key.
	pub(super) fn submit_reveal(reveal: RevealOf<Test>, signer: &Site) -> DispatchResult {
		let signature = sign_reveal(&reveal, signer);
		Federated::reveal_seeds(authorized(), Box::new(reveal), signature)
	}

	/// How the pool sees `reveal` with `signature`.
	fn reveal_validity(
		reveal: RevealOf<Test>,
		signature: DidSignature,
	) -> Result<
		(frame_support::pallet_prelude::ValidTransaction, frame_support::weights::Weight),
		TransactionValidityError,
	> {
		let call = Call::<Test>::reveal_seeds { reveal: Box::new(reveal), signature };
		call.authorize(TransactionSource::External).expect("an authorized call")
	}

	/// How the pool sees `report` signed by `signer`.
	fn report_validity(
		report: ReportOf<Test>,
		signer: &Site,
	) -> Result<
		(frame_support::pallet_prelude::ValidTransaction, frame_support::weights::Weight),
		TransactionValidityError,
	> {
		let signature = sign(&report, signer);
		let call = Call::<Test>::submit_update { report: Box::new(report), signature };
		call.authorize(TransactionSource::External).expect("an authorized call")
	}

	fn stale() -> TransactionValidityError {
		TransactionValidityError::Invalid(InvalidTransaction::Stale)
	}

	fn bad_call() -> TransactionValidityError {
		TransactionValidityError::Invalid(InvalidTransaction::Call)
	}

	/// A masked job of one round on the three sites, quorum 2, in which
	/// sites 0 and 2 reported their first models and site 1 dropped: in
	/// recovery from block 8 (its deadline 13). Returns the job and the
	/// survivors' masked updates.
	fn in_recovery(sites: &[Site], rounds: u32) -> (u64, Vec<Vec<u32>>) {
		let all: Vec<&Site> = sites.iter().collect();
		let job = create(masked_spec(sites, rounds, 2));
		run_to_block(2);
		let models = first_models();
		let mut masked = Vec::new();
		for i in [0, 2] {
			let (records, model) = &models[i];
			let update = masked_of(&sites[i], &all, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[i], *records, &update), &sites[i]));
			masked.push(update);
		}
		run_to_block(8);
		assert_eq!(
			Jobs::<Test>::get(job).unwrap().state,
			JobState::Recovering { round: 0, deadline: 13 }
		);
		(job, masked)
	}

	#[test]
	fn a_masked_round_releases_bit_for_bit_the_aggregate_of_the_same_models_in_the_clear() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let institutions: Vec<DidId> = sites.iter().map(|s| s.institution).collect();
			let masked_job = create(masked_spec(&sites, 2, 2));
			let plain_job = create(spec(&sites, 2, 2));
			// Round 1's changes, one of them at the bound (not clamped).
			let deltas = [
				[1_000, -2_000, 5, 0],
				[-(UPDATE_BOUND as i32), 60_000, -1, 3],
				[7, 7, -7, UPDATE_BOUND as i32],
			];
			for round in 0..2u32 {
				let open = 2 + 2 * u64::from(round);
				run_to_block(open);
				let record = Rounds::<Test>::get(masked_job, round).unwrap();
				let masking = record.masking.clone().unwrap();
				assert_eq!(
					masking.agreement_keys.to_vec(),
					sites.iter().map(|s| (s.institution, s.agreement_key())).collect::<Vec<_>>()
				);
				assert!(masking.dropped.is_empty());
				assert_eq!(masking.recovery_deadline, None);
				assert_eq!(masking.masked_sum_hash, None);
				assert!(Rounds::<Test>::get(plain_job, round).unwrap().masking.is_none());
				let start =
					Models::<Test>::get(masked_job).map(|m| m.to_vec()).unwrap_or(vec![0; 4]);
				assert_eq!(
					Models::<Test>::get(plain_job).map(|m| m.to_vec()).unwrap_or(vec![0; 4]),
					start
				);
				let models: Vec<(u32, Vec<i32>)> = if round == 0 {
					first_models()
				} else {
					let records = [2, 3, 1];
					(0..3)
						.map(|i| {
							(records[i], start.iter().zip(deltas[i]).map(|(s, d)| s + d).collect())
						})
						.collect()
				};
				let mut masked = Vec::new();
				let mut weighted = Vec::new();
				for (site, (records, model)) in sites.iter().zip(&models) {
					let update = masked_of(site, &all, *records, model, &start);
					let plain =
						twinnet_secagg::weighted_update(*records, model, &start, UPDATE_BOUND)
							.unwrap();
					assert_ok!(submit(
						masked_report(masked_job, round, site, *records, &update),
						site
					));
					assert_ok!(submit(report(plain_job, round, site, *records, model), site));
					// What the chain stores (and the pool saw) is masked.
					let stored =
						Updates::<Test>::get((masked_job, round, site.institution)).unwrap();
					assert_eq!(
						stored.update,
						Contribution::Masked(BoundedVec::truncate_from(update.clone()))
					);
					assert_ne!(
						stored.update,
						Contribution::Masked(BoundedVec::truncate_from(plain.clone()))
					);
					masked.push(update);
					weighted.push(plain);
				}
				// Every mask is in the sum once with each sign.
				let sum = ring_sum(&masked);
				assert_eq!(sum, ring_sum(&weighted));
				run_to_block(open + 1);
				let expected = average(&models);
				assert_eq!(Models::<Test>::get(masked_job).unwrap().to_vec(), expected);
				assert_eq!(Models::<Test>::get(plain_job).unwrap().to_vec(), expected);
				let record = Rounds::<Test>::get(masked_job, round).unwrap();
				let masking = record.masking.unwrap();
				assert_eq!(masking.masked_sum_hash, Some(crate::masked_hash(&sum)));
				assert!(masking.dropped.is_empty());
				let leaves: Vec<H256> = masked.iter().map(|m| crate::masked_hash(m)).collect();
				let records = models.iter().map(|(n, _)| u64::from(*n)).sum::<u64>();
				let aggregated = RoundOutcome::Aggregated {
					aggregate_hash: crate::update_hash(&expected),
					update_root: crate::update_root(&leaves),
					records,
				};
				assert_eq!(record.outcome, aggregated);
				assert_eq!(record.reporters.to_vec(), institutions);
				assert!(events().contains(&Event::RoundAggregated {
					job: masked_job,
					round,
					aggregate_hash: crate::update_hash(&expected),
					update_root: crate::update_root(&leaves),
					reporters: institutions.clone(),
					stragglers: vec![],
					records,
					commitment: None,
					masked_sum_hash: Some(crate::masked_hash(&sum)),
				}));
				assert!(events().iter().any(|e| matches!(e,
					Event::RoundAggregated { job, round: r, masked_sum_hash: None, .. }
						if *job == plain_job && *r == round)));
				assert!(Updates::<Test>::iter().next().is_none());
			}
			assert_eq!(Jobs::<Test>::get(masked_job).unwrap().state, JobState::Completed);
			assert_eq!(Jobs::<Test>::get(plain_job).unwrap().state, JobState::Completed);
		});
	}

	#[test]
	fn a_dropped_institution_s_masks_are_removed_with_the_seeds_its_survivors_reveal() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let job = create(masked_spec(&sites, 1, 2));
			run_to_block(2);
			let models = first_models();
			let mut masked = Vec::new();
			for i in [0, 2] {
				let (records, model) = &models[i];
				let update = masked_of(&sites[i], &all, *records, model, &[0; 4]);
				assert_ok!(submit(masked_report(job, 0, &sites[i], *records, &update), &sites[i]));
				masked.push(update);
			}
			let (s0, s1, s2) = (sites[0].institution, sites[1].institution, sites[2].institution);
			run_to_block(7);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Running { round: 0, deadline: 7 }
			);
			// Past the deadline: recovery, one more timeout for the reveals.
			run_to_block(8);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Recovering { round: 0, deadline: 13 }
			);
			System::assert_last_event(
				Event::RecoveryStarted {
					job,
					round: 0,
					survivors: vec![s0, s2],
					dropped: vec![s1],
					deadline: 13,
				}
				.into(),
			);
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert_eq!(record.outcome, RoundOutcome::Open);
			assert_eq!(record.reporters.to_vec(), vec![s0, s2]);
			let masking = record.masking.unwrap();
			assert_eq!(masking.dropped.to_vec(), vec![s1]);
			assert_eq!(masking.recovery_deadline, Some(13));
			assert_eq!(Agenda::<Test>::get().into_inner(), vec![(14, job)]);
			// The dropped site's late report is refused, in the pool and at dispatch:
			// its seeds are about to be revealed.
			let (records, model) = &models[1];
			let late = masked_report(
				job,
				0,
				&sites[1],
				*records,
				&masked_of(&sites[1], &all, *records, model, &[0; 4]),
			);
			assert_eq!(report_validity(late.clone(), &sites[1]).unwrap_err(), stale());
			assert_noop!(submit(late, &sites[1]), Error::<Test>::RoundNotOpen);
			// The survivors' masked sum still carries their masks with site 1.
			let weighted: Vec<Vec<u32>> = [0, 2]
				.iter()
				.map(|i| {
					let (records, model) = &models[*i];
					twinnet_secagg::weighted_update(*records, model, &[0; 4], UPDATE_BOUND).unwrap()
				})
				.collect();
			assert_ne!(ring_sum(&masked), ring_sum(&weighted));
			let before: Vec<u64> = (0..3).map(|n| Balances::balance(&publisher(n))).collect();
			assert_ok!(submit_reveal(reveal(job, 0, &sites[0], &[&sites[1]]), &sites[0]));
			System::assert_last_event(
				Event::SeedsRevealed { job, round: 0, institution: s0 }.into(),
			);
			// One survivor is still to reveal: the round waits.
			assert_eq!(Agenda::<Test>::get().into_inner(), vec![(14, job)]);
			assert_eq!(Federated::round_view(job, 0).unwrap().masking.unwrap().revealed, vec![s0]);
			assert_ok!(submit_reveal(reveal(job, 0, &sites[2], &[&sites[1]]), &sites[2]));
			assert_eq!(Agenda::<Test>::get().into_inner(), vec![(9, job)]);
			run_to_block(9);
			let survivors = [models[0].clone(), models[2].clone()];
			let expected = average(&survivors);
			assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), expected);
			let sum = ring_sum(&masked);
			let leaves: Vec<H256> = masked.iter().map(|m| crate::masked_hash(m)).collect();
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert_eq!(
				record.outcome,
				RoundOutcome::Aggregated {
					aggregate_hash: crate::update_hash(&expected),
					update_root: crate::update_root(&leaves),
					records: 5,
				}
			);
			assert_eq!(record.reporters.to_vec(), vec![s0, s2]);
			let masking = record.masking.unwrap();
			assert_eq!(masking.dropped.to_vec(), vec![s1]);
			// The proof record keeps who revealed once the seeds are gone.
			assert_eq!(masking.revealed.to_vec(), vec![s0, s2]);
			assert_eq!(masking.masked_sum_hash, Some(crate::masked_hash(&sum)));
			assert!(events().contains(&Event::RoundAggregated {
				job,
				round: 0,
				aggregate_hash: crate::update_hash(&expected),
				update_root: crate::update_root(&leaves),
				reporters: vec![s0, s2],
				stragglers: vec![s1],
				records: 5,
				commitment: None,
				masked_sum_hash: Some(crate::masked_hash(&sum)),
			}));
			// Only the survivors are paid; only their cohorts are charged.
			let paid: Vec<DidId> = events()
				.into_iter()
				.filter_map(|e| match e {
					Event::RewardPaid { institution, .. } => Some(institution),
					_ => None,
				})
				.collect();
			assert_eq!(paid, vec![s0, s2]);
			assert_eq!(Balances::balance(&publisher(0)), before[0] + REWARD);
			assert_eq!(Balances::balance(&publisher(1)), before[1]);
			assert_eq!(Balances::balance(&publisher(2)), before[2] + REWARD);
			for twin in sites[0].twins.iter().chain(&sites[2].twins) {
				assert_eq!(grant_of(twin).spent, per_round());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			for twin in &sites[1].twins {
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			assert!(Reveals::<Test>::iter().next().is_none());
			assert!(Updates::<Test>::iter().next().is_none());
			assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed);
		});
	}

	#[test]
	fn a_recovery_without_every_survivor_s_seeds_releases_nothing_and_charges_the_survivors() {
		run_test(|| {
			let sites = three_sites();
			let (s0, s2) = (sites[0].institution, sites[2].institution);
			let (job, _) = in_recovery(&sites, 2);
			let before: Vec<u64> = (0..3).map(|n| Balances::balance(&publisher(n))).collect();
			assert_ok!(submit_reveal(reveal(job, 0, &sites[0], &[&sites[1]]), &sites[0]));
			run_to_block(13);
			assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Recovering { .. }));
			run_to_block(14);
			System::assert_has_event(
				Event::RecoveryFailed { job, round: 0, missing: vec![s2] }.into(),
			);
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert_eq!(record.outcome, RoundOutcome::RecoveryFailed);
			assert_eq!(record.reporters.to_vec(), vec![s0, s2]);
			assert!(Models::<Test>::get(job).is_none());
			assert!(!events()
				.iter()
				.any(|e| matches!(e, Event::RewardPaid { .. } | Event::RoundAggregated { .. })));
			for n in 0..3u8 {
				assert_eq!(Balances::balance(&publisher(n)), before[n as usize]);
			}
			// The survivors' masked updates went out: their cohorts are charged.
			for twin in sites[0].twins.iter().chain(&sites[2].twins) {
				assert_eq!(grant_of(twin).spent, per_round());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			for twin in &sites[1].twins {
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			assert!(Reveals::<Test>::iter().next().is_none());
			assert!(Updates::<Test>::iter().next().is_none());
			let record = Jobs::<Test>::get(job).unwrap();
			assert_eq!(record.state, JobState::Pending);
			assert_eq!(record.failed_in_a_row, 1);
			assert_eq!(record.escrow, REWARD * 6);
			// It retries (max_retries = 1); round 1 fails its recovery too, and the job fails.
			run_to_block(15);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Running { round: 1, deadline: 20 }
			);
			let all: Vec<&Site> = sites.iter().collect();
			let models = first_models();
			for i in [0, 2] {
				let (records, model) = &models[i];
				let update = masked_of(&sites[i], &all, *records, model, &[0; 4]);
				assert_ok!(submit(masked_report(job, 1, &sites[i], *records, &update), &sites[i]));
			}
			run_to_block(21);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Recovering { round: 1, deadline: 26 }
			);
			run_to_block(27);
			System::assert_has_event(
				Event::RecoveryFailed { job, round: 1, missing: vec![s0, s2] }.into(),
			);
			let record = Jobs::<Test>::get(job).unwrap();
			assert_eq!(record.state, JobState::Failed(FailureReason::QuorumNotReached));
			assert_eq!(record.escrow, 0);
			assert_eq!(Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher()), 0);
			for twin in sites[0].twins.iter().chain(&sites[2].twins) {
				assert_eq!(grant_of(twin).spent.epsilon, epsilon(2));
			}
			assert!(Agenda::<Test>::get().is_empty());
		});
	}

	#[test]
	fn a_masked_round_with_too_few_survivors_fails_without_a_recovery() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let job = create(masked_spec(&sites, 1, 3));
			run_to_block(2);
			let (records, model) = &first_models()[0];
			let update = masked_of(&sites[0], &all, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[0], *records, &update), &sites[0]));
			let (records, model) = &first_models()[1];
			let update = masked_of(&sites[1], &all, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[1], *records, &update), &sites[1]));
			run_to_block(8);
			assert!(!events().iter().any(|e| matches!(e, Event::RecoveryStarted { .. })));
			assert_eq!(Rounds::<Test>::get(job, 0).unwrap().outcome, RoundOutcome::NoQuorum);
			assert!(events().contains(&Event::RoundFailed {
				job,
				round: 0,
				reporters: vec![sites[0].institution, sites[1].institution],
				quorum: 3
			}));
			for twin in sites[0].twins.iter().chain(&sites[1].twins) {
				assert_eq!(grant_of(twin).spent, per_round());
			}
			for twin in &sites[2].twins {
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Pending);
		});
	}

	#[test]
	fn reveal_seeds_refuses_what_the_recovery_does_not_expect() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let job = create(masked_spec(&sites, 1, 2));
			run_to_block(2);
			// While the round is open there is nothing to reveal.
			let early = reveal(job, 0, &sites[0], &[&sites[1]]);
			assert_eq!(
				reveal_validity(early.clone(), sign_reveal(&early, &sites[0])).unwrap_err(),
				stale()
			);
			assert_noop!(submit_reveal(early, &sites[0]), Error::<Test>::NotRecovering);
			let models = first_models();
			for i in [0, 2] {
				let (records, model) = &models[i];
				let update = masked_of(&sites[i], &all, *records, model, &[0; 4]);
				assert_ok!(submit(masked_report(job, 0, &sites[i], *records, &update), &sites[i]));
			}
			run_to_block(8);
			assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Recovering { .. }));
			let good = reveal(job, 0, &sites[0], &[&sites[1]]);
			let refused = |reveal: RevealOf<Test>,
			               signer: &Site,
			               error: Error<Test>,
			               pool: TransactionValidityError| {
				assert_eq!(
					reveal_validity(reveal.clone(), sign_reveal(&reveal, signer)).unwrap_err(),
					pool
				);
				assert_noop!(submit_reveal(reveal, signer), error);
			};
			refused(
				reveal(9, 0, &sites[0], &[&sites[1]]),
				&sites[0],
				Error::JobNotFound,
				bad_call(),
			);
			refused(
				reveal(job, 1, &sites[0], &[&sites[1]]),
				&sites[0],
				Error::NotRecovering,
				stale(),
			);
			// The dropped site has no seeds to reveal (and the unreported no update to unmask).
			refused(
				reveal(job, 0, &sites[1], &[&sites[1]]),
				&sites[1],
				Error::NotSurvivor,
				bad_call(),
			);
			refused(reveal(job, 0, &sites[1], &[]), &sites[1], Error::NotSurvivor, bad_call());
			// Seeds must name exactly the dropped, in order.
			refused(reveal(job, 0, &sites[0], &[]), &sites[0], Error::WrongSeeds, bad_call());
			refused(
				reveal(job, 0, &sites[0], &[&sites[2]]),
				&sites[0],
				Error::WrongSeeds,
				bad_call(),
			);
			refused(
				reveal(job, 0, &sites[0], &[&sites[1], &sites[2]]),
				&sites[0],
				Error::WrongSeeds,
				bad_call(),
			);
			refused(
				reveal(job, 0, &sites[0], &[&sites[2], &sites[1]]),
				&sites[0],
				Error::WrongSeeds,
				bad_call(),
			);
			refused(
				reveal(job, 0, &sites[0], &[&sites[1], &sites[1]]),
				&sites[0],
				Error::WrongSeeds,
				bad_call(),
			);
			// Seeds derived for the round as it opened on another fork.
			let mut other_fork = good.clone();
			other_fork.opening_block = sp_core::H256::repeat_byte(0xf0);
			refused(other_fork, &sites[0], Error::WrongFork, stale());
			// Signed by another site's node key.
			refused(
				good.clone(),
				&sites[2],
				Error::BadSignature,
				TransactionValidityError::Invalid(InvalidTransaction::BadProof),
			);
			// The signature covers the seeds: another seed under it is refused.
			let signature = sign_reveal(&good, &sites[0]);
			let mut forged = good.clone();
			forged.seeds[0].1 = [0; 32];
			assert_eq!(
				reveal_validity(forged.clone(), signature.clone()).unwrap_err(),
				TransactionValidityError::Invalid(InvalidTransaction::BadProof)
			);
			assert_noop!(
				Federated::reveal_seeds(authorized(), Box::new(forged), signature.clone()),
				Error::<Test>::BadSignature
			);
			// Not an authorized transaction.
			assert_noop!(
				Federated::reveal_seeds(
					origin(&publisher(0)),
					Box::new(good.clone()),
					signature.clone()
				),
				BadOrigin
			);
			assert_noop!(
				Federated::reveal_seeds(
					RuntimeOrigin::none(),
					Box::new(good.clone()),
					signature.clone()
				),
				BadOrigin
			);
			// The good one: valid until the recovery deadline, then taken once.
			let (valid, _) = reveal_validity(good.clone(), signature.clone()).unwrap();
			assert_eq!(valid.longevity, 13 - 8 + 1);
			assert_eq!(valid.priority, 1_000);
			assert_eq!(valid.provides.len(), 1);
			assert_ok!(Federated::reveal_seeds(authorized(), Box::new(good.clone()), signature));
			assert_eq!(
				Reveals::<Test>::get((job, 0, sites[0].institution)).unwrap().to_vec(),
				vec![(sites[1].institution, pair_seed(&sites[0], &sites[1]))]
			);
			refused(good, &sites[0], Error::AlreadyRevealed, stale());
		});
	}

	#[test]
	fn create_job_refuses_masking_it_cannot_sum_safely() {
		run_test(|| {
			let sites = three_sites();
			let base = masked_spec(&sites, 1, 2);
			let refused = |change: &dyn Fn(&mut JobSpecOf<Test>), error: Error<Test>| {
				let mut spec = base.clone();
				change(&mut spec);
				assert_noop!(Federated::create_job(origin(&researcher()), Box::new(spec)), error);
			};
			// One report's "sum" is the report.
			refused(&|s| s.min_participants = 1, Error::MaskedQuorumTooSmall);
			refused(
				&|s| {
					s.datasets.truncate(1);
					s.min_participants = 1;
				},
				Error::MaskedQuorumTooSmall,
			);
			refused(&|s| s.masking = Some(Masking { update_bound: 0 }), Error::InvalidMasking);
			// Three institutions of at most MaxCohort records each, at the
			// bound, must sum within an i32.
			let largest = i32::MAX as u32 / (3 * MAX_CONTRIBUTORS);
			refused(
				&|s| s.masking = Some(Masking { update_bound: largest + 1 }),
				Error::InvalidMasking,
			);
			refused(
				&|s| s.masking = Some(Masking { update_bound: u32::MAX }),
				Error::InvalidMasking,
			);
			assert!(twinnet_secagg::fits_in_ring(3, MAX_CONTRIBUTORS, largest));
			let mut widest = base.clone();
			widest.masking = Some(Masking { update_bound: largest });
			let job = create(widest);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().spec.masking,
				Some(Masking { update_bound: largest })
			);
		});
	}

	#[test]
	fn create_job_refuses_a_masked_job_with_an_institution_without_an_agreement_key() {
		run_test(|| {
			let sites = three_sites();
			sites[0].add_agreement_key();
			sites[1].add_agreement_key();
			let mut masked = spec(&sites, 1, 2);
			masked.masking = Some(Masking { update_bound: UPDATE_BOUND });
			assert_noop!(
				Federated::create_job(origin(&researcher()), Box::new(masked.clone())),
				Error::<Test>::NoAgreementKey
			);
			// A plain job needs no key; without the keyless site, a masked one is taken.
			create(spec(&sites, 1, 2));
			masked.datasets.truncate(2);
			create(masked);
		});
	}

	#[test]
	fn a_small_order_agreement_key_counts_as_none() {
		run_test(|| {
			let sites = three_sites();
			sites[0].add_agreement_key();
			sites[1].add_agreement_key();
			// Site 2 names p + 1 (≡ 1, order 1) with the top bit set: a seed
			// with it would be public, so the agents could not mask with it.
			let mut small_order = [0xff; 32];
			small_order[0] = 0xee;
			let method = pallet_twins::VerificationMethod {
				fragment: BoundedVec::truncate_from(b"agree".to_vec()),
				key: twinnet_primitives::did::PublicKey::X25519(small_order),
				relationships: twinnet_primitives::did::Relationships {
					key_agreement: true,
					..Default::default()
				},
			};
			assert_ok!(Twins::add_verification_method(
				origin(&publisher(2)),
				sites[2].institution,
				method
			));
			let mut masked = spec(&sites, 1, 2);
			masked.masking = Some(Masking { update_bound: UPDATE_BOUND });
			assert_noop!(
				Federated::create_job(origin(&researcher()), Box::new(masked)),
				Error::<Test>::NoAgreementKey
			);
		});
	}

	#[test]
	fn a_report_must_carry_the_contribution_its_job_asks_for() {
		run_test(|| {
			let sites = three_sites();
			let masked_job = create(masked_spec(&sites, 1, 2));
			let plain_job = create(spec(&sites, 1, 2));
			run_to_block(2);
			assert_ok!(accept(masked_job, 0, &sites[0]));
			assert_ok!(accept(plain_job, 0, &sites[0]));
			let plain = report(masked_job, 0, &sites[0], 3, &params(1));
			assert_eq!(report_validity(plain.clone(), &sites[0]).unwrap_err(), bad_call());
			assert_noop!(submit(plain, &sites[0]), Error::<Test>::WrongContribution);
			let masked = masked_report(plain_job, 0, &sites[0], 3, &[1; 4]);
			assert_eq!(report_validity(masked.clone(), &sites[0]).unwrap_err(), bad_call());
			assert_noop!(submit(masked, &sites[0]), Error::<Test>::WrongContribution);
			assert_noop!(
				submit(masked_report(masked_job, 0, &sites[0], 3, &[1; 3]), &sites[0]),
				Error::<Test>::WrongParameterCount
			);
			assert_ok!(submit(masked_report(masked_job, 0, &sites[0], 3, &[1; 4]), &sites[0]));
			assert_ok!(submit(report(plain_job, 0, &sites[0], 3, &params(1)), &sites[0]));
		});
	}

	#[test]
	fn an_institution_whose_agreement_key_was_removed_sits_the_masked_round_out() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites[..2].iter().collect();
			let job = create(masked_spec(&sites, 1, 2));
			assert_ok!(Twins::remove_verification_method(
				origin(&publisher(2)),
				sites[2].institution,
				BoundedVec::truncate_from(b"agree".to_vec())
			));
			run_to_block(2);
			let cohort = Cohorts::<Test>::get((job, 0, sites[2].institution)).unwrap();
			assert_eq!(cohort.status, CohortStatus::NoAgreementKey);
			// Nothing of it is reserved, and its twins are not used.
			for twin in &sites[2].twins {
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
				assert_eq!(
					Federated::twin_usage(job, 0, twin),
					crate::TwinUsage::NotUsed { institution: sites[2].institution }
				);
			}
			assert!(events().contains(&Event::CohortSatOut {
				job,
				round: 0,
				institution: sites[2].institution,
				status: CohortStatus::NoAgreementKey,
			}));
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert_eq!(record.expected.to_vec(), vec![sites[0].institution, sites[1].institution]);
			assert_eq!(record.admitted_twins, 6);
			assert_eq!(
				record.masking.unwrap().agreement_keys.to_vec(),
				vec![
					(sites[0].institution, sites[0].agreement_key()),
					(sites[1].institution, sites[1].agreement_key())
				]
			);
			assert_noop!(
				submit(masked_report(job, 0, &sites[2], 1, &[1; 4]), &sites[2]),
				Error::<Test>::NotExpected
			);
			// The two expected sites mask with each other only, and aggregate.
			let models = first_models();
			for (site, (records, model)) in sites[..2].iter().zip(&models) {
				let update = masked_of(site, &all, *records, model, &[0; 4]);
				assert_ok!(submit(masked_report(job, 0, site, *records, &update), site));
			}
			let before = Balances::balance(&publisher(2));
			run_to_block(3);
			assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), average(&models[..2]));
			assert_eq!(Balances::balance(&publisher(2)), before);
			for twin in &sites[2].twins {
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
		});
	}

	#[test]
	fn cancelling_during_a_recovery_lets_it_finish_then_ends_the_job() {
		run_test(|| {
			let sites = three_sites();
			let (job, _) = in_recovery(&sites, 2);
			assert_ok!(submit_reveal(reveal(job, 0, &sites[0], &[&sites[1]]), &sites[0]));
			let before: Vec<u64> = (0..3).map(|n| Balances::balance(&publisher(n))).collect();
			assert_ok!(Federated::cancel_job(origin(&researcher()), job));
			System::assert_last_event(Event::CancellationRequested { job, round: 0 }.into());
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Recovering { round: 0, deadline: 13 }
			);
			// The last survivor's reveal, in the pool at the cancel, counts.
			assert_ok!(submit_reveal(reveal(job, 0, &sites[2], &[&sites[1]]), &sites[2]));
			run_to_block(20);
			assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Cancelled);
			assert!(Reveals::<Test>::iter().next().is_none());
			assert!(Updates::<Test>::iter().next().is_none());
			assert!(Agenda::<Test>::get().is_empty());
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert!(
				matches!(record.outcome, RoundOutcome::Aggregated { .. }),
				"{:?}",
				record.outcome
			);
			assert_eq!(record.reporters.to_vec(), vec![sites[0].institution, sites[2].institution]);
			assert!(Models::<Test>::get(job).is_some());
			assert!(Rounds::<Test>::get(job, 1).is_none());
			assert_eq!(Balances::balance(&publisher(0)), before[0] + REWARD);
			assert_eq!(Balances::balance(&publisher(1)), before[1]);
			assert_eq!(Balances::balance(&publisher(2)), before[2] + REWARD);
			for twin in sites[0].twins.iter().chain(&sites[2].twins) {
				assert_eq!(grant_of(twin).spent, per_round());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			for twin in &sites[1].twins {
				assert_eq!(grant_of(twin).spent, PrivacyBudget::default());
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			// Of six rewards: two paid, site 1's returned as the round
			// closed, round 1's three now.
			assert!(events().contains(&Event::JobEnded {
				job,
				state: JobState::Cancelled,
				refunded: REWARD * 3
			}));
			assert_eq!(Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher()), 0);
		});
	}

	#[test]
	fn seeds_revealed_in_one_job_do_not_close_another_job_s_recovery() {
		run_test(|| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let first = create(masked_spec(&sites, 1, 2));
			let second = create(crate::JobSpec {
				masking: Some(Masking { update_bound: UPDATE_BOUND }),
				..spec(&sites, 1, 2)
			});
			run_to_block(2);
			let models = first_models();
			for job in [first, second] {
				for i in [0, 2] {
					let (records, model) = &models[i];
					let update = masked_of(&sites[i], &all, *records, model, &[0; 4]);
					assert_ok!(submit(
						masked_report(job, 0, &sites[i], *records, &update),
						&sites[i]
					));
				}
			}
			run_to_block(8);
			for job in [first, second] {
				assert_eq!(
					Jobs::<Test>::get(job).unwrap().state,
					JobState::Recovering { round: 0, deadline: 13 }
				);
			}
			// A reveal signed for the first job does not pass for the second.
			let revealed = reveal(first, 0, &sites[0], &[&sites[1]]);
			let signature = sign_reveal(&revealed, &sites[0]);
			let mut replayed = revealed.clone();
			replayed.job = second;
			assert_noop!(
				Federated::reveal_seeds(authorized(), Box::new(replayed), signature.clone()),
				Error::<Test>::BadSignature
			);
			assert_ok!(Federated::reveal_seeds(authorized(), Box::new(revealed), signature));
			assert_ok!(submit_reveal(reveal(first, 0, &sites[2], &[&sites[1]]), &sites[2]));
			assert_ok!(submit_reveal(reveal(second, 0, &sites[0], &[&sites[1]]), &sites[0]));
			run_to_block(9);
			let expected = average(&[models[0].clone(), models[2].clone()]);
			assert_eq!(Models::<Test>::get(first).unwrap().to_vec(), expected);
			assert_eq!(Jobs::<Test>::get(first).unwrap().state, JobState::Completed);
			// The second still waits for site 2, and fails without it.
			assert!(matches!(
				Jobs::<Test>::get(second).unwrap().state,
				JobState::Recovering { .. }
			));
			assert_eq!(
				Reveals::<Test>::iter_keys().collect::<Vec<_>>(),
				vec![(second, 0, sites[0].institution)]
			);
			run_to_block(14);
			assert_eq!(
				Rounds::<Test>::get(second, 0).unwrap().outcome,
				RoundOutcome::RecoveryFailed
			);
			assert!(Models::<Test>::get(second).is_none());
		});
	}

	#[test]
	fn a_masked_round_opened_over_several_blocks_snapshots_the_keys_and_recovers() {
		run_test(|| {
			CohortsPerStep::set(1);
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let job = create(masked_spec(&sites, 1, 2));
			run_to_block(3);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Opening { round: 0, admitted: 2 }
			);
			// Site 1 loses its key after its cohort was offered, before the round opens.
			assert_ok!(Twins::remove_verification_method(
				origin(&publisher(1)),
				sites[1].institution,
				BoundedVec::truncate_from(b"agree".to_vec())
			));
			let offered = Cohorts::<Test>::get((job, 0, sites[1].institution)).unwrap();
			assert_eq!(offered.status, CohortStatus::Offered);
			run_to_block(4);
			assert_eq!(
				Jobs::<Test>::get(job).unwrap().state,
				JobState::Running { round: 0, deadline: 9 }
			);
			let record = Rounds::<Test>::get(job, 0).unwrap();
			assert_eq!(record.expected.to_vec(), vec![sites[0].institution, sites[2].institution]);
			assert_eq!(
				record.masking.unwrap().agreement_keys.to_vec(),
				vec![
					(sites[0].institution, sites[0].agreement_key()),
					(sites[2].institution, sites[2].agreement_key())
				]
			);
			// Nothing of it was reserved.
			for twin in &sites[1].twins {
				assert_eq!(grant_of(twin).reserved, PrivacyBudget::default());
			}
			assert_eq!(
				Cohorts::<Test>::get((job, 0, sites[1].institution)).unwrap().status,
				CohortStatus::NoAgreementKey
			);
			let expected: Vec<&Site> = vec![all[0], all[2]];
			let models = first_models();
			let (records, model) = &models[0];
			let update = masked_of(&sites[0], &expected, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[0], *records, &update), &sites[0]));
			let (records, model) = &models[2];
			let update = masked_of(&sites[2], &expected, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[2], *records, &update), &sites[2]));
			run_to_block(5);
			let expected = average(&[models[0].clone(), models[2].clone()]);
			assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), expected);
			CohortsPerStep::set(3);
		});
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(32))]

		/// A masked job of two rounds on the three sites, quorum 2: in each
		/// round every site moves the model by a random change within the
		/// bound, with random records, and at most one random site drops
		/// (its survivors reveal their seeds). Each round's aggregate is the
		/// FedAvg of the reporters' models, to the bit.
		#[test]
		fn a_recovered_aggregate_is_the_fed_avg_of_the_survivors_models(
			deltas in proptest::collection::vec(
				proptest::collection::vec(-(UPDATE_BOUND as i32)..=UPDATE_BOUND as i32, 4),
				6,
			),
			records in proptest::collection::vec(1u32..=3, 6),
			dropped in proptest::collection::vec(proptest::option::of(0usize..3), 2),
		) {
			run_test(|| {
				let sites = three_sites();
				let all: Vec<&Site> = sites.iter().collect();
				let job = create(masked_spec(&sites, 2, 2));
				let mut open = 2;
				for round in 0..2u32 {
					run_to_block(open);
					assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Running { .. }));
					let start = Models::<Test>::get(job).map(|m| m.to_vec()).unwrap_or(vec![0; 4]);
					let drop = dropped[round as usize];
					let mut reported = Vec::new();
					for (i, site) in sites.iter().enumerate() {
						let k = round as usize * 3 + i;
						let n = records[k].min(site.twins.len() as u32);
						let model: Vec<i32> = start.iter().zip(&deltas[k]).map(|(s, d)| s + d).collect();
						if drop == Some(i) {
							continue;
						}
						let update = masked_of(site, &all, n, &model, &start);
						assert_ok!(submit(masked_report(job, round, site, n, &update), site));
						reported.push((n, model));
					}
					let closed = match drop {
						None => open + 1,
						Some(d) => {
							run_to_block(open + 6);
							assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Recovering { .. }));
							for site in sites.iter().filter(|site| site.n != sites[d].n) {
								assert_ok!(submit_reveal(reveal(job, round, site, &[&sites[d]]), site));
							}
							open + 7
						},
					};
					run_to_block(closed);
					assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), average(&reported));
					open = closed + 1;
				}
				assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed);
			});
		}
	}
}

mod masked_offchain_worker {
	use super::offchain_worker::{
		answered, dispatch_request, get, set_agent, take_call, with_offchain, AGENT,
	};
	use super::secure_aggregation::{average, first_models, masked_of, submit_reveal};
	use super::*;
	use codec::Encode;

	#[test]
	fn a_node_reports_a_masked_update_and_reveals_its_seeds_in_recovery() {
		with_offchain(|offchain, pool| {
			let sites = three_sites();
			let all: Vec<&Site> = sites.iter().collect();
			let job = create(masked_spec(&sites, 1, 2));
			run_to_block(2);
			set_agent(AGENT);
			let did = twinnet_primitives::did::format_did(&sites[0].institution);
			offchain.write().expect_request(dispatch_request(job, &sites[0].institution));
			Federated::run_offchain_worker(2);
			assert!(pool.read().transactions.is_empty());
			// The agent's masked update, SCALE (records, opening block, masked words).
			let models = first_models();
			let (records, model) = &models[0];
			let masked = masked_of(&sites[0], &all, *records, model, &[0; 4]);
			let opening = opening_block(job, 0).0;
			let ready =
				|| get(format!("{job}/0/{did}"), (*records, opening, masked.clone()).encode());
			offchain.write().expect_request(ready());
			Federated::run_offchain_worker(3);
			let call = take_call(pool);
			let Call::accept_cohort { acceptance, signature } = call.clone() else {
				panic!("an acceptance")
			};
			assert_ok!(Federated::accept_cohort(authorized(), acceptance, signature));
			offchain.write().expect_request(ready());
			Federated::run_offchain_worker(4);
			let call = take_call(pool);
			let Call::submit_update { report, signature } = call.clone() else {
				panic!("a report")
			};
			assert_eq!(report.institution, sites[0].institution);
			assert_eq!(report.records, *records);
			assert_eq!(
				report.update,
				crate::Contribution::Masked(BoundedVec::truncate_from(masked.clone()))
			);
			assert!(call.authorize(TransactionSource::Local).unwrap().is_ok());
			assert_ok!(Federated::submit_update(authorized(), report, signature));
			// Site 1 reports from its own node; site 2 drops.
			let (records, model) = &models[1];
			let update = masked_of(&sites[1], &all, *records, model, &[0; 4]);
			assert_ok!(submit(masked_report(job, 0, &sites[1], *records, &update), &sites[1]));
			run_to_block(8);
			assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Recovering { .. }));
			// The agent reveals nothing before the recovery is final on its
			// node (409): nothing is submitted, and it is asked again.
			let seeds_path = format!("{job}/0/{did}/seeds");
			let not_final = b"the round is not recovering".to_vec();
			offchain
				.write()
				.expect_request(answered(409, get(seeds_path.clone(), not_final)));
			Federated::run_offchain_worker(8);
			assert!(pool.read().transactions.is_empty());
			// Seeds derived for the round as it opened on another fork are
			// not revealed.
			let seeds =
				vec![(sites[2].institution.to_fixed_bytes(), pair_seed(&sites[0], &sites[2]))];
			offchain
				.write()
				.expect_request(get(seeds_path.clone(), ([0xf0; 32], &seeds).encode()));
			Federated::run_offchain_worker(9);
			assert!(pool.read().transactions.is_empty());
			// Then it reveals its seed with site 2, SCALE (opening block, [(dropped, seed)]).
			offchain.write().expect_request(get(seeds_path, (opening, &seeds).encode()));
			Federated::run_offchain_worker(10);
			let call = take_call(pool);
			let Call::reveal_seeds { reveal: revealed, signature } = call.clone() else {
				panic!("a reveal")
			};
			assert_eq!(*revealed, reveal(job, 0, &sites[0], &[&sites[2]]));
			assert!(call.authorize(TransactionSource::Local).unwrap().is_ok());
			assert_ok!(Federated::reveal_seeds(authorized(), revealed, signature));
			// Nothing more for this node (an unexpected request would fail the test).
			Federated::run_offchain_worker(11);
			assert!(pool.read().transactions.is_empty());
			assert_ok!(submit_reveal(reveal(job, 0, &sites[1], &[&sites[2]]), &sites[1]));
			run_to_block(9);
			assert_eq!(Models::<Test>::get(job).unwrap().to_vec(), average(&models[..2]));
			assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed);
		});
	}
}

// ---- migration ---------------------------------------------------------------------

/// The version-0 encoding of a job (what it was before secure aggregation).
fn job_v0(job: crate::JobOf<Test>) -> crate::migrations::v0::Job<Test> {
	let spec = job.spec;
	assert_eq!(spec.masking, None, "version 0 had no masked job");
	crate::migrations::v0::Job {
		researcher: job.researcher,
		spec: crate::migrations::v0::JobSpec {
			model: spec.model,
			model_did: spec.model_did,
			datasets: spec.datasets,
			code_hash: spec.code_hash,
			purpose: spec.purpose,
			rounds: spec.rounds,
			min_participants: spec.min_participants,
			round_timeout: spec.round_timeout,
			max_retries: spec.max_retries,
			training: spec.training,
			per_round: spec.per_round,
			reward_per_update: spec.reward_per_update,
		},
		participants: job.participants,
		state: job.state,
		next_round: job.next_round,
		completed_rounds: job.completed_rounds,
		failed_in_a_row: job.failed_in_a_row,
		escrow: job.escrow,
		deposit: job.deposit,
		created_at: job.created_at,
		last_commitment: job.last_commitment,
	}
}

#[test]
fn migration_to_v1_keeps_every_job_round_and_update_of_a_running_job() {
	use crate::migrations::{v0, MigrateToV1};
	use frame_support::{
		storage::unhashed,
		traits::{Get, GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
	};
	run_test(|| {
		let sites = three_sites();
		let job = create(spec(&sites, 2, 2));
		run_to_block(2);
		report_all(job, 0, &[&sites[0], &sites[1], &sites[2]], 7);
		run_to_block(4);
		// Round 1 is open with two of three reports in.
		report_all(job, 1, &[&sites[0], &sites[1]], 9);
		let jobs: Vec<_> = Jobs::<Test>::iter().collect();
		let mut rounds: Vec<_> = Rounds::<Test>::iter().collect();
		let updates: Vec<_> = Updates::<Test>::iter().collect();
		assert_eq!((jobs.len(), rounds.len(), updates.len()), (1, 2, 2));
		// Version 0 did not record the opening block: the migration takes it
		// from the hashes the chain still keeps. The open round's parent is
		// kept; the closed round's is taken as pruned, and becomes zero.
		for (_, round, record) in rounds.iter_mut() {
			if *round == 1 {
				frame_system::BlockHash::<Test>::insert(record.opened_at - 1, record.opening_block);
			} else {
				record.opening_block = sp_core::H256::zero();
			}
		}

		// The same records as version 0 wrote them.
		for (id, record) in &jobs {
			unhashed::put(&Jobs::<Test>::hashed_key_for(id), &job_v0(record.clone()));
		}
		for (id, round, record) in &rounds {
			assert_eq!(record.masking, None);
			let old = v0::Round::<Test> {
				opened_at: record.opened_at,
				deadline: record.deadline,
				start_model: record.start_model,
				expected: record.expected.clone(),
				reporters: record.reporters.clone(),
				admitted_twins: record.admitted_twins,
				excluded_twins: record.excluded_twins,
				outcome: record.outcome.clone(),
				commitment: record.commitment,
			};
			unhashed::put(&Rounds::<Test>::hashed_key_for(id, round), &old);
		}
		for ((id, round, institution), record) in &updates {
			let crate::Contribution::Model(parameters) = record.update.clone() else {
				panic!("a plain job's update is a model")
			};
			let old = v0::Update::<Test> { records: record.records, parameters };
			unhashed::put(&Updates::<Test>::hashed_key_for((id, round, institution)), &old);
		}
		StorageVersion::new(0).put::<crate::Pallet<Test>>();
		// Version 1 cannot read the old updates: their layout changed.
		assert_eq!(Updates::<Test>::iter().count(), 0);

		let weight = MigrateToV1::<Test>::on_runtime_upgrade();
		let db: frame_support::weights::RuntimeDbWeight =
			<Test as frame_system::Config>::DbWeight::get();
		// Read and written: one job, two rounds, two updates (and the version).
		assert!(weight.all_gte(db.reads_writes(5, 5)), "{weight:?}");
		assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), StorageVersion::new(1));
		assert_eq!(Jobs::<Test>::iter().collect::<Vec<_>>(), jobs);
		assert_eq!(Rounds::<Test>::iter().collect::<Vec<_>>(), rounds);
		assert_eq!(Updates::<Test>::iter().collect::<Vec<_>>(), updates);
		// Once only.
		MigrateToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Updates::<Test>::iter().collect::<Vec<_>>(), updates);

		// The migrated job goes on: round 1 closes at its deadline with the
		// two reports, the third institution a straggler, and completes.
		run_to_block(10);
		let round = Rounds::<Test>::get(job, 1).unwrap();
		assert!(matches!(round.outcome, RoundOutcome::Aggregated { records: 6, .. }), "{round:?}");
		assert_eq!(round.reporters.len(), 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed);
	});
}
