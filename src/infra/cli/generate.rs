//! `regauth completions SHELL` and `regauth manpage --out DIR`: shell completions and man
//! pages generated from the command line's definition (`args::Cli`), so that what the
//! Debian package ships (deploy/debian/build.sh) never drifts from what the binary parses.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::args::Cli;
use super::CliError;

/// The program name completions are registered for (the binary's name on PATH).
const BIN: &str = "regauth";

/// The completion script for `shell`, as bytes.
///
/// Rendered in memory first: clap_complete panics when its writer fails, and a closed
/// stdout (`regauth completions bash | head`) must end the command quietly instead.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    script
}

/// `regauth completions SHELL`: the script on standard output.
pub fn completions(shell: Shell) -> Result<(), CliError> {
    use std::io::Write;
    let script = completion_script(shell);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::StdoutClosed),
        Err(e) => Err(CliError::Failed(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// Writes regauth.1 and one page per visible subcommand, nested ones included
/// (regauth-user-add.1, ...), as clap_mangen names them, into `out` (created when
/// missing); returns how many pages `out` then holds.
pub fn write_manpages(out: &Path) -> Result<usize, CliError> {
    let failed = |e: std::io::Error| CliError::Failed(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(failed)?;
    let pages = std::fs::read_dir(out)
        .map_err(failed)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
        .count();
    Ok(pages)
}

/// `regauth manpage --out DIR`: the pages, and how many were written.
pub fn manpages(out: &Path) -> Result<(), CliError> {
    let pages = write_manpages(out)?;
    super::outln!("{pages} man pages in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name as roff writes it (hyphens escaped).
    fn roff(name: &str) -> String {
        name.replace('-', "\\-")
    }

    #[test]
    fn the_man_page_names_every_subcommand_and_each_has_its_own() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_manpages(dir.path()).unwrap() > 40);
        let main = std::fs::read_to_string(dir.path().join("regauth.1")).unwrap();
        let cli = Cli::command();
        let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
        assert!(names.len() > 10, "{names:?}");
        for name in &names {
            assert!(main.contains(&roff(name)), "regauth.1 lacks {name}");
            let page = dir.path().join(format!("regauth-{name}.1"));
            assert!(page.exists(), "no {}", page.display());
        }
        // Nested subcommands get their own page, with their own options.
        let add = std::fs::read_to_string(dir.path().join("regauth-user-add.1")).unwrap();
        assert!(add.contains(&roff("--no-password")), "{add}");
    }

    #[test]
    fn completions_know_the_subcommands() {
        let bash = String::from_utf8(completion_script(Shell::Bash)).unwrap();
        assert!(bash.contains("complete -F"), "not a bash completion script");
        // The words offered after `regauth `: every subcommand, `directory` among them.
        let root = bash
            .lines()
            .find(|l| l.contains("opts=\"") && l.contains(" serve "))
            .expect("no top-level word list in the bash completion");
        let words: Vec<&str> = root.split(['"', ' ']).filter(|w| !w.is_empty()).collect();
        assert!(words.contains(&"directory"), "{root}");
        for cmd in Cli::command().get_subcommands() {
            assert!(
                words.contains(&cmd.get_name()),
                "{} not in {root}",
                cmd.get_name()
            );
        }
        for shell in [Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            assert!(script.contains("directory"), "{shell} lacks `directory`");
        }
    }
}
