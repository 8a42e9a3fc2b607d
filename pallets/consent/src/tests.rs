//! Unit and property tests of pallet-consent.

#![allow(clippy::arithmetic_side_effects)]

use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use sp_core::H256;
use sp_runtime::{traits::Zero, AccountId32, DispatchError, FixedU64, Perquintill};
use twinnet_primitives::{
	consent::{
		Access, Binding, Computation, ConsentDenied, ConsentLedger, GrantId, Grantee, JobRound,
		PrivacyBudget, Purpose, Scope, Settlement,
	},
	did::{Controller, DidId, SubjectKind},
};

use crate::{mock::*, *};

// ---- helpers ---------------------------------------------------------------

fn origin(who: &AccountId32) -> RuntimeOrigin {
	RuntimeOrigin::signed(who.clone())
}

/// A twin controlled by the patient's account.
fn patient_twin() -> DidId {
	create_did(&patient(), SubjectKind::PatientTwin, Controller::Account(patient()), None)
}

/// A twin controlled by the guardian's DID, with the patient bound (offered
/// by the guardian, accepted by the patient) if `with_patient`.
fn guarded_twin(with_patient: bool) -> DidId {
	let guardian_did =
		create_did(&guardian(), SubjectKind::Institution, Controller::Account(guardian()), None);
	let twin =
		create_did(&guardian(), SubjectKind::PatientTwin, Controller::Did(guardian_did), None);
	if with_patient {
		assert_ok!(Twins::offer_patient(origin(&guardian()), twin, patient()));
		assert_ok!(Twins::accept_patient(origin(&patient()), twin));
	}
	twin
}

fn budget(epsilon_milli: u64) -> PrivacyBudget {
	PrivacyBudget {
		epsilon: FixedU64::from_rational(epsilon_milli.into(), 1000),
		delta: Perquintill::zero(),
	}
}

fn purposes(list: &[Purpose]) -> BoundedVec<Purpose, <Test as Config>::MaxPurposes> {
	BoundedVec::truncate_from(list.to_vec())
}

fn view_terms() -> TermsOf<Test> {
	Terms {
		grantee: Grantee::Account(researcher()),
		scope: Scope::View,
		purposes: purposes(&[Purpose::Research]),
		datasets: None,
		starts_at: 1,
		expires_at: 100,
		budget: None,
		binding: Binding::default(),
	}
}

fn compute_terms(epsilon_milli: u64) -> TermsOf<Test> {
	Terms {
		scope: Scope::Compute,
		purposes: purposes(&[Purpose::Research, Purpose::ModelTraining]),
		budget: Some(budget(epsilon_milli)),
		..view_terms()
	}
}

fn grant(twin: DidId, terms: TermsOf<Test>) -> GrantId {
	assert_ok!(Consent::grant(origin(&patient()), twin, terms));
	NextGrantId::<Test>::get() - 1
}

fn researcher_() -> Grantee<AccountId32> {
	Grantee::Account(researcher())
}

fn access(scope: Scope, purpose: Purpose, dataset: Option<DidId>) -> Access<AccountId32> {
	Access { grantee: researcher_(), scope, purpose, dataset, computation: None }
}

fn check(twin: DidId, scope: Scope, purpose: Purpose) -> Result<GrantId, ConsentDenied> {
	Consent::check(&twin, &access(scope, purpose, None))
}

/// The researcher spends `amount` on `twin` for research; returns what is left.
/// The job whose rounds the budget tests spend in.
const JOB: u64 = 7;

/// The hash of the job's code.
fn code() -> H256 {
	H256::repeat_byte(0xc0)
}

/// Round `round` of [`JOB`], running [`code`].
fn computation(round: u32) -> Computation {
	Computation { round: JobRound { job: JOB, round }, model: None, code_hash: code() }
}

std::thread_local! {
	static LAST_ROUND: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Spends `amount` as `access` in a round of its own (reserve, then settle
/// as spent): the grant spent and the budget it has left.
fn spend_as(
	twin: DidId,
	access: &Access<AccountId32>,
	amount: PrivacyBudget,
) -> Result<(GrantId, PrivacyBudget), ConsentDenied> {
	let round = LAST_ROUND.with(|last| {
		last.set(last.get() + 1);
		last.get()
	});
	let access =
		Access { computation: access.computation.or(Some(computation(round))), ..access.clone() };
	let round = access.computation.map(|c| c.round).expect("set above");
	let grant = Consent::reserve(&[twin], &access, amount).pop().expect("one result per twin")?;
	assert_eq!(Consent::settle(round, &[twin], Settlement::Spend), vec![Some(grant)]);
	let now = System::block_number();
	let left = Grants::<Test>::get(twin, grant).and_then(|g| g.view(grant, now).remaining());
	Ok((grant, left.expect("a compute grant")))
}

fn spend(twin: DidId, amount: PrivacyBudget) -> Result<PrivacyBudget, ConsentDenied> {
	spend_as(twin, &access(Scope::Compute, Purpose::Research, None), amount).map(|(_, left)| left)
}

fn grant_hold(who: &AccountId32) -> u64 {
	Balances::balance_on_hold(&HoldReason::GrantDeposit.into(), who)
}

fn request_hold(who: &AccountId32) -> u64 {
	Balances::balance_on_hold(&HoldReason::RequestDeposit.into(), who)
}

fn last_request() -> RequestId {
	NextRequestId::<Test>::get() - 1
}

// ---- grant -------------------------------------------------------------------

#[test]
fn the_patient_grants_view_access() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, view_terms());
		let record = Grants::<Test>::get(twin, id).expect("stored");
		assert_eq!(record.terms, view_terms());
		assert_eq!(record.granted_by, Authority::Patient);
		assert_eq!(record.spent, PrivacyBudget::default());
		assert!(record.deposit > GRANT_DEPOSIT_BASE);
		assert_eq!(grant_hold(&patient()), record.deposit);
		assert_eq!(GrantCount::<Test>::get(twin), 1);
		System::assert_last_event(
			Event::Granted {
				twin,
				grant: id,
				grantee: researcher_(),
				scope: Scope::View,
				expires_at: 100,
				budget: None,
				by: Authority::Patient,
			}
			.into(),
		);
		assert_eq!(
			Consent::audit_trail(&twin),
			vec![AuditRecord {
				block: 1,
				event: AuditEvent::Granted { grant: id, by: Authority::Patient }
			}]
		);
		assert_eq!(check(twin, Scope::View, Purpose::Research), Ok(id));
	});
}

#[test]
fn grant_rejects_bad_origins_and_signers() {
	run_test(|| {
		let twin = patient_twin();
		assert_noop!(
			Consent::grant(RuntimeOrigin::none(), twin, view_terms()),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Consent::grant(origin(&stranger()), twin, view_terms()),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Consent::grant(origin(&patient()), DidId::repeat_byte(9), view_terms()),
			Error::<Test>::TwinNotFound
		);
		let institution =
			create_did(&patient(), SubjectKind::Institution, Controller::Account(patient()), None);
		assert_noop!(
			Consent::grant(origin(&patient()), institution, view_terms()),
			Error::<Test>::NotATwin
		);
	});
}

#[test]
fn grant_rejects_malformed_terms() {
	run_test(|| {
		let twin = patient_twin();
		let institution =
			create_did(&patient(), SubjectKind::Institution, Controller::Account(patient()), None);
		let dataset =
			create_did(&patient(), SubjectKind::Dataset, Controller::Account(patient()), None);
		let cases: Vec<(TermsOf<Test>, Error<Test>)> = vec![
			(Terms { purposes: purposes(&[]), ..view_terms() }, Error::InvalidPurposes),
			(
				Terms {
					purposes: purposes(&[Purpose::Research, Purpose::ClinicalCare]),
					..view_terms()
				},
				Error::InvalidPurposes,
			),
			(
				Terms {
					purposes: purposes(&[Purpose::Research, Purpose::Research]),
					..view_terms()
				},
				Error::InvalidPurposes,
			),
			(Terms { datasets: Some(BoundedVec::new()), ..view_terms() }, Error::InvalidDatasets),
			(
				Terms {
					datasets: Some(BoundedVec::truncate_from(vec![dataset, dataset])),
					..view_terms()
				},
				Error::InvalidDatasets,
			),
			(
				Terms { datasets: Some(BoundedVec::truncate_from(vec![twin])), ..view_terms() },
				Error::UnknownDataset,
			),
			(Terms { grantee: Grantee::Institution(twin), ..view_terms() }, Error::InvalidGrantee),
			(Terms { starts_at: 100, expires_at: 100, ..view_terms() }, Error::InvalidPeriod),
			(Terms { starts_at: 0, expires_at: 1, ..view_terms() }, Error::InvalidPeriod),
			(Terms { budget: None, ..compute_terms(1000) }, Error::MissingBudget),
			(compute_terms(0), Error::MissingBudget),
			(Terms { budget: Some(budget(1000)), ..view_terms() }, Error::BudgetOnViewGrant),
		];
		for (terms, error) in cases {
			assert_noop!(Consent::grant(origin(&patient()), twin, terms), error);
		}
		// The same terms, well formed, are accepted.
		let good = Terms {
			grantee: Grantee::Institution(institution),
			datasets: Some(BoundedVec::truncate_from(vec![dataset])),
			..view_terms()
		};
		assert_ok!(Consent::grant(origin(&patient()), twin, good));
	});
}

#[test]
fn grant_is_bounded_per_twin_and_needs_a_deposit() {
	run_test(|| {
		let twin = patient_twin();
		for _ in 0..MAX_PER_TWIN {
			grant(twin, view_terms());
		}
		assert_noop!(
			Consent::grant(origin(&patient()), twin, view_terms()),
			Error::<Test>::TooManyGrants
		);

		let poor_twin =
			create_did(&patient(), SubjectKind::PatientTwin, Controller::Account(poor()), None);
		assert_ok!(Twins::accept_controller(origin(&poor()), poor_twin));
		assert_noop!(
			Consent::grant(origin(&poor()), poor_twin, view_terms()),
			Error::<Test>::CannotPayDeposit
		);
	});
}

