//! A person signs in to regauth's pages through a real OpenID Connect provider, Debian's
//! glewlwyd (`support/real_provider.rs`), in headless Chromium: "Sign in with glewlwyd"
//! on `/ui/signin`, glewlwyd's own login page filled in as a person would
//! (`support/glewlwyd_browser.rs`), back to regauth's callback, which creates the account
//! and its session; the person mints an access token on the tokens page, and the docker
//! CLI logs in to the real registry with it (then skopeo pulls with it). Missing Chromium,
//! chromedriver, glewlwyd or docker fails the test, never skips it.

mod common;
#[path = "support/glewlwyd_browser.rs"]
mod glewlwyd_browser;
#[path = "support/real_provider.rs"]
mod real_provider;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::process::Command;

use common::*;
use real_provider::RealProvider;
use secrecy::ExposeSecret;

#[test]
fn a_person_signs_in_with_the_real_provider_mints_a_token_and_docker_logs_in_with_it() {
    let b = webdriver::Browser::start();
    require_tool("docker");
    let mut stack = Stack::with_registry();
    let provider = RealProvider::start(&[&stack.url("/ui/oidc/glewlwyd/callback")]);
    // The provider's client knows regauth's callback; regauth learns the provider.
    let mut config = std::fs::read_to_string(&stack.config).expect("config");
    config.push_str(&format!(
        "\n[[oidc.providers]]\nname = \"glewlwyd\"\nissuer = \"{}\"\nclient_id = \"{}\"\n\
         client_secret = \"{}\"\nusername_claim = \"sub\"\ncreate_users = true\n",
        provider.issuer,
        provider.client_id,
        provider.client_secret.expose_secret()
    ));
    std::fs::write(&stack.config, config).expect("write config");
    stack.stop_regauth();
    stack.start_regauth();

    // alice (local) has pushed an image the federated person will be allowed to pull.
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    let img = tiny_image(stack.dir.path(), "v1", "for the federated reader");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &format!("alice:{PASSWORD}"));
    assert!(push.success, "push: {}", push.output);

    b.goto(&stack.url("/ui/signin"));
    b.wait_at("/ui/signin");
    b.click("a[href='/ui/oidc/glewlwyd/start']");
    b.wait_until("at glewlwyd's login page", |b| {
        b.url().starts_with(&provider.base_url())
    });
    glewlwyd_browser::sign_in(&b, &provider.username, provider.password.expose_secret());
    b.wait_until("back at regauth's tokens page", |b| {
        b.url().contains("/ui/tokens")
    });
    b.wait_titled("My access tokens · regauth");

    // The account regauth made, named by the provider's stable subject.
    let users = stack.ok(&["user", "list"]);
    let person = users
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .find(|name| *name != "admin" && *name != "root" && *name != "alice")
        .unwrap_or_else(|| panic!("no federated user made: {users}"))
        .to_string();
    stack.grant(&p, &person, "READ,DOWNLOAD");

    b.type_into("#name", "laptop");
    b.click("form[action='/ui/tokens'] button[type=submit]");
    b.wait_titled("Token created · regauth");
    let secret = b.text("#token-secret");
    assert!(secret.starts_with("rga_"), "{secret}");

    // docker login (the daemon asks regauth for a token, as for a push or pull).
    let docker_config = tempfile::tempdir().expect("docker config dir");
    let registry = format!("127.0.0.1:{}", stack.registry_port);
    let mut login = Command::new("docker")
        .env("DOCKER_CONFIG", docker_config.path())
        .args(["login", "-u", &person, "--password-stdin", &registry])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run docker login");
    use std::io::Write;
    login
        .stdin
        .take()
        .expect("stdin")
        .write_all(secret.as_bytes())
        .expect("token to docker");
    let out = login.wait_with_output().expect("docker login");
    assert!(
        out.status.success(),
        "docker login with the minted token: {}{}\nregauth: {}\nglewlwyd: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        stack.regauth_log(),
        provider.log_tail()
    );
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&format!("{person}:{secret}")));
    assert!(
        pull.success,
        "pull with the federated person's token: {}",
        pull.output
    );
    let audit = stack.ok(&["audit", "--since", "1h", "--json"]);
    assert!(
        audit.contains("federated_sign_in"),
        "no federated_sign_in record"
    );
}
