//! `morapi man`: manual pages in roff, rendered from the command line's own definition
//! ([`super::command`], record kinds included), so they cannot fall behind it.

use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
    morapi man --out-dir /usr/local/share/man/man1 && mandb -q")]
pub struct Opts {
    /// Write one page per command and subcommand (morapi.1, morapi-serve.1, morapi-user-add.1, …)
    /// into this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let cmd = super::command();
    match opts.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page).context("cannot render the manual page")?;
            super::completions::print_all(&page).context("cannot write the manual page")
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
            println!("morapi: manual pages written to {}", dir.display());
            Ok(())
        }
    }
}
