//! Runtime API of pallet-datasets, which the `datasets_*` RPC methods call,
//! and the bounded walks and pages its implementation in the runtime makes.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::{
	collections::{BTreeSet, VecDeque},
	vec::Vec,
};
use codec::Codec;
use twinnet_primitives::{
	datasets::{DatasetView, Exclusion, LicenceId, LicenceView},
	did::DidId,
};

/// The most entries one call of a listing method returns, and the most
/// datasets a lineage walk returns in each direction.
pub const MAX_PAGE: u32 = 100;
/// The deepest lineage walk one call does, in links from the dataset asked
/// about.
pub const MAX_DEPTH: u32 = 16;

/// A lineage walk: the ancestors and the descendants, each breadth first
/// with its depth (1 for parents and children), and whether either was cut
/// short.
pub type LineageWalk = (Vec<(DidId, u32)>, Vec<(DidId, u32)>, bool);

sp_api::decl_runtime_apis! {
	/// Reads the dataset registry.
	pub trait DatasetsApi<AccountId, BlockNumber, Balance>
	where
		AccountId: Codec,
		BlockNumber: Codec,
		Balance: Codec,
	{
		/// The dataset registered under `id`.
		fn dataset(id: DidId) -> Option<DatasetView<AccountId, BlockNumber, Balance>>;

		/// The datasets `id` was derived from and those derived from it,
		/// breadth first, each once, at most `depth` (at most
		/// [`MAX_DEPTH`]) links away and at most `limit` (at most
		/// [`MAX_PAGE`]) in each direction; and whether more exist.
		fn lineage(id: DidId, depth: u32, limit: u32) -> LineageWalk;

		/// Up to `limit` (at most [`MAX_PAGE`]) licences of `dataset` in
		/// serial order after `start_after`; pruned licences, and those
		/// whose NFT item was burnt, are left out.
		fn licences_of(
			dataset: DidId,
			start_after: Option<LicenceId>,
			limit: u32,
		) -> Vec<LicenceView<AccountId, BlockNumber, Balance>>;

		/// Up to `limit` (at most [`MAX_PAGE`]) contributors of `dataset`
		/// in storage order after `start_after`, each with why its rows do
		/// not count now (`None`: they do).
		fn contributors(
			dataset: DidId,
			start_after: Option<DidId>,
			limit: u32,
		) -> Vec<(DidId, Option<Exclusion>)>;
	}
}

/// Walks the graph `next` describes from `root`, breadth first: every node
/// once (at its least depth), `root` left out, at most `max_depth` links
/// away and at most `max_nodes` nodes; and whether more nodes exist beyond
/// either bound. `next` is read lazily: no more neighbours are read than
/// the bounds need.
pub fn walk<I: Iterator<Item = DidId>>(
	root: DidId,
	max_depth: u32,
	max_nodes: u32,
	mut next: impl FnMut(&DidId) -> I,
) -> (Vec<(DidId, u32)>, bool) {
	let mut found = Vec::new();
	let mut seen = BTreeSet::from([root]);
	let mut frontier = VecDeque::from([(root, 0u32)]);
	while let Some((node, depth)) = frontier.pop_front() {
		let mut neighbours = next(&node);
		if depth >= max_depth {
			// Every node up to `max_depth` is seen by now: an unseen
			// neighbour lies beyond it.
			if neighbours.any(|neighbour| !seen.contains(&neighbour)) {
				return (found, true);
			}
			continue;
		}
		let depth = depth.saturating_add(1);
		for neighbour in neighbours {
			if seen.contains(&neighbour) {
				continue;
			}
			if found.len() >= max_nodes as usize {
				return (found, true);
			}
			seen.insert(neighbour);
			found.push((neighbour, depth));
			frontier.push_back((neighbour, depth));
		}
	}
	(found, false)
}

