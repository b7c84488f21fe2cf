//! `berth learn list | run LESSON [--yes] | clean [LESSON]`: the primer's lessons, run for real
//! on the engine, step by step, in English or Japanese. Ctrl-C (or a closed stdin) stops the
//! lesson and removes what it made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use berth_api::learn::{self, Label, Lang, LessonRun, StartOptions, StepReport, StepView};
use berth_api::Berth;
use tokio::sync::mpsc;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the lessons
    List {
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        #[arg(long)]
        json: bool,
    },
    /// Run a lesson on the engine, asking before each step
    Run(RunArgs),
    /// Remove what lessons made (every lesson's, or one's)
    Clean { lesson: Option<String> },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The lesson (see `berth learn list`)
    lesson: String,
    /// Run every step without asking
    #[arg(long, short)]
    yes: bool,
    /// A lesson parameter, e.g. --set registry=127.0.0.1:5000 (secrets may come from
    /// BERTH_LEARN_<NAME> instead)
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Allow pulling busybox from Docker Hub if no busybox is at hand for the lesson image
    #[arg(long)]
    pull: bool,
    /// English or Japanese (default: settings' app.language, else the system's)
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
    /// Read the lesson from a folder of lesson files instead of Berth's own
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LangArg {
    En,
    Ja,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Ja => Lang::Ja,
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List { lang, json } => list(lang, json),
        Command::Run(args) => run_lesson(args).await,
        Command::Clean { lesson } => clean(lesson.as_deref()).await,
    }
}

fn language(berth: &Berth, lang: Option<LangArg>) -> Lang {
    lang.map_or_else(|| learn::language(berth.settings()), Lang::from)
}

fn list(lang: Option<LangArg>, json: bool) -> anyhow::Result<ExitCode> {
    let summaries = learn::summaries()?;
    if json {
        output::json(&summaries)?;
        return Ok(ExitCode::SUCCESS);
    }
    let lang = language(&Berth::open()?, lang);
    let width = summaries.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &summaries {
        let steps = format!("{} {}", s.steps, Label::Steps.text().get(lang));
        let steps = match lang {
            Lang::Ja => format!("（{steps}）"),
            _ => format!(" ({steps})"),
        };
        println!("{:<width$}  {}{steps}", s.id, s.title.get(lang));
        for p in s
            .params
            .iter()
            .filter(|p| p.default.is_none() && !p.optional)
        {
            println!(
                "{:<width$}    --set {}=...  {}",
                "",
                p.name,
                p.help.get(lang)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn clean(lesson: Option<&str>) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let report = berth.learn_clean_up(lesson).await?;
    print_cleanup(&report, language(&berth, None));
    Ok(ExitCode::SUCCESS)
}

fn params(sets: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    sets.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .with_context(|| format!("--set {s:?}: write NAME=VALUE"))
        })
        .collect()
}

/// Ctrl-C, registered at once (a signal before the first poll must not kill the process).
struct Interrupt(
    #[cfg(unix)] tokio::signal::unix::Signal,
    #[cfg(windows)] tokio::signal::windows::CtrlC,
);

impl Interrupt {
    fn new() -> anyhow::Result<Interrupt> {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c()?;
        Ok(Interrupt(signal))
    }

    async fn wait(&mut self) {
        self.0.recv().await;
    }
}

/// Lines typed on stdin, read on a thread of their own so a pending read never holds up exit.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1);
    std::thread::spawn(move || {
        let mut line = String::new();
        while matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0) {
            if tx.blocking_send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });
    rx
}

enum End {
    Completed,
    Failed,
    Interrupted,
}

