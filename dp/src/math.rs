//! Log-space helpers, all on top of `libm` so that they behave the same with
//! and without `std`.

/// `ln(eˣ + eʸ)` without overflow.
pub(crate) fn log_add(x: f64, y: f64) -> f64 {
	let (lo, hi) = if x < y { (x, y) } else { (y, x) };
	if lo == f64::NEG_INFINITY {
		// Adding zero.
		return hi;
	}
	if hi == f64::INFINITY {
		return hi;
	}
	// eˡᵒ + eʰⁱ = eʰⁱ (1 + eˡᵒ⁻ʰⁱ)
	hi + libm::log1p(libm::exp(lo - hi))
}

/// A real number stored as its sign and the logarithm of its magnitude, for
/// sums of terms of either sign whose magnitudes overflow `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SignedLog {
	/// Whether the number is negative.
	pub(crate) negative: bool,
	/// `ln |x|` (`−∞` for zero).
	pub(crate) log_abs: f64,
}

impl SignedLog {
	/// Zero.
	pub(crate) const ZERO: Self = Self { negative: false, log_abs: f64::NEG_INFINITY };

	/// `self + other`.
	pub(crate) fn add(self, other: Self) -> Self {
		if other.log_abs == f64::NEG_INFINITY {
			return self;
		}
		if self.log_abs == f64::NEG_INFINITY {
			return other;
		}
		if self.negative == other.negative {
			return Self { negative: self.negative, log_abs: log_add(self.log_abs, other.log_abs) };
		}
		let (big, small) =
			if self.log_abs >= other.log_abs { (self, other) } else { (other, self) };
		if big.log_abs == small.log_abs {
			return Self::ZERO;
		}
		// |big| − |small| = |big| (1 − e^{ln|small| − ln|big|})
		Self {
			negative: big.negative,
			log_abs: big.log_abs + libm::log1p(-libm::exp(small.log_abs - big.log_abs)),
		}
	}
}

/// `ln |C(n, k)| = ln|Γ(n+1)| − ln|Γ(k+1)| − ln|Γ(n−k+1)|` for real `n`, `k`.
///
/// For fractional `n` and `k > n + 1` the binomial coefficient alternates in
/// sign; this is its magnitude (the caller tracks the sign). For integer `n`
/// and integer `k > n` it is `−∞` (the coefficient is zero).
pub(crate) fn log_binom(n: f64, k: f64) -> f64 {
	libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
}

/// Above this argument `ln(erfc(x))` uses the asymptotic expansion.
/// `erfc(20) ≈ 5.4e−176` is still a normal double (`libm::erfc` is accurate
/// to about an ulp there) and the six-term expansion is accurate to ~1e−13 at
/// 20; `erfc` itself underflows past x ≈ 26.5.
const LOG_ERFC_ASYMPTOTIC_FROM: f64 = 20.0;

/// `ln(erfc(x))`, accurate also where `erfc(x)` underflows.
///
/// For `x < 20` this is `ln(libm::erfc(x))`. Beyond, it uses the asymptotic
/// expansion (Abramowitz & Stegun 7.1.23)
/// `erfc(x) = e^{−x²} / (x√π) · Σ_{n≥0} (−1)ⁿ (2n−1)!! / (2x²)ⁿ`,
/// in log form, truncated after six terms.
pub(crate) fn log_erfc(x: f64) -> f64 {
	if x.is_nan() {
		return x;
	}
	if x < LOG_ERFC_ASYMPTOTIC_FROM {
		return libm::log(libm::erfc(x));
	}
	if x == f64::INFINITY {
		return f64::NEG_INFINITY;
	}
	let two_x2 = 2.0 * x * x;
	// Σ_{n=0}^{5} (−1)ⁿ (2n−1)!! / (2x²)ⁿ, minus its leading 1.
	let mut term = 1.0;
	let mut correction = 0.0;
	let mut odd = 1.0;
	for _ in 0..5 {
		term *= -odd / two_x2;
		correction += term;
		odd += 2.0;
	}
	// ½ ln π
	const HALF_LN_PI: f64 = 0.572_364_942_924_700_087_071_713_675_677;
	-x * x - libm::log(x) - HALF_LN_PI + libm::log1p(correction)
}

