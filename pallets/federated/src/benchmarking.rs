//! Benchmarks of pallet-federated (frame-benchmarking v2), each at its worst
//! case: every dataset with the most contributors, every participant
//! admitted and reporting, models of the most parameters.

use super::*;
use crate::Pallet as Federated;
use alloc::{boxed::Box, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::TransactionSource,
	traits::{fungible::Mutate, Authorize, Get, Hooks},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating},
	FixedU64, Perbill, Perquintill,
};
use twinnet_primitives::{
	consent::{PrivacyBudget, Purpose},
	did::DidId,
};

const CODE: H256 = H256::repeat_byte(0xc0);

/// The researcher, funded for licences, escrow and deposits.
fn researcher<T: Config>() -> T::AccountId {
	let researcher: T::AccountId = account("researcher", 0, 0);
	let plenty = BalanceOf::<T>::from(u32::MAX).saturating_mul(BalanceOf::<T>::from(u32::MAX));
	T::Currency::set_balance(&researcher, plenty);
	researcher
}

/// `d` licensed datasets of `c` contributors each: (dataset, licence, institution).
fn sites<T: Config>(
	researcher: &T::AccountId,
	d: u32,
	c: u32,
) -> Vec<(DidId, twinnet_primitives::datasets::LicenceId, DidId)> {
	(0..d)
		.map(|seed| T::BenchmarkHelper::licensed_dataset(researcher, seed, c, CODE))
		.collect()
}

/// A job of two rounds over `sites`, all of them needed, training a
/// logistic regression with `parameters` parameters.
fn spec<T: Config>(
	sites: &[(DidId, twinnet_primitives::datasets::LicenceId, DidId)],
	parameters: u32,
) -> JobSpecOf<T> {
	JobSpec {
		model: ModelKind::LogisticRegression { features: parameters.saturating_sub(1) },
		model_did: None,
		datasets: BoundedVec::truncate_from(
			sites
				.iter()
				.map(|(dataset, licence, _)| DatasetLicence {
					dataset: *dataset,
					licence: *licence,
				})
				.collect(),
		),
		code_hash: CODE,
		purpose: Purpose::ModelTraining,
		rounds: 2,
		min_participants: sites.len() as u32,
		round_timeout: T::MinRoundTimeout::get(),
		max_retries: 0,
		training: Training {
			learning_rate: FixedU64::from_rational(1, 10),
			local_steps: 10,
			clip_norm: FixedU64::from_u32(1),
			noise_multiplier: FixedU64::from_rational(11, 10),
			sampling_rate: Perbill::from_percent(10),
		},
		per_round: PrivacyBudget {
			epsilon: FixedU64::from_rational(1, 100),
			delta: Perquintill::from_parts(1),
		},
		reward_per_update: 1_000u32.into(),
		masking: None,
	}
}

/// A posted job (id 0) over `d` datasets of `c` contributors, its model of
/// `p` parameters.
fn posted<T: Config>(
	d: u32,
	c: u32,
	p: u32,
) -> Result<
	(T::AccountId, Vec<(DidId, twinnet_primitives::datasets::LicenceId, DidId)>),
	BenchmarkError,
> {
	let researcher = researcher::<T>();
	let sites = sites::<T>(&researcher, d, c);
	Federated::<T>::create_job(
		RawOrigin::Signed(researcher.clone()).into(),
		Box::new(spec::<T>(&sites, p)),
	)
	.map_err(|_| BenchmarkError::Stop("the job cannot be posted"))?;
	Ok((researcher, sites))
}

/// Opens job 0's first round (in as many steps as it takes), every cohort
/// accepted (its budgets reserved), as once every node's agent trained.
fn opened<T: Config>() -> Result<JobOf<T>, BenchmarkError> {
	let job = offered::<T>()?;
	let opening_block = Rounds::<T>::get(0, 0).map(|round| round.opening_block).unwrap_or_default();
	for participant in &job.participants {
		let key = (0, 0, participant.institution);
		let offered = Cohorts::<T>::get(key).filter(|c| c.status == CohortStatus::Offered);
		if let Some(cohort) = offered {
			let institution = participant.institution;
			let acceptance = Acceptance { job: 0, round: 0, opening_block, institution };
			Federated::<T>::accept(&acceptance, &job, cohort);
		}
	}
	Jobs::<T>::get(0).ok_or(BenchmarkError::Stop("no job"))
}