// ---- the rules a check applies ------------------------------------------------

#[test]
fn a_check_applies_scope_purpose_and_dataset_rules() {
	run_test(|| {
		let twin = patient_twin();
		let dataset =
			create_did(&patient(), SubjectKind::Dataset, Controller::Account(patient()), None);
		let other =
			create_did(&patient(), SubjectKind::Dataset, Controller::Account(patient()), None);
		let id = grant(
			twin,
			Terms {
				datasets: Some(BoundedVec::truncate_from(vec![dataset])),
				..compute_terms(1000)
			},
		);
		let check_on = |scope, purpose, on: Option<&DidId>| {
			Consent::check(&twin, &access(scope, purpose, on.copied()))
		};
		assert_eq!(check_on(Scope::Compute, Purpose::ModelTraining, Some(&dataset)), Ok(id));
		assert_eq!(check_on(Scope::Compute, Purpose::Research, Some(&dataset)), Ok(id));
		assert_eq!(
			check_on(Scope::View, Purpose::Research, Some(&dataset)),
			Err(ConsentDenied::ScopeMismatch)
		);
		assert_eq!(
			check_on(Scope::Compute, Purpose::Commercial, Some(&dataset)),
			Err(ConsentDenied::PurposeNotGranted)
		);
		assert_eq!(
			check_on(Scope::Compute, Purpose::Research, Some(&other)),
			Err(ConsentDenied::DatasetNotCovered)
		);
		assert_eq!(
			check_on(Scope::Compute, Purpose::Research, None),
			Err(ConsentDenied::DatasetNotCovered)
		);
		assert_eq!(
			Consent::check(
				&twin,
				&Access {
					grantee: Grantee::Account(stranger()),
					..access(Scope::Compute, Purpose::Research, None)
				}
			),
			Err(ConsentDenied::NoGrant)
		);
		assert_eq!(
			Consent::check(&DidId::repeat_byte(7), &access(Scope::View, Purpose::Research, None)),
			Err(ConsentDenied::TwinNotFound)
		);
	});
}

#[test]
fn a_grant_applies_from_its_start_until_before_its_expiry() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, Terms { starts_at: 5, expires_at: 10, ..view_terms() });
		assert_eq!(check(twin, Scope::View, Purpose::Research), Err(ConsentDenied::NotStarted));
		System::set_block_number(5);
		assert_eq!(check(twin, Scope::View, Purpose::Research), Ok(id));
		System::set_block_number(9);
		assert_eq!(check(twin, Scope::View, Purpose::Research), Ok(id));
		System::set_block_number(10);
		assert_eq!(check(twin, Scope::View, Purpose::Research), Err(ConsentDenied::Expired));
	});
}

#[test]
fn a_check_reports_the_reason_of_the_closest_grant_or_uses_any_that_applies() {
	run_test(|| {
		let twin = patient_twin();
		let expired = grant(twin, Terms { expires_at: 3, ..view_terms() });
		let wrong_purpose =
			grant(twin, Terms { purposes: purposes(&[Purpose::Education]), ..view_terms() });
		System::set_block_number(3);
		assert_eq!(
			check(twin, Scope::View, Purpose::Research),
			Err(ConsentDenied::PurposeNotGranted)
		);
		let live = grant(twin, view_terms());
		assert_eq!(check(twin, Scope::View, Purpose::Research), Ok(live));
		assert_ne!(expired, wrong_purpose);
	});
}

// ---- revoke -------------------------------------------------------------------

#[test]
fn revocation_takes_effect_in_the_same_block() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_eq!(check(twin, Scope::Compute, Purpose::Research), Ok(id));
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_eq!(check(twin, Scope::Compute, Purpose::Research), Err(ConsentDenied::Revoked));
		assert_eq!(spend(twin, budget(1)), Err(ConsentDenied::Revoked));
		assert_noop!(
			Consent::record_use(
				origin(&researcher()),
				twin,
				researcher_(),
				Scope::Compute,
				Purpose::Research,
				None
			),
			Error::<Test>::Revoked
		);
		assert_eq!(Grants::<Test>::get(twin, id).and_then(|g| g.revoked_at), Some(1));
		System::assert_last_event(
			Event::Revoked { twin, grant: id, by: Authority::Patient }.into(),
		);
	});
}

#[test]
fn revoke_errors() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, view_terms());
		assert_noop!(Consent::revoke(origin(&patient()), twin, 99), Error::<Test>::GrantNotFound);
		assert_noop!(Consent::revoke(origin(&stranger()), twin, id), Error::<Test>::NotAuthorized);
		assert_noop!(
			Consent::revoke(origin(&researcher()), twin, id),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_noop!(Consent::revoke(origin(&patient()), twin, id), Error::<Test>::AlreadyRevoked);
	});
}

// ---- guardians -----------------------------------------------------------------

#[test]
fn a_guardian_grants_for_a_twin_it_controls() {
	run_test(|| {
		let twin = guarded_twin(false);
		assert_ok!(Consent::grant(origin(&guardian()), twin, view_terms()));
		let id = NextGrantId::<Test>::get() - 1;
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.granted_by), Some(Authority::Guardian));
		assert_eq!(check(twin, Scope::View, Purpose::Research), Ok(id));
		assert_ok!(Consent::revoke(origin(&guardian()), twin, id));
	});
}

#[test]
fn the_patient_overrides_the_guardian() {
	run_test(|| {
		let twin = guarded_twin(true);
		// The guardian grants; the patient revokes it.
		assert_ok!(Consent::grant(origin(&guardian()), twin, view_terms()));
		let by_guardian = NextGrantId::<Test>::get() - 1;
		assert_ok!(Consent::revoke(origin(&patient()), twin, by_guardian));
		System::assert_last_event(
			Event::Revoked { twin, grant: by_guardian, by: Authority::Patient }.into(),
		);

		// The patient grants; the guardian can neither revoke nor narrow it.
		let by_patient = grant(twin, compute_terms(1000));
		assert_eq!(
			Grants::<Test>::get(twin, by_patient).map(|g| g.granted_by),
			Some(Authority::Patient)
		);
		assert_noop!(
			Consent::revoke(origin(&guardian()), twin, by_patient),
			Error::<Test>::PatientDecision
		);
		assert_noop!(
			Consent::narrow(origin(&guardian()), twin, by_patient, compute_terms(500)),
			Error::<Test>::PatientDecision
		);
		assert_ok!(Consent::narrow(origin(&patient()), twin, by_patient, compute_terms(500)));
	});
}

// ---- narrow ----------------------------------------------------------------------

#[test]
fn narrow_reduces_purposes_period_and_budget() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_ok!(spend(twin, budget(200)));
		let narrower = Terms {
			purposes: purposes(&[Purpose::ModelTraining]),
			expires_at: 50,
			budget: Some(budget(200)),
			..compute_terms(1000)
		};
		assert_ok!(Consent::narrow(origin(&patient()), twin, id, narrower.clone()));
		let record = Grants::<Test>::get(twin, id).expect("stored");
		assert_eq!(record.terms, narrower);
		assert_eq!(record.view(id, System::block_number()).remaining(), Some(budget(0)));
		assert_eq!(grant_hold(&patient()), record.deposit);
		assert_eq!(
			check(twin, Scope::Compute, Purpose::Research),
			Err(ConsentDenied::PurposeNotGranted)
		);
		let training = access(Scope::Compute, Purpose::ModelTraining, None);
		let unit = PrivacyBudget { epsilon: FixedU64::from_inner(1), delta: Perquintill::zero() };
		assert_eq!(spend_as(twin, &training, unit), Err(ConsentDenied::BudgetExceeded));
		System::assert_last_event(
			Event::Narrowed { twin, grant: id, by: Authority::Patient }.into(),
		);
	});
}

#[test]
fn narrow_never_widens() {
	run_test(|| {
		let twin = patient_twin();
		let dataset =
			create_did(&patient(), SubjectKind::Dataset, Controller::Account(patient()), None);
		let restricted = Terms {
			datasets: Some(BoundedVec::truncate_from(vec![dataset])),
			..compute_terms(1000)
		};
		let id = grant(twin, restricted.clone());
		let wider: Vec<TermsOf<Test>> = vec![
			restricted.clone(),
			Terms {
				purposes: purposes(&[Purpose::Research, Purpose::Commercial]),
				..restricted.clone()
			},
			Terms { expires_at: 101, ..restricted.clone() },
			Terms { starts_at: 0, ..restricted.clone() },
			Terms { budget: Some(budget(1001)), ..restricted.clone() },
			Terms { datasets: None, ..restricted.clone() },
			Terms { grantee: Grantee::Account(stranger()), ..restricted.clone() },
			Terms { scope: Scope::View, budget: None, ..restricted.clone() },
		];
		for terms in wider {
			assert_noop!(
				Consent::narrow(origin(&patient()), twin, id, terms),
				Error::<Test>::NotNarrower
			);
		}
		let on_dataset = access(Scope::Compute, Purpose::Research, Some(dataset));
		assert_ok!(spend_as(twin, &on_dataset, budget(300)));
		assert_noop!(
			Consent::narrow(
				origin(&patient()),
				twin,
				id,
				Terms { budget: Some(budget(299)), ..restricted.clone() }
			),
			Error::<Test>::BudgetBelowSpent
		);
		assert_noop!(
			Consent::narrow(
				origin(&patient()),
				twin,
				id,
				Terms { purposes: purposes(&[]), ..restricted.clone() }
			),
			Error::<Test>::InvalidPurposes
		);
		assert_noop!(
			Consent::narrow(origin(&patient()), twin, 99, restricted.clone()),
			Error::<Test>::GrantNotFound
		);
		assert_noop!(
			Consent::narrow(origin(&stranger()), twin, id, restricted.clone()),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_noop!(
			Consent::narrow(origin(&patient()), twin, id, Terms { expires_at: 50, ..restricted }),
			Error::<Test>::GrantNotLive
		);
	});
}

// ---- budgets ---------------------------------------------------------------------

#[test]
fn spends_never_exceed_the_budget_by_a_single_unit() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		let unit = PrivacyBudget { epsilon: FixedU64::from_inner(1), delta: Perquintill::zero() };
		// Several spends in one block, up to the exact budget.
		assert_eq!(
			spend_as(twin, &access(Scope::Compute, Purpose::Research, None), budget(400)),
			Ok((id, budget(600)))
		);
		assert_eq!(spend(twin, budget(599)), Ok(budget(1)));
		let last = budget(1).checked_sub(&unit).expect("one unit less");
		assert_eq!(spend(twin, last), Ok(unit));
		assert_eq!(spend(twin, unit), Ok(PrivacyBudget::default()));
		let spent = Grants::<Test>::get(twin, id).map(|g| g.spent);
		assert_eq!(spend(twin, unit), Err(ConsentDenied::BudgetExceeded));
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.spent), spent);
		System::assert_has_event(
			Event::BudgetSpent {
				twin,
				grant: id,
				grantee: researcher_(),
				round: JobRound { job: JOB, round: 1 },
				amount: budget(400),
			}
			.into(),
		);
	});
}

