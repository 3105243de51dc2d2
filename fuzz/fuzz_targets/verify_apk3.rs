//! `wharf verify` over a apk3 repository held in memory: its index, signature and package parsers.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify(data));