/// Opens job 0's first round (in as many steps as it takes), its cohorts
/// offered.
fn offered<T: Config>() -> Result<JobOf<T>, BenchmarkError> {
	let mut job = Jobs::<T>::get(0).ok_or(BenchmarkError::Stop("no job"))?;
	let now = frame_system::Pallet::<T>::block_number();
	for _ in 0..=T::MaxDatasets::get() {
		if matches!(job.state, JobState::Running { .. }) {
			break;
		}
		Federated::<T>::open_round(0, &mut job, now);
	}
	let job = Jobs::<T>::get(0).ok_or(BenchmarkError::Stop("no job"))?;
	if !matches!(job.state, JobState::Running { .. }) {
		return Err(BenchmarkError::Stop("the round did not open"));
	}
	Ok(job)
}

/// Every participant's update of `p` parameters in job 0's round 0.
fn all_reported<T: Config>(job: &JobOf<T>, p: u32) {
	for (index, participant) in job.participants.iter().enumerate() {
		let cohort = Cohorts::<T>::get((0, 0, participant.institution)).map(|c| c.admitted.len());
		let update = Update {
			records: cohort.unwrap_or(1) as u32,
			update: Contribution::Model(BoundedVec::truncate_from(vec![
				index as i32 * 1_000 - 77;
				p as usize
			])),
		};
		Updates::<T>::insert((0, 0, participant.institution), update);
	}
}

/// A report of institution `site` in round 0 of job 0, and its signature.
fn signed_report<T: Config>(
	institution: &DidId,
	seed: u32,
	p: u32,
) -> (ReportOf<T>, twinnet_primitives::did::DidSignature) {
	let opening_block = Rounds::<T>::get(0, 0).map(|round| round.opening_block).unwrap_or_default();
	let report = Report {
		job: 0,
		round: 0,
		opening_block,
		institution: *institution,
		records: 2,
		update: Contribution::Model(BoundedVec::truncate_from(vec![-12_345; p as usize])),
	};
	let signature = T::BenchmarkHelper::sign_as(
		institution,
		seed,
		&report.message(Federated::<T>::genesis_hash()),
	);
	(report, signature)
}

