//! The `regauth` binary: one line on stderr and a non-zero exit for any failure.
use clap::Parser;

fn main() {
    let cli = regauth::infra::cli::Cli::parse();
    match regauth::infra::startup::run(cli) {
        Ok(()) => {}
        Err(regauth::infra::cli::CliError::StdoutClosed) => std::process::exit(141),
        Err(e) => {
            // One line, whatever the error quotes (a name from the directory, input).
            let message = e.to_string();
            eprintln!(
                "regauth: error: {}",
                regauth::infra::shown::escape(&message)
            );
            std::process::exit(1);
        }
    }
}