#[test]
fn delta_is_budgeted_too() {
	run_test(|| {
		let twin = patient_twin();
		let with_delta =
			PrivacyBudget { epsilon: FixedU64::from_u32(1), delta: Perquintill::from_parts(1_000) };
		let id = grant(twin, Terms { budget: Some(with_delta), ..compute_terms(1000) });
		let delta = |parts| PrivacyBudget {
			epsilon: FixedU64::zero(),
			delta: Perquintill::from_parts(parts),
		};
		assert_ok!(spend(twin, delta(999)));
		assert_eq!(spend(twin, delta(2)), Err(ConsentDenied::BudgetExceeded));
		assert_ok!(spend(twin, delta(1)));
		assert_eq!(
			Grants::<Test>::get(twin, id).map(|g| g.spent.delta),
			Some(Perquintill::from_parts(1_000))
		);
	});
}

#[test]
fn spends_need_a_live_compute_grant() {
	run_test(|| {
		let twin = patient_twin();
		assert_eq!(spend(twin, budget(1)), Err(ConsentDenied::NoGrant));
		grant(twin, view_terms());
		assert_eq!(spend(twin, budget(1)), Err(ConsentDenied::ScopeMismatch));
		let twin = patient_twin();
		grant(twin, Terms { starts_at: 5, ..compute_terms(1000) });
		assert_eq!(spend(twin, budget(1)), Err(ConsentDenied::NotStarted));
		System::set_block_number(100);
		assert_eq!(spend(twin, budget(1)), Err(ConsentDenied::Expired));
	});
}

/// Before the fix any pallet could spend any grant's budget by its id: the
/// spender, purpose and dataset were never checked, nor whether the twin
/// still existed, and zero spends were free records.
#[test]
fn attack_spend_budget_of_another_grantee() {
	run_test(|| {
		let twin = patient_twin();
		let dataset =
			create_did(&patient(), SubjectKind::Dataset, Controller::Account(patient()), None);
		let id = grant(
			twin,
			Terms {
				datasets: Some(BoundedVec::truncate_from(vec![dataset])),
				..compute_terms(1000)
			},
		);
		let as_stranger = Access {
			grantee: Grantee::Account(stranger()),
			..access(Scope::Compute, Purpose::Research, Some(dataset))
		};
		assert_eq!(spend_as(twin, &as_stranger, budget(1)), Err(ConsentDenied::NoGrant));
		let wrong_purpose = access(Scope::Compute, Purpose::Commercial, Some(dataset));
		assert_eq!(
			spend_as(twin, &wrong_purpose, budget(1)),
			Err(ConsentDenied::PurposeNotGranted)
		);
		let no_dataset = access(Scope::Compute, Purpose::Research, None);
		assert_eq!(spend_as(twin, &no_dataset, budget(1)), Err(ConsentDenied::DatasetNotCovered));
		let right = access(Scope::Compute, Purpose::Research, Some(dataset));
		assert_eq!(spend_as(twin, &right, PrivacyBudget::default()), Err(ConsentDenied::ZeroSpend));
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.spent), Some(PrivacyBudget::default()));
		assert_eq!(SpendTrail::<Test>::iter_prefix(twin).count(), 0);
		assert_eq!(Consent::check_spend(&twin, &right, budget(1000)), Ok(id));
		assert_eq!(
			Consent::check_spend(&twin, &right, budget(1001)),
			Err(ConsentDenied::BudgetExceeded)
		);
	});
}

#[test]
fn a_spend_uses_a_grant_whose_remaining_budget_covers_it() {
	run_test(|| {
		let twin = patient_twin();
		let small = grant(twin, compute_terms(100));
		let large = grant(twin, compute_terms(1000));
		let research = access(Scope::Compute, Purpose::Research, None);
		let job = Some(JobRound { job: JOB, round: 1 });
		// Only the large grant covers 950; then only the small one covers 100.
		assert_eq!(spend_as(twin, &research, budget(950)), Ok((large, budget(50))));
		assert_eq!(spend_as(twin, &research, budget(100)), Ok((small, budget(0))));
		assert_eq!(
			Consent::check_spend(&twin, &research, budget(51)),
			Err(ConsentDenied::BudgetExceeded)
		);
		assert_eq!(
			SpendTrail::<Test>::get(twin, large).into_inner(),
			vec![SpendRecord { block: 1, amount: budget(950), job }]
		);
		let job = Some(JobRound { job: JOB, round: 2 });
		assert_eq!(
			SpendTrail::<Test>::get(twin, small).into_inner(),
			vec![SpendRecord { block: 1, amount: budget(100), job }]
		);
		// Spends of one block come by grant.
		let spends: Vec<_> = Consent::audit_trail(&twin)
			.into_iter()
			.filter_map(|r| match r.event {
				AuditEvent::BudgetSpent { grant, amount, .. } => Some((r.block, grant, amount)),
				_ => None,
			})
			.collect();
		assert_eq!(spends, vec![(1, small, budget(100)), (1, large, budget(950))]);
	});
}

// ---- training rounds -----------------------------------------------------------

/// Compute access as `grantee` for round `round` of [`JOB`].
fn round_access(grantee: Grantee<AccountId32>, round: u32) -> Access<AccountId32> {
	Access {
		grantee,
		computation: Some(computation(round)),
		..access(Scope::Compute, Purpose::ModelTraining, None)
	}
}

fn round(round: u32) -> JobRound {
	JobRound { job: JOB, round }
}

fn reserved(twin: DidId, grant: GrantId) -> PrivacyBudget {
	Grants::<Test>::get(twin, grant).map(|g| g.reserved).unwrap_or_default()
}

#[test]
fn a_round_admits_each_twin_on_its_own_and_says_why_the_rest_are_out() {
	run_test(|| {
		let admitted = patient_twin();
		let admitted_grant = grant(admitted, compute_terms(1000));
		let revoked = patient_twin();
		let revoked_grant = grant(revoked, compute_terms(1000));
		assert_ok!(Consent::revoke(origin(&patient()), revoked, revoked_grant));
		let poor_twin = patient_twin();
		let poor_grant = grant(poor_twin, compute_terms(100));
		let unknown = H256::repeat_byte(0xee);

		let results = Consent::reserve(
			&[admitted, revoked, poor_twin, unknown],
			&round_access(researcher_(), 1),
			budget(200),
		);
		assert_eq!(
			results,
			vec![
				Ok(admitted_grant),
				Err(ConsentDenied::Revoked),
				Err(ConsentDenied::BudgetExceeded),
				Err(ConsentDenied::TwinNotFound)
			]
		);
		assert_eq!(reserved(admitted, admitted_grant), budget(200));
		assert_eq!(reserved(poor_twin, poor_grant), PrivacyBudget::default());
		assert_eq!(Reservations::<Test>::iter().count(), 1);
		System::assert_last_event(
			Event::BudgetReserved {
				twin: admitted,
				grant: admitted_grant,
				grantee: researcher_(),
				round: round(1),
				amount: budget(200),
			}
			.into(),
		);
		// Reserved budget is not available to anyone else until settled.
		let training = access(Scope::Compute, Purpose::ModelTraining, None);
		assert_eq!(
			Consent::check_spend(&admitted, &training, budget(801)),
			Err(ConsentDenied::BudgetExceeded)
		);
		assert_eq!(Consent::check_spend(&admitted, &training, budget(800)), Ok(admitted_grant));
	});
}

#[test]
fn a_released_round_spends_nothing_and_a_used_one_is_recorded() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), budget(300)),
			vec![Ok(id)]
		);
		assert_eq!(Consent::settle(round(1), &[twin], Settlement::Release), vec![Some(id)]);
		let record = Grants::<Test>::get(twin, id).expect("stored");
		assert_eq!(
			(record.spent, record.reserved),
			(PrivacyBudget::default(), PrivacyBudget::default())
		);
		assert!(!SpendTrail::<Test>::contains_key(twin, id));
		System::assert_last_event(
			Event::BudgetReleased { twin, grant: id, round: round(1), amount: budget(300) }.into(),
		);

		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 2), budget(300)),
			vec![Ok(id)]
		);
		assert_eq!(Consent::settle(round(2), &[twin], Settlement::Spend), vec![Some(id)]);
		let record = Grants::<Test>::get(twin, id).expect("stored");
		assert_eq!((record.spent, record.reserved), (budget(300), PrivacyBudget::default()));
		assert_eq!(
			SpendTrail::<Test>::get(twin, id).into_inner(),
			vec![SpendRecord { block: 1, amount: budget(300), job: Some(round(2)) }]
		);
		assert_eq!(
			Consent::audit_trail(&twin).last().map(|r| r.event.clone()),
			Some(AuditEvent::BudgetSpent {
				grant: id,
				grantee: researcher_(),
				amount: budget(300),
				job: Some(round(2))
			})
		);
		// A round settles once; unknown rounds settle nothing.
		assert_eq!(Consent::settle(round(2), &[twin], Settlement::Spend), vec![None]);
		assert_eq!(Consent::settle(round(9), &[twin], Settlement::Release), vec![None]);
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.spent), Some(budget(300)));
	});
}

