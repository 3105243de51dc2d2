//! `wharf verify` over a pacman repository held in memory: its databases, signatures and packages.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify(data));
