//! An institution's local rows: one per patient twin, with its features and
//! its binary label, read from a CSV file that never leaves the agent.
//!
//! The file has a header line, then one line per row:
//! `did:twin:<id>,<feature 1>,…,<feature d>,<label 0 or 1>`.

use std::{collections::BTreeSet, fmt::Write as _, path::Path};

use twinnet_primitives::did::{format_did, parse_did, DidId};

/// One record: its features and label.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
	/// The feature vector.
	pub features: Vec<f64>,
	/// The label, 0 or 1.
	pub label: f64,
}

/// The rows of an institution, each of one twin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
	rows: Vec<(DidId, Record)>,
	features: usize,
}

/// Why a data file cannot be used.
#[derive(Debug, PartialEq)]
pub enum DataError {
	/// The file cannot be read.
	Unreadable(String),
	/// The file has no header line.
	Empty,
	/// A line is not `twin, features…, label`.
	Malformed {
		/// The line number, from 1.
		line: usize,
		/// What is wrong.
		reason: String,
	},
	/// A twin has two rows.
	DuplicateTwin(String),
}

impl std::fmt::Display for DataError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Unreadable(e) => write!(f, "cannot read the data file: {e}"),
			Self::Empty => write!(f, "the data file has no header line"),
			Self::Malformed { line, reason } => write!(f, "line {line}: {reason}"),
			Self::DuplicateTwin(did) => write!(f, "{did} has more than one row"),
		}
	}
}

impl std::error::Error for DataError {}

impl Rows {
	/// `rows`, which must all have the same number of features.
	pub fn new(rows: Vec<(DidId, Record)>) -> Result<Self, DataError> {
		let features = rows.first().map_or(0, |(_, record)| record.features.len());
		let mut seen = BTreeSet::new();
		for (index, (twin, record)) in rows.iter().enumerate() {
			if record.features.len() != features {
				return Err(DataError::Malformed {
					line: index.saturating_add(2),
					reason: format!("{} features, not {features}", record.features.len()),
				});
			}
			if !seen.insert(*twin) {
				return Err(DataError::DuplicateTwin(format_did(twin)));
			}
		}
		Ok(Self { rows, features })
	}

	/// Reads the CSV file at `path` (see the module docs).
	pub fn read(path: &Path) -> Result<Self, DataError> {
		let text =
			std::fs::read_to_string(path).map_err(|e| DataError::Unreadable(e.to_string()))?;
		Self::parse(&text)
	}

	/// Parses CSV text (see the module docs).
	pub fn parse(text: &str) -> Result<Self, DataError> {
		let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
		lines.next().ok_or(DataError::Empty)?;
		let rows = lines
			.map(|(index, line)| {
				parse_line(line).map_err(|reason| DataError::Malformed {
					line: index.saturating_add(1),
					reason,
				})
			})
			.collect::<Result<Vec<_>, _>>()?;
		Self::new(rows)
	}

	/// The CSV text of the rows, with `names` as the feature columns' names.
	pub fn to_csv(&self, names: &[String]) -> String {
		let mut text = format!("twin,{},label\n", names.join(","));
		for (twin, record) in &self.rows {
			let _ = write!(text, "{}", format_did(twin));
			for value in &record.features {
				let _ = write!(text, ",{value}");
			}
			let _ = writeln!(text, ",{}", record.label);
		}
		text
	}

	/// How many features each row has.
	pub fn features(&self) -> usize {
		self.features
	}

	/// How many rows there are.
	pub fn len(&self) -> usize {
		self.rows.len()
	}

	/// Whether there are no rows.
	pub fn is_empty(&self) -> bool {
		self.rows.is_empty()
	}

	/// Every record, in file order.
	pub fn records(&self) -> Vec<&Record> {
		self.rows.iter().map(|(_, record)| record).collect()
	}

	/// The records of the twins in `admitted`, and no others: what a round
	/// may train on.
	pub fn admitted(&self, admitted: &BTreeSet<DidId>) -> Vec<&Record> {
		self.rows
			.iter()
			.filter(|(twin, _)| admitted.contains(twin))
			.map(|(_, record)| record)
			.collect()
	}
}

/// One data line: the twin, the features and the label.
fn parse_line(line: &str) -> Result<(DidId, Record), String> {
	let mut fields = line.split(',').map(str::trim);
	let twin = fields.next().ok_or("no twin")?;
	let twin = parse_did(twin).map_err(|e| format!("{twin} is not a did:twin DID: {e:?}"))?;
	let mut values = fields
		.map(|field| field.parse::<f64>().map_err(|_| format!("{field} is not a number")))
		.collect::<Result<Vec<f64>, _>>()?;
	let label = values.pop().ok_or("no label")?;
	if label != 0.0 && label != 1.0 {
		return Err(format!("the label {label} is not 0 or 1"));
	}
	if values.is_empty() || values.iter().any(|value| !value.is_finite()) {
		return Err(String::from("the features must be finite numbers, at least one"));
	}
	Ok((twin, Record { features: values, label }))
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	fn csv(lines: &[String]) -> String {
		let mut text = String::from("twin,a,b,label\n");
		for line in lines {
			text.push_str(line);
			text.push('\n');
		}
		text
	}

	#[test]
	fn rows_round_trip_through_csv_and_only_admitted_twins_are_used() {
		let rows = Rows::new(vec![
			(did(1), Record { features: vec![0.5, -1.0], label: 1.0 }),
			(did(2), Record { features: vec![2.0, 3.25], label: 0.0 }),
		])
		.unwrap();
		let names = vec![String::from("a"), String::from("b")];
		let parsed = Rows::parse(&rows.to_csv(&names)).unwrap();
		assert_eq!(parsed, rows);
		assert_eq!(parsed.features(), 2);
		let admitted = BTreeSet::from([did(2), did(9)]);
		assert_eq!(
			parsed.admitted(&admitted),
			vec![&Record { features: vec![2.0, 3.25], label: 0.0 }]
		);
		assert!(parsed.admitted(&BTreeSet::new()).is_empty());
	}

	#[test]
	fn malformed_files_are_refused_with_the_line() {
		let one = format_did(&did(1));
		assert_eq!(Rows::parse(""), Err(DataError::Empty));
		let bad = |line: &str| match Rows::parse(&csv(&[line.to_string()])) {
			Err(DataError::Malformed { line, .. }) => line,
			other => panic!("{other:?}"),
		};
		assert_eq!(bad("did:twin:0OIl,1,2,1"), 2);
		assert_eq!(bad(&format!("{one},x,2,1")), 2);
		assert_eq!(bad(&format!("{one},1,2,0.5")), 2);
		assert_eq!(bad(&format!("{one},1")), 2);
		assert_eq!(bad(&format!("{one},inf,2,1")), 2);
		let twice = csv(&[format!("{one},1,2,1"), format!("{one},3,4,0")]);
		assert_eq!(Rows::parse(&twice), Err(DataError::DuplicateTwin(one.clone())));
		let ragged = csv(&[format!("{one},1,2,1"), format!("{},3,0", format_did(&did(2)))]);
		assert!(matches!(Rows::parse(&ragged), Err(DataError::Malformed { line: 3, .. })));
	}
}