/// A job that reserved a small amount could reserve again in the same round
/// to get past the grant's per-round cap, or charge a twin twice.
#[test]
fn attack_reserve_twice_in_one_round() {
	run_test(|| {
		let twin = patient_twin();
		let capped = Binding {
			max_epsilon_per_round: Some(FixedU64::from_rational(1, 10)),
			..Default::default()
		};
		let id = grant(twin, Terms { binding: capped, ..compute_terms(1000) });
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), budget(100)),
			vec![Ok(id)]
		);
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), budget(100)),
			vec![Err(ConsentDenied::AlreadyReserved)]
		);
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 2), budget(101)),
			vec![Err(ConsentDenied::RoundCapExceeded)]
		);
		assert_eq!(reserved(twin, id), budget(100));
	});
}

#[test]
fn a_reservation_names_its_round_and_a_positive_amount() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		let no_round = access(Scope::Compute, Purpose::ModelTraining, None);
		assert_eq!(
			Consent::reserve(&[twin], &no_round, budget(1)),
			vec![Err(ConsentDenied::MissingComputation)]
		);
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), PrivacyBudget::default()),
			vec![Err(ConsentDenied::ZeroSpend)]
		);
		assert_eq!(
			Consent::reserve(&[twin], &round_access(Grantee::Account(stranger()), 1), budget(1)),
			vec![Err(ConsentDenied::NoGrant)]
		);
		assert_eq!(reserved(twin, id), PrivacyBudget::default());
		assert_eq!(Reservations::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_bound_grant_covers_only_its_job_model_and_code() {
	run_test(|| {
		let twin = patient_twin();
		let model =
			create_did(&researcher(), SubjectKind::Model, Controller::Account(researcher()), None);
		PostedJobs::post(JOB);
		let binding = Binding {
			job: Some(JOB),
			model: Some(model),
			code_hash: Some(code()),
			..Default::default()
		};
		let id = grant(twin, Terms { binding, ..compute_terms(1000) });
		let with = |computation: Computation| Access {
			computation: Some(computation),
			..round_access(researcher_(), computation.round.round)
		};
		let right = Computation { model: Some(model), ..computation(1) };
		let other_job = Computation { round: JobRound { job: JOB + 1, round: 1 }, ..right };
		let other_model = Computation { model: None, ..right };
		let other_code = Computation { code_hash: H256::repeat_byte(1), ..right };
		for wrong in [other_job, other_model, other_code] {
			assert_eq!(
				Consent::reserve(&[twin], &with(wrong), budget(1)),
				vec![Err(ConsentDenied::ComputationNotCovered)]
			);
		}
		let unnamed = access(Scope::Compute, Purpose::ModelTraining, None);
		assert_eq!(Consent::check(&twin, &unnamed), Err(ConsentDenied::ComputationNotCovered));
		assert_eq!(Consent::reserve(&[twin], &with(right), budget(1)), vec![Ok(id)]);
	});
}

#[test]
fn a_grant_cannot_bind_to_a_job_not_yet_posted_whose_id_anyone_could_take() {
	run_test(|| {
		let twin = patient_twin();
		let bound = Terms {
			binding: Binding { job: Some(JOB), ..Default::default() },
			..compute_terms(1000)
		};
		// Job 7 is not posted: whoever posted it first would get the grant,
		// whether the grant binds to it or names it as the grantee.
		assert_noop!(
			Consent::grant(origin(&patient()), twin, bound.clone()),
			Error::<Test>::UnknownJob
		);
		assert_noop!(
			Consent::grant(
				origin(&patient()),
				twin,
				Terms { grantee: Grantee::Job(JOB), ..compute_terms(1000) }
			),
			Error::<Test>::UnknownJob
		);
		// Nor can a researcher ask for it, nor can an unbound grant be
		// narrowed to it.
		assert_noop!(
			Consent::request_access(origin(&researcher()), twin, bound.clone()),
			Error::<Test>::UnknownJob
		);
		let id = grant(twin, compute_terms(1000));
		assert_noop!(
			Consent::narrow(origin(&patient()), twin, id, bound.clone()),
			Error::<Test>::UnknownJob
		);
		// Once posted, the job's researcher and spec are fixed: the patient
		// binds to the job it saw.
		PostedJobs::post(JOB);
		assert_ok!(Consent::narrow(origin(&patient()), twin, id, bound));
	});
}

#[test]
fn bindings_are_for_compute_grants_with_a_cap_within_the_budget() {
	run_test(|| {
		let twin = patient_twin();
		PostedJobs::post(JOB);
		let bound = Binding { job: Some(JOB), ..Default::default() };
		assert_noop!(
			Consent::grant(origin(&patient()), twin, Terms { binding: bound, ..view_terms() }),
			Error::<Test>::BindingOnViewGrant
		);
		for cap in [FixedU64::zero(), FixedU64::from_rational(1001, 1000)] {
			let binding = Binding { max_epsilon_per_round: Some(cap), ..Default::default() };
			assert_noop!(
				Consent::grant(origin(&patient()), twin, Terms { binding, ..compute_terms(1000) }),
				Error::<Test>::InvalidRoundCap
			);
		}
	});
}

#[test]
fn narrowing_may_bind_more_but_never_unbind() {
	run_test(|| {
		let twin = patient_twin();
		PostedJobs::post(JOB);
		let bound = Terms {
			binding: Binding { job: Some(JOB), ..Default::default() },
			..compute_terms(1000)
		};
		let id = grant(twin, bound.clone());
		assert_noop!(
			Consent::narrow(
				origin(&patient()),
				twin,
				id,
				Terms { binding: Binding::default(), ..bound.clone() }
			),
			Error::<Test>::NotNarrower
		);
		let tighter = Binding { code_hash: Some(code()), ..bound.binding };
		assert_ok!(Consent::narrow(
			origin(&patient()),
			twin,
			id,
			Terms { binding: tighter, ..bound.clone() }
		));
		// Reserved budget counts as spent when narrowing.
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), budget(400)),
			vec![Ok(id)]
		);
		assert_noop!(
			Consent::narrow(
				origin(&patient()),
				twin,
				id,
				Terms { binding: tighter, budget: Some(budget(399)), ..bound }
			),
			Error::<Test>::BudgetBelowSpent
		);
	});
}

#[test]
fn a_grant_with_reserved_budget_is_pruned_only_after_its_round_settles() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 1), budget(400)),
			vec![Ok(id)]
		);
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_noop!(
			Consent::prune_grant(origin(&stranger()), twin, id),
			Error::<Test>::BudgetReserved
		);
		// The revoked twin is out of the next round, but the running one settles.
		assert_eq!(
			Consent::reserve(&[twin], &round_access(researcher_(), 2), budget(1)),
			vec![Err(ConsentDenied::Revoked)]
		);
		assert_eq!(Consent::settle(round(1), &[twin], Settlement::Spend), vec![Some(id)]);
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.spent), Some(budget(400)));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, id));
	});
}

#[test]
fn revocations_are_announced_to_the_pallets_that_run_jobs() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_noop!(Consent::revoke(origin(&stranger()), twin, id), Error::<Test>::NotAuthorized);
		assert!(RevocationLog::announced().is_empty());
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_eq!(RevocationLog::announced(), vec![(twin, id, researcher_())]);
	});
}

#[test]
fn a_job_finds_its_cohort_through_the_grantee_index() {
	run_test(|| {
		PostedJobs::post(JOB);
		let job = Grantee::Job(JOB);
		let mut cohort: Vec<(DidId, GrantId)> = (0..3)
			.map(|_| {
				let twin = patient_twin();
				(twin, grant(twin, Terms { grantee: job.clone(), ..compute_terms(1000) }))
			})
			.collect();
		let other = patient_twin();
		grant(other, compute_terms(1000));

		let first = Consent::grants_held_by(&job, None, 2);
		assert_eq!(first.len(), 2);
		let rest = Consent::grants_held_by(&job, first.last().copied(), 2);
		let mut found: Vec<_> = first.into_iter().chain(rest).collect();
		found.sort();
		cohort.sort();
		assert_eq!(found, cohort);
		assert_eq!(Consent::grants_held_by(&researcher_(), None, 10).len(), 1);

		let (twin, id) = cohort[0];
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, id));
		assert_eq!(Consent::grants_held_by(&job, None, 10).len(), 2);
	});
}

// ---- requests ----------------------------------------------------------------------

#[test]
fn an_approved_request_becomes_a_grant() {
	run_test(|| {
		let twin = patient_twin();
		assert_ok!(Consent::request_access(origin(&researcher()), twin, compute_terms(2000)));
		let request = last_request();
		assert_eq!(request_hold(&researcher()), REQUEST_DEPOSIT);
		System::assert_last_event(
			Event::AccessRequested {
				twin,
				request,
				requester: researcher(),
				grantee: researcher_(),
				scope: Scope::Compute,
			}
			.into(),
		);
		assert_ok!(Consent::approve_request(origin(&patient()), twin, request));
		let id = NextGrantId::<Test>::get() - 1;
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.terms), Some(compute_terms(2000)));
		assert_eq!(request_hold(&researcher()), 0);
		assert!(Requests::<Test>::get(twin, request).is_none());
		System::assert_last_event(
			Event::RequestApproved { twin, request, grant: id, by: Authority::Patient }.into(),
		);
	});
}

#[test]
fn an_institution_requests_through_its_controller() {
	run_test(|| {
		let twin = patient_twin();
		let institution = create_did(
			&researcher(),
			SubjectKind::Institution,
			Controller::Account(researcher()),
			None,
		);
		let terms = Terms { grantee: Grantee::Institution(institution), ..view_terms() };
		assert_noop!(
			Consent::request_access(origin(&stranger()), twin, terms.clone()),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Consent::request_access(origin(&researcher()), twin, terms));
		assert_ok!(Consent::approve_request(origin(&patient()), twin, last_request()));
		assert_ok!(Consent::record_use(
			origin(&researcher()),
			twin,
			Grantee::Institution(institution),
			Scope::View,
			Purpose::Research,
			None
		));
	});
}

