use super::*;
use proptest::prelude::*;

const SEED: &str = "name: demo\nx-base: &base\n  image: busybox\n  environment: {A: '1'}\nservices:\n  web:\n    <<: *base\n    command: [\"sh\", \"-c\", \"echo ${A:-x}\"]\n    ports: ['8080:80', {target: 443}]\n    volumes: ['./d:/d:ro', 'v:/v']\n    depends_on: {db: {condition: service_healthy}}\n    healthcheck: {test: 'true', interval: 1s}\n    networks: [front]\n  db:\n    image: pg\n    profiles: [x]\n    extends: web\nvolumes: {v: {}}\nnetworks: {front: {}}\n";

fn opts() -> LoadOptions {
    LoadOptions {
        working_dir: PathBuf::from("/nonexistent-berth-fuzz"),
        project_name: Some("fuzz".into()),
        ..Default::default()
    }
}

fn load_text(text: String) {
    let _ = load_sources(
        vec![(PathBuf::from("/nonexistent-berth-fuzz/c.yaml"), text)],
        &opts(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Arbitrary text: an error or a project, never a panic.
    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        load_text(text);
    }

    /// YAML-ish noise built from the characters that matter to the parser and loader.
    #[test]
    fn yaml_alphabet_never_panics(text in "[a-z:{}\\[\\]\\-&*<>|'\" \n$.,#!%@~0-9]{0,400}") {
        load_text(text);
    }

    /// A valid file with bytes replaced, deleted or inserted.
    #[test]
    fn mutated_compose_file_never_panics(
        edits in proptest::collection::vec((0usize..SEED.len(), 0u8..3, "[\\PC]{0,4}"), 1..8)
    ) {
        let mut text = SEED.to_string();
        for (at, op, s) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match op {
                0 => text.insert_str(at, &s),
                1 => {
                    let mut end = (at + s.len() + 1).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let mut end = (at + 1).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, &s);
                }
            }
        }
        load_text(text);
    }
}

#[test]
fn the_seed_itself_loads() {
    let p = load_sources(
        vec![(
            PathBuf::from("/nonexistent-berth-fuzz/c.yaml"),
            SEED.to_string(),
        )],
        &LoadOptions {
            profiles: vec!["x".into()],
            ..opts()
        },
    );
    let p = p.unwrap();
    assert_eq!(p.services["db"].image.as_deref(), Some("pg"));
    assert_eq!(p.services["db"].environment["A"].as_deref(), Some("1"));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("services: {}{}", "[".repeat(5000), "]".repeat(5000));
    let e = load_sources(vec![(PathBuf::from("/x/c.yaml"), text)], &opts()).unwrap_err();
    assert!(e.to_string().starts_with("/x/c.yaml:1: "), "{e}");
}
