//! The `regauth` binary: one line on stderr and a non-zero exit for any failure.
use clap::Parser;

fn main() {
    let cli = regauth::infra::cli::Cli::parse();
    if let Err(e) = regauth::infra::cli::run(cli) {
        eprintln!("regauth: error: {e}");
        std::process::exit(1);
    }
}