#[test]
fn requests_are_rejected_withdrawn_or_expire() {
	run_test(|| {
		let twin = patient_twin();
		let ask = || Consent::request_access(origin(&researcher()), twin, view_terms());

		assert_ok!(ask());
		assert_noop!(
			Consent::reject_request(origin(&stranger()), twin, last_request()),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Consent::reject_request(origin(&patient()), twin, last_request()));
		assert_eq!(request_hold(&researcher()), 0);

		assert_ok!(ask());
		assert_noop!(
			Consent::close_request(origin(&stranger()), twin, last_request()),
			Error::<Test>::RequestStillOpen
		);
		assert_ok!(Consent::close_request(origin(&researcher()), twin, last_request()));
		System::assert_last_event(Event::RequestClosed { twin, request: last_request() }.into());

		assert_ok!(ask());
		System::set_block_number(1 + REQUEST_LIFETIME);
		assert_noop!(
			Consent::approve_request(origin(&patient()), twin, last_request()),
			Error::<Test>::RequestExpired
		);
		assert_ok!(Consent::close_request(origin(&stranger()), twin, last_request()));
		assert_eq!(request_hold(&researcher()), 0);
		assert_noop!(
			Consent::close_request(origin(&stranger()), twin, last_request()),
			Error::<Test>::RequestNotFound
		);
		assert_noop!(
			Consent::approve_request(origin(&patient()), twin, 99),
			Error::<Test>::RequestNotFound
		);
		assert_noop!(
			Consent::reject_request(origin(&patient()), twin, 99),
			Error::<Test>::RequestNotFound
		);
	});
}

#[test]
fn request_errors() {
	run_test(|| {
		let twin = patient_twin();
		let as_someone_else = Terms { grantee: Grantee::Account(stranger()), ..view_terms() };
		assert_noop!(
			Consent::request_access(origin(&researcher()), twin, as_someone_else),
			Error::<Test>::NotAuthorized
		);
		let job = Terms { grantee: Grantee::Job(1), ..view_terms() };
		assert_noop!(
			Consent::request_access(origin(&researcher()), twin, job),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Consent::request_access(
				origin(&researcher()),
				twin,
				Terms { purposes: purposes(&[]), ..view_terms() }
			),
			Error::<Test>::InvalidPurposes
		);
		assert_noop!(
			Consent::request_access(origin(&researcher()), DidId::repeat_byte(5), view_terms()),
			Error::<Test>::TwinNotFound
		);
		let poor_terms = Terms { grantee: Grantee::Account(poor()), ..view_terms() };
		assert_noop!(
			Consent::request_access(origin(&poor()), twin, poor_terms),
			Error::<Test>::CannotPayDeposit
		);
		for _ in 0..MAX_PER_TWIN {
			assert_ok!(Consent::request_access(origin(&researcher()), twin, view_terms()));
		}
		assert_noop!(
			Consent::request_access(origin(&researcher()), twin, view_terms()),
			Error::<Test>::TooManyOpenRequests
		);
	});
}

/// Before the fix a twin had a fixed number of request slots: strangers
/// filled them and no researcher could ask the patient any more.
#[test]
fn attack_strangers_fill_a_patients_request_queue() {
	run_test(|| {
		let twin = patient_twin();
		let own_terms = Terms { grantee: Grantee::Account(stranger()), ..view_terms() };
		for _ in 0..MAX_PER_TWIN {
			assert_ok!(Consent::request_access(origin(&stranger()), twin, own_terms.clone()));
		}
		assert_ok!(Consent::request_access(origin(&researcher()), twin, view_terms()));
		assert_eq!(OpenRequests::<Test>::get(stranger()), MAX_PER_TWIN);
		assert_eq!(OpenRequests::<Test>::get(researcher()), 1);
	});
}

// ---- uses and the audit trail ------------------------------------------------------

#[test]
fn a_grantee_records_its_uses() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, view_terms());
		System::set_block_number(3);
		assert_ok!(Consent::record_use(
			origin(&researcher()),
			twin,
			researcher_(),
			Scope::View,
			Purpose::Research,
			None
		));
		System::assert_last_event(
			Event::Used { twin, grant: id, grantee: researcher_(), purpose: Purpose::Research }
				.into(),
		);
		let record = Grants::<Test>::get(twin, id).expect("stored");
		assert_eq!((record.uses, record.last_used), (1, Some(3)));
		assert_noop!(
			Consent::record_use(
				origin(&stranger()),
				twin,
				researcher_(),
				Scope::View,
				Purpose::Research,
				None
			),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Consent::record_use(
				origin(&researcher()),
				twin,
				researcher_(),
				Scope::View,
				Purpose::Commercial,
				None
			),
			Error::<Test>::PurposeNotGranted
		);
		assert_noop!(
			Consent::record_use(
				origin(&researcher()),
				twin,
				researcher_(),
				Scope::Compute,
				Purpose::Research,
				None
			),
			Error::<Test>::ScopeMismatch
		);
		assert_noop!(
			Consent::record_use(
				origin(&stranger()),
				twin,
				Grantee::Account(stranger()),
				Scope::View,
				Purpose::Research,
				None
			),
			Error::<Test>::NoGrant
		);
	});
}

#[test]
fn a_grant_s_spend_trail_keeps_its_latest_spends() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		let first_round = LAST_ROUND.with(|last| last.get()) + 1;
		for block in 1..=u64::from(MAX_AUDIT) + 2 {
			System::set_block_number(block);
			assert_ok!(spend(twin, budget(1)));
		}
		let trail = SpendTrail::<Test>::get(twin, id);
		assert_eq!(trail.len(), MAX_AUDIT as usize);
		// The two oldest went; the total keeps them.
		assert_eq!(trail.first().map(|r| r.block), Some(3));
		assert_eq!(trail.first().and_then(|r| r.job), Some(round(first_round + 2)));
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.spent), Some(budget(10)));
		let spends: Vec<_> = Consent::audit_trail(&twin)
			.into_iter()
			.filter(|r| matches!(r.event, AuditEvent::BudgetSpent { grant, .. } if grant == id))
			.map(|r| r.block)
			.collect();
		assert_eq!(spends, (3..=10).collect::<Vec<_>>(), "the grant's spends, by block");
	});
}

/// Before the fix the spend trail was one ring per twin, shared by every
/// grantee: a grantee spending in many tiny rounds under its own grant
/// pushed the spends of another grantee, under another grant, out of it.
#[test]
fn a_grantee_cannot_push_another_grantee_s_spends_out_of_the_trail() {
	run_test(|| {
		let twin = patient_twin();
		let researchers = grant(twin, compute_terms(1000));
		let flooder = Grantee::Account(stranger());
		let strangers = grant(twin, Terms { grantee: flooder.clone(), ..compute_terms(1000) });
		let research = access(Scope::Compute, Purpose::Research, None);
		assert_eq!(spend_as(twin, &research, budget(500)).map(|(id, _)| id), Ok(researchers));
		let spends_of = |grant: GrantId| {
			Consent::audit_trail(&twin)
				.into_iter()
				.filter(
					|r| matches!(r.event, AuditEvent::BudgetSpent { grant: g, .. } if g == grant),
				)
				.count()
		};
		assert_eq!(spends_of(researchers), 1);

		let as_stranger = Access { grantee: flooder, ..research };
		for _ in 0..MAX_AUDIT * 3 {
			assert_eq!(spend_as(twin, &as_stranger, budget(1)).map(|(id, _)| id), Ok(strangers));
		}
		assert_eq!(spends_of(researchers), 1, "the researcher's spend is still in the trail");
		assert_eq!(spends_of(strangers), MAX_AUDIT as usize, "the flooder's own latest spends");
		assert_eq!(Grants::<Test>::get(twin, strangers).map(|g| g.spent), Some(budget(24)));
	});
}

/// Issue 26, hole 9: researchers spend under one institution's grant, and a
/// grant's spend trail keeps only its latest spends, so one researcher's
/// many tiny rounds pushed the others' spends out of it. Each job's total
/// under the grant is now its own record, which only its spends write.
#[test]
fn another_job_s_tiny_rounds_cannot_push_a_job_s_spends_out_of_the_record() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		let research = access(Scope::Compute, Purpose::Research, None);
		System::set_block_number(2);
		assert_eq!(spend_as(twin, &research, budget(100)).map(|(grant, _)| grant), Ok(id));
		System::set_block_number(3);
		assert_eq!(spend_as(twin, &research, budget(50)).map(|(grant, _)| grant), Ok(id));
		// Another job, under the same grant, in many tiny rounds.
		const FLOODER: u64 = 9;
		for round in 0..MAX_AUDIT + 5 {
			System::set_block_number(4 + u64::from(round));
			let tiny = Access {
				computation: Some(Computation {
					round: JobRound { job: FLOODER, round },
					model: None,
					code_hash: code(),
				}),
				..research.clone()
			};
			assert_ok!(spend_as(twin, &tiny, budget(1)));
		}
		let trail = SpendTrail::<Test>::get(twin, id);
		assert!(trail.iter().all(|spend| spend.job.is_some_and(|r| r.job == FLOODER)));
		let job = JobSpends::<Test>::get((twin, id, JOB)).expect("the job's record");
		assert_eq!(job, JobSpend { spent: budget(150), rounds: 2, first: 2, last: 3 });
		let flooder = JobSpends::<Test>::get((twin, id, FLOODER)).expect("the flooder's record");
		assert_eq!(flooder.rounds, MAX_AUDIT + 5);
		assert_eq!(flooder.spent, budget(u64::from(MAX_AUDIT) + 5));
		// Paged by grant and job, and kept once the grant is pruned.
		let all = Consent::job_spends(&twin, None, 10);
		assert_eq!(all.len(), 2);
		assert_eq!(Consent::job_spends(&twin, None, 1), all[..1].to_vec());
		let (grant, job, _) = all[0].clone();
		assert_eq!(Consent::job_spends(&twin, Some((grant, job)), 10), all[1..].to_vec());
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, id));
		assert_eq!(Consent::job_spends(&twin, None, 10), all);
	});
}

