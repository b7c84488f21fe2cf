//! The `docker` command a step is equivalent to, made from the operation itself so the two
//! cannot drift apart. The lesson label Berth adds for cleanup is left out.

use super::model::{ContainerDef, MountDef, Op};

/// `s` quoted for a POSIX shell when it needs it. A `$(...)` that finds a value (an IP
/// address) stays live inside double quotes.
pub(crate) fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b));
    if plain {
        s.to_string()
    } else if s.contains("$(docker ") && !s.contains(['"', '`', '\\']) {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn join(words: &[&str], rest: &[String]) -> String {
    words
        .iter()
        .map(|w| w.to_string())
        .chain(rest.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command for `op`, its placeholders already filled in.
pub(crate) fn docker_command(op: &Op) -> String {
    let one = |words: &[&str], arg: &str| join(words, &[arg.to_string()]);
    match op {
        Op::Run(c) => container("run", c),
        Op::Create(c) => container("create", c),
        Op::Start { name } => one(&["docker", "start"], name),
        Op::Stop { name } => one(&["docker", "stop"], name),
        Op::Restart { name } => one(&["docker", "restart"], name),
        Op::Pause { name } => one(&["docker", "pause"], name),
        Op::Unpause { name } => one(&["docker", "unpause"], name),
        Op::Rm { name, force: true } => one(&["docker", "rm", "-f"], name),
        Op::Rm { name, force: false } => one(&["docker", "rm"], name),
        Op::Logs { name } => one(&["docker", "logs"], name),
        Op::Exec { name, cmd } => {
            let mut args = vec![name.clone()];
            args.extend(cmd.iter().cloned());
            join(&["docker", "exec"], &args)
        }
        Op::Build { tag, .. } => format!("docker build -t {} .", quote(tag)),
        Op::Tag { source, target } => join(&["docker", "tag"], &[source.clone(), target.clone()]),
        Op::Images { reference } => one(&["docker", "images"], reference),
        Op::History { image } => one(&["docker", "history"], image),
        Op::ImageRm { image } => one(&["docker", "rmi"], image),
        Op::VolumeCreate { name } => one(&["docker", "volume", "create"], name),
        Op::VolumeRm { name } => one(&["docker", "volume", "rm"], name),
        Op::NetworkCreate { name } => one(&["docker", "network", "create"], name),
        Op::NetworkConnect { network, container } => join(
            &["docker", "network", "connect"],
            &[network.clone(), container.clone()],
        ),
        Op::NetworkRm { name } => one(&["docker", "network", "rm"], name),
        Op::WriteFile { path, content } => write_file(path, content),
        Op::ComposeUp { project, .. } => {
            format!("docker compose -p {} up -d --wait", quote(project))
        }
        Op::ComposeDown { project, volumes } => format!(
            "docker compose -p {} down{}",
            quote(project),
            if *volumes { " -v" } else { "" }
        ),
        Op::Login {
            registry, username, ..
        } => format!(
            "docker login {} -u {} --password-stdin",
            quote(registry),
            quote(username)
        ),
        Op::Push { image } => one(&["docker", "push"], image),
        Op::Pull { image } => one(&["docker", "pull"], image),
        Op::SwarmInit { advertise_addr } => {
            one(&["docker", "swarm", "init", "--advertise-addr"], advertise_addr)
        }
        Op::ServiceCreate {
            name,
            image,
            cmd,
            replicas,
        } => {
            let mut args = vec![name.clone(), "--replicas".into(), replicas.to_string()];
            args.push(image.clone());
            args.extend(cmd.iter().cloned());
            join(&["docker", "service", "create", "--name"], &args)
        }
        Op::ServiceScale { name, replicas } => {
            format!("docker service scale {}={replicas}", quote(name))
        }
        Op::KillTask { service } => format!(
            "docker rm -f $(docker ps -q --filter label=com.docker.swarm.service.name={} | head -n 1)",
            quote(service)
        ),
        Op::ServiceRm { name } => one(&["docker", "service", "rm"], name),
        Op::SwarmLeave => "docker swarm leave --force".into(),
    }
}

fn container(verb: &str, c: &ContainerDef) -> String {
    let mut words = vec!["docker".to_string(), verb.to_string()];
    if verb == "run" && !c.wait {
        words.push("-d".into());
    }
    if c.rm {
        words.push("--rm".into());
    }
    words.extend(["--name".into(), quote(&c.name)]);
    for (k, v) in &c.env {
        words.extend(["-e".into(), quote(&format!("{k}={v}"))]);
    }
    for m in &c.mounts {
        words.push(match m {
            MountDef::Volume {
                source,
                target,
                read_only,
            } => mount("volume", source, target, *read_only),
            MountDef::Bind {
                source,
                target,
                read_only,
            } => mount("bind", source, target, *read_only),
            MountDef::Tmpfs { target } => format!("--tmpfs {}", quote(target)),
        });
    }
    if let Some(network) = &c.network {
        words.push(format!("--network {}", quote(network)));
    }
    words.push(quote(&c.image));
    words.extend(c.cmd.iter().map(|a| quote(a)));
    words.join(" ")
}

fn mount(kind: &str, source: &str, target: &str, read_only: bool) -> String {
    let spec = format!(
        "type={kind},src={source},dst={target}{}",
        if read_only { ",readonly" } else { "" }
    );
    format!("--mount {}", quote(&spec))
}

fn write_file(path: &str, content: &str) -> String {
    let body = content.strip_suffix('\n').unwrap_or(content);
    if body.contains('\n') {
        format!("cat > {} <<'EOF'\n{body}\nEOF", quote(path))
    } else {
        format!("echo {} > {}", quote(body), quote(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(quote("learn-web"), "learn-web");
        assert_eq!(quote("echo hi"), "'echo hi'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(
            quote("http://$(docker inspect -f '{{.Id}}' db)/"),
            "\"http://$(docker inspect -f '{{.Id}}' db)/\""
        );
    }

    #[test]
    fn a_run_reads_like_the_cli() {
        let op = Op::Run(ContainerDef {
            name: "learn-web".into(),
            image: "berth-learn/busybox:latest".into(),
            cmd: vec!["sh".into(), "-c".into(), "cat /data/a.txt".into()],
            env: BTreeMap::from([("GREETING".into(), "hi there".into())]),
            mounts: vec![
                MountDef::Volume {
                    source: "learn-data".into(),
                    target: "/data".into(),
                    read_only: false,
                },
                MountDef::Tmpfs {
                    target: "/scratch".into(),
                },
            ],
            network: Some("learn-net".into()),
            wait: true,
            rm: true,
        });
        assert_eq!(
            docker_command(&op),
            "docker run --rm --name learn-web -e 'GREETING=hi there' \
             --mount type=volume,src=learn-data,dst=/data --tmpfs /scratch --network learn-net \
             berth-learn/busybox:latest sh -c 'cat /data/a.txt'"
        );
    }

    #[test]
    fn every_operation_has_a_docker_command() {
        let ops = [
            (
                Op::Rm {
                    name: "a".into(),
                    force: true,
                },
                "docker rm -f a",
            ),
            (
                Op::ServiceScale {
                    name: "s".into(),
                    replicas: 3,
                },
                "docker service scale s=3",
            ),
            (Op::SwarmLeave, "docker swarm leave --force"),
            (
                Op::Login {
                    registry: "127.0.0.1:5000".into(),
                    username: "alice".into(),
                    password: "secret".into(),
                },
                "docker login 127.0.0.1:5000 -u alice --password-stdin",
            ),
            (
                Op::WriteFile {
                    path: "/w/a.txt".into(),
                    content: "one line\n".into(),
                },
                "echo 'one line' > /w/a.txt",
            ),
        ];
        for (op, want) in ops {
            assert_eq!(docker_command(&op), want);
        }
        let two = docker_command(&Op::WriteFile {
            path: "/w/a".into(),
            content: "a\nb\n".into(),
        });
        assert_eq!(two, "cat > /w/a <<'EOF'\na\nb\nEOF");
    }
}