/// Whether `x` is a (finite) integer.
pub(crate) fn is_integer(x: f64) -> bool {
	x.is_finite() && libm::trunc(x) == x
}

#[cfg(test)]
#[allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]
mod tests {
	use super::*;

	#[test]
	fn log_erfc_matches_erfc_where_both_are_accurate() {
		// Around the switch-over both formulas must agree.
		for x in [15.0, 18.0, 19.5, 20.0, 22.0, 25.0] {
			let direct = libm::log(libm::erfc(x));
			let two_x2 = 2.0 * x * x;
			let mut term = 1.0;
			let mut correction = 0.0;
			let mut odd = 1.0;
			for _ in 0..5 {
				term *= -odd / two_x2;
				correction += term;
				odd += 2.0;
			}
			let asymptotic = -x * x - libm::log(x) - 0.5 * libm::log(core::f64::consts::PI)
				+ libm::log1p(correction);
			assert!(
				((direct - asymptotic) / direct).abs() < 1e-13,
				"x={x}: {direct} vs {asymptotic}"
			);
			assert!(((log_erfc(x) - direct) / direct).abs() < 1e-13);
		}
	}

	#[test]
	fn log_erfc_far_tail_and_negative_side() {
		// erfc(100) ≈ 6.4e−4346 underflows; its log is −10000 − ln(100√π) − ….
		let expected = -10_000.0 - libm::log(100.0) - 0.5 * libm::log(core::f64::consts::PI)
			+ libm::log1p(-1.0 / 20_000.0 + 3.0 / 4e8);
		assert!((log_erfc(100.0) - expected).abs() < 1e-9);
		assert_eq!(log_erfc(f64::INFINITY), f64::NEG_INFINITY);
		// erfc(−∞) = 2, erfc(0) = 1.
		assert!((log_erfc(-40.0) - core::f64::consts::LN_2).abs() < 1e-15);
		assert_eq!(log_erfc(0.0), 0.0);
		assert!(log_erfc(f64::NAN).is_nan());
	}

	#[test]
	fn signed_log_sums() {
		let of = |x: f64| SignedLog { negative: x < 0.0, log_abs: libm::log(x.abs()) };
		let value = |s: SignedLog| {
			let m = libm::exp(s.log_abs);
			if s.negative {
				-m
			} else {
				m
			}
		};
		for (a, b) in [(3.0, -1.0), (-3.0, 1.0), (1.0, -3.0), (2.0, 5.0), (-2.0, -5.0), (4.0, -4.0)]
		{
			let sum = of(a).add(of(b));
			assert!((value(sum) - (a + b)).abs() < 1e-12, "{a} + {b}: {sum:?}");
		}
		assert_eq!(SignedLog::ZERO.add(of(2.0)), of(2.0));
		assert_eq!(of(-2.0).add(SignedLog::ZERO), of(-2.0));
	}

	#[test]
	fn log_add_and_binom() {
		assert!((log_add(0.0, 0.0) - core::f64::consts::LN_2).abs() < 1e-15);
		assert_eq!(log_add(f64::NEG_INFINITY, 3.0), 3.0);
		assert_eq!(log_add(f64::NEG_INFINITY, f64::NEG_INFINITY), f64::NEG_INFINITY);
		assert_eq!(log_add(f64::INFINITY, f64::INFINITY), f64::INFINITY);
		assert!((log_add(1000.0, 1000.0) - (1000.0 + core::f64::consts::LN_2)).abs() < 1e-12);
		assert!((log_binom(10.0, 3.0) - libm::log(120.0)).abs() < 1e-12);
		assert_eq!(log_binom(5.0, 7.0), f64::NEG_INFINITY);
		// |C(1.5, 3)| = |1.5·0.5·(−0.5)/6| = 0.0625
		assert!((log_binom(1.5, 3.0) - libm::log(0.0625)).abs() < 1e-12);
		assert!(is_integer(5.0) && !is_integer(5.5) && !is_integer(f64::INFINITY));
	}
}