/// Job 0 over `MaxDatasets` datasets, masked and in recovery of round 0
/// with its last `r` institutions dropped and every other survivor but the
/// first revealed: the first survivor's reveal, signed, is the last one
/// the round waits for.
fn recovering<T: Config>(
	r: u32,
) -> Result<(RevealOf<T>, twinnet_primitives::did::DidSignature), BenchmarkError> {
	let d = T::MaxDatasets::get();
	posted::<T>(d, 2, 2)?;
	let mut job = opened::<T>()?;
	let institutions: Vec<DidId> = job.participants.iter().map(|p| p.institution).collect();
	let survivors = d.saturating_sub(r) as usize;
	let (reporters, dropped) = institutions.split_at(survivors.min(institutions.len()));
	let now = frame_system::Pallet::<T>::block_number();
	job.spec.masking = Some(Masking { update_bound: 1 });
	job.state = JobState::Recovering { round: 0, deadline: now.saturating_add(One::one()) };
	Jobs::<T>::insert(0, job);
	let mut round = Rounds::<T>::get(0, 0).ok_or(BenchmarkError::Stop("no round"))?;
	round.reporters = BoundedVec::truncate_from(reporters.to_vec());
	round.masking = Some(MaskedRound {
		agreement_keys: BoundedVec::truncate_from(
			institutions.iter().map(|institution| (*institution, [9u8; 32])).collect(),
		),
		dropped: BoundedVec::truncate_from(dropped.to_vec()),
		revealed: BoundedVec::truncate_from(reporters.iter().skip(1).copied().collect()),
		recovery_deadline: Some(now.saturating_add(One::one())),
		masked_sum_hash: Some(H256::repeat_byte(2)),
	});
	let opening_block = round.opening_block;
	Rounds::<T>::insert(0, 0, round);
	let seeds: SeedsOf<T> =
		BoundedVec::truncate_from(dropped.iter().map(|dropped| (*dropped, [7u8; 32])).collect());
	for survivor in reporters.iter().skip(1) {
		Reveals::<T>::insert((0, 0, *survivor), seeds.clone());
	}
	let first = *reporters.first().ok_or(BenchmarkError::Stop("no survivor"))?;
	let reveal = Reveal { job: 0, round: 0, opening_block, institution: first, seeds };
	let signature =
		T::BenchmarkHelper::sign_as(&first, 0, &reveal.message(Federated::<T>::genesis_hash()));
	Ok((reveal, signature))
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_job(d: Linear<1, { T::MaxDatasets::get() }>) -> Result<(), BenchmarkError> {
		let researcher = researcher::<T>();
		let sites = sites::<T>(&researcher, d, T::MaxCohort::get());
		let spec = spec::<T>(&sites, T::MaxParameters::get());

		#[extrinsic_call]
		_(RawOrigin::Signed(researcher), Box::new(spec));

		assert!(Jobs::<T>::get(0).is_some_and(|job| job.participants.len() as u32 == d));
		Ok(())
	}

	#[benchmark]
	fn cancel_job(d: Linear<1, { T::MaxDatasets::get() }>) -> Result<(), BenchmarkError> {
		let (researcher, _) = posted::<T>(d, T::MaxCohort::get(), T::MaxParameters::get())?;
		// The heaviest cancel: while the round opens, with every cohort
		// admitted (each reservation returned, each cohort removed). With
		// the round open, a cancel only marks the job.
		let mut job = opened::<T>()?;
		Rounds::<T>::remove(0, 0);
		job.state = JobState::Opening { round: 0, admitted: d };
		Jobs::<T>::insert(0, &job);

		#[extrinsic_call]
		_(RawOrigin::Signed(researcher), 0);

		assert!(Jobs::<T>::get(0).is_some_and(|job| job.state == JobState::Cancelled));
		assert!(Cohorts::<T>::iter().next().is_none());
		Ok(())
	}

	#[benchmark]
	fn submit_update(p: Linear<1, { T::MaxParameters::get() }>) -> Result<(), BenchmarkError> {
		let (_, sites) = posted::<T>(1, 2, p.max(2))?;
		opened::<T>()?;
		let (report, signature) = signed_report::<T>(&sites[0].2, 0, p.max(2));

		#[extrinsic_call]
		_(RawOrigin::Authorized, Box::new(report), signature);

		assert!(Updates::<T>::contains_key((0, 0, sites[0].2)));
		Ok(())
	}

	#[benchmark]
	fn authorize_submit_update(
		p: Linear<1, { T::MaxParameters::get() }>,
	) -> Result<(), BenchmarkError> {
		let (_, sites) = posted::<T>(1, 2, p.max(2))?;
		opened::<T>()?;
		let (report, signature) = signed_report::<T>(&sites[0].2, 0, p.max(2));
		let call = Call::<T>::submit_update { report: Box::new(report), signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or(BenchmarkError::Stop("the call is not authorized"))?
				.map_err(|_| BenchmarkError::Stop("the report is refused"))?;
		}

		Ok(())
	}

	/// Accepting a cohort of `c` twins, each reserved (a dataset's floor is
	/// two contributors).
	#[benchmark]
	fn accept_cohort(c: Linear<2, { T::MaxCohort::get() }>) -> Result<(), BenchmarkError> {
		let (_, sites) = posted::<T>(1, c, 2)?;
		offered::<T>()?;
		let institution = sites[0].2;
		let opening_block =
			Rounds::<T>::get(0, 0).map(|round| round.opening_block).unwrap_or_default();
		let acceptance = Acceptance { job: 0, round: 0, opening_block, institution };
		let signature = T::BenchmarkHelper::sign_as(
			&institution,
			0,
			&acceptance.message(Federated::<T>::genesis_hash()),
		);

		#[extrinsic_call]
		_(RawOrigin::Authorized, acceptance, signature);

		assert!(Cohorts::<T>::get((0, 0, institution))
			.is_some_and(|cohort| cohort.status == CohortStatus::Admitted));
		Ok(())
	}

	/// The last reveal of a recovery with `r` institutions dropped (each a
	/// seed revealed) and the others survivors (each a reveal read).
	#[benchmark]
	fn reveal_seeds(r: Linear<1, { T::MaxDatasets::get() - 1 }>) -> Result<(), BenchmarkError> {
		let (reveal, signature) = recovering::<T>(r)?;
		let survivor = reveal.institution;

		#[extrinsic_call]
		_(RawOrigin::Authorized, Box::new(reveal), signature);

		assert!(Reveals::<T>::contains_key((0, 0, survivor)));
		Ok(())
	}

	#[benchmark]
	fn authorize_reveal_seeds(
		r: Linear<1, { T::MaxDatasets::get() - 1 }>,
	) -> Result<(), BenchmarkError> {
		let (reveal, signature) = recovering::<T>(r)?;
		let call = Call::<T>::reveal_seeds { reveal: Box::new(reveal), signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or(BenchmarkError::Stop("the call is not authorized"))?
				.map_err(|_| BenchmarkError::Stop("the reveal is refused"))?;
		}

		Ok(())
	}

	/// The last step of opening a round of `d` participants: the last
	/// batch of cohorts admitted, then the round opened over all `d`.
	#[benchmark]
	fn open_round(d: Linear<1, { T::MaxDatasets::get() }>) -> Result<(), BenchmarkError> {
		posted::<T>(d, T::MaxCohort::get(), 2)?;
		let now = frame_system::Pallet::<T>::block_number();
		let batch = T::MaxCohortsPerStep::get().max(1);
		let mut job = Jobs::<T>::get(0).ok_or(BenchmarkError::Stop("no job"))?;
		loop {
			let admitted = match job.state {
				JobState::Opening { admitted, .. } => admitted,
				_ => 0,
			};
			if d.saturating_sub(admitted) <= batch {
				break;
			}
			Federated::<T>::open_round(0, &mut job, now);
		}

		#[block]
		{
			Federated::<T>::open_round(0, &mut job, now);
		}

		assert!(matches!(job.state, JobState::Running { .. }));
		Ok(())
	}

	#[benchmark]
	fn close_round(
		d: Linear<1, { T::MaxDatasets::get() }>,
		p: Linear<1, { T::MaxParameters::get() }>,
	) -> Result<(), BenchmarkError> {
		posted::<T>(d, T::MaxCohort::get(), p.max(2))?;
		let mut job = opened::<T>()?;
		all_reported::<T>(&job, p.max(2));
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Federated::<T>::close_round(0, 0, &mut job, now);
		}

		assert!(Models::<T>::contains_key(0));
		Ok(())
	}

	/// Removing `r` revealed pair masks of `p` words from a masked sum: what
	/// closing a recovered masked round adds to closing a plain one.
	#[benchmark]
	fn unmask_sum(
		r: Linear<0, { T::MaxDatasets::get() * T::MaxDatasets::get() / 4 }>,
		p: Linear<0, { T::MaxParameters::get() }>,
	) {
		let mut sum = vec![7u32; p as usize];
		let survivor = [1u8; 32];
		let seeds: Vec<([u8; 32], [u8; 32])> = (0..r).map(|i| ([2u8; 32], [i as u8; 32])).collect();

		#[block]
		{
			for (dropped, seed) in &seeds {
				twinnet_secagg::remove_pair_mask(&mut sum, seed, &survivor, dropped);
			}
		}

		assert_eq!(sum.len() as u32, p);
	}

	#[benchmark]
	fn on_initialize_idle() -> Result<(), BenchmarkError> {
		let now = frame_system::Pallet::<T>::block_number();
		let later = now.saturating_add(BlockNumberFor::<T>::one());
		let agenda: Vec<_> =
			(0..T::MaxActiveJobs::get()).map(|job| (later, job as JobId)).collect();
		Agenda::<T>::put(BoundedVec::truncate_from(agenda));

		#[block]
		{
			Federated::<T>::on_initialize(now);
		}

		assert_eq!(Agenda::<T>::get().len() as u32, T::MaxActiveJobs::get());
		Ok(())
	}

	impl_benchmark_test_suite!(Federated, crate::mock::new_test_ext(), crate::mock::Test);
}
