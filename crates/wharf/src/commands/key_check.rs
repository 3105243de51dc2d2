//! `wharf key check FILE`: what the OpenPGP verifiers hold against a key (`wharf_sign::policy`).

use anyhow::Context as _;
use serde_json::json;
use wharf_sign::openpgp::PublicKey;
use wharf_sign::policy::Level;

use crate::cli::KeyCheckArgs;
use crate::output::Output;

pub fn run(args: &KeyCheckArgs, out: &Output) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let key = PublicKey::from_bytes(&bytes).with_context(|| format!("{}", args.file.display()))?;
    let now = wharf_core::SourceDate::now().unix();
    let findings = key.policy(now);
    let mut text = format!("{} ({})\n", args.file.display(), key.fingerprint());
    if findings.is_empty() {
        text.push_str("  ok: apt 3 (sqv), Ubuntu 24.04's apt and rpm accept it\n");
    }
    for f in &findings {
        let level = match f.level {
            Level::Refused => "refused",
            Level::Warning => "warning",
        };
        text.push_str(&format!("  {level}: {}\n", f.text));
    }
    out.result(
        &text,
        &json!({ "file": args.file, "fingerprint": key.fingerprint(), "findings": findings }),
    );
    if findings.iter().any(|f| f.level == Level::Refused) {
        anyhow::bail!("{}: clients refuse this key today", args.file.display());
    }
    Ok(())
}
