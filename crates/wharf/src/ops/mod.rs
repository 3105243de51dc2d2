//! What the commands do, as plain functions over options (cargo's `ops` pattern): the commands only turn
//! arguments into these calls and print the results.

pub mod keys;
pub mod package;
pub mod publish;
pub mod release;
pub mod settings;
pub mod version;