async fn run_lesson(args: RunArgs) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let lang = language(&berth, args.lang);
    let lesson = match &args.from {
        Some(dir) => learn::lessons_in(dir)?
            .into_iter()
            .find(|l| l.id == args.lesson)
            .with_context(|| format!("no lesson {:?} in {}", args.lesson, dir.display()))?,
        None => learn::find(&args.lesson)?,
    };
    let id = lesson.id.clone();
    println!("{}\n{}\n", lesson.title.get(lang), lesson.summary.get(lang));
    let mut interrupt = Interrupt::new()?;
    let options = StartOptions {
        params: params(&args.set)?,
        allow_pull: args.pull,
    };
    let started = tokio::select! {
        started = LessonRun::start(&berth, lesson, options) => started?,
        () = interrupt.wait() => {
            println!("\n{}", Label::Interrupted.text().get(lang));
            print_cleanup(&berth.learn_clean_up(Some(&id)).await?, lang);
            return Ok(ExitCode::from(130));
        }
    };
    let mut run = started;
    let source = run.base_source().describe();
    let source = match lang {
        Lang::Ja => format!("（{}）", source.ja),
        _ => format!(" ({})", source.en),
    };
    println!(
        "{}: {}{source}",
        Label::BaseImage.text().get(lang),
        learn::BASE_IMAGE,
    );
    let mut lines = (!args.yes).then(stdin_lines);
    let end = steps(&mut run, lang, lines.as_mut(), &mut interrupt).await;
    if matches!(end, End::Interrupted) {
        println!("\n{}", Label::Interrupted.text().get(lang));
    }
    println!("\n{} ...", Label::CleaningUp.text().get(lang));
    print_cleanup(&run.finish().await, lang);
    Ok(match end {
        End::Completed => {
            println!("{}", Label::Done.text().get(lang));
            ExitCode::SUCCESS
        }
        End::Failed => {
            println!("{}", Label::LessonFailed.text().get(lang));
            ExitCode::FAILURE
        }
        End::Interrupted => ExitCode::from(130),
    })
}

async fn steps(
    run: &mut LessonRun,
    lang: Lang,
    mut lines: Option<&mut mpsc::Receiver<String>>,
    interrupt: &mut Interrupt,
) -> End {
    while let Some(view) = run.next_step() {
        print_view(&view, lang);
        if let Some(lines) = lines.as_deref_mut() {
            println!("  {}", Label::PressEnter.text().get(lang));
            tokio::select! {
                line = lines.recv() => if line.is_none() { return End::Interrupted },
                () = interrupt.wait() => return End::Interrupted,
            }
        }
        let report = tokio::select! {
            report = run.run_next() => report,
            () = interrupt.wait() => return End::Interrupted,
        };
        let Some(report) = report else { break };
        print_report(&report, &view, lang);
        if !report.passed {
            return End::Failed;
        }
    }
    End::Completed
}

fn print_view(view: &StepView, lang: Lang) {
    println!(
        "\n[{}/{}] {}",
        view.index + 1,
        view.total,
        view.title.get(lang)
    );
    println!(
        "  {}: {}",
        Label::What.text().get(lang),
        view.what.get(lang)
    );
    println!("  {}: {}", Label::Why.text().get(lang), view.why.get(lang));
    for file in &view.files {
        println!("  --- {}", file.name);
        for line in file.content.lines() {
            println!("  | {line}");
        }
    }
    println!("  $ {}", view.command.replace('\n', "\n    "));
}

fn print_report(report: &StepReport, view: &StepView, lang: Lang) {
    if report.skipped {
        let missing = view.missing.join(", ");
        println!("  [{} {missing}]", Label::Skipped.text().get(lang));
        return;
    }
    for line in report.output.lines() {
        println!("  > {line}");
    }
    if let Some(status) = report.status.filter(|s| *s != 0) {
        println!("  [{} {status}]", Label::ExitStatus.text().get(lang));
    }
    if let Some(error) = &report.error {
        println!("  ! {}", error.message);
    }
    for check in &report.checks {
        let mark = if check.passed { "✓" } else { "✗" };
        println!("  {mark} {}", check.claim.get(lang));
        if let Some(detail) = &check.detail {
            println!("      {detail}");
        }
    }
    if !report.passed {
        println!("  {}", Label::Failed.text().get(lang));
    }
}

fn print_cleanup(report: &learn::CleanupReport, lang: Lang) {
    println!("  {}", report.describe().get(lang));
    for problem in &report.problems {
        println!("  ! {problem}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_name_value_pairs() {
        let p = params(&["registry=127.0.0.1:5000".into(), "user=a=b".into()]).unwrap();
        assert_eq!(p["registry"], "127.0.0.1:5000");
        assert_eq!(p["user"], "a=b");
        assert!(params(&["registry".into()]).is_err());
    }
}
