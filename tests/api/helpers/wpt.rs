//! The W3C Web Annotation Data Model test data from the Web Platform Tests
//! (`../shared/fixtures/wpt-annotation-model/`, beside the repository in
//! some checkouts only): its MUST manifests, each assertion compiled as the
//! JSON Schema (draft 4) it is, with `$ref`s into `definitions/` served from
//! the folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder, or `None` (with a message saying the checks are skipped).
pub fn wpt_annotation_model() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/wpt-annotation-model");
    if dir.join("definitions").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent, so exported annotations are not checked against the W3C \
             annotation-model MUST assertions (the built-in shape checks still ran)",
            dir.display()
        );
        None
    }
}

struct Definitions(HashMap<String, Value>);

impl jsonschema::Retrieve for Definitions {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().split('#').next().unwrap_or("").rsplit('/').next().unwrap_or("");
        self.0.get(name).cloned().ok_or_else(|| format!("no definitions file for {uri}").into())
    }
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// One MUST assertion: its file, the result it expects, and its validator.
pub struct Assertion {
    pub file: String,
    pub expect_valid: bool,
    validator: jsonschema::Validator,
}

impl Assertion {
    /// Whether `doc` gives the expected result, for checks
    /// that expect a failure.
    pub fn passes(&self, doc: &Value) -> bool {
        self.validator.is_valid(doc) == self.expect_valid
    }

    /// Panics with the assertion's own message when `doc` does not give the expected result.
    #[track_caller]
    pub fn check(&self, doc: &Value) {
        let valid = self.validator.is_valid(doc);
        assert_eq!(
            valid,
            self.expect_valid,
            "{} expected {}: {:?}\n{doc:#}",
            self.file,
            if self.expect_valid { "valid" } else { "invalid" },
            self.validator.iter_errors(doc).map(|e| e.to_string()).collect::<Vec<_>>()
        );
    }
}

/// Every `must` assertion of a manifest (`annotations/annotationMusts.test`…).
pub fn must_assertions(dir: &Path, manifest: &str) -> Vec<Assertion> {
    let definitions: HashMap<String, Value> = std::fs::read_dir(dir.join("definitions"))
        .expect("definitions")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read(&p)))
        .collect();
    let manifest = read(&dir.join(manifest));
    let files = manifest["assertions"].as_array().expect("assertions");
    let mut out = Vec::new();
    for file in files {
        let file = file.as_str().expect("assertion path");
        let schema = read(&dir.join(file));
        if schema["assertionType"] != "must" {
            continue;
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .with_retriever(Definitions(definitions.clone()))
            .build(&schema)
            .unwrap_or_else(|e| panic!("compiling {file}: {e}"));
        out.push(Assertion {
            file: file.to_owned(),
            expect_valid: schema["expectedResult"] != "invalid",
            validator,
        });
    }
    assert!(!out.is_empty(), "no MUST assertions in the manifest");
    out
}