/// A release spends nothing: it writes no job spend record.
#[test]
fn a_released_reservation_leaves_no_job_spend_record() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		let access = Access {
			computation: Some(computation(0)),
			..access(Scope::Compute, Purpose::Research, None)
		};
		assert_eq!(Consent::reserve(&[twin], &access, budget(10)), vec![Ok(id)]);
		let round = JobRound { job: JOB, round: 0 };
		assert_eq!(Consent::settle(round, &[twin], Settlement::Release), vec![Some(id)]);
		assert!(JobSpends::<Test>::get((twin, id, JOB)).is_none());
	});
}

/// Before the fix every `record_use` appended to the one audit trail, so a
/// grantee could push the patient's grants and revocations out of it for the
/// price of fees.
#[test]
fn attack_grantee_erases_the_audit_trail_with_uses() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, view_terms());
		let revoked = grant(twin, compute_terms(1000));
		assert_ok!(spend(twin, budget(10)));
		assert_ok!(Consent::revoke(origin(&patient()), twin, revoked));
		let decisions = AuditTrail::<Test>::get(twin);
		let spends = SpendTrail::<Test>::get(twin, revoked);
		for _ in 0..MAX_AUDIT * 4 {
			assert_ok!(Consent::record_use(
				origin(&researcher()),
				twin,
				researcher_(),
				Scope::View,
				Purpose::Research,
				None
			));
		}
		assert_eq!(AuditTrail::<Test>::get(twin), decisions);
		assert_eq!(SpendTrail::<Test>::get(twin, revoked), spends);
		assert_eq!(spends.len(), 1);
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.uses), Some(MAX_AUDIT * 4));
		assert_eq!(decisions.len(), 3, "two grants and a revocation");
	});
}

// ---- prune ------------------------------------------------------------------------

#[test]
fn prune_deletes_revoked_or_expired_grants() {
	run_test(|| {
		let twin = patient_twin();
		let revoked = grant(twin, view_terms());
		let expiring = grant(twin, Terms { expires_at: 5, ..view_terms() });
		assert_noop!(
			Consent::prune_grant(origin(&stranger()), twin, revoked),
			Error::<Test>::GrantStillLive
		);
		assert_ok!(Consent::revoke(origin(&patient()), twin, revoked));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, revoked));
		System::assert_last_event(Event::Pruned { twin, grant: revoked }.into());
		assert_noop!(
			Consent::prune_grant(origin(&stranger()), twin, expiring),
			Error::<Test>::GrantStillLive
		);
		System::set_block_number(5);
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, expiring));
		assert_eq!(GrantCount::<Test>::get(twin), 0);
		assert_eq!(grant_hold(&patient()), 0);
		assert_noop!(
			Consent::prune_grant(origin(&stranger()), twin, expiring),
			Error::<Test>::GrantNotFound
		);
	});
}

// ---- property: budgets ---------------------------------------------------------------

mod budget_property {
	use super::*;
	use proptest::prelude::*;

	#[derive(Debug, Clone)]
	enum Op {
		Grant { epsilon: u64 },
		Spend { grant: usize, epsilon: u64, delta: u64 },
		Narrow { grant: usize, epsilon: u64 },
		Revoke { grant: usize },
		NextBlock,
	}

	fn op() -> impl Strategy<Value = Op> {
		prop_oneof![
			(1u64..5_000).prop_map(|epsilon| Op::Grant { epsilon }),
			(0usize..4, 0u64..2_000, 0u64..2_000).prop_map(|(grant, epsilon, delta)| Op::Spend {
				grant,
				epsilon,
				delta
			}),
			(0usize..4, 0u64..5_000).prop_map(|(grant, epsilon)| Op::Narrow { grant, epsilon }),
			(0usize..4).prop_map(|grant| Op::Revoke { grant }),
			Just(Op::NextBlock),
		]
	}

	/// What the test expects of each grant.
	struct Model {
		id: GrantId,
		budget: PrivacyBudget,
		spent: PrivacyBudget,
		revoked: bool,
	}

	/// Epsilon in thousandths as raw units (nine decimals), delta in raw parts.
	fn amount(epsilon_milli: u64, delta_parts: u64) -> PrivacyBudget {
		PrivacyBudget {
			epsilon: FixedU64::from_inner(epsilon_milli * 1_000_000 + epsilon_milli % 7),
			delta: Perquintill::from_parts(delta_parts),
		}
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(200))]
		#[test]
		fn spent_never_exceeds_budget_nor_underflows(ops in prop::collection::vec(op(), 1..40)) {
			run_test(|| {
				let twin = patient_twin();
				// A job for each grant, its grantee.
				(0..u64::from(MAX_PER_TWIN)).for_each(PostedJobs::post);
				let mut grants: Vec<Model> = Vec::new();
				for op in ops {
					match op {
						Op::Grant { epsilon } => {
							let budget = amount(epsilon, 1_000_000);
							// Each grant has a grantee of its own, so a spend names its grant.
							let grantee = Grantee::Job(grants.len() as u64);
							let terms = Terms { grantee, budget: Some(budget), ..compute_terms(1) };
							let result = Consent::grant(origin(&patient()), twin, terms);
							if grants.len() < MAX_PER_TWIN as usize {
								assert_ok!(result);
								let id = NextGrantId::<Test>::get() - 1;
								grants.push(Model { id, budget, spent: PrivacyBudget::default(), revoked: false });
							} else {
								assert!(result.is_err());
							}
						},
						Op::Spend { grant, epsilon, delta } => {
							let Some(model) = grants.get_mut(grant) else { continue };
							let spend = amount(epsilon, delta);
							let as_job = Access {
								grantee: Grantee::Job(grant as u64),
								..access(Scope::Compute, Purpose::Research, None)
							};
							let result = spend_as(twin, &as_job, spend);
							let expected = model.spent.checked_add(&spend).filter(|s| s.fits_within(&model.budget));
							match (spend == PrivacyBudget::default(), model.revoked, expected) {
								(true, _, _) => assert_eq!(result, Err(ConsentDenied::ZeroSpend)),
								(false, false, Some(spent)) => {
									let left = model.budget.checked_sub(&spent).expect("fits");
									assert_eq!(result, Ok((model.id, left)));
									model.spent = spent;
								},
								(false, true, _) => assert_eq!(result, Err(ConsentDenied::Revoked)),
								(false, false, None) => assert_eq!(result, Err(ConsentDenied::BudgetExceeded)),
							}
						},
						Op::Narrow { grant, epsilon } => {
							let Some(model) = grants.get_mut(grant) else { continue };
							let narrower = PrivacyBudget { epsilon: amount(epsilon, 0).epsilon, ..model.budget };
							let grantee = Grantee::Job(grant as u64);
							let terms = Terms { grantee, budget: Some(narrower), ..compute_terms(1) };
							let result = Consent::narrow(origin(&patient()), twin, model.id, terms);
							// A compute grant keeps a positive epsilon (else `MissingBudget`).
							let allowed = !model.revoked &&
								!narrower.epsilon.is_zero() &&
								narrower.fits_within(&model.budget) &&
								narrower != model.budget &&
								model.spent.fits_within(&narrower);
							assert_eq!(result.is_ok(), allowed, "{result:?}");
							if allowed {
								model.budget = narrower;
							}
						},
						Op::Revoke { grant } => {
							let Some(model) = grants.get_mut(grant) else { continue };
							let result = Consent::revoke(origin(&patient()), twin, model.id);
							assert_eq!(result.is_ok(), !model.revoked);
							model.revoked = true;
						},
						Op::NextBlock => System::set_block_number(System::block_number() + 1),
					}
					for model in &grants {
						let stored = Grants::<Test>::get(twin, model.id).expect("not pruned");
						assert_eq!(stored.spent, model.spent);
						assert!(stored.spent.fits_within(&stored.terms.budget.expect("compute")));
					}
					Consent::do_try_state().expect("invariants hold after every step");
				}
			});
		}
	}
}

// ---- hardening ---------------------------------------------------------------------

/// Before the fix a guardian (or whoever created a twin naming a controller)
/// could add its own authentication key to the twin and then act as the patient.
#[test]
fn attack_guardian_adds_its_key_to_act_as_the_patient() {
	run_test(|| {
		let twin = guarded_twin(false);
		let key = pallet_twins::VerificationMethod {
			fragment: BoundedVec::truncate_from(b"mine".to_vec()),
			key: twinnet_primitives::did::PublicKey::Sr25519([4; 32]),
			relationships: twinnet_primitives::did::Relationships {
				authentication: true,
				..Default::default()
			},
		};
		assert_ok!(Twins::add_verification_method(origin(&guardian()), twin, key));
		assert_eq!(Consent::authority(&twin, &guardian()), Ok(Authority::Guardian));
		let id = {
			assert_ok!(Consent::grant(origin(&guardian()), twin, compute_terms(1000)));
			NextGrantId::<Test>::get() - 1
		};
		assert_eq!(Grants::<Test>::get(twin, id).map(|g| g.granted_by), Some(Authority::Guardian));
	});
}

#[test]
fn a_twin_with_live_grants_cannot_be_deactivated() {
	run_test(|| {
		let twin = patient_twin();
		let id = grant(twin, Terms { starts_at: 50, ..view_terms() });
		assert_noop!(Twins::deactivate(origin(&patient()), twin), Error::<Test>::LiveGrants);
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_ok!(Twins::deactivate(origin(&patient()), twin));
		// Its grants can still be pruned, by anyone, and deposits go home.
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, id));
		assert_eq!(grant_hold(&patient()), 0);
	});
}

