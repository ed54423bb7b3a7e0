//! The contract server of `tests/synapse` as a process, for bench/run.sh's Synapse
//! section: one certified user `alice` ("bench password") owning a project with the
//! repository `tool`, and a personal access token of hers; prints
//! `BASE_URL PROJECT PAT` on one line, then serves until killed.

#[path = "../tests/synapse/mod.rs"]
mod synapse;

use std::io::Write;

fn main() {
    let fake = synapse::FakeSynapse::start();
    let alice = fake.add_user("alice", "bench password");
    fake.set_certified(alice, true);
    let project = fake.add_project("bench");
    fake.set_owner(&project, alice);
    fake.grant(&project, alice, &synapse::EVERY_ACCESS);
    fake.add_docker_repo(&project, "tool");
    let pat = fake.pat(alice, &["view", "download", "modify"]);
    let mut out = std::io::stdout();
    let printed = writeln!(out, "{} {project} {pat}", fake.base_url()).and_then(|()| out.flush());
    if let Err(e) = printed {
        eprintln!("fake-synapse: cannot write its address: {e}");
        std::process::exit(1);
    }
    loop {
        std::thread::park();
    }
}
