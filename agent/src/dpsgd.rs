//! DP-SGD (Abadi et al. 2016) for the rounds of a job: each of the job's
//! local steps samples every record independently with the sampling rate
//! `q` (Poisson sampling, as the privacy accountant assumes), clips each
//! sampled record's gradient to L2 norm `C`, sums them, adds Gaussian noise
//! of standard deviation `σ·C` to every coordinate, divides by the expected
//! batch `q·n` and takes a step of the learning rate.
//!
//! With `n` records each step is the subsampled Gaussian mechanism with
//! noise multiplier `σ` and rate `q` on every record, whatever the others;
//! `twinnet_dp` turns the job's steps into the (ε, δ) charged per twin.
//!
//! **Bounded work.** A step draws every record, so a round costs about
//! `steps × n` gradient draws, and a job's settings choose the steps: with
//! q = 1 and a huge σ a billion steps cost almost no ε. A round may ask for
//! at most [`MAX_LOCAL_STEPS`] steps (else its settings are refused) and
//! [`Limits::max_record_steps`] record draws (else it is refused before
//! the first step), and stops with [`TrainError::OutOfTime`] at its
//! [`Limits::deadline`], checked between steps.

use std::time::Instant;

use codec::Encode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};

use crate::{data::Record, model};

/// A job's DP-SGD settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
	/// The step size.
	pub learning_rate: f64,
	/// The steps per round.
	pub local_steps: u32,
	/// The L2 bound `C` of each record's gradient.
	pub clip_norm: f64,
	/// The noise multiplier `σ`: the noise's standard deviation is `σ·C`.
	pub noise_multiplier: f64,
	/// The probability `q` that a step samples a record.
	pub sampling_rate: f64,
}

/// The most local steps a round may ask for (TwinNet's runtime's
/// `MaxLocalSteps`).
pub use twinnet_primitives::federated::MAX_LOCAL_STEPS;
/// The most record draws (steps × local records) of a round by default:
/// about a minute of logistic regression on one core.
pub const MAX_RECORD_STEPS: u64 = 20_000_000;

/// How much work one round may take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
	/// The most record draws (steps × records).
	pub max_record_steps: u64,
	/// When training stops, if it has not finished.
	pub deadline: Option<Instant>,
}

impl Default for Limits {
	/// [`MAX_RECORD_STEPS`], no deadline.
	fn default() -> Self {
		Self { max_record_steps: MAX_RECORD_STEPS, deadline: None }
	}
}

/// Why a round was not trained.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
	/// The settings cannot be trained with.
	Settings(SettingsError),
	/// `steps` steps over `records` records are more record draws than the
	/// limit.
	TooMuchWork {
		/// The steps asked for.
		steps: u32,
		/// The local records.
		records: usize,
	},
	/// The deadline passed after `steps_done` steps.
	OutOfTime {
		/// The steps done by then.
		steps_done: u32,
	},
}

impl core::fmt::Display for TrainError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::Settings(error) => write!(f, "unusable training settings: {error:?}"),
			Self::TooMuchWork { steps, records } => write!(
				f,
				"{steps} steps over {records} records are more than the agent's limit of record draws"
			),
			Self::OutOfTime { steps_done } => {
				write!(f, "training ran out of time after {steps_done} steps")
			},
		}
	}
}

/// Why settings cannot be trained with.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsError {
	/// The sampling rate is not in (0, 1].
	SamplingRate(f64),
	/// The clip norm is not positive and finite.
	ClipNorm(f64),
	/// The noise multiplier is negative or not finite.
	NoiseMultiplier(f64),
	/// The learning rate is not positive and finite.
	LearningRate(f64),
	/// The steps are none or more than [`MAX_LOCAL_STEPS`].
	LocalSteps(u32),
}

impl Settings {
	/// The settings, if DP-SGD can run with them.
	pub fn validated(self) -> Result<Self, SettingsError> {
		let positive = |x: f64| x.is_finite() && x > 0.0;
		if !(positive(self.sampling_rate) && self.sampling_rate <= 1.0) {
			return Err(SettingsError::SamplingRate(self.sampling_rate));
		}
		if !positive(self.clip_norm) {
			return Err(SettingsError::ClipNorm(self.clip_norm));
		}
		if !(self.noise_multiplier.is_finite() && self.noise_multiplier >= 0.0) {
			return Err(SettingsError::NoiseMultiplier(self.noise_multiplier));
		}
		if !positive(self.learning_rate) {
			return Err(SettingsError::LearningRate(self.learning_rate));
		}
		if !(1..=MAX_LOCAL_STEPS).contains(&self.local_steps) {
			return Err(SettingsError::LocalSteps(self.local_steps));
		}
		Ok(self)
	}
}