#[test]
fn a_guardian_cannot_deactivate_a_twin_the_patient_granted_on() {
	run_test(|| {
		let twin = guarded_twin(true);
		let id = grant(twin, view_terms());
		assert_noop!(Twins::deactivate(origin(&guardian()), twin), Error::<Test>::LiveGrants);
		assert_noop!(
			Consent::revoke(origin(&guardian()), twin, id),
			Error::<Test>::PatientDecision
		);
	});
}

#[test]
fn requests_on_a_deactivated_twin_can_be_cleared_by_anyone() {
	run_test(|| {
		let twin = patient_twin();
		assert_ok!(Consent::request_access(origin(&researcher()), twin, view_terms()));
		let request = last_request();
		assert_ok!(Twins::deactivate(origin(&patient()), twin));
		assert_ok!(Consent::close_request(origin(&stranger()), twin, request));
		assert_eq!(request_hold(&researcher()), 0);
	});
}

#[test]
fn grants_are_capped_in_duration_epsilon_and_delta() {
	run_test(|| {
		let twin = patient_twin();
		let too_long = Terms { expires_at: 2 + MAX_GRANT_DURATION, ..view_terms() };
		assert_noop!(
			Consent::grant(origin(&patient()), twin, too_long),
			Error::<Test>::PeriodTooLong
		);
		assert_ok!(Consent::grant(
			origin(&patient()),
			twin,
			Terms { expires_at: 1 + MAX_GRANT_DURATION, ..view_terms() }
		));
		let huge_epsilon =
			PrivacyBudget { epsilon: FixedU64::from_u32(11), delta: Perquintill::zero() };
		assert_noop!(
			Consent::grant(
				origin(&patient()),
				twin,
				Terms { budget: Some(huge_epsilon), ..compute_terms(1) }
			),
			Error::<Test>::BudgetTooLarge
		);
		// Delta 1 (certain failure) was accepted before the fix.
		let certain = PrivacyBudget { epsilon: FixedU64::from_u32(1), delta: Perquintill::one() };
		assert_noop!(
			Consent::request_access(
				origin(&researcher()),
				twin,
				Terms { budget: Some(certain), ..compute_terms(1) }
			),
			Error::<Test>::BudgetTooLarge
		);
	});
}

/// Every request the patient's side decided is in the decision trail with
/// who asked (here an institution's controller, for the institution), for
/// which scope and purposes; prunes keep the grant's grantee and totals.
#[test]
fn request_decisions_and_prunes_are_in_the_decision_trail() {
	run_test(|| {
		let twin = patient_twin();
		assert_ok!(Consent::request_access(origin(&researcher()), twin, view_terms()));
		let rejected = last_request();
		assert_ok!(Consent::reject_request(origin(&patient()), twin, rejected));
		System::assert_last_event(
			Event::RequestRejected { twin, request: rejected, by: Authority::Patient }.into(),
		);
		let institution = create_did(
			&researcher(),
			SubjectKind::Institution,
			Controller::Account(researcher()),
			None,
		);
		let asked = Terms { grantee: Grantee::Institution(institution), ..compute_terms(500) };
		assert_ok!(Consent::request_access(origin(&researcher()), twin, asked));
		let approved = last_request();
		assert_ok!(Consent::approve_request(origin(&patient()), twin, approved));
		let id = NextGrantId::<Test>::get() - 1;
		assert_ok!(Consent::revoke(origin(&patient()), twin, id));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, id));
		let events: Vec<_> = AuditTrail::<Test>::get(twin).into_iter().map(|r| r.event).collect();
		let listed = |list: &[Purpose]| Purposes::truncate_from(list.to_vec());
		assert_eq!(
			events,
			vec![
				AuditEvent::RequestRejected {
					request: rejected,
					requester: researcher(),
					grantee: researcher_(),
					scope: Scope::View,
					purposes: listed(&[Purpose::Research]),
					by: Authority::Patient
				},
				AuditEvent::Granted { grant: id, by: Authority::Patient },
				AuditEvent::RequestApproved {
					request: approved,
					grant: id,
					requester: researcher(),
					grantee: Grantee::Institution(institution),
					scope: Scope::Compute,
					purposes: listed(&[Purpose::Research, Purpose::ModelTraining]),
					by: Authority::Patient
				},
				AuditEvent::Revoked { grant: id, by: Authority::Patient },
				AuditEvent::Pruned {
					grant: id,
					grantee: Grantee::Institution(institution),
					spent: PrivacyBudget::default(),
					uses: 0
				},
			]
		);
	});
}

/// Anyone may ask for access: if opening, withdrawing or clearing a request
/// wrote to the patient's trail, a stranger could push the patient's
/// decisions out of it for the price of fees. Those are only events.
#[test]
fn requests_opened_or_withdrawn_stay_out_of_the_patient_s_trail() {
	run_test(|| {
		let twin = patient_twin();
		grant(twin, view_terms());
		let decisions = AuditTrail::<Test>::get(twin);
		let as_stranger = || Terms { grantee: Grantee::Account(stranger()), ..view_terms() };
		for _ in 0..MAX_AUDIT * 2 {
			assert_ok!(Consent::request_access(origin(&stranger()), twin, as_stranger()));
			assert_ok!(Consent::close_request(origin(&stranger()), twin, last_request()));
		}
		assert_ok!(Consent::request_access(origin(&stranger()), twin, as_stranger()));
		System::set_block_number(1 + REQUEST_LIFETIME);
		assert_ok!(Consent::close_request(origin(&researcher()), twin, last_request()));
		System::assert_last_event(Event::RequestClosed { twin, request: last_request() }.into());
		assert_eq!(AuditTrail::<Test>::get(twin), decisions);
		assert_eq!(decisions.len(), 1);
	});
}

/// A prune deletes the grant's spend trail with the grant (its depositor's
/// storage), and the decision trail keeps the grant's grantee and its final
/// totals: every spend and use, also those the trail no longer held.
#[test]
fn a_prune_deletes_the_spend_trail_and_records_the_grant_s_totals() {
	run_test(|| {
		let twin = patient_twin();
		let kept = grant(twin, compute_terms(1000));
		let flooder = Grantee::Account(stranger());
		let pruned = grant(twin, Terms { grantee: flooder.clone(), ..compute_terms(1000) });
		let research = access(Scope::Compute, Purpose::Research, None);
		let as_stranger = Access { grantee: flooder.clone(), ..research.clone() };
		assert_ok!(spend_as(twin, &research, budget(100)));
		for _ in 0..MAX_AUDIT + 1 {
			assert_ok!(spend_as(twin, &as_stranger, budget(10)));
		}
		assert_eq!(Consent::use_grant(&twin, &as_stranger), Ok(pruned));
		assert_eq!(Consent::use_grant(&twin, &as_stranger), Ok(pruned));
		assert_eq!(SpendTrail::<Test>::get(twin, pruned).len(), MAX_AUDIT as usize);

		assert_ok!(Consent::revoke(origin(&patient()), twin, pruned));
		assert_ok!(Consent::prune_grant(origin(&stranger()), twin, pruned));
		assert!(!SpendTrail::<Test>::contains_key(twin, pruned));
		assert_eq!(SpendTrail::<Test>::get(twin, kept).len(), 1);
		assert_eq!(
			AuditTrail::<Test>::get(twin).last().map(|r| r.event.clone()),
			Some(AuditEvent::Pruned {
				grant: pruned,
				grantee: flooder,
				spent: budget(90),
				uses: 2
			})
		);
		let spends: Vec<_> = Consent::audit_trail(&twin)
			.into_iter()
			.filter_map(|r| match r.event {
				AuditEvent::BudgetSpent { grant, amount, .. } => Some((grant, amount)),
				_ => None,
			})
			.collect();
		assert_eq!(spends, vec![(kept, budget(100))]);
	});
}

#[test]
fn try_state_finds_spend_trails_that_do_not_match_their_grant() {
	new_test_ext().execute_with(|| {
		let twin = patient_twin();
		let id = grant(twin, compute_terms(1000));
		assert_ok!(spend(twin, budget(5)));
		Consent::do_try_state().expect("consistent");
		let spend = SpendRecord { block: 1, amount: budget(5), job: None };
		SpendTrail::<Test>::insert(twin, id + 1, BoundedVec::truncate_from(vec![spend.clone()]));
		assert!(Consent::do_try_state().is_err(), "a trail without its grant");
		SpendTrail::<Test>::remove(twin, id + 1);
		SpendTrail::<Test>::mutate(twin, id, |trail| trail.try_push(spend).expect("room"));
		assert!(Consent::do_try_state().is_err(), "a trail recording more than was spent");
	});
}

#[test]
fn the_test_configuration_passes_the_integrity_test() {
	use frame_support::traits::Hooks;
	run_test(<Consent as Hooks<u64>>::integrity_test);
}

// ---- migration ---------------------------------------------------------------------

