//! wharf.toml's JSON Schema (`wharf.schema.json`, generated from the config types): every example config,
//! the test projects' and `wharf init`'s validate against it with Python's `jsonschema` (draft 2020-12,
//! the TOML read with `tomllib`); what wharf refuses, it refuses too.

use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_test::{require, run, write};

use crate::{demo_project, wharf};

/// `(path, ok)` for each config, from Python's validator: the failures carry jsonschema's message.
fn validate(configs: &[PathBuf]) -> wharf_test::Done {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wharf.schema.json");
    run(Command::new("python3")
        .args([
            "-c",
            r#"import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = [e.message for e in v.iter_errors(tomllib.load(open(path, "rb")))]
    print(("ok   " if not errors else "FAIL ") + path + ("" if not errors else ": " + "; ".join(errors)))
"#,
        ])
        .arg(schema)
        .args(configs))
    .success()
}

#[test]
fn every_example_config_validates_against_the_schema() {
    if !require(&["python3"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path().join("wharf.toml"))
        .filter(|p| p.is_file())
        .collect();
    configs.sort();
    assert!(configs.len() >= 6, "{configs:?}");
    configs.push(demo_project(&t.path().join("demo")));
    // `wharf init`'s file names the schema for editors.
    let init = t.path().join("fresh");
    std::fs::create_dir_all(&init).unwrap();
    run(wharf(&init).arg("init")).success();
    let text = std::fs::read_to_string(init.join("wharf.toml")).unwrap();
    assert!(
        text.starts_with("#:schema https://") && text.lines().next().unwrap().ends_with("/wharf.schema.json"),
        "{text}"
    );
    configs.push(init.join("wharf.toml"));
    let out = validate(&configs);
    assert_eq!(
        out.stdout.matches("ok   ").count(),
        configs.len(),
        "{}",
        out.stdout
    );

    // What wharf refuses, the schema refuses: an unknown key, a format wharf does not make.
    let bad_key = t.path().join("bad-key.toml");
    write(
        &bad_key,
        "[project]\nname = \"x\"\nversion = \"1\"\nmaintainer = \"M <m@e.org>\"\nsummary = \"s\"\nnmae = \"typo\"\n",
    );
    let bad_format = t.path().join("bad-format.toml");
    write(
        &bad_format,
        "[project]\nname = \"x\"\nversion = \"1\"\nmaintainer = \"M <m@e.org>\"\nsummary = \"s\"\nformats = [\"pacmn\"]\n",
    );
    let out = validate(&[bad_key.clone(), bad_format.clone()]);
    assert!(
        out.stdout.contains("FAIL ") && out.stdout.contains("'nmae' was unexpected"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("'pacmn' is not valid"), "{}", out.stdout);
    for bad in [&bad_key, &bad_format] {
        let refused = run(wharf(t.path()).arg("package").arg("-c").arg(bad));
        assert!(!refused.ok, "{}", refused.all());
    }
}
