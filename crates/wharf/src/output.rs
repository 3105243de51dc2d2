//! The only place wharf prints. Libraries report through return values; commands hand results here.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;

use crate::cli::{ColorChoice, Global};

/// Where messages go and how they look.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    quiet: bool,
    verbose: u8,
    color: bool,
}

impl Output {
    pub fn new(g: &Global) -> Self {
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Self {
            json: g.json,
            quiet: g.quiet,
            verbose: g.verbose,
            color,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Progress on stderr.
    pub fn status(&self, verb: &str, text: &str) {
        if !self.quiet {
            eprintln!("{:>10} {text}", self.paint("1;32", verb));
        }
    }

    /// Whether -v was given.
    pub fn verbose(&self) -> bool {
        self.verbose > 0 && !self.quiet
    }

    /// Detail on stderr with -v.
    pub fn detail(&self, text: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{:>10} {text}", self.paint("2", "·"));
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint("1;33", "warning:"));
        }
    }

    pub fn error(&self, err: &anyhow::Error) {
        eprintln!("{} {err}", self.paint("1;31", "error:"));
        for cause in err.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
    }

    /// One line of a stream on stdout (an access log), written at once.
    pub fn line(&self, text: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// The command's result: human text, or the JSON document with --json.
    pub fn result(&self, human: &str, json: &serde_json::Value) {
        if self.json {
            println!("{json}");
        } else if !human.is_empty() {
            print!("{human}");
        }
    }
}
