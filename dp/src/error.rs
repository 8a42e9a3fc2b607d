//! The crate's error type.

use core::fmt;

/// Why an accounting request was rejected.
///
/// Every variant carries the offending value where there is one, so callers
/// can report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DpError {
	/// The sampling rate `q` is not in `[0, 1]` (or is NaN).
	SamplingRateOutOfRange(f64),
	/// The noise multiplier `σ` is negative (or NaN).
	NegativeNoise(f64),
	/// `δ` is not in the open interval `(0, 1)` (or is NaN).
	DeltaOutOfRange(f64),
	/// The list of RDP orders is empty.
	EmptyOrders,
	/// The orders and RDP values passed to [`epsilon`](crate::epsilon) have
	/// different lengths.
	LengthMismatch {
		/// Number of orders.
		orders: usize,
		/// Number of RDP values.
		rdp: usize,
	},
	/// An RDP order is not greater than 1 (or is NaN). `+∞` is allowed.
	OrderOutOfRange(f64),
	/// An RDP value is NaN. (`+∞` is a valid RDP value: no privacy.)
	InvalidRdp(f64),
	/// The target epsilon of [`noise_for_epsilon`](crate::noise_for_epsilon)
	/// is not a positive finite number.
	TargetEpsilonOutOfRange(f64),
	/// No noise multiplier up to
	/// [`MAX_NOISE_MULTIPLIER`](crate::MAX_NOISE_MULTIPLIER) meets the target
	/// epsilon.
	TargetUnreachable,
}

impl fmt::Display for DpError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::SamplingRateOutOfRange(q) => {
				write!(f, "sampling rate must be in [0, 1], got {q}")
			},
			Self::NegativeNoise(s) => {
				write!(f, "noise multiplier must be non-negative, got {s}")
			},
			Self::DeltaOutOfRange(d) => write!(f, "delta must be in (0, 1), got {d}"),
			Self::EmptyOrders => write!(f, "the list of RDP orders is empty"),
			Self::LengthMismatch { orders, rdp } => write!(
				f,
				"{orders} RDP orders but {rdp} RDP values: the lists must have the same length"
			),
			Self::OrderOutOfRange(a) => write!(f, "RDP orders must be > 1, got {a}"),
			Self::InvalidRdp(r) => write!(f, "RDP values must not be NaN, got {r}"),
			Self::TargetEpsilonOutOfRange(e) => {
				write!(f, "target epsilon must be positive and finite, got {e}")
			},
			Self::TargetUnreachable => write!(
				f,
				"no noise multiplier up to {} meets the target epsilon",
				crate::MAX_NOISE_MULTIPLIER
			),
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for DpError {}
