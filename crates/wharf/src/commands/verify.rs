//! `wharf verify`: read a published repository back as its clients would, and report every fault.

use anyhow::Context;
use wharf_verify::{Keys, Options, Report, Source, StoreSource};

use super::{load_project, open_store};
use crate::cli::VerifyArgs;
use crate::env::Env;
use crate::output::Output;

pub fn run(args: &VerifyArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    // A project only supplies defaults (the store, S3 settings).
    let project = load_project(&args.project, env, out).ok();
    let target = args
        .target
        .clone()
        .or_else(|| project.as_ref().and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    let mut keys = Keys::default();
    for path in &args.keys {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the key {}", path.display()))?;
        let kind = keys.add(&path.display().to_string(), &bytes)?;
        out.detail(&format!("key {}: {kind}", path.display()));
    }
    let source: Box<dyn Source> = if target.starts_with("http://") || target.starts_with("https://") {
        Box::new(wharf_verify::http::HttpSource::with_timeout(
            &target,
            args.timeout,
        )?)
    } else {
        let location = wharf_store::StoreUrl::parse(&target)?;
        if let wharf_store::StoreUrl::Local(dir) = &location
            && !dir.is_dir()
        {
            anyhow::bail!(
                "{target} is not a directory; pass a directory, s3://bucket/prefix or an http(s):// URL"
            );
        }
        let store = open_store(&location, &args.store, project.as_ref(), env, out)?;
        Box::new(StoreSource(Box::new(store)))
    };
    let options = Options {
        keys,
        keys_from_target: true,
        // Valid-Until is about the clients' clock, never SOURCE_DATE_EPOCH.
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let report = wharf_verify::verify(source.as_ref(), &args.repos, &options)?;
    if report.keys_from_target {
        out.warn(&format!(
            "no --key given: signatures were checked against the keys {target} publishes itself, which proves the files agree, not who made them"
        ));
    }
    let mut json = serde_json::to_value(&report).context("the report")?;
    json["ok"] = serde_json::Value::Bool(report.ok());
    out.result(&human(&report), &json);
    let faults = report.findings().count();
    if faults > 0 {
        let bad = report.repositories.iter().filter(|r| !r.ok()).count();
        anyhow::bail!(
            "{faults} fault{} in {bad} of {} repositories checked in {target}",
            if faults == 1 { "" } else { "s" },
            report.repositories.len()
        );
    }
    Ok(())
}

fn human(report: &Report) -> String {
    let mut s = String::new();
    for r in &report.repositories {
        let path = if r.path.is_empty() { "." } else { r.path.as_str() };
        let what = format!(
            "{} index file{}, {} {}{} ({})",
            r.indexes,
            if r.indexes == 1 { "" } else { "s" },
            r.packages,
            if r.kind == wharf_verify::Kind::Releases {
                "file"
            } else {
                "package"
            },
            if r.packages == 1 { "" } else { "s" },
            wharf_release::manifest::human_size(r.bytes)
        );
        let signer = if r.signed_by.is_empty() {
            String::new()
        } else {
            format!("signed by {}; ", r.signed_by.join(", "))
        };
        if r.ok() {
            s.push_str(&format!("ok    {} {path}: {signer}{what}\n", r.kind.as_str()));
        } else {
            s.push_str(&format!(
                "FAIL  {} {path}: {} fault{}; {signer}{what}\n",
                r.kind.as_str(),
                r.findings.len(),
                if r.findings.len() == 1 { "" } else { "s" }
            ));
            for f in &r.findings {
                s.push_str(&format!("      {}: {}: {}\n", f.file, f.fault.as_str(), f.detail));
            }
        }
    }
    s
}