/// A page of licences in serial order: the views `view` gives (`None` for
/// a pruned or burnt licence) of serial numbers after `start_after`, at
/// most `limit`. Of a dataset's `sold` serial numbers only `outstanding`
/// are stored; this reads the serial numbers from `start_after` on one by
/// one while they are no more than the stored ones, and otherwise the
/// stored ids (`stored`, in any order), sorted.
pub fn licence_page<V, I: Iterator<Item = LicenceId>>(
	start_after: Option<LicenceId>,
	limit: u32,
	sold: LicenceId,
	outstanding: u32,
	stored: impl FnOnce() -> I,
	view: impl FnMut(LicenceId) -> Option<V>,
) -> Vec<V> {
	let from = match start_after {
		None => 0,
		Some(after) => match after.checked_add(1) {
			Some(from) => from,
			None => return Vec::new(),
		},
	};
	if sold.saturating_sub(from) <= outstanding {
		(from..sold).filter_map(view).take(limit as usize).collect()
	} else {
		let mut ids: Vec<LicenceId> = stored().filter(|id| *id >= from).collect();
		ids.sort_unstable();
		ids.into_iter().filter_map(view).take(limit as usize).collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::collections::BTreeMap;

	fn did(n: u8) -> DidId {
		DidId::repeat_byte(n)
	}

	/// A graph by adjacency lists, counting the neighbours read.
	struct Graph {
		edges: BTreeMap<DidId, Vec<DidId>>,
		reads: core::cell::Cell<usize>,
	}

	impl Graph {
		fn new(edges: &[(u8, &[u8])]) -> Self {
			let edges = edges
				.iter()
				.map(|(from, to)| (did(*from), to.iter().map(|n| did(*n)).collect()));
			Self { edges: edges.collect(), reads: Default::default() }
		}

		fn walk(&self, root: u8, max_depth: u32, max_nodes: u32) -> (Vec<(u8, u32)>, bool) {
			let (nodes, truncated) = walk(did(root), max_depth, max_nodes, |node| {
				self.edges.get(node).cloned().unwrap_or_default().into_iter().inspect(|_| {
					self.reads.set(self.reads.get().saturating_add(1));
				})
			});
			let name = |node: DidId| node.0.first().copied().unwrap_or_default();
			(nodes.into_iter().map(|(node, depth)| (name(node), depth)).collect(), truncated)
		}
	}

	#[test]
	fn walks_breadth_first_each_node_once_at_its_least_depth() {
		// 1 → 2, 3; 2 → 4; 3 → 4, 5; 4 → 6; 5 → 1 (back to the root).
		let graph = Graph::new(&[(1, &[2, 3]), (2, &[4]), (3, &[4, 5]), (4, &[6]), (5, &[1])]);
		assert_eq!(graph.walk(1, 16, 100), (vec![(2, 1), (3, 1), (4, 2), (5, 2), (6, 3)], false));
		assert_eq!(graph.walk(6, 16, 100), (vec![], false));
		assert_eq!(graph.walk(9, 16, 100), (vec![], false));
	}

	#[test]
	fn the_depth_bound_truncates_only_when_something_lies_beyond_it() {
		let graph = Graph::new(&[(1, &[2, 3]), (2, &[4]), (3, &[4, 5]), (4, &[6]), (5, &[1])]);
		assert_eq!(graph.walk(1, 2, 100), (vec![(2, 1), (3, 1), (4, 2), (5, 2)], true));
		assert!(!graph.walk(1, 3, 100).1);
		assert_eq!(graph.walk(1, 0, 100), (vec![], true));
		// 5's only neighbour, the root, is seen: nothing lies beyond depth 1.
		assert_eq!(graph.walk(5, 1, 100), (vec![(1, 1)], true));
		assert_eq!(Graph::new(&[(5, &[1])]).walk(5, 1, 100), (vec![(1, 1)], false));
	}

	#[test]
	fn the_node_bound_truncates_only_when_another_node_exists() {
		let graph = Graph::new(&[(1, &[2, 3]), (2, &[4]), (3, &[4, 5]), (4, &[6]), (5, &[1])]);
		assert_eq!(graph.walk(1, 16, 2), (vec![(2, 1), (3, 1)], true));
		assert!(!graph.walk(1, 16, 5).1);
		assert!(graph.walk(1, 16, 4).1);
		assert_eq!(graph.walk(1, 16, 0), (vec![], true));
	}

	#[test]
	fn walks_read_no_more_neighbours_than_the_bounds_need() {
		let wide: Vec<u8> = (2..=200).collect();
		let graph = Graph::new(&[(1, &wide)]);
		assert_eq!(graph.walk(1, 16, 3).0.len(), 3);
		assert_eq!(graph.reads.get(), 4);
		graph.reads.set(0);
		assert_eq!(graph.walk(1, 0, 3), (vec![], true));
		assert_eq!(graph.reads.get(), 1);
	}

	/// The page both ways: by serial number and by sorting the stored ids.
	fn pages(stored: &[u32], sold: u32, start_after: Option<u32>, limit: u32) -> [Vec<u32>; 2] {
		let page = |outstanding| {
			licence_page(
				start_after,
				limit,
				sold,
				outstanding,
				|| stored.iter().rev().copied(),
				|id| stored.contains(&id).then_some(id),
			)
		};
		[page(u32::MAX), page(0)]
	}

	#[test]
	fn licence_pages_are_in_serial_order_either_way() {
		let stored = [0, 1, 2, 5, 6, 9];
		for [by_serial, sorted] in [
			pages(&stored, 10, None, 100),
			pages(&stored, 10, None, 3),
			pages(&stored, 10, Some(2), 2),
			pages(&stored, 10, Some(9), 2),
			pages(&stored, 10, Some(u32::MAX), 2),
		] {
			assert_eq!(by_serial, sorted);
		}
		assert_eq!(pages(&stored, 10, None, 100)[0], stored);
		assert_eq!(pages(&stored, 10, None, 3)[0], [0, 1, 2]);
		assert_eq!(pages(&stored, 10, Some(2), 2)[0], [5, 6]);
		assert_eq!(pages(&stored, 10, Some(9), 2)[0], Vec::<u32>::new());
		assert_eq!(pages(&stored, 10, Some(u32::MAX), 2)[0], Vec::<u32>::new());
	}

	#[test]
	fn licence_pages_read_the_fewer_ids() {
		let probes = core::cell::Cell::new(0u32);
		let count = |id: u32| {
			probes.set(probes.get().saturating_add(1));
			Some(id)
		};
		// 1000 sold, 2 outstanding: the stored ids are read, not 1000 serials.
		let page = licence_page(None, 100, 1000, 2, || [998, 999].into_iter(), count);
		assert_eq!((page, probes.get()), (vec![998, 999], 2));
		probes.set(0);
		// Near the end of the serials: they are read one by one.
		let page = licence_page(Some(997), 100, 1000, 2, core::iter::empty, count);
		assert_eq!((page, probes.get()), (vec![998, 999], 2));
	}
}
