//! The release index page (`index.html` at the store root): every release, newest first, grouped by
//! channel, with its artifacts, sizes and checksums, and how to install from each repository family. Static
//! HTML rendered with minijinja (auto-escaped), no JavaScript, no external resources; landmarks, a skip link,
//! tables with captions and header scopes (WCAG 2.2 techniques H39, H63). The template is replaceable
//! (`[release] page-template`); it gets the same [`Page`] context.

use serde::{Deserialize, Serialize};

use crate::manifest::{Manifest, human_size};

/// The template used when the project names none.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/index.html");

/// Every release the store holds (`releases/index.json`), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// [`crate::manifest::FORMAT`].
    pub format: u32,
    /// The releases.
    pub releases: Vec<Manifest>,
}

/// How to install from one repository family of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Method {
    /// `apt`, `dnf`, `zypper`, `apk`, `apk3`, `opkg`, `tarball`, `script`.
    pub family: String,
    /// The heading: "Debian and Ubuntu (apt)".
    pub title: String,
    /// Shell commands.
    pub commands: String,
}

/// One channel's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// Its name (`stable`, `prerelease`, `dev`).
    pub name: String,
    /// How to install from it.
    pub install: Vec<Method>,
    /// Its releases, newest first.
    pub releases: Vec<Manifest>,
}

/// The page's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The project.
    pub project: String,
    /// Where the store is read (links are relative, so the page also works from a copy).
    pub base_url: String,
    /// Channels in order: stable first, then by name.
    pub channels: Vec<Channel>,
    /// The newest stable release, if any.
    pub latest: Option<String>,
    /// When the page was made (RFC 3339).
    pub generated: String,
}

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
#[error("release page template: {0}")]
pub struct PageError(String);

/// Renders `page` with `template` (None: [`DEFAULT_TEMPLATE`]).
pub fn render(page: &Page, template: Option<&str>) -> Result<String, PageError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_filter("size", |b: u64| human_size(b));
    env.add_template("index.html", template.unwrap_or(DEFAULT_TEMPLATE))
        .map_err(|e| PageError(e.to_string()))?;
    let t = env
        .get_template("index.html")
        .map_err(|e| PageError(e.to_string()))?;
    t.render(page).map_err(|e| PageError(format!("{e:#}")))
}

/// Groups `index`'s releases by channel (stable first).
#[must_use]
pub fn channels(index: &Index, install: &dyn Fn(&str) -> Vec<Method>) -> Vec<Channel> {
    let mut names: Vec<&str> = index.releases.iter().map(|r| r.channel.as_str()).collect();
    names.sort_by_key(|n| (*n != "stable", *n));
    names.dedup();
    names
        .into_iter()
        .map(|n| Channel {
            name: n.to_owned(),
            install: install(n),
            releases: index
                .releases
                .iter()
                .filter(|r| r.channel == n)
                .cloned()
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::{Changelog, Entry, Group};
    use crate::classify::Class;
    use crate::manifest::Artifact;

    fn release(version: &str, channel: &str, text: &str) -> Manifest {
        Manifest {
            format: 1,
            project: "demo".into(),
            version: version.into(),
            class: Class::Stable,
            channel: channel.into(),
            tag: Some(format!("v{version}")),
            commit: None,
            previous: None,
            date: "2026-01-02T03:04:05Z".into(),
            artifacts: vec![Artifact {
                file: format!("demo_{version}_amd64.deb"),
                kind: "deb".into(),
                package: "demo".into(),
                version: version.into(),
                arch: "amd64".into(),
                size: 2048,
                sha256: "0".repeat(64),
            }],
            changelog: Changelog {
                breaking: Vec::new(),
                groups: vec![Group {
                    title: "Features".into(),
                    entries: vec![Entry {
                        kind: "feat".into(),
                        scope: None,
                        text: text.into(),
                        breaking: false,
                        commit: "abcdef0".into(),
                    }],
                }],
            },
            images: Vec::new(),
        }
    }

    fn page(index: &Index) -> Page {
        Page {
            project: "demo".into(),
            base_url: "https://example.invalid/repo".into(),
            channels: channels(index, &|c| {
                vec![Method {
                    family: "script".into(),
                    title: format!("install from {c}"),
                    commands: "curl … | sh".into(),
                }]
            }),
            latest: Some("1.1.0".into()),
            generated: "2026-01-02T03:04:05Z".into(),
        }
    }

    #[test]
    fn default_page_groups_by_channel_and_escapes_commit_text() {
        let index = Index {
            format: 1,
            releases: vec![
                release("1.2.0~rc.1", "prerelease", "preview"),
                release("1.1.0", "stable", "<script>alert(1)</script> & more"),
            ],
        };
        let html = render(&page(&index), None).unwrap();
        // stable first, whatever the order of the index
        let stable = html.find("Channel: stable").unwrap();
        let pre = html.find("Channel: prerelease").unwrap();
        assert!(stable < pre);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains(r#"<a href="releases/1.1.0/demo_1.1.0_amd64.deb">"#));
        assert!(html.contains("2.0 KiB"));
        assert!(html.contains("<html lang=\"en\">") && html.contains("<caption>"));
    }

    #[test]
    fn images_are_listed_with_their_pull_line() {
        let mut r = release("1.1.0", "stable", "x");
        let digest = format!("sha256:{}", "b".repeat(64));
        r.images.push(crate::manifest::Image {
            repository: "registry.example/demo".into(),
            digest: digest.clone(),
            tags: vec!["1.1.0".into()],
            platforms: vec![crate::manifest::ImagePlatform {
                platform: "linux/arm64/v8".into(),
                digest: format!("sha256:{}", "c".repeat(64)),
            }],
        });
        let pull = format!("docker pull registry.example/demo@{digest}");
        assert!(r.notes().contains(&format!("  {pull}\n")), "{}", r.notes());
        let index = Index {
            format: 1,
            releases: vec![r],
        };
        let html = render(&page(&index), None).unwrap();
        assert!(
            html.contains(&format!("<code>{}</code>", pull.replace('/', "&#x2f;"))),
            "{html}"
        );
        assert!(html.contains("linux&#x2f;arm64&#x2f;v8"), "{html}");
    }

    #[test]
    fn templates_can_be_replaced_and_bad_ones_are_reported() {
        let index = Index {
            format: 1,
            releases: vec![release("1.1.0", "stable", "x")],
        };
        let custom = "{% for c in channels %}{{ c.name }}:{% for r in c.releases %}{{ r.version }} {{ r.artifacts[0].size|size }}{% endfor %}{% endfor %}";
        assert_eq!(
            render(&page(&index), Some(custom)).unwrap(),
            "stable:1.1.0 2.0 KiB"
        );
        let err = render(&page(&index), Some("{% for %}")).unwrap_err();
        assert!(err.to_string().starts_with("release page template:"), "{err}");
    }
}
