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

/// `regauth manpage --out DIR`: regauth.1 and one page per visible subcommand, nested
/// ones included (regauth-user-add.1, ...), as clap_mangen names them; DIR is created
/// when missing. Prints the number of pages written.
pub fn manpages(out: &Path) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::Failed(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(failed)?;
    let pages = std::fs::read_dir(out)
        .map_err(failed)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
        .count();
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
        manpages(dir.path()).unwrap();
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
        assert!(
            bash.contains("directory"),
            "bash completion lacks `directory`"
        );
        assert!(bash.contains("trust-policy"));
        assert!(bash.contains("complete -F"), "not a bash completion script");
        for shell in [Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            assert!(script.contains("directory"), "{shell} lacks `directory`");
        }
    }
}
