//! `morapi completions SHELL`: the shell's completion script, rendered from the command line's
//! own definition ([`super::command`], record kinds included), so it cannot fall behind it.

use anyhow::Context;
use clap_complete::Shell;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
    morapi completions bash > /usr/share/bash-completion/completions/morapi\n  \
    morapi completions zsh > /usr/local/share/zsh/site-functions/_morapi\n  \
    morapi completions fish > ~/.config/fish/completions/morapi.fish")]
pub struct Opts {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let mut cmd = super::command();
    let name = cmd.get_name().to_string();
    // Rendered first: clap_complete panics on a failed write (e.g. a closed pipe); ours is reported.
    let mut script = Vec::new();
    clap_complete::generate(opts.shell, &mut cmd, name, &mut script);
    print_all(&script).context("cannot write the completion script")
}

/// Writes `bytes` to stdout. A reader that stopped early (`| head`) is no error.
pub(super) fn print_all(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        done => done,
    }
}
