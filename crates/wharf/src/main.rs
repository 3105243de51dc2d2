//! `wharf`: the binary. Parses the command line, reads the environment once, runs one command, prints.

mod cli;
mod commands;
mod env;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let out = output::Output::new(&cli.global);
    let result = env::read().and_then(|env| commands::run(cli.command, &env, &out));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::FAILURE
        }
    }
}
