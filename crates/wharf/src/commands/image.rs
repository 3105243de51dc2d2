//! `wharf image`.

use serde_json::json;
use wharf_ops::image::{self, Options, Pusher};
use wharf_ops::registry::Reference;
use wharf_ops::version;

use super::load_project;
use crate::cli::ImageArgs;
use crate::env::Env;
use crate::output::Output;

pub fn run(args: &ImageArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let mut project = load_project(&args.project, env, out)?;
    let what = version::apply(&mut project, args.version.as_deref(), out)?;
    // Every reference is checked before anything is built.
    let references = args
        .push
        .iter()
        .map(|r| Reference::parse(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if references.is_empty()
        && args.oci_layout.is_none()
        && args.oci_archive.is_none()
        && args.docker_archive.is_none()
    {
        anyhow::bail!(
            "say where the image goes: --push REGISTRY/NAME:TAG, --oci-layout DIR, --oci-archive FILE or --docker-archive FILE"
        );
    }
    let connect = args.registry.connect(env)?;
    let version = project
        .packages
        .first()
        .map(|t| t.version.to_string())
        .unwrap_or_default();
    let options = Options {
        targets: &args.targets,
        version: &version,
        revision: what.commit.as_deref(),
        date: env.date(),
        connect: &connect,
    };
    let built = image::build(&project, &options, out)?;
    let tag = references
        .first()
        .map_or_else(|| image::tag_of(&version), |r| Ok(r.tag.clone()))?;
    if let Some(dir) = &args.oci_layout {
        image::write_layout(&built, dir, &tag)?;
        out.status("Wrote", &format!("OCI layout {} ({tag})", dir.display()));
    }
    if let Some(file) = &args.oci_archive {
        image::write_oci_archive(&built, file, &tag, env.date())?;
        out.status("Wrote", &format!("OCI archive {}", file.display()));
    }
    if let Some(file) = &args.docker_archive {
        let repo = references
            .first()
            .map_or_else(|| project.name.clone(), Reference::repository);
        image::write_docker_archive(&built, file, &format!("{repo}:{tag}"), env.date())?;
        out.status("Wrote", &format!("docker archive {}", file.display()));
    }
    let mut pushes = Vec::new();
    if !references.is_empty() {
        let base = image::base_repository(&project);
        let pusher = Pusher::new(&references, &connect, base.as_ref())?;
        let pushed = pusher.push(&built, base.as_ref(), out)?;
        pusher.tag(&built.index, None, out)?;
        for (r, p) in references.iter().zip(pushed) {
            pushes.push(json!({ "reference": r.to_string(), "pushed": p }));
        }
    }
    let digest = built.index.descriptor.digest.clone();
    let platforms: Vec<_> = built
        .platforms
        .iter()
        .map(|p| json!({ "platform": p.manifest.descriptor.platform, "manifest": p.manifest.descriptor.digest }))
        .collect();
    let referrers: Vec<_> = built
        .referrers
        .iter()
        .map(|r| json!({ "subject": r.subject, "manifest": r.manifest.descriptor.digest, "sbom": r.sbom.descriptor.digest }))
        .collect();
    let human: String = references
        .iter()
        .map(|r| format!("docker pull {}@{digest}\n", r.repository()))
        .collect();
    out.result(
        &format!("image index {digest}\n{human}"),
        &json!({ "index": digest, "platforms": platforms, "referrers": referrers, "pushes": pushes }),
    );
    Ok(())
}
