//! Logistic regression on `d` features, its parameters laid out as the
//! chain lays them out (`d` weights, then the bias), and their fixed-point
//! form on chain (`i32` with [`FRACTION_BITS`] fraction bits).

use twinnet_primitives::federated::FRACTION_BITS;

use crate::data::Record;

/// The scale of the fixed-point form: 2^[`FRACTION_BITS`].
fn scale() -> f64 {
	f64::from(1u32 << FRACTION_BITS)
}

/// `parameters` in fixed point, each rounded to nearest and saturated to
/// the `i32` range.
pub fn to_fixed(parameters: &[f64]) -> Vec<i32> {
	// `as` saturates at the bounds of `i32` (and maps NaN to 0).
	parameters.iter().map(|value| (value * scale()).round() as i32).collect()
}

/// Fixed-point `parameters` as reals.
pub fn from_fixed(parameters: &[i32]) -> Vec<f64> {
	parameters.iter().map(|value| f64::from(*value) / scale()).collect()
}

/// The logistic function.
fn sigmoid(z: f64) -> f64 {
	1.0 / (1.0 + (-z).exp())
}

/// The model's probability that `features` are of label 1; `parameters`
/// are the weights and then the bias.
pub fn predict(parameters: &[f64], features: &[f64]) -> f64 {
	let (bias, weights) = match parameters.split_last() {
		Some((bias, weights)) => (*bias, weights),
		None => (0.0, parameters),
	};
	let z: f64 = weights.iter().zip(features).map(|(w, x)| w * x).sum::<f64>() + bias;
	sigmoid(z)
}

/// The gradient of the log loss of `record` at `parameters` (same layout).
pub fn gradient(parameters: &[f64], record: &Record) -> Vec<f64> {
	let error = predict(parameters, &record.features) - record.label;
	record
		.features
		.iter()
		.map(|x| error * x)
		.chain(core::iter::once(error))
		.collect()
}

/// The share of `records` the model labels right (threshold 1/2); 0 for
/// no records.
pub fn accuracy(parameters: &[f64], records: &[&Record]) -> f64 {
	if records.is_empty() {
		return 0.0;
	}
	let right = records
		.iter()
		.filter(|record| (predict(parameters, &record.features) >= 0.5) == (record.label == 1.0))
		.count();
	right as f64 / records.len() as f64
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn the_gradient_matches_finite_differences() {
		let record = Record { features: vec![0.3, -1.2], label: 1.0 };
		let parameters = [0.4, 0.1, -0.2];
		let loss = |p: &[f64]| {
			let y = predict(p, &record.features);
			-(record.label * y.ln() + (1.0 - record.label) * (1.0 - y).ln())
		};
		let analytic = gradient(&parameters, &record);
		for i in 0..3 {
			let (mut up, mut down) = (parameters, parameters);
			up[i] += 1e-6;
			down[i] -= 1e-6;
			let numeric = (loss(&up) - loss(&down)) / 2e-6;
			assert!((numeric - analytic[i]).abs() < 1e-6, "{i}: {numeric} vs {}", analytic[i]);
		}
	}

	#[test]
	fn accuracy_counts_right_labels() {
		let records = [
			Record { features: vec![2.0], label: 1.0 },
			Record { features: vec![-2.0], label: 0.0 },
			Record { features: vec![-3.0], label: 1.0 },
		];
		let refs: Vec<&Record> = records.iter().collect();
		assert!((accuracy(&[1.0, 0.0], &refs) - 2.0 / 3.0).abs() < 1e-12);
		assert_eq!(accuracy(&[1.0, 0.0], &[]), 0.0);
	}

	proptest! {
		#[test]
		fn fixed_point_round_trips_within_half_a_unit(value in -30_000.0f64..30_000.0) {
			let back = from_fixed(&to_fixed(&[value]))[0];
			prop_assert!((back - value).abs() <= 0.5 / scale());
		}
	}

	#[test]
	fn fixed_point_saturates() {
		assert_eq!(to_fixed(&[1e12, -1e12, f64::NAN]), vec![i32::MAX, i32::MIN, 0]);
	}
}
