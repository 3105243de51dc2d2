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
    /// stderr is a terminal: long work shows a progress line.
    terminal: bool,
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
            terminal: std::io::stderr().is_terminal(),
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

    /// The error and each cause that says something new: a library error whose message already quotes
    /// its source (`#[error("… {0}")]`) is not followed by that source again.
    pub fn error(&self, err: &anyhow::Error) {
        eprintln!("{} {err}", self.paint("1;31", "error:"));
        for cause in error_causes(err) {
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

impl wharf_ops::Reporter for Output {
    fn status(&self, verb: &str, text: &str) {
        Output::status(self, verb, text);
    }
    fn detail(&self, text: &str) {
        Output::detail(self, text);
    }
    fn warn(&self, text: &str) {
        Output::warn(self, text);
    }
    fn verbose(&self) -> bool {
        Output::verbose(self)
    }
    /// On a terminal (and without `--json`/`-q`), one line redrawn as the work advances (at most ten
    /// times a second) and cleared when it ends; otherwise nothing: the status lines say each step.
    fn progress(&self, what: &str, total: u64) -> Box<dyn wharf_ops::Progress + '_> {
        if !self.terminal || self.quiet || self.json || total < 2 {
            return Box::new(wharf_ops::NoProgress);
        }
        Box::new(Bar {
            what: what.to_owned(),
            total,
            state: std::sync::Mutex::new((0, None)),
        })
    }
}

/// A progress line on stderr.
struct Bar {
    what: String,
    total: u64,
    /// Units done, and when the line was last drawn.
    state: std::sync::Mutex<(u64, Option<std::time::Instant>)>,
}

impl wharf_ops::Progress for Bar {
    fn advance(&self, n: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.0 += n;
        let due = state
            .1
            .is_none_or(|at| at.elapsed() >= std::time::Duration::from_millis(100));
        if due || state.0 >= self.total {
            state.1 = Some(std::time::Instant::now());
            let width = 30;
            let filled =
                usize::try_from(state.0.min(self.total) * width / self.total).unwrap_or(width as usize);
            eprint!(
                "\r\x1b[2K{:>10} [{}{}] {}/{}",
                self.what,
                "=".repeat(filled),
                " ".repeat(width as usize - filled),
                state.0,
                self.total
            );
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        // The line goes: the status lines that follow say what was done.
        eprint!("\r\x1b[2K");
    }
}

/// The causes of `err` worth printing after it: each one whose text no message printed before it
/// already contains.
pub fn error_causes(err: &anyhow::Error) -> Vec<String> {
    let mut said = vec![err.to_string()];
    let mut out = Vec::new();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if text.is_empty() || said.iter().any(|s| s.contains(&text)) {
            continue;
        }
        said.push(text.clone());
        out.push(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_causes;

    #[derive(Debug)]
    struct Quoting(std::io::Error);

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot read the index: {}", self.0)
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_already_quoted_are_not_repeated() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(Quoting(io)).context("publish failed");
        assert_eq!(
            error_causes(&e),
            vec!["cannot read the index: disk on fire".to_owned()]
        );
        let plain = anyhow::Error::new(std::io::Error::other("no space")).context("cannot write x");
        assert_eq!(error_causes(&plain), vec!["no space".to_owned()]);
    }
}