#[test]
fn migration_to_v2_upgrades_grants_requests_and_trails() {
	use crate::migrations::{v1, v2};
	use frame_support::traits::{
		fungible::MutateHold, GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
	};
	new_test_ext().execute_with(|| {
		StorageVersion::new(1).put::<Consent>();
		let twin = patient_twin();
		let old_terms = || v1::Terms::<Test> {
			grantee: researcher_(),
			scope: Scope::Compute,
			purposes: purposes(&[Purpose::Research]),
			datasets: None,
			starts_at: 1,
			expires_at: 100,
			budget: Some(budget(1000)),
		};
		let old_grant = v1::Grant::<Test> {
			terms: old_terms(),
			spent: budget(250),
			revoked_at: None,
			granted_by: Authority::Patient,
			depositor: patient(),
			deposit: 150,
		};
		frame_support::storage::unhashed::put(&Grants::<Test>::hashed_key_for(twin, 0), &old_grant);
		GrantCount::<Test>::insert(twin, 1);
		assert_ok!(Balances::hold(&HoldReason::GrantDeposit.into(), &patient(), 150));
		let old_request = v1::AccessRequest::<Test> {
			terms: old_terms(),
			requester: researcher(),
			expires_at: 5,
		};
		frame_support::storage::unhashed::put(
			&Requests::<Test>::hashed_key_for(twin, 3),
			&old_request,
		);
		v1::RequestCount::<Test>::insert(twin, 1);
		assert_ok!(Balances::hold(
			&HoldReason::RequestDeposit.into(),
			&researcher(),
			REQUEST_DEPOSIT
		));
		let old_trail: Vec<(u64, v1::AuditEvent<AccountId32>)> = vec![
			(1, v1::AuditEvent::Granted { grant: 0, by: Authority::Patient }),
			(
				2,
				v1::AuditEvent::Used {
					grant: 0,
					grantee: researcher_(),
					purpose: Purpose::Research,
				},
			),
			(3, v1::AuditEvent::BudgetSpent { grant: 0, amount: budget(250) }),
		];
		frame_support::storage::unhashed::put(
			&AuditTrail::<Test>::hashed_key_for(twin),
			&old_trail,
		);

		crate::migrations::MigrateToV2::<Test>::on_runtime_upgrade();

		assert_eq!(Consent::on_chain_storage_version(), StorageVersion::new(2));
		let grant = Grants::<Test>::get(twin, 0).expect("migrated");
		assert_eq!(
			grant.terms,
			Terms { purposes: purposes(&[Purpose::Research]), ..compute_terms(1000) }
		);
		assert_eq!(
			(grant.spent, grant.reserved, grant.uses),
			(budget(250), PrivacyBudget::default(), 0)
		);
		assert_eq!(Consent::grants_held_by(&researcher_(), None, 10), vec![(twin, 0)]);
		assert_eq!(
			Requests::<Test>::get(twin, 3).map(|r| r.terms.binding),
			Some(Binding::default())
		);
		assert_eq!(OpenRequests::<Test>::get(researcher()), 1);
		assert_eq!(
			AuditTrail::<Test>::get(twin).into_iter().map(|r| r.event).collect::<Vec<_>>(),
			vec![AuditEvent::Granted { grant: 0, by: Authority::Patient }]
		);
		assert_eq!(
			v2::SpendTrail::<Test>::get(twin).map(|trail| trail.into_inner()),
			Some(vec![(
				3,
				v2::AuditEvent::BudgetSpent {
					grant: 0,
					grantee: researcher_(),
					amount: budget(250),
					job: None
				}
			)])
		);
		// Version 2 goes on to 3 in the same upgrade.
		crate::migrations::MigrateToV3::<Test>::on_runtime_upgrade();
		assert_eq!(
			SpendTrail::<Test>::get(twin, 0).into_inner(),
			vec![SpendRecord { block: 3, amount: budget(250), job: None }]
		);
		System::set_block_number(3);
		Consent::do_try_state().expect("migrated state is consistent");
		// Run again, it changes nothing.
		crate::migrations::MigrateToV2::<Test>::on_runtime_upgrade();
		crate::migrations::MigrateToV3::<Test>::on_runtime_upgrade();
		assert_eq!(Grants::<Test>::get(twin, 0).map(|g| g.spent), Some(budget(250)));
	});
}

#[test]
fn migration_to_v3_moves_spends_to_their_grants_and_keeps_old_decisions_as_legacy() {
	use crate::migrations::v2;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext().execute_with(|| {
		StorageVersion::new(2).put::<Consent>();
		let twin = patient_twin();
		let researchers = grant(twin, compute_terms(1000));
		let flooder = Grantee::Account(stranger());
		let strangers = grant(twin, Terms { grantee: flooder.clone(), ..compute_terms(1000) });
		let gone = 99;
		for (id, spent) in [(researchers, budget(150)), (strangers, budget(10))] {
			Grants::<Test>::mutate(twin, id, |g| {
				if let Some(g) = g {
					g.spent = spent;
				}
			});
		}
		let spent = |grant, grantee: &Grantee<AccountId32>, milli, round| {
			let job = Some(JobRound { job: JOB, round });
			v2::AuditEvent::BudgetSpent {
				grant,
				grantee: grantee.clone(),
				amount: budget(milli),
				job,
			}
		};
		let old_spends: Vec<v2::AuditRecord<Test>> = vec![
			(1, spent(researchers, &researcher_(), 100, 1)),
			(2, spent(strangers, &flooder, 10, 2)),
			(2, spent(gone, &flooder, 10, 3)),
			(3, spent(researchers, &researcher_(), 50, 4)),
		];
		v2::SpendTrail::<Test>::insert(twin, BoundedVec::truncate_from(old_spends));
		let by = Authority::Patient;
		let old_decisions: Vec<v2::AuditRecord<Test>> = vec![
			(1, v2::AuditEvent::Granted { grant: researchers, by }),
			(1, v2::AuditEvent::Granted { grant: strangers, by }),
			(2, v2::AuditEvent::RequestApproved { request: 5, grant: researchers, by }),
			(2, v2::AuditEvent::RequestRejected { request: 6, by }),
			(3, v2::AuditEvent::Pruned { grant: gone }),
		];
		v2::AuditTrail::<Test>::insert(twin, BoundedVec::truncate_from(old_decisions));
		System::set_block_number(3);

		#[cfg(feature = "try-runtime")]
		crate::migrations::MigrateToV3::<Test>::try_on_runtime_upgrade(true)
			.expect("pre- and post-upgrade checks pass");
		#[cfg(not(feature = "try-runtime"))]
		crate::migrations::MigrateToV3::<Test>::on_runtime_upgrade();

		assert_eq!(Consent::on_chain_storage_version(), StorageVersion::new(3));
		let record = |block, milli, round| SpendRecord {
			block,
			amount: budget(milli),
			job: Some(JobRound { job: JOB, round }),
		};
		assert_eq!(
			SpendTrail::<Test>::get(twin, researchers).into_inner(),
			vec![record(1, 100, 1), record(3, 50, 4)]
		);
		assert_eq!(SpendTrail::<Test>::get(twin, strangers).into_inner(), vec![record(2, 10, 2)]);
		assert!(!SpendTrail::<Test>::contains_key(twin, gone), "the pruned grant's spends went");
		assert!(!v2::SpendTrail::<Test>::contains_key(twin));
		assert_eq!(
			AuditTrail::<Test>::get(twin).into_iter().map(|r| r.event).collect::<Vec<_>>(),
			vec![
				AuditEvent::Granted { grant: researchers, by },
				AuditEvent::Granted { grant: strangers, by },
				AuditEvent::LegacyRequestApproved { request: 5, grant: researchers, by },
				AuditEvent::LegacyRequestRejected { request: 6, by },
				AuditEvent::LegacyPruned { grant: gone },
			]
		);
		let spends: Vec<_> = Consent::audit_trail(&twin)
			.into_iter()
			.filter_map(|r| match r.event {
				AuditEvent::BudgetSpent { grant, grantee, .. } => Some((r.block, grant, grantee)),
				_ => None,
			})
			.collect();
		assert_eq!(
			spends,
			vec![
				(1, researchers, researcher_()),
				(2, strangers, flooder),
				(3, researchers, researcher_())
			]
		);
		Consent::do_try_state().expect("migrated state is consistent");
		// Run again, it changes nothing.
		let migrated: Vec<_> = SpendTrail::<Test>::iter().collect();
		crate::migrations::MigrateToV3::<Test>::on_runtime_upgrade();
		assert_eq!(SpendTrail::<Test>::iter().collect::<Vec<_>>(), migrated);
	});
}

// ---- genesis ---------------------------------------------------------------

/// A grant of `twin`'s rows in a dataset of the researcher's institution.
fn genesis_grant(twin: DidId, patient: AccountId32) -> GenesisGrant<AccountId32> {
	let institution = create_did(
		&researcher(),
		SubjectKind::Institution,
		Controller::Account(researcher()),
		None,
	);
	let dataset =
		create_did(&researcher(), SubjectKind::Dataset, Controller::Account(researcher()), None);
	GenesisGrant {
		twin,
		patient,
		institution,
		dataset,
		purpose: Purpose::ModelTraining,
		expires_at: 1_000,
		epsilon: 2_500_000_000,
		delta: 1_000_000_000_000,
	}
}

#[test]
fn genesis_grants_are_compute_grants_decided_by_the_patient() {
	run_test(|| {
		let twin = patient_twin();
		let entry = genesis_grant(twin, patient());
		let (institution, dataset) = (entry.institution, entry.dataset);
		let config = GenesisConfig::<Test> { grants: vec![entry] };
		frame_support::traits::BuildGenesisConfig::build(&config);

		let (id, record) = Grants::<Test>::iter_prefix(twin).next().expect("granted");
		assert_eq!(record.granted_by, Authority::Patient);
		assert_eq!(record.depositor, patient());
		assert_eq!(grant_hold(&patient()), record.deposit);
		assert_eq!(record.terms.grantee, Grantee::Institution(institution));
		assert_eq!(record.terms.scope, Scope::Compute);
		assert_eq!(record.terms.datasets.map(|d| d.to_vec()), Some(vec![dataset]));
		assert_eq!(record.terms.expires_at, 1_000);
		assert_eq!(
			record.terms.budget,
			Some(PrivacyBudget {
				epsilon: FixedU64::from_rational(5, 2),
				delta: Perquintill::from_parts(1_000_000_000_000),
			})
		);
		let training = Access {
			grantee: Grantee::Institution(institution),
			scope: Scope::Compute,
			purpose: Purpose::ModelTraining,
			dataset: Some(dataset),
			computation: None,
		};
		assert_eq!(Consent::check(&twin, &training), Ok(id));
	});
}

#[test]
#[should_panic(expected = "NotAuthorized")]
fn a_genesis_grant_by_someone_other_than_the_patient_is_refused() {
	new_test_ext().execute_with(|| {
		let twin = patient_twin();
		let config = GenesisConfig::<Test> { grants: vec![genesis_grant(twin, stranger())] };
		frame_support::traits::BuildGenesisConfig::build(&config);
	});
}
