//! End-to-end tests of TwinNet live in `tests/`. They start the `twinnet-node`
//! binary that `cargo build -p twinnet-node` left in the target directory
//! (or the one `TWINNET_NODE` names); `scripts/test` builds it first.
