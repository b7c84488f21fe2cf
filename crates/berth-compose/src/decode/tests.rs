use super::*;

#[test]
fn short_ports() {
    let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(p[0].published.as_deref(), Some("8080"));
    assert_eq!(p[0].target, 80);
    assert_eq!(p[0].protocol, "udp");
    let p = parse_port("3000").unwrap();
    assert_eq!((p[0].target, p[0].published.clone()), (3000, None));
    let p = parse_port("9090-9091:8080-8081").unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].published.as_deref(), Some("9091"));
    assert_eq!(p[1].target, 8081);
    let p = parse_port("[::1]:6000:6000").unwrap();
    assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
    for bad in ["", "abc", "80:90:100:1", "1-2:3-5", "0", "80/xyz", "70000"] {
        assert!(parse_port(bad).is_none(), "{bad}");
    }
}

#[test]
fn shell_split() {
    assert_eq!(
        shell_words(r#"sh -c 'echo "a b"' x\ y "q\"z""#).unwrap(),
        vec!["sh", "-c", "echo \"a b\"", "x y", "q\"z"]
    );
    assert!(shell_words("echo 'open").is_none());
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration_ns("1m30s"), Some(90_000_000_000));
    assert_eq!(parse_duration_ns("500ms"), Some(500_000_000));
    assert_eq!(parse_duration_ns("1.5s"), Some(1_500_000_000));
    assert_eq!(parse_duration_ns("10"), None);
    assert_eq!(parse_bytes("64m"), Some(64 * 1024 * 1024));
    assert_eq!(parse_bytes("1gb"), Some(1024 * 1024 * 1024));
    assert_eq!(parse_bytes("x"), None);
}