/// The generator of round `round` of `job`: reproducible from `seed` (tests
/// and benchmarks only: real noise must be unpredictable), else seeded from
/// the operating system's entropy.
pub fn round_rng(seed: Option<u64>, job: u64, round: u32) -> ChaCha20Rng {
	match seed {
		Some(seed) => {
			ChaCha20Rng::from_seed(sp_crypto_hashing::blake2_256(&(seed, job, round).encode()))
		},
		None => ChaCha20Rng::from_entropy(),
	}
}

/// `gradient` scaled down to L2 norm at most `bound`.
pub fn clip(mut gradient: Vec<f64>, bound: f64) -> Vec<f64> {
	let norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
	if norm > bound {
		let factor = bound / norm;
		gradient.iter_mut().for_each(|g| *g *= factor);
	}
	gradient
}

/// Trains `parameters` (weights, then bias) on `records` for
/// `settings.local_steps` DP-SGD steps, drawing samples and noise from `rng`,
/// within `limits`. Without records the parameters are left as they are.
pub fn train(
	parameters: &mut [f64],
	records: &[&Record],
	settings: &Settings,
	limits: &Limits,
	rng: &mut impl Rng,
) -> Result<(), TrainError> {
	let settings = settings.validated().map_err(TrainError::Settings)?;
	if records.is_empty() {
		return Ok(());
	}
	let draws = u64::from(settings.local_steps).saturating_mul(records.len() as u64);
	if draws > limits.max_record_steps {
		return Err(TrainError::TooMuchWork {
			steps: settings.local_steps,
			records: records.len(),
		});
	}
	let noise = Normal::new(0.0, settings.noise_multiplier * settings.clip_norm).map_err(|_| {
		TrainError::Settings(SettingsError::NoiseMultiplier(settings.noise_multiplier))
	})?;
	let expected_batch = settings.sampling_rate * records.len() as f64;
	for step in 0..settings.local_steps {
		if limits.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
			return Err(TrainError::OutOfTime { steps_done: step });
		}
		let mut sum = vec![0.0; parameters.len()];
		for record in records {
			if rng.gen_bool(settings.sampling_rate) {
				let clipped = clip(model::gradient(parameters, record), settings.clip_norm);
				sum.iter_mut().zip(clipped).for_each(|(s, g)| *s += g);
			}
		}
		for (parameter, total) in parameters.iter_mut().zip(sum) {
			let noisy = total + noise.sample(rng);
			*parameter -= settings.learning_rate * noisy / expected_batch;
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
	use super::*;
	use proptest::prelude::*;
	use rand::SeedableRng;
	use rand_chacha::ChaCha20Rng;

	fn settings(noise_multiplier: f64) -> Settings {
		Settings {
			learning_rate: 0.5,
			local_steps: 50,
			clip_norm: 1.0,
			noise_multiplier,
			sampling_rate: 0.5,
		}
	}

	/// Two separable clusters: label 1 around x = +1, label 0 around -1.
	fn clusters() -> Vec<Record> {
		(0..100)
			.map(|i| {
				let label = f64::from(i % 2);
				let x = (2.0 * label - 1.0) * (1.0 + f64::from(i % 7) / 10.0);
				Record { features: vec![x, f64::from(i % 3) - 1.0], label }
			})
			.collect()
	}

	#[test]
	fn training_learns_separable_data_with_and_without_noise() {
		let data = clusters();
		let records: Vec<&Record> = data.iter().collect();
		for noise in [0.0, 1.0] {
			let mut parameters = vec![0.0; 3];
			let mut rng = ChaCha20Rng::seed_from_u64(7);
			train(&mut parameters, &records, &settings(noise), &Limits::default(), &mut rng)
				.unwrap();
			assert_eq!(model::accuracy(&parameters, &records), 1.0, "noise {noise}");
		}
	}

	#[test]
	fn the_same_seed_gives_the_same_model_and_no_records_change_nothing() {
		let data = clusters();
		let records: Vec<&Record> = data.iter().collect();
		let run = |seed| {
			let mut parameters = vec![0.0; 3];
			let mut rng = ChaCha20Rng::seed_from_u64(seed);
			train(&mut parameters, &records, &settings(1.0), &Limits::default(), &mut rng).unwrap();
			parameters
		};
		assert_eq!(run(1), run(1));
		assert_ne!(run(1), run(2));
		let mut untouched = vec![0.25; 3];
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		train(&mut untouched, &[], &settings(1.0), &Limits::default(), &mut rng).unwrap();
		assert_eq!(untouched, vec![0.25; 3]);
	}

	#[test]
	fn bad_settings_are_refused() {
		let mut p = vec![0.0; 3];
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		let with = |change: fn(&mut Settings)| {
			let mut s = settings(1.0);
			change(&mut s);
			s
		};
		for (bad, error) in [
			(with(|s| s.sampling_rate = 0.0), SettingsError::SamplingRate(0.0)),
			(with(|s| s.sampling_rate = 1.5), SettingsError::SamplingRate(1.5)),
			(with(|s| s.clip_norm = 0.0), SettingsError::ClipNorm(0.0)),
			(with(|s| s.noise_multiplier = -1.0), SettingsError::NoiseMultiplier(-1.0)),
			(with(|s| s.learning_rate = 0.0), SettingsError::LearningRate(0.0)),
			(with(|s| s.local_steps = 0), SettingsError::LocalSteps(0)),
			(with(|s| s.local_steps = u32::MAX), SettingsError::LocalSteps(u32::MAX)),
		] {
			let refused = train(&mut p, &[], &bad, &Limits::default(), &mut rng);
			assert_eq!(refused, Err(TrainError::Settings(error)));
		}
	}

	/// q = 1 and σ = 10⁹ spend almost no ε however many steps: the steps
	/// and the record draws are what bound a round's work.
	#[test]
	fn a_round_of_more_record_draws_than_the_limit_is_refused_before_the_first_step() {
		let data = clusters();
		let records: Vec<&Record> = data.iter().collect();
		let cheap = Settings { sampling_rate: 1.0, noise_multiplier: 1e9, ..settings(1.0) };
		let limits = Limits { max_record_steps: 50 * 100 - 1, deadline: None };
		let mut parameters = vec![0.5; 3];
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		assert_eq!(
			train(&mut parameters, &records, &cheap, &limits, &mut rng),
			Err(TrainError::TooMuchWork { steps: 50, records: 100 })
		);
		assert_eq!(parameters, vec![0.5; 3], "nothing was trained");
		let limits = Limits { max_record_steps: 50 * 100, ..limits };
		assert_eq!(train(&mut parameters, &records, &cheap, &limits, &mut rng), Ok(()));
	}

	#[test]
	fn training_stops_at_its_deadline() {
		let data = clusters();
		let records: Vec<&Record> = data.iter().collect();
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		let passed = Limits { deadline: Some(Instant::now()), ..Limits::default() };
		let mut parameters = vec![0.0; 3];
		assert_eq!(
			train(&mut parameters, &records, &settings(1.0), &passed, &mut rng),
			Err(TrainError::OutOfTime { steps_done: 0 })
		);
		assert_eq!(parameters, vec![0.0; 3], "nothing was trained");
	}

	proptest! {
		#[test]
		fn clipping_bounds_the_norm_and_keeps_the_direction(
			gradient in proptest::collection::vec(-100.0f64..100.0, 1..8),
			bound in 0.01f64..10.0,
		) {
			let clipped = clip(gradient.clone(), bound);
			let norm = clipped.iter().map(|g| g * g).sum::<f64>().sqrt();
			prop_assert!(norm <= bound * (1.0 + 1e-12));
			let original = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
			if original <= bound {
				prop_assert_eq!(clipped, gradient);
			} else {
				for (c, g) in clipped.iter().zip(&gradient) {
					prop_assert!((c * original - g * norm).abs() <= 1e-9 * original.max(1.0));
				}
			}
		}
	}
}
