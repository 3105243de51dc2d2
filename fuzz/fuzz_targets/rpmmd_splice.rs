//! rpm-md's splice: a repository's current document, read as a stream, for the elements of packages
//! whose state segment was not read (`wharf_index::rpmmd::build` with `Fragment::Published`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::rpmmd_splice(data));
